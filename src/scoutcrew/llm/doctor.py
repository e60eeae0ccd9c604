"""`scoutcrew doctor`: is Ollama up, are the crews' models pulled, what num_ctx will they get."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import LLMError, ModelNotFound
from .specs import EMBEDDED_DEFAULT, ModelSpec, parse_spec

if TYPE_CHECKING:
    from .runtime import LLMRuntime


@dataclass
class DoctorLine:
    """One finding of `run_doctor`: what was checked, what was found, how to fix it."""

    subject: str
    message: str
    ok: bool = True
    fix: str | None = None
    level: str = "ok"  # ok | warn | error


def format_doctor(lines: list[DoctorLine]) -> str:
    """Render doctor findings as aligned text lines for the terminal."""
    marks = {"ok": "ok  ", "warn": "warn", "error": "FAIL"}
    width = max((len(line.subject) for line in lines), default=0)
    out = []
    for line in lines:
        text = f"[{marks.get(line.level, line.level)}] {line.subject:<{width}}  {line.message}"
        if line.fix:
            text += f"\n       {'':<{width}}  fix: {line.fix}"
        out.append(text)
    return "\n".join(out)


def run_doctor(
    runtime: LLMRuntime, specs: list[str], chains: dict[str, list[list[str]]] | None = None
) -> list[DoctorLine]:
    """Check each backend (Ollama, the embedded engine) and every model the crews use.

    `chains`: each crew's model chains (one per agent), by crew name. Ollama being down is an
    error unless every crew can run without it: with backend `auto`, a crew falls back only
    where its chains name a working embedded model, so the host's line says which crews fall
    back and which cannot run. Without `chains`, each spec is a chain of its own.
    """
    lines: list[DoctorLine] = []
    parsed = [parse_spec(s) for s in dict.fromkeys(specs)]
    chains = chains if chains is not None else {s: [[s]] for s in dict.fromkeys(specs)}
    embedded_line = _doctor_embedded(runtime)
    if runtime.backend != "embedded" and any(p.backend == "ollama" for p in parsed):
        up = runtime.reachable_hosts()
        falls_back = {name: _falls_back(runtime, crew) for name, crew in chains.items()}
        fallback = bool(falls_back) and all(falls_back.values())
        for host in runtime.hosts:
            if host in up:
                lines.append(DoctorLine(host, f"Ollama {runtime.versions[host]} is running"))
                continue
            # With another host up this is lost failover, not a broken setup.
            serves = " (other hosts are)" if up else ""
            fix = "start it with `ollama serve` or set OLLAMA_HOST"
            if not up:
                serves, also = _without_ollama(falls_back)
                fix += also
            lines.append(
                DoctorLine(
                    host,
                    "Ollama is not reachable" + serves,
                    ok=bool(up) or fallback,
                    level="warn" if (up or fallback) else "error",
                    fix=fix,
                )
            )
        for spec in parsed:
            if spec.backend != "ollama":
                continue
            if not up and not spec.host:
                lines.append(
                    DoctorLine(
                        spec.raw,
                        "cannot check: no Ollama host answers",
                        ok=fallback,
                        level="warn" if fallback else "error",
                    )
                )
            else:
                lines.append(_doctor_model(runtime, spec))
    lines.append(embedded_line)
    for spec in parsed:
        if spec.backend == "embedded" and spec.raw != embedded_line.subject:
            lines.append(_doctor_model(runtime, spec))
    return lines


def _falls_back(runtime: LLMRuntime, chains: list[list[str]]) -> bool:
    """Whether every chain names a model the embedded engine can run (after the backend)."""
    from . import embedded

    def runs_in_process(chain: list[str]) -> bool:
        for spec in (parse_spec(s) for s in runtime.resolve_chain(chain)):
            if spec.backend == "embedded" and embedded.check(spec.name, runtime.data_dir) is None:
                return True
        return False

    if runtime.backend == "ollama":
        return False
    return all(runs_in_process(chain) for chain in chains)


def _without_ollama(falls_back: dict[str, bool]) -> tuple[str, str]:
    """What runs with no Ollama: (the host line's words, what to add to the fix)."""
    yes = sorted(name for name, ok in falls_back.items() if ok)
    no = sorted(name for name, ok in falls_back.items() if not ok)
    if not no:
        return " (every crew falls back to the embedded engine, as its chain declares)", ""
    names = "its chain names" if len(no) == 1 else "their chains name"
    cannot = f"{', '.join(no)} cannot run: {names} no fallback"
    also = "; or let a crew fall back: add embedded/default to its llm: chain"
    if not yes:
        return f" ({cannot})", also
    verb = "falls" if len(yes) == 1 else "fall"
    return f" ({', '.join(yes)} {verb} back to the embedded engine; {cannot})", also


def _doctor_embedded(runtime: LLMRuntime) -> DoctorLine:
    """The embedded engine with its default model: what runs when Ollama does not."""
    line = _doctor_model(runtime, parse_spec(EMBEDDED_DEFAULT))
    if runtime.backend == "ollama" and not line.ok:
        # Not used with backend `ollama`: worth knowing, not a failure.
        return DoctorLine(line.subject, line.message, ok=True, level="warn", fix=line.fix)
    return line


def _doctor_model(runtime: LLMRuntime, spec: ModelSpec) -> DoctorLine:
    if spec.backend == "embedded":
        from . import embedded

        problem = embedded.check(spec.name, runtime.data_dir)
        if problem:
            return DoctorLine(spec.raw, problem[0], ok=False, level="error", fix=problem[1])
        ctx = runtime.num_ctx(spec.raw)
        return DoctorLine(spec.raw, f"embedded engine ready (in process), num_ctx {ctx}")
    try:
        info = runtime.model_info(spec.raw)
    except ModelNotFound:
        return DoctorLine(
            spec.raw, "not pulled", ok=False, level="error", fix=f"ollama pull {spec.name}"
        )
    except LLMError as exc:
        return DoctorLine(spec.raw, f"cannot check: {exc}", ok=False, level="error")
    ctx = runtime.num_ctx(spec.raw)
    caps = ", ".join(info.capabilities)
    tools = "native tools" if "tools" in info.capabilities else "no native tools (text only)"
    # A listed model is not a model that answers: ask it for one token.
    answered = answers(runtime, spec.raw)
    if answered is not None:
        return DoctorLine(
            spec.raw,
            f"listed, but it does not answer: {answered}",
            ok=False,
            level="error",
            fix=f"check `ollama ps` and the server's log; `ollama run {spec.name}` shows why",
        )
    return DoctorLine(
        spec.raw,
        f"answers; context length {info.context_length or 'unknown'}, num_ctx used {ctx}; "
        f"capabilities: {caps}; {tools}",
    )


def answers(runtime: LLMRuntime, spec: str) -> str | None:
    """None when the model answers a one-token request, else why it does not."""
    try:
        runtime.complete(
            [spec],
            [{"role": "user", "content": "Say OK."}],
            options={"num_predict": 1, "temperature": 0.0},
            task="doctor",
            agent="doctor",
        )
    except LLMError as exc:
        return str(exc)
    return None


def probe_lines(runtime: LLMRuntime, specs: list[str]) -> list[DoctorLine]:
    """`scoutcrew doctor --probe`: measure each model now (and cache what was measured)."""
    lines = []
    for spec in specs:
        if runtime.is_base_model(spec):
            lines.append(
                DoctorLine(
                    spec, "a base model (no chat template): written extractively, not probed"
                )
            )
            continue
        try:
            profile = runtime.profile(spec, force=True)
        except LLMError as exc:
            lines.append(DoctorLine(spec, f"cannot probe: {exc}", ok=False, level="error"))
            continue
        if profile is None:
            lines.append(
                DoctorLine(spec, "cannot probe: the model does not answer", ok=False, level="error")
            )
            continue
        problems = "; ".join(profile.problems)
        lines.append(
            DoctorLine(
                spec,
                profile.summary() + (f" (seen: {problems[:300]})" if problems else ""),
                level="ok" if profile.follows_schema else "warn",
            )
        )
    return lines
