"""Model specs (`ollama/NAME@HOST`, `embedded/...`), what a server says of a model, thinking."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from ..errors import InvalidModelSpec
from .ollama import normalize_host

if TYPE_CHECKING:
    from ..config.models import ModelOptions

BACKENDS = ("auto", "ollama", "embedded")
EMBEDDED_DEFAULT = "embedded/default"
_THINK_BLOCK = re.compile(r"<think(?:ing)?>.*?</think(?:ing)?>", re.DOTALL | re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think(?:ing)?>", re.IGNORECASE)


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model spec: `ollama/NAME`, `ollama/NAME@HOST`, `embedded/...`."""

    raw: str
    backend: str
    name: str
    host: str | None = None


def parse_spec(spec: str) -> ModelSpec:
    """Parse a model spec string; raise InvalidModelSpec naming the accepted forms."""
    backend, sep, rest = spec.strip().partition("/")
    if sep and backend == "ollama" and rest:
        name, at, host = rest.partition("@")
        if name:
            return ModelSpec(spec, "ollama", name, normalize_host(host) if at else None)
    if sep and backend == "embedded" and rest:
        return ModelSpec(spec, "embedded", rest)
    raise InvalidModelSpec(
        f"unknown model spec {spec!r}: use ollama/NAME (e.g. ollama/qwen3:8b), "
        "ollama/NAME@http://host:11434, embedded/default, embedded/ollama:NAME "
        "or embedded/<path to .gguf>"
    )


@dataclass
class ModelInfo:
    """What /api/show (or the embedded engine) says about a model."""

    context_length: int | None
    capabilities: list[str]
    family: str | None = None
    host: str | None = None


# A call's model settings: an agent's ModelOptions, plain keys (num_ctx, temperature, seed,
# keep_alive, num_predict, focus, num_ctx_floor), or None.
Options: TypeAlias = "ModelOptions | Mapping[str, Any] | None"


def option_value(options: Options, key: str) -> Any:
    """One setting, or None; its type depends on the key (int, float or str)."""
    if options is None:
        return None
    if isinstance(options, Mapping):
        return options.get(key)
    return getattr(options, key, None)


def strip_thinking(text: str) -> str:
    """Drop <think>...</think> blocks (and a dangling prefix before a lone </think>)."""
    text = _THINK_BLOCK.sub("", text)
    closing = list(_THINK_CLOSE.finditer(text))
    if closing:
        text = text[closing[-1].end() :]
    return text.strip()


def model_info_from_show(shown: dict, host: str) -> ModelInfo:
    """Read context length, capabilities and family from an /api/show answer."""
    model_info = shown.get("model_info") or {}
    arch = model_info.get("general.architecture")
    context = model_info.get(f"{arch}.context_length") if arch else None
    if context is None:  # some conversions only have the key under another prefix
        context = next((v for k, v in model_info.items() if k.endswith(".context_length")), None)
    family = (shown.get("details") or {}).get("family") or arch
    return ModelInfo(
        context_length=int(context) if context else None,
        capabilities=list(shown.get("capabilities") or ["completion"]),
        family=family,
        host=host,
    )
