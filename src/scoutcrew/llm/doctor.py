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


def run_doctor(runtime: LLMRuntime, specs: list[str]) -> list[DoctorLine]:
    """Check each backend (Ollama, the embedded engine) and every model the crews use.

    Ollama being down is an error only when nothing can serve instead: with backend `auto`
    and a working embedded engine it is a warning, and the embedded line says what serves.
    """
    lines: list[DoctorLine] = []
    parsed = [parse_spec(s) for s in dict.fromkeys(specs)]
    embedded_line = _doctor_embedded(runtime)
    fallback = runtime.backend == "auto" and embedded_line.ok
    if runtime.backend != "embedded" and any(p.backend == "ollama" for p in parsed):
        up = runtime.reachable_hosts()
        for host in runtime.hosts:
            if host in up:
                lines.append(DoctorLine(host, f"Ollama {runtime.versions[host]} is running"))
                continue
            # With another host up this is lost failover, not a broken setup.
            serves = " (other hosts are)" if up else ""
            if not up and fallback:
                serves = " (runs use the embedded engine instead)"
            lines.append(
                DoctorLine(
                    host,
                    "Ollama is not reachable" + serves,
                    ok=bool(up) or fallback,
                    level="warn" if (up or fallback) else "error",
                    fix="start it with `ollama serve` or set OLLAMA_HOST",
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
