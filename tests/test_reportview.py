"""The report page's rearrangement: flags marked at their sentences, references moved aside."""

from __future__ import annotations

import re

from scoutcrew.report.html import markdown_to_html
from scoutcrew.serve.reportview import build_view


def _page(body: str) -> str:
    return (
        "<!doctype html><html><head><style>p{}</style></head><body><h1>Title</h1>"
        f'{body}<h2>References</h2><ul class="refs"><li id="src-S1">[S1] One</li></ul>'
        '<h2>Flags</h2><ul><li>old list</li></ul><p class="trust">Trust: x</p></body></html>'
    )


def test_a_sentence_across_markup_is_marked_once_with_one_marker_per_flag() -> None:
    body = markdown_to_html(
        "Intro. The **new** model is [fast](https://a.example/x) at 4k [S1]. Outro.",
        {"https://a.example/x"},
        {"S1"},
    )
    flags = [
        {
            "kind": "unsupported",
            "detail": "d1",
            "sentence": "The **new** model is [fast](https://a.example/x) at 4k [S1].",
        },
        {
            "kind": "figure",
            "detail": "the source says 8k",
            "sentence": "The **new** model is [fast](https://a.example/x) at 4k [S1].",
        },
        {"kind": "unknown-citation", "detail": "d3", "sentence": "Not in the text at all."},
        {"kind": "note", "detail": "no sentence"},
    ]
    view = build_view(_page(body), flags)
    assert view.placed == [0, 1] and view.unplaced == [2, 3]
    assert view.order == [0, 1, 2, 3]
    text = re.sub(r"<[^>]+>", "", view.body)
    assert (
        "Intro. The new model is fast at 4k [S1].\u26911 unsupported\u26912 figure Outro." in text
    )
    marked = "".join(re.findall(r'<mark class="flagged">([^<]*)</mark>', view.body))
    assert marked == "The new model is fast at 4k [S1]."
    assert "<strong>" in view.body and 'href="https://a.example/x"' in view.body
    assert 'title="figure: the source says 8k"' in view.body
    # Title, old flag list and trust line are gone from the body; the references moved.
    assert "<h1>" not in view.body and "old list" not in view.body and "Trust: x" not in view.body
    assert 'id="src-S1"' in view.references and "References" not in view.body


def test_anything_active_in_a_page_is_dropped() -> None:
    page = _page(
        '<p onclick="x()">Hi <a href="javascript:alert(1)">j</a> <a href="https://ok.example/">o</a>'
        '<script>alert(1)</script><iframe src="https://e.example/"></iframe>'
        '<span style="color:red">s</span></p>'
    )
    view = build_view(page, [])
    assert "onclick" not in view.body and "<script" not in view.body and "<iframe" not in view.body
    assert "javascript:" not in view.body and "style=" not in view.body
    assert 'href="https://ok.example/"' in view.body
