"""The hostile catalogue: every attack and fault we know of, run for real, time and memory bound.

    python benchmarks/bench_hostile.py [--only NAME[,NAME...]] [--skip-slow]

Each case builds a fresh copy of the project in a temporary folder, starts what it needs on
127.0.0.1 (feed servers, a fake Ollama, a server that accepts and never answers, one that
drops the stream, a proxy that answers 502 with nginx's page), and runs the real CLI in a
subprocess under RLIMIT_AS, with a time bound. It prints one table: case, owner, outcome,
time, peak RSS, and why. Exit 1 on any traceback, any hang past its bound, any case over its
memory bound, or any wrong outcome, including the cases whose fix lives elsewhere (the model
client's timeouts, which items count as reported): their rows say so honestly.

What "reported" means here: an item that the store marks as reported for a crew must be cited
by that crew's report (an item the report only lists as uncited evidence, or that was dropped
for the budget, was not delivered to the reader).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from feedserver import FeedServer  # noqa: E402  (the tests' hostile feed server)
from hostile import (  # noqa: E402
    CONTROL_CHARS,
    ESCAPE_REPLY,
    alias_bomb,
    damaged_utf8,
    deep_block_yaml,
    deep_yaml,
    escape_feed,
    rss091,
)
from hostile_edges import EDGE_CASES  # noqa: E402
from hostile_kit import (  # noqa: E402  (the harness: bounded runs, misbehaving servers)
    MB,
    MODEL,
    Case,
    Env,
    Proxy,
    Ran,
    Result,
    Wedged,
    bounded,
    clean,
    expect_config_error,
)

from scoutcrew.testing.fake_ollama import FakeOllama  # noqa: E402
from scoutcrew.testing.scripts import free_text_tasks, scripted_reader  # noqa: E402


def yaml_case(name: str, filename: str, content: str | bytes, args: list[str], needle: str):
    def run(tmp: Path) -> Result:
        env = Env(tmp)
        path = env.project / filename
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return expect_config_error(CASES_BY_NAME[name], env, args, needle)

    return Case(name, run, timeout=20, peak_mb=300, address_space_mb=1024)


def tab_in_tasks(tmp: Path) -> Result:
    env = Env(tmp)
    tasks = env.project / "tasks.yaml"
    lines = tasks.read_text().split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("  "))
    lines[index] = "\t" + lines[index][2:]
    tasks.write_text("\n".join(lines))
    return expect_config_error(
        CASES_BY_NAME["yaml-tab-in-tasks"], env, ["validate"], "YAML indents with spaces"
    )


def daemon_with_bomb(tmp: Path) -> Result:
    case = CASES_BY_NAME["daemon-bomb-sigterm"]
    env = Env(tmp)
    demo = env.project / "crews" / "demo.yaml"
    demo.write_text(demo.read_text() + 'schedule: "0 7 * * *"\n')
    (env.project / "crews" / "bomb.yaml").write_text(alias_bomb())
    (env.project / "crews" / "deep.yaml").write_text(deep_yaml())
    timing: dict[str, float] = {}

    def stop_when_running(proc: subprocess.Popen, err: Path) -> None:
        deadline = time.monotonic() + 20
        while "schedule daemon running" not in err.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                return
            time.sleep(0.05)
        timing["signalled"] = time.monotonic()
        proc.send_signal(signal.SIGTERM)

    ran = bounded(case, env, env.cli("schedule", "run"), during=stop_when_running)
    stopped_in = time.monotonic() - timing.get("signalled", time.monotonic())
    bad = clean(ran)
    if bad:
        return Result(False, bad, ran)
    if "signalled" not in timing:
        return Result(False, f"never started: {ran.err.strip()[-120:]!r}", ran)
    if ran.code != 0 or "scheduled demo" not in ran.err or "crews/bomb.yaml:1" not in ran.err:
        return Result(False, f"exit {ran.code}: {ran.err.strip()[-120:]!r}", ran)
    return Result(
        True, f"scheduled demo, named both bad files, exit 0 {stopped_in:.1f} s after SIGTERM", ran
    )


def plan_feed(name: str, body: bytes, content_type: str, want: str, note: str | None = None):
    """`scoutcrew plan` of a crew whose one feed is `body`, served on 127.0.0.1."""

    def run(tmp: Path) -> Result:
        case = CASES_BY_NAME[name]
        env = Env(tmp)
        with FeedServer() as server:
            server.extra["/feed.xml"] = (200, {"Content-Type": content_type}, body)
            env.crew("hostile", [f"{server.url}/feed.xml"])
            ran = bounded(case, env, env.cli("plan", "hostile"))
        bad = clean(ran)
        if bad:
            return Result(False, bad, ran)
        if ran.code != 0 or want not in ran.out:
            return Result(False, f"exit {ran.code}; {want!r} not in the plan", ran)
        if note and note not in ran.out:
            return Result(False, f"no note {note!r}", ran)
        errors = [x for x in ran.out.splitlines() if "[error]" in x]
        if errors:
            return Result(False, errors[0].strip()[:110], ran)
        return Result(True, f"read: {want}" + (f" ({note})" if note else ""), ran)

    return Case(name, run)


def plan_refused(
    name: str, urls: Callable[[FeedServer, Path], list[str]], needle: str, *, fetches: bool = False
):
    """`scoutcrew plan` of a crew whose feeds must each be refused with `needle`."""

    def run(tmp: Path) -> Result:
        case = CASES_BY_NAME[name]
        env = Env(tmp)
        with FeedServer() as server:
            env.crew("hostile", urls(server, env.project))
            ran = bounded(case, env, env.cli("plan", "hostile"))
            reached = len(server.requests)
        bad = clean(ran)
        if bad:
            return Result(False, bad, ran)
        notes = [x.strip() for x in ran.out.splitlines() if "[error]" in x]
        if ran.code != 0 or not notes or not all(needle in n for n in notes):
            return Result(False, f"exit {ran.code}; notes {notes[:1]}", ran)
        if "unexpected" in ran.text:
            return Result(False, "an 'unexpected' error", ran)
        if reached and not fetches:
            return Result(False, f"{reached} request(s) reached the server", ran)
        return Result(True, f"{len(notes)} refused, {reached} requests: {notes[0][:80]}", ran)

    return Case(name, run)


def ipv6_loopback(tmp: Path) -> Result:
    case = CASES_BY_NAME["ipv6-loopback-allowed"]
    env = Env(tmp)
    from feedserver import GOOD_RSS

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(GOOD_RSS)))
            self.end_headers()
            self.wfile.write(GOOD_RSS)

    class V6(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    try:
        server = V6(("::1", 0), Handler)
    except OSError as exc:
        return Result(True, f"skipped: no IPv6 loopback here ({exc})")
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
    try:
        env.crew("hostile", [f"http://[::1]:{server.server_address[1]}/feed.xml"])
        ran = bounded(case, env, env.cli("plan", "hostile"))
    finally:
        server.shutdown()
        server.server_close()
    bad = clean(ran)
    if bad:
        return Result(False, bad, ran)
    if ran.code != 0 or "Gathered 2 items" not in ran.out:
        return Result(False, f"exit {ran.code}: {ran.out.strip()[:100]!r}", ran)
    return Result(True, "fetched 2 items from [::1] with allow_private_hosts", ran)


def fifo_feed(tmp: Path) -> Result:
    case = CASES_BY_NAME["fifo-feed"]
    env = Env(tmp)
    os.mkfifo(env.project / "examples" / "feeds" / "pipe.xml")
    env.crew("hostile", ["examples/feeds/pipe.xml"])
    ran = bounded(case, env, env.cli("plan", "hostile"))
    bad = clean(ran)
    if bad:
        return Result(False, bad, ran)
    # Refused by the config check before anything runs, or by the fetcher while gathering.
    if ran.code == 1 and "is not a file" in ran.err:
        return Result(True, "refused by validation: not a file", ran)
    if ran.code != 0 or "is not a regular file" not in ran.out:
        return Result(False, f"exit {ran.code}: {(ran.out + ran.err).strip()[:100]!r}", ran)
    return Result(True, "refused: not a regular file", ran)


def controls_in(text: str) -> list[str]:
    return sorted({repr(c) for c in text if c in CONTROL_CHARS})


def escapes(tmp: Path) -> Result:
    case = CASES_BY_NAME["terminal-escapes"]
    env = Env(tmp)
    # Notes as a careful reader takes them (an answer of escapes has no fact to note); the
    # crew's tasks answer with escapes, in free text, so they reach the report as written.
    reply = scripted_reader(lambda _request: ESCAPE_REPLY)
    with FeedServer() as server, FakeOllama(default_reply=reply) as ollama:
        server.extra["/esc.xml"] = (200, {"Content-Type": "application/rss+xml"}, escape_feed())
        env.crew("escapes", [f"{server.url}/esc.xml"])
        free_text_tasks(env.project)
        plan = bounded(case, env, env.cli("plan", "escapes"))
        env.env["OLLAMA_HOST"] = ollama.url
        ran = bounded(
            case,
            env,
            env.cli("run", "escapes", "--backend", "ollama", "--model", MODEL),
        )
        ran.seconds += plan.seconds
        ran.peak_mb = max(ran.peak_mb, plan.peak_mb)
    for what in (plan, ran):
        bad = clean(what)
        if bad:
            return Result(False, bad, ran)
    # Exit 3 is a partial run with its report: the item whose text is only an escape and
    # two words leaves no fact to note, and stays new.
    if plan.code != 0 or ran.code not in (0, 3):
        return Result(False, f"plan exit {plan.code}, run exit {ran.code}: {ran.err[-100:]!r}", ran)
    found = {"plan": controls_in(plan.text), "run output": controls_in(ran.text)}
    md = Path(ran.out.strip().splitlines()[-1])
    for path in (md, md.with_suffix(".html"), md.with_suffix(".json")):
        found[path.suffix] = controls_in(path.read_text())
    dirty = {k: v for k, v in found.items() if v}
    if dirty:
        return Result(False, f"control characters in {dirty}", ran)
    titles = {s["feed_title"] for s in json.loads(md.with_suffix(".json").read_text())["sources"]}
    if titles != {"Escapes weekly"}:
        return Result(False, f"feed_title {titles}", ran)
    return Result(
        True, "0 control chars in plan, progress, .md, .html, .json; feed_title text", ran
    )


def read_page_path(tmp: Path) -> Result:
    case = CASES_BY_NAME["read-page-local-path"]
    env = Env(tmp)
    code = (
        "import sys; from pathlib import Path; from scoutcrew.crew.tools import page_text; "
        "root = Path(sys.argv[1]); "
        "print('|'.join(page_text(t, root) for t in ('pyproject.toml', str(root / 'agents.yaml'),"
        " (root / 'tasks.yaml').as_uri())))"
    )
    ran = bounded(case, env, [sys.executable, "-c", code, str(env.project)])
    bad = clean(ran)
    if bad:
        return Result(False, bad, ran)
    if ran.out.count("http(s) URLs only") != 3 or "[project]" in ran.out or "role:" in ran.out:
        return Result(False, f"answer: {ran.out[:100]!r}", ran)
    return Result(True, "3 of 3 paths refused, nothing read", ran)


def proxy_502(tmp: Path) -> Result:
    case = CASES_BY_NAME["ollama-502-page"]
    env = Env(tmp)
    with FakeOllama() as ollama, Proxy(ollama.url, "502") as proxy:
        env.env["OLLAMA_HOST"] = proxy.url
        ran = bounded(case, env, env.cli("run", "demo", "--backend", "ollama", "--model", MODEL))
    bad = clean(ran)
    if bad:
        return Result(False, bad, ran)
    if ran.code == 0 or "<html" in ran.err or "<center>" in ran.err:
        return Result(False, f"exit {ran.code}; the page is printed", ran)
    line = next((x for x in ran.err.splitlines() if x.startswith("error:")), "")
    if "502 Bad Gateway" not in line or len(line) > 400:
        return Result(False, f"no one-line 502 summary: {ran.err.strip()[-120:]!r}", ran)
    return Result(True, f"one line: {line.strip()[:100]}", ran)


def wedged(tmp: Path) -> Result:
    case = CASES_BY_NAME["ollama-wedged"]
    env = Env(tmp)
    with Wedged() as server:
        env.env["OLLAMA_HOST"] = server.url
        ran = bounded(case, env, env.cli("run", "demo", "--backend", "ollama", "--model", MODEL))
    bad = clean(ran)
    if bad:
        return Result(False, bad, ran)
    last = ran.err.strip().splitlines()[-1:] or [""]
    if ran.code == 0 or not re.search(r"accept|did not answer|no answer|not answer", ran.err, re.I):
        return Result(False, f"exit {ran.code}: {last[0][:110]!r}", ran)
    return Result(True, f"failed in {ran.seconds:.0f} s: {last[0][:90]}", ran)


def dropped(tmp: Path) -> Result:
    case = CASES_BY_NAME["ollama-dropped-stream"]
    env = Env(tmp)
    with FakeOllama() as ollama, Proxy(ollama.url, "drop") as proxy:
        env.env["OLLAMA_HOST"] = proxy.url
        ran = bounded(case, env, env.cli("run", "demo", "--backend", "ollama", "--model", MODEL))
    bad = clean(ran)
    if bad:
        return Result(False, bad, ran)
    last = ran.err.strip().splitlines()[-1:] or [""]
    named = re.search(r"drop|mid-stream|closed|cut off|incomplete|interrupted", ran.err, re.I)
    if ran.code == 0 or not named or "not reachable" in ran.err:
        return Result(False, f"exit {ran.code}: {last[0][:110]!r}", ran)
    return Result(True, f"named: {last[0][:100]}", ran)


def reported_check(env: Env, crew: str, ran: Ran) -> Result:
    bad = clean(ran)
    if bad:
        return Result(False, bad, ran)
    delivered = env.delivered(crew)
    report = env.cited(crew)
    if report is None:
        if delivered:
            return Result(False, f"no report, yet {len(delivered)} items marked reported", ran)
        return Result(True, f"exit {ran.code}, no report, 0 items marked reported", ran)
    contained, cited_sources, listed = report
    lost = delivered - contained
    summary = (
        f"exit {ran.code}; {len(delivered)} URLs marked reported; the report contains "
        f"{listed} sources and cites {cited_sources}"
    )
    return Result(not lost, summary + (f"; {len(lost)} marked but not in it" if lost else ""), ran)


def outage_auto(tmp: Path) -> Result:
    case = CASES_BY_NAME["ollama-outage-auto-backend"]
    env = Env(tmp)
    ran = bounded(case, env, env.cli("run", "demo"))
    return reported_check(env, "demo", ran)


def small_context(tmp: Path) -> Result:
    case = CASES_BY_NAME["num-ctx-512-200-items"]
    env = Env(tmp)
    import random

    rng = random.Random(12)
    vocabulary = [
        f"{a}{b}"
        for a in ("kal", "mor", "tes", "vin", "dra", "pul", "sen", "qua")
        for b in ("ba", "ri", "to", "ne", "xu", "lo", "me", "ga", "fi", "po")
    ]

    def words(n: int) -> str:
        return " ".join(rng.sample(vocabulary, n))

    items = "".join(
        f"<item><title>Story {i}: {words(5)}</title><link>https://many.example/{i}</link>"
        f"<description>{words(25)}, {i + 10} tokens per second.</description></item>"
        for i in range(200)
    )
    (env.project / "examples" / "feeds" / "many.xml").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Many</title>{items}'
        "</channel></rss>"
    )
    agents = env.project / "agents.yaml"
    text = agents.read_text()
    for name in ("researcher", "analyst", "writer"):
        text = text.replace(f"\n{name}:\n", f"\n{name}:\n  num_ctx: 512\n", 1)
    agents.write_text(text)
    env.crew("many", ["examples/feeds/many.xml"], max_items=200)
    reply = "Final Answer: Local inference reached 10 tokens per second [S1]."
    with FakeOllama(default_reply=reply) as ollama:
        env.env["OLLAMA_HOST"] = ollama.url
        ran = bounded(case, env, env.cli("run", "many", "--backend", "ollama"))
    return reported_check(env, "many", ran)


def huge_feed(tmp: Path) -> Result:
    case = CASES_BY_NAME["huge-feed-streamed"]
    env = Env(tmp)
    with FeedServer() as server:
        env.crew("hostile", [f"{server.url}/huge.xml", f"{server.url}/bomb.xml"])
        ran = bounded(case, env, env.cli("plan", "hostile"))
    bad = clean(ran)
    if bad:
        return Result(False, bad, ran)
    notes = [x.strip() for x in ran.out.splitlines() if "[error]" in x]
    if ran.code != 0 or len(notes) != 2 or not all("too large" in n for n in notes):
        return Result(False, f"exit {ran.code}; {notes}", ran)
    return Result(True, "30 MB stream and 40 MB gzip bomb cut at the 10 MB cap", ran)


CASES: list[Case] = [
    yaml_case(
        "yaml-alias-bomb", "crews/bomb.yaml", alias_bomb(), ["validate"], "crews/bomb.yaml:1:"
    ),
    yaml_case("yaml-alias-bomb-list", "crews/bomb.yaml", alias_bomb(), ["list"], "alias bomb"),
    yaml_case("yaml-recursive-alias", "crews/rec.yaml", "a: &a [*a]\n", ["validate"], "itself"),
    yaml_case("yaml-deep-3000-flow", "crews/deep.yaml", deep_yaml(3000), ["validate"], "nested"),
    yaml_case(
        "yaml-deep-1000-block", "crews/deep.yaml", deep_block_yaml(1000), ["validate"], "nested"
    ),
    yaml_case(
        "yaml-huge-50mb",
        "crews/huge.yaml",
        "description: " + "x" * (50 * MB) + "\n",
        ["validate"],
        "a YAML file may have at most",
    ),
    *[
        yaml_case(
            f"yaml-not-utf8-{'-'.join(args)}",
            "crews/latin.yaml",
            "description: Caf\xe9\nagents: [writer]\ntasks: [write_digest]\n".encode("latin-1"),
            args,
            "crews/latin.yaml:1: not UTF-8 text",
        )
        for args in (["validate"], ["list"], ["run", "latin"], ["schedule", "list"])
    ],
    Case("yaml-tab-in-tasks", tab_in_tasks, timeout=20, peak_mb=300, address_space_mb=1024),
    Case("daemon-bomb-sigterm", daemon_with_bomb, timeout=30, peak_mb=300),
    *[
        plan_feed(f"feed-{enc}-rss091-doctype", rss091(enc, title), "text/xml", f"{title} 1")
        for enc, title in (
            ("big5", "中文新聞"),
            ("shift_jis", "日本語のニュース"),
            ("gbk", "简体中文新闻"),
        )
    ],
    plan_feed(
        "feed-unknown-encoding",
        rss091("utf-8", "Plain news", declared="bogus"),
        "text/xml",
        "Plain news 1",
        "unknown encoding 'bogus'",
    ),
    plan_feed(
        "feed-damaged-utf8",
        damaged_utf8(),
        "application/rss+xml",
        "Café naïve résumé Zürich 1",
        "replaced by U+FFFD",
    ),
    plan_refused(
        "xml-entity-bomb",
        lambda s, p: [f"{s.url}/entities.xml", f"{s.url}/xxe.xml"],
        "XML entity declarations are refused",
        fetches=True,
    ),
    Case("huge-feed-streamed", huge_feed, timeout=40),
    Case("terminal-escapes", escapes, timeout=120, peak_mb=1200, address_space_mb=6144),
    plan_refused(
        "ipv4-odd-spellings",
        lambda s, p: [
            f"http://{h}:{s.port}/good.xml"
            for h in ("0177.0.0.1", "127.000.000.001", "0x7f.0.0.1", "2130706433", "127.1")
        ],
        "not a plain dotted IPv4 address",
    ),
    Case("ipv6-loopback-allowed", ipv6_loopback),
    Case("fifo-feed", fifo_feed),
    Case("read-page-local-path", read_page_path),
    Case("ollama-502-page", proxy_502, timeout=120, peak_mb=1200, address_space_mb=6144),
    # Owned by the model client's timeouts (a wedged host fails within about a minute).
    Case(
        "ollama-wedged",
        wedged,
        owner="model client",
        slow=True,
        timeout=120,
        peak_mb=1200,
        address_space_mb=6144,
    ),
    Case(
        "ollama-dropped-stream",
        dropped,
        owner="model client",
        timeout=120,
        peak_mb=1200,
        address_space_mb=6144,
    ),
    # Owned by the coverage work (which items count as reported).
    Case(
        "ollama-outage-auto-backend",
        outage_auto,
        owner="coverage",
        slow=True,
        timeout=600,
        peak_mb=2000,
        address_space_mb=8192,
    ),
    Case(
        "num-ctx-512-200-items",
        small_context,
        owner="coverage",
        timeout=240,
        peak_mb=1200,
        address_space_mb=6144,
    ),
]
CASES += EDGE_CASES  # hostile_edges.py: configuration, store, servers, messages
CASES_BY_NAME = {case.name: case for case in CASES}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated case names")
    parser.add_argument("--skip-slow", action="store_true", help="skip the cases over a minute")
    args = parser.parse_args()
    chosen = [c for c in CASES if not args.only or c.name in args.only.split(",")]
    if args.skip_slow:
        chosen = [c for c in chosen if not c.slow]
    rows = []
    for case in chosen:
        with tempfile.TemporaryDirectory(prefix=f"hostile-{case.name}-") as tmp:
            try:
                result = case.run(Path(tmp))
            except Exception as exc:  # the harness itself must not hide a case
                result = Result(False, f"harness error: {type(exc).__name__}: {exc}")
        ran = result.ran
        seconds = ran.seconds if ran else 0.0
        peak = ran.peak_mb if ran else 0.0
        ok = result.ok
        why = result.why
        if ran and not ran.hung and ran.seconds > case.timeout:
            ok, why = False, f"over its {case.timeout:g} s bound: " + why
        if peak > case.peak_mb:
            ok, why = False, f"peak {peak:.0f} MB over its {case.peak_mb} MB bound; " + why
        rows.append((case, ok, why, seconds, peak))
        print(
            f"{case.name:<34} {case.owner:<12} {'ok' if ok else 'FAIL':<5} {seconds:>7.1f} s "
            f"{peak:>7.0f} MB  {why}",
            flush=True,
        )
    print()
    print(f"{'case':<34} {'owner':<12} {'out':<5} {'time':>9} {'peak RSS':>10}  bound")
    for case, ok, _why, seconds, peak in rows:
        print(
            f"{case.name:<34} {case.owner:<12} {'ok' if ok else 'FAIL':<5} {seconds:>7.1f} s "
            f"{peak:>7.0f} MB  {case.timeout:g} s / {case.peak_mb} MB"
        )
    failed = [case.name for case, ok, *_ in rows if not ok]
    mine = [n for n in failed if CASES_BY_NAME[n].owner == "hardening"]
    summary = f"\n{len(rows) - len(failed)} of {len(rows)} cases ok; failed: "
    print(summary + (", ".join(failed) or "none") + (f" (hardening: {mine})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
