"""The hostile catalogue's rough edges: what a new user and an attacker hit beyond the inputs
of a crew. Braces in an input, MCP errors and a killed MCP server, bad schedules, YAML
indentation, a locked, read-only or full store, the web app's inputs and Host check, a weak
token, options after the command, an Ollama that answers only errors.

bench_hostile.py runs these with its own cases (EDGE_CASES). The MCP and web cases drive the
real server from a driver process of their own, `python benchmarks/hostile_edges.py DRIVER
PROJECT`, which prints what it saw as JSON; the case judges it.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hostile_kit import MODEL, ROOT, Case, Env, Ran, Result, bounded, clean
from readme_examples import CRITIC_AGENT

from scoutcrew.testing.fake_ollama import FakeOllama
from scoutcrew.testing.scripts import scripted_reader

EDGE_CASES: list[Case] = []
_BY_NAME: dict[str, Case] = {}


def edge(name: str, **bounds: object) -> Callable[[Callable[[Case, Env], Result]], None]:
    """Register `run(case, env)` as a case of the catalogue."""

    def register(run: Callable[[Case, Env], Result]) -> None:
        case = Case(name, lambda tmp: run(_BY_NAME[name], Env(tmp)), **bounds)  # type: ignore[arg-type]
        EDGE_CASES.append(case)
        _BY_NAME[name] = case

    return register


def _judge(ran: Ran, ok: bool, why: str) -> Result:
    bad = clean(ran)
    if bad:
        return Result(False, bad, ran)
    return Result(ok, why if ok else f"exit {ran.code}: {ran.text.strip()[-140:]!r}", ran)


def _last(ran: Ran) -> str:
    lines = [x for x in ran.err.splitlines() if x.strip()]
    return lines[-1].strip() if lines else ""


# --------------------------------------------------------------------------- inputs and CLI


@edge("input-braces", timeout=120, peak_mb=1200, address_space_mb=6144)
def input_braces(case: Case, env: Env) -> Result:
    topic = "C++ {templates} } {evidence"
    writer = scripted_reader(lambda request: "Final Answer: Local models got faster [S1].")
    with FakeOllama(default_reply=writer) as ollama:
        env.env["OLLAMA_HOST"] = ollama.url
        args = ["run", "demo", "--backend", "ollama", "--model", MODEL, "--input", f"topic={topic}"]
        ran = bounded(case, env, env.cli(*args))
    ok = ran.code == 0 and bool(ran.out.strip())
    if ok:
        report = Path(ran.out.strip().splitlines()[-1]).with_suffix(".json")
        ok = json.loads(report.read_text())["title"] == f"Demo digest: {topic}"
    return _judge(ran, ok, "the run ends ok; the title keeps the braces as typed")


@edge("cli-options-after-command", timeout=20, peak_mb=300, address_space_mb=1024)
def options_after(case: Case, env: Env) -> Result:
    cmd = [sys.executable, "-m", "scoutcrew.cli", "run", "nope", "--project", str(env.project)]
    ran = bounded(case, env, cmd)
    ok = ran.code == 1 and "no crew 'nope'" in ran.err and "unrecognized" not in ran.err
    return _judge(ran, ok, f"read: {_last(ran)[:90]}")


@edge("serve-weak-token", timeout=20, peak_mb=300, address_space_mb=1024)
def weak_token(case: Case, env: Env) -> Result:
    from servekit import free_port

    args = ["serve", "--host", "0.0.0.0", "--port", str(free_port()), "--token", " "]
    ran = bounded(case, env, env.cli(*args))
    ok = ran.code == 1 and "the token is too weak" in ran.err
    return _judge(ran, ok, "refused: " + _last(ran)[:90])


# --------------------------------------------------------------------------- configuration


BAD_SCHEDULES = ['"0 25 * * *"', '"0 7 * * 1-8"', '"0 7 * * mon-fry"', '"61 7 * * *"']


@edge("validate-bad-schedules", timeout=60, peak_mb=300, address_space_mb=1024)
def bad_schedules(case: Case, env: Env) -> Result:
    demo = env.project / "crews" / "demo.yaml"
    original = demo.read_text()
    line = original.count("\n") + 1
    runs = []
    for schedule in [*BAD_SCHEDULES, '{cron: "0 7 * * *", timezone: Europe/Pari}', '"0 7 31 2 *"']:
        demo.write_text(original + f"schedule: {schedule}\n")
        runs.append(bounded(case, env, env.cli("validate")))
    total = Ran(0, "", "", sum(r.seconds for r in runs), max(r.peak_mb for r in runs))
    for ran in runs:
        if clean(ran):
            return Result(False, str(clean(ran)), total)
    *bad, never = runs
    named = all(r.code == 1 and f"crews/demo.yaml:{line}: schedule." in r.err for r in bad)
    warned = never.code == 0 and "it never fires" in never.err
    why = f"{len(bad)} refused with crews/demo.yaml:{line}; '0 7 31 2 *' warned, exit 0"
    return Result(named and warned, why if named and warned else repr(bad[0].err[-120:]), total)


@edge("yaml-indent-names-the-line", timeout=20, peak_mb=300, address_space_mb=1024)
def indent_line(case: Case, env: Env) -> Result:
    agents = env.project / "agents.yaml"
    text = agents.read_text() + CRITIC_AGENT.replace("  role: Critic", "role: Critic")
    agents.write_text(text)
    line = text.split("\n").index("role: Critic") + 1
    ran = bounded(case, env, env.cli("validate"))
    ok = ran.code == 1 and f"agents.yaml:{line}: invalid YAML: 'role: Critic'" in ran.err
    ok = ok and "indent it 2 spaces" in ran.err
    return _judge(ran, ok, f"named line {line} and the fix")


# --------------------------------------------------------------------------- the store


HOLD = (
    "import sqlite3, sys, time\n"
    "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "conn.execute('BEGIN EXCLUSIVE')\n"
    "print('locked', flush=True)\n"
    "time.sleep(60)\n"
)


def _store(env: Env) -> Path:
    from scoutcrew.store.db import Store

    path = env.tmp / "home" / "scoutcrew.sqlite"
    Store.open(path).close()
    return path


@edge("store-locked-by-another-process", timeout=30, peak_mb=1200, address_space_mb=6144)
def store_locked(case: Case, env: Env) -> Result:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(_store(env))], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        env.env["SCOUTCREW_STORE_WAIT"] = "3"
        ran = bounded(case, env, env.cli("run", "demo"))
    finally:
        holder.kill()
        holder.wait()
    said = f"locked by another process (pid {holder.pid}: " in ran.err
    ok = ran.code == 1 and said and _last(ran).startswith("error: the store ")
    return _judge(ran, ok, f"named pid {holder.pid}, waited, stopped in {ran.seconds:.0f} s")


def _no_dac_override() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH: act as a plain user
        libc.prctl(24, capability, 0, 0, 0)


@edge("store-read-only-home", timeout=30, peak_mb=1200, address_space_mb=6144)
def store_read_only(case: Case, env: Env) -> Result:
    _store(env)
    home = env.tmp / "home"
    for path in [home, *home.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        ran = bounded(case, env, env.cli("run", "demo"), before=_no_dac_override)
    finally:
        for path in [home, *home.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    line = _last(ran)
    ok = ran.code == 1 and line.startswith("error: cannot write") and "SCOUTCREW_HOME" in line
    return _judge(ran, ok and "Errno" not in ran.err, line[:100])


@edge("store-disk-full", timeout=90, peak_mb=1200, address_space_mb=6144)
def store_full(case: Case, env: Env) -> Result:
    import resource

    _store(env)

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (150_000, 150_000))

    with FakeOllama() as ollama:
        env.env["OLLAMA_HOST"] = ollama.url
        cmd = env.cli("run", "demo", "--backend", "ollama", "--model", MODEL)
        ran = bounded(case, env, cmd, before=small_disk)
    line = _last(ran)
    ok = ran.code == 1 and line.startswith("error: cannot write") and "full" in line
    return _judge(ran, ok, line[:100])


# --------------------------------------------------------------------------- Ollama


@edge("ollama-502-everywhere", timeout=60, peak_mb=1200, address_space_mb=6144)
def ollama_502(case: Case, env: Env) -> Result:
    from hostile import errors_only

    with errors_only() as url:
        env.env["OLLAMA_HOST"] = url
        ran = bounded(case, env, env.cli("run", "demo", "--backend", "ollama", "--model", MODEL))
    line = _last(ran)
    ok = ran.code == 1 and "answers, but with errors: 502" in line
    return _judge(ran, ok and "not reachable" not in ran.err, line[:100])


# --------------------------------------------------------------------------- servers


def _driven(case: Case, env: Env, driver: str) -> tuple[Ran, dict]:
    ran = bounded(case, env, [sys.executable, __file__, driver, str(env.project)])
    try:
        return ran, json.loads(ran.out.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return ran, {}


@edge("web-bad-inputs-and-hosts", timeout=60, peak_mb=600, address_space_mb=4096)
def web(case: Case, env: Env) -> Result:
    ran, seen = _driven(case, env, "web")
    if not seen:
        return _judge(ran, False, "")
    inputs, hosts = seen["inputs"], seen["hosts"]
    bad = [k for k, v in inputs.items() if not 400 <= v < 500] + [
        h for h, v in hosts.items() if v != 421
    ]
    leaked = "Traceback" in seen["log"]
    why = f"inputs {sorted(set(inputs.values()))}, {len(hosts)} Hosts 421, no traceback"
    return Result(not bad and not leaked, why if not bad else f"served: {bad}", ran)


@edge("mcp-errors-and-kill", timeout=120, peak_mb=600, address_space_mb=4096)
def mcp(case: Case, env: Env) -> Result:
    ran, seen = _driven(case, env, "mcp")
    if not seen:
        return _judge(ran, False, "")
    not_errors = [k for k, (is_error, _text) in seen["calls"].items() if not is_error]
    leaked = [k for k, (_e, text) in seen["calls"].items() if str(env.project) in text]
    ok = not not_errors and not leaked and seen["child_gone"] and seen["status"] == "interrupted"
    why = (
        f"{len(seen['calls'])} tool errors, no path; kill -9 of the server stopped its run in "
        f"{seen['stopped_in']:.1f} s (recorded {seen['status']})"
    )
    return Result(ok, why if ok else f"{not_errors} {leaked} {seen}", ran)


# --------------------------------------------------------------------------- drivers


def drive_web(project: Path) -> dict:
    import httpx
    from servekit import Server, Site, csrf_token

    site = Site(project, Path(os.environ["SCOUTCREW_HOME"]))
    server = Server(site, "--backend", "ollama", env=dict(os.environ))
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:

            def post(crew: str, topic: str) -> int:
                token = csrf_token(client.get("/crews").text)
                data = {"csrf": token, "input.topic": topic}
                return client.post(f"/crews/{crew}/run", data=data).status_code

            inputs = {
                "200 KB": post("demo", "x" * 200_000),
                "NUL": post("demo", "a\x00b"),
                "blank topic": post("topic-brief", "  "),
            }
            evil = ["[::1].evil.example", "127.0.0.1:18787@evil.example", "localhost:evil.example"]
            hosts = {h: client.get("/crews", headers={"Host": h}).status_code for h in evil}
    finally:
        server.stop()
    return {"inputs": inputs, "hosts": hosts, "log": server.output()}


def drive_mcp(project: Path) -> dict:
    import anyio
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    home = Path(os.environ["SCOUTCREW_HOME"])
    out: dict = {"calls": {}}
    ollama = FakeOllama()
    ollama.wedge("/api/chat")

    async def scenario() -> None:
        params = StdioServerParameters(
            command=sys.executable,
            args=["-m", "scoutcrew.cli", "--project", str(project), "mcp", "--backend", "ollama"],
            env={**os.environ, "OLLAMA_HOST": ollama.url},
            cwd=str(project),
        )
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            for key, tool, args in [
                ("traversal", "run_crew", {"crew": "../../etc/passwd"}),
                ("search unknown crew", "search_reports", {"query": "x", "crew": "nope"}),
                ("limit -1", "search_reports", {"query": "x", "limit": -1}),
                ("limit abc", "search_reports", {"query": "x", "limit": "abc"}),
                ("NUL input", "run_crew", {"crew": "demo", "inputs": {"topic": "a\x00b"}}),
            ]:
                call = await session.call_tool(tool, args)
                text = " ".join(getattr(c, "text", "") for c in call.content)
                out["calls"][key] = [call.isError, text]
            async with anyio.create_task_group() as group:

                async def run() -> None:
                    try:
                        await session.call_tool("run_crew", {"crew": "demo"})
                    except Exception:  # the server is killed under the call
                        pass

                group.start_soon(run)
                owner = home / "locks" / "demo.owner"
                while not owner.exists() or not ollama.chat_requests:
                    await anyio.sleep(0.1)
                child = int(json.loads(owner.read_text())["pid"])
                stat = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()
                os.kill(int(stat[1]), signal.SIGKILL)  # the MCP server: the run's parent
                killed = time.monotonic()
                while Path(f"/proc/{child}").exists() and time.monotonic() - killed < 30:
                    state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
                    if state == "Z":
                        break
                    await anyio.sleep(0.1)
                out["stopped_in"] = time.monotonic() - killed
                out["child_gone"] = out["stopped_in"] < 30
                group.cancel_scope.cancel()

    with ollama:
        try:
            anyio.run(scenario)
        except Exception:  # the pipes of a killed server: the scenario itself is done
            pass
    from scoutcrew.store.db import Store
    from scoutcrew.store.runs import list_runs

    with Store.open(home / "scoutcrew.sqlite") as store:
        runs = list_runs(store)
    out["status"] = runs[0].status if runs else None
    return out


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]
    driver, project = sys.argv[1], Path(sys.argv[2])
    seen = {"web": drive_web, "mcp": drive_mcp}[driver](project)
    print(json.dumps(seen))
