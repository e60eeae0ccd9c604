"""The capability probe: what a model does, measured in a few short calls before a run relies
on it.

`probe(runtime, spec)` asks the model, through the run's own runtime (so every probe call is
in the ledger, task "probe"):

1. for two cited sentences about two of three tiny sources, in a JSON schema whose ids are an
   enum: does it follow the schema, and does each sentence carry the id of the source it is
   about (keeps ids)?
2. for one short sentence under a small output cap: does it stop by itself (within cap)?
3. with one tool, where the server lists the `tools` capability: does it call it natively?

and reads the real context length the server runs it with (/api/ps, or the engine's own
context) and the speed of the calls (tokens per second, generated and read).

A profile is cached per model digest (the digest Ollama lists, or a hash of the GGUF file) in
the data directory's `model-profiles.json`: a model is probed once, until it changes. The run
picks its way from it (`Profile.writer`, `Profile.tools`, `Profile.notes_batch`).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ContextOverflow, LLMError, OutputFormatError
from ..text.terms import terms
from .cited import SELECT, WRITE, CitedTask, parse_write, write_schema
from .ollama import ChatResult
from .specs import parse_spec

if TYPE_CHECKING:
    # Passed in, imported for its type only: runtime.py builds the crewai adapter, which
    # calls this module.
    from .runtime import LLMRuntime

PROBE_TASK = "probe"
PROFILES_FILE = "model-profiles.json"
PROFILE_VERSION = 1
SOURCES = {
    "S1": "The Kestrel lab released Osprey-7B, an open model with 7 billion parameters, "
    "on 3 March.",
    "S2": "Hospitals in Linden cut waiting times by 40 percent with a new triage schedule.",
    "S3": "The Heron harbour will close for two weeks of repairs in May.",
}
CITE_CAP = 200
SHORT_CAP = 48
TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
_cache_lock = threading.Lock()


@dataclass
class Profile:
    """What a model was measured to do, and when."""

    spec: str
    digest: str
    follows_schema: bool = False
    keeps_ids: bool = False
    within_cap: bool = False
    native_tools: bool | None = None  # None: the server does not offer tools for it
    context_length: int | None = None
    tokens_per_second: float = 0.0
    prompt_tokens_per_second: float = 0.0
    calls: int = 0
    measured_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    problems: list[str] = field(default_factory=list)
    version: int = PROFILE_VERSION

    @property
    def writer(self) -> str:
        """How writing tasks ask this model: sentences with ids, or a choice of facts."""
        return WRITE if self.follows_schema and self.keeps_ids else SELECT

    @property
    def tools(self) -> bool:
        return bool(self.native_tools)

    @property
    def notes_batch(self) -> int | None:
        """Sources per notes call: one at a time for a model that mixes ids up."""
        return None if self.keeps_ids else 1

    def summary(self) -> str:
        """One line for the report's Models section and `scoutcrew doctor --probe`."""

        def yes(value: bool | None) -> str:
            return "n/a" if value is None else ("yes" if value else "no")

        writer = "cited sentences (JSON)" if self.writer == WRITE else "chosen facts (JSON)"
        batch = "one source per notes call" if self.notes_batch == 1 else "notes in full batches"
        return (
            f"{self.spec}: probed {self.measured_at[:10]} ({self.calls} calls): JSON schema "
            f"{yes(self.follows_schema)}, keeps ids {yes(self.keeps_ids)}, stops within a cap "
            f"{yes(self.within_cap)}, native tools {yes(self.native_tools)}, context "
            f"{self.context_length or 'unknown'}, {self.tokens_per_second:.1f} tokens/s "
            f"({self.prompt_tokens_per_second:.0f} read); so: writer {writer}, "
            f"tools {'native' if self.tools else 'none'}, {batch}"
        )


# -- measuring ---------------------------------------------------------------------------------


def probe(runtime: LLMRuntime, spec: str, digest: str = "") -> Profile:
    """Measure `spec` in a few short calls (each in the ledger as task "probe")."""
    profile = Profile(spec=spec, digest=digest or model_digest(runtime, spec))
    mark = len(runtime.ledger.records)
    _probe_citing(runtime, spec, profile)
    _probe_cap(runtime, spec, profile)
    _probe_tools(runtime, spec, profile)
    profile.context_length = _real_context(runtime, spec)
    records = [r for r in runtime.ledger.records[mark:] if r.task == PROBE_TASK]
    profile.calls = len(records)
    done = [r for r in records if r.ok]
    generated, eval_ms = sum(r.completion_tokens for r in done), sum(r.eval_ms for r in done)
    read, read_ms = sum(r.prompt_tokens for r in done), sum(r.prompt_eval_ms for r in done)
    profile.tokens_per_second = generated / (eval_ms / 1000) if eval_ms else 0.0
    profile.prompt_tokens_per_second = read / (read_ms / 1000) if read_ms else 0.0
    return profile


def _ask(
    runtime: LLMRuntime,
    spec: str,
    messages: list[dict],
    cap: int,
    *,
    response_format: dict[str, Any] | None = None,
    tools: list[dict[str, Any]] | None = None,
) -> tuple[ChatResult, str]:
    result, value, _spec = runtime.complete(
        [spec], messages, options={"num_predict": cap, "temperature": 0.0, "seed": 7},
        task=PROBE_TASK, agent="probe", response_format=response_format, tools=tools,
    )  # fmt: skip
    return result, str(value)


def _probe_citing(runtime: LLMRuntime, spec: str, profile: Profile) -> None:
    task = CitedTask(name=PROBE_TASK, ids=list(SOURCES), style="prose", max_sentences=3)
    listed = "\n".join(f"[{sid}] {text}" for sid, text in SOURCES.items())
    messages = [
        {"role": "system", "content": "You write short cited notes from sources."},
        {
            "role": "user",
            "content": f"Sources:\n{listed}\n\nWrite two sentences: one about the hospitals "
            "in Linden and one about the Heron harbour. Answer with JSON only: "
            '{"sections": [{"heading": "News", "sentences": [{"ids": ["S1"], "text": "..."}]}]}'
            "; `ids` are the sources each sentence rests on.",
        },
    ]
    try:
        _result, text = _ask(runtime, spec, messages, CITE_CAP, response_format=write_schema(task))
    except (OutputFormatError, ContextOverflow) as exc:
        profile.problems.append(f"cited JSON: {exc}")
        return
    except LLMError as exc:
        profile.problems.append(f"cited JSON: {exc}")
        return
    try:
        parse_write(text, task, "")
        profile.follows_schema = True
    except OutputFormatError as exc:
        profile.problems.append(f"cited JSON: {exc}")
        return
    profile.keeps_ids = _ids_kept(text)
    if not profile.keeps_ids:
        profile.problems.append("cited JSON: a sentence names a source it is not about")


def _ids_kept(text: str) -> bool:
    """Every sentence cites the source it matches best, and both asked-for sources appear."""
    vocab = {sid: set(terms(body)) for sid, body in SOURCES.items()}
    cited: set[str] = set()
    data = json.loads(text)
    for section in data.get("sections") or []:
        for sentence in section.get("sentences") or []:
            words = set(terms(str(sentence.get("text") or "")))
            ids = set(sentence.get("ids") or [])
            if not words:
                return False
            best = max(vocab, key=lambda sid: len(words & vocab[sid]))
            if not words & vocab[best] or best not in ids:
                return False
            cited |= ids
    return {"S2", "S3"} <= cited


def _probe_cap(runtime: LLMRuntime, spec: str, profile: Profile) -> None:
    messages = [{"role": "user", "content": "In one short sentence: what is a harbour?"}]
    try:
        result, text = _ask(runtime, spec, messages, SHORT_CAP)
    except LLMError as exc:
        profile.problems.append(f"short answer: {exc}")
        return
    profile.within_cap = bool(text.strip()) and result.done_reason != "length"
    if not profile.within_cap:
        profile.problems.append(f"short answer: still going at the cap of {SHORT_CAP} tokens")


def _probe_tools(runtime: LLMRuntime, spec: str, profile: Profile) -> None:
    if parse_spec(spec).backend != "ollama" or not runtime.supports_tools(spec):
        profile.native_tools = None
        return
    messages = [{"role": "user", "content": "What is the weather in Paris? Use the tool."}]
    try:
        result, _text = _ask(runtime, spec, messages, 64, tools=[TOOL])
    except LLMError as exc:
        profile.problems.append(f"tools: {exc}")
        profile.native_tools = False
        return
    profile.native_tools = any(
        (call.get("function") or {}).get("name") == "get_weather" for call in result.tool_calls
    )


def _real_context(runtime: LLMRuntime, spec: str) -> int | None:
    """The context the server really runs the model with (/api/ps), else what it declares."""
    parsed = parse_spec(spec)
    if parsed.backend == "embedded":
        return runtime.num_ctx(spec)
    try:
        host = runtime.model_info(spec).host
        loaded = runtime.client.ps(host) if host else []
    except (LLMError, Exception):  # an old server without /api/ps: what /api/show says
        loaded = []
    for entry in loaded:
        if _same_model(str(entry.get("name") or entry.get("model") or ""), parsed.name):
            value = entry.get("context_length")
            if value:
                return int(value)
    try:
        return runtime.model_info(spec).context_length
    except LLMError:
        return None


def _same_model(listed: str, name: str) -> bool:
    full = name if ":" in name else f"{name}:latest"
    return listed in (name, full)


# -- the digest and the cache -------------------------------------------------------------------


def model_digest(runtime: LLMRuntime, spec: str) -> str:
    """What identifies the model's weights: Ollama's digest, or a hash of the GGUF file."""
    parsed = parse_spec(spec)
    if parsed.backend == "embedded":
        from . import embedded

        try:
            return "gguf:" + file_digest(embedded.resolve_model_path(parsed.name, runtime.data_dir))
        except (OSError, LLMError):
            return f"spec:{spec}"
    try:
        host = runtime.model_info(spec).host
        for entry in runtime.client.tags(host) if host else []:
            if _same_model(str(entry.get("name") or entry.get("model") or ""), parsed.name):
                if entry.get("digest"):
                    return f"ollama:{entry['digest']}"
    except (LLMError, Exception):  # no /api/tags: the spec names the model for this cache
        pass
    return f"spec:{spec}"


def file_digest(path: Path) -> str:
    """A cheap identity of a large file: its size and its first and last MiB."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        digest.update(fh.read(1 << 20))
        if size > 2 << 20:
            fh.seek(-(1 << 20), os.SEEK_END)
            digest.update(fh.read(1 << 20))
    return digest.hexdigest()[:32]


def load_profile(data_dir: Path, digest: str) -> Profile | None:
    """The cached profile of a model digest, if it was probed (by this version)."""
    raw = _read(data_dir).get(digest)
    if not isinstance(raw, dict) or raw.get("version") != PROFILE_VERSION:
        return None
    try:
        return Profile(**raw)
    except TypeError:
        return None


def save_profile(data_dir: Path, profile: Profile) -> None:
    with _cache_lock:
        data = _read(data_dir)
        data[profile.digest] = asdict(profile)
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / PROFILES_FILE
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, indent=1), "utf-8")
        os.replace(tmp, path)


def _read(data_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((data_dir / PROFILES_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
