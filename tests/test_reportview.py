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
            "kind": "contradicted",
            "claim_class": "figure",
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
        "Intro. The new model is fast at 4k [S1].\u26911 contradicted (figure)\u26912 figure Outro."
        in text
    )
    marked = "".join(re.findall(r'<mark class="flagged">([^<]*)</mark>', view.body))
    assert marked == "The new model is fast at 4k [S1]."
    assert "<strong>" in view.body and 'href="https://a.example/x"' in view.body
    assert 'title="figure: the source says 8k"' in view.body
    assert 'class="flag-marker flag-contradicted"' in view.body  # styled by its verdict
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


def test_the_pages_own_claim_footnotes_become_our_markers_without_duplicates() -> None:
    body = (
        '<p>The model has a 8k window <span class="cite">[<a href="#src-S1">S1</a>]</span>.'
        '<sup class="claim-flag"><a href="#claim-1" title="figure: the source says 4k">[1]</a>'
        "</sup> Then a rewritten claim."
        '<sup class="claim-flag"><a href="#claim-2" title="negation">[2]</a></sup></p>'
        '<ol class="claim-notes"><li id="claim-1" value="1">the source says 4k</li>'
        '<li id="claim-2" value="2">negation</li></ol>'
    )
    flags = [
        {
            "kind": "figure",
            "detail": "4k",
            "sentence": "The model has a 8k window [S1].",
            "marker": 1,
        },
        {"kind": "negation", "detail": "flip", "sentence": "Not as written any more.", "marker": 2},
    ]
    view = build_view(_page(body), flags)
    assert "claim-flag" not in view.body and "claim-notes" not in view.body
    assert view.placed == [0, 1] and view.order == [0, 1]
    text = re.sub(r"<[^>]+>", "", view.body)
    assert (
        text
        == "The model has a 8k window [S1].\u26911 figure Then a rewritten claim.\u26912 negation"
    )
