"""Model facts and chains for one run: hosts, what each model is, its num_ctx, the chains.

`ModelFacts` holds a run's model state: which Ollama hosts answer, what /api/show (or the
embedded engine) says of each model, the one num_ctx a model gets for the whole run, and how a
chain of models is resolved for the backend choice. `LLMRuntime` (runtime.py) adds the calls.

crewai is imported only when the first LLM object is built (see `_llm_class`).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from ..errors import (
    InvalidModelSpec,
    LLMError,
    ModelNotFound,
    OllamaNotResponding,
    OllamaUnreachable,
)
from .ledger import UsageLedger
from .ollama import (
    OllamaAPIError,
    OllamaClient,
    OllamaConnectionFailed,
    OllamaNotAnswering,
    RetryPolicy,
    Timeouts,
    normalize_host,
    parse_hosts,
)
from .specs import (
    BACKENDS,
    EMBEDDED_DEFAULT,
    ModelInfo,
    ModelSpec,
    model_info_from_show,
    option_value,
    parse_spec,
)

log = logging.getLogger(__name__)


class ModelFacts:
    """A run's model state: hosts, model facts, num_ctx, chains, usage (see LLMRuntime)."""

    def __init__(
        self,
        *,
        ledger: UsageLedger | None = None,
        backend: str = "auto",
        default_num_ctx: int = 8192,
        hosts: list[str] | None = None,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        think: bool | None = False,
        data_dir: str | os.PathLike[str] | None = None,
        embedded_num_predict: int = 256,
        embedded_num_ctx: int = 4096,
    ):
        if backend not in BACKENDS:
            raise InvalidModelSpec(f"unknown backend {backend!r}: use one of {', '.join(BACKENDS)}")
        self.ledger = ledger if ledger is not None else UsageLedger()
        self.backend = backend
        self.default_num_ctx = default_num_ctx
        self.hosts = [normalize_host(h) for h in hosts] if hosts else parse_hosts(None)
        self.timeouts = timeouts or Timeouts()
        self.retry = retry or RetryPolicy()
        # Thinking models spend most of their tokens thinking; scoutcrew asks them not to,
        # unless think=True (or None: the model's default).
        self.think = think
        self.data_dir = Path(data_dir) if data_dir else _default_data_dir()
        self.embedded_num_predict = embedded_num_predict
        self.embedded_num_ctx = embedded_num_ctx
        self._client: OllamaClient | None = None
        self._lock = threading.RLock()
        self._reachable: list[str] | None = None
        self._versions: dict[str, str] = {}
        self._info: dict[tuple[str, str], ModelInfo] = {}
        self._num_ctx: dict[str, int] = {}
        self._ctx_claims: dict[str, int] = {}
        self._warned_fallbacks: set[tuple[str, str]] = set()
        self._aborted = False

    @property
    def client(self) -> OllamaClient:
        with self._lock:
            if self._client is None:
                self._client = OllamaClient(self.hosts, timeouts=self.timeouts, retry=self.retry)
            return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    def abort(self) -> None:
        """Interrupt the run: the call in flight fails at once and no other call starts."""
        self._aborted = True
        if self._client is not None:
            self._client.abort()

    @property
    def aborted(self) -> bool:
        """True once `abort` was called (Ctrl-C or SIGTERM during the run)."""
        return self._aborted

    # -- reachability and model facts --------------------------------------------------------

    def reachable_hosts(self) -> list[str]:
        """Hosts that answer /api/version (checked once per run)."""
        with self._lock:
            if self._reachable is None:
                self._reachable = []
                for host in self.hosts:
                    try:
                        self._versions[host] = self.client.version(host)
                    except (OllamaConnectionFailed, OllamaNotAnswering, OllamaAPIError):
                        continue
                    self._reachable.append(host)
            return list(self._reachable)

    def require_ollama(self, spec_texts: list[str]) -> None:
        """Fail now, before any work, when the Ollama models these specs name cannot be served.

        Only with backend `ollama`, which never falls back: there a run whose server is down
        should stop before it gathers anything, with the fix in the message.
        """
        if self.backend != "ollama":
            return
        parsed = [p for p in (parse_spec(s) for s in spec_texts) if p.backend == "ollama"]
        if any(not p.host for p in parsed) and not self.reachable_hosts():
            raise self._unreachable(self.hosts)
        for spec in parsed:
            if spec.host:
                try:
                    self.client.version(spec.host, timeout=2.0)
                except (OllamaConnectionFailed, OllamaAPIError) as exc:
                    raise self._unreachable([spec.host]) from exc

    def _hosts_for(self, spec: ModelSpec) -> list[str]:
        if spec.host:
            return [spec.host]
        # With several hosts, reachable ones first (checked once per run) so a dead host does
        # not cost a connect timeout on every call; the rest stay as a last resort.
        up = self.reachable_hosts() if len(self.hosts) > 1 else []
        return up + [h for h in self.hosts if h not in up]

    def _unreachable(self, hosts: list[str]) -> LLMError:
        """The error for a model whose hosts all failed, with the fix for how they failed."""
        failures = [self.client.failure(h) for h in hosts]
        wedged = [f for f in failures if isinstance(f, OllamaNotAnswering)]
        if wedged:
            return OllamaNotResponding(f"{wedged[0]}.")
        where = ", ".join(hosts)
        return OllamaUnreachable(
            f"Ollama is not reachable at {where}: start it with `ollama serve` or set OLLAMA_HOST."
        )

    def model_info(self, spec_text: str) -> ModelInfo:
        """Return the model's context length and capabilities (cached per run)."""
        spec = parse_spec(spec_text)
        if spec.backend == "embedded":
            from . import embedded

            return ModelInfo(
                context_length=embedded.context_length(spec.name, self.data_dir),
                capabilities=["completion"],
                family="embedded",
            )
        hosts = self._hosts_for(spec)
        key = (hosts[0], spec.name)
        with self._lock:
            if key in self._info:
                return self._info[key]
        last: Exception | None = None
        for host in hosts:
            try:
                shown = self.client.show(spec.name, host)
            except (OllamaConnectionFailed, OllamaNotAnswering) as exc:
                last = exc  # remembered by the client: this host is out for the run
                continue
            except OllamaAPIError as exc:
                if exc.is_model_missing:
                    raise ModelNotFound(
                        f"model {spec.name!r} is not pulled on {host}: "
                        f"run `ollama pull {spec.name}`"
                    ) from exc
                raise LLMError(f"Ollama at {host} could not describe {spec.name}: {exc}") from exc
            info = model_info_from_show(shown, host)
            with self._lock:
                self._info[key] = info
            return info
        raise self._unreachable(hosts) from last

    def supports_tools(self, spec_text: str) -> bool:
        try:
            return "tools" in self.model_info(spec_text).capabilities
        except LLMError:
            return False

    def num_ctx(self, spec_text: str, options: Any = None) -> int:
        """The one num_ctx this run uses for the model (fixed at first use)."""
        spec = parse_spec(spec_text)
        key = _model_key(spec)
        with self._lock:
            if key in self._num_ctx:
                return self._num_ctx[key]
            requested = self._ctx_claims.get(key) or option_value(options, "num_ctx")
        # A later model of a chain: at least the context the agent asked of the first one.
        floor = int(option_value(options, "num_ctx_floor") or 0)
        if spec.backend == "embedded":
            value = int(requested or self.embedded_num_ctx)
            trained = self.model_info(spec_text).context_length
            value = min(value, trained) if trained else value
        else:
            try:
                trained = self.model_info(spec_text).context_length
            except LLMError:
                # Unknown for now (model missing or host down): an estimate, not fixed yet.
                return int(requested or self.default_num_ctx)
            value = int(requested) if requested else max(self.default_num_ctx, floor)
            if trained and value > trained:
                if requested:
                    log.warning(
                        "num_ctx %s for %s is above its trained context %s; using %s",
                        requested,
                        spec.name,
                        trained,
                        trained,
                    )
                value = trained
        with self._lock:
            return self._num_ctx.setdefault(key, value)

    def _claim_num_ctx(self, spec_text: str, options: Any) -> None:
        requested = option_value(options, "num_ctx")
        if not requested:
            return
        key = _model_key(parse_spec(spec_text))
        with self._lock:
            fixed = self._num_ctx.get(key) or self._ctx_claims.get(key)
            if fixed is None:
                self._ctx_claims[key] = int(requested)
            elif fixed != int(requested):
                # A second value would make Ollama reload the model between agents.
                log.warning(
                    "num_ctx %s for %s ignored: this run already uses %s for that model",
                    requested,
                    spec_text,
                    fixed,
                )

    # -- chains ------------------------------------------------------------------------------

    def resolve_chain(self, chain: list[str] | str) -> list[str]:
        """Apply the backend choice to a chain.

        `auto` keeps the chain as declared: its models are tried in order, and a fallback to
        the embedded engine happens only where the chain names one. `ollama` drops embedded
        models from the chain; `embedded` runs every model in process (Ollama models become
        embedded/default).
        """
        specs = [chain] if isinstance(chain, str) else list(chain)
        parsed = [parse_spec(s) for s in specs]
        if self.backend == "ollama":
            kept = [p for p in parsed if p.backend == "ollama"]
            if not kept:
                raise InvalidModelSpec(
                    f"--backend ollama, but the chain {', '.join(specs)} has no Ollama model: "
                    "name one (e.g. --model ollama/qwen3:8b) or use --backend embedded"
                )
            parsed = kept
        out: list[str] = []
        for p in parsed:
            resolved = (
                EMBEDDED_DEFAULT
                if (self.backend == "embedded" and p.backend == "ollama")
                else p.raw
            )
            if resolved not in out:
                out.append(resolved)
        return out

    def serving_spec(self, chain: list[str] | str, options: Any = None) -> str:
        """The first model of the chain that can serve now (its host answers, it is pulled,
        or the embedded engine has it); the chain's first model when none can."""
        specs = self.resolve_chain(chain)
        for spec_text in specs:
            spec = parse_spec(spec_text)
            if spec.backend == "embedded":
                from . import embedded

                if embedded.check(spec.name, self.data_dir) is None:
                    return spec_text
                continue
            try:
                self.model_info(spec_text)
            except LLMError:
                continue
            return spec_text
        return specs[0]

    @staticmethod
    def chain_options(
        chain: list[str], options: Any, model_num_ctx: dict[str, int] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Each model's options: the agent's, with num_ctx per model.

        A chain entry's own num_ctx wins; the agent's num_ctx is for the chain's first model,
        and the later ones get at least that much (so escalating after an overflow can help).
        """
        base = _options_dict(options)
        agent_ctx = base.pop("num_ctx", None)
        out: dict[str, dict[str, Any]] = {}
        for index, spec in enumerate(chain):
            own = dict(base)
            if model_num_ctx and spec in model_num_ctx:
                own["num_ctx"] = model_num_ctx[spec]
            elif agent_ctx and index == 0:
                own["num_ctx"] = agent_ctx
            elif agent_ctx:
                own["num_ctx_floor"] = agent_ctx
            out[spec] = own
        return out

    def llm_for(
        self,
        chain: list[str] | str,
        options: Any = None,
        agent: str | None = None,
        model_num_ctx: dict[str, int] | None = None,
    ) -> Any:
        """Build the crewai LLM an agent uses: the resolved chain, its options, its name."""
        specs = self.resolve_chain(chain)
        per_model = self.chain_options(specs, options, model_num_ctx)
        for spec in specs:
            self._claim_num_ctx(spec, per_model[spec])
        cls = _llm_class()
        llm = cls(
            model=specs[0],
            chain=specs,
            agent_name=agent,
            options=_options_dict(options),
            model_options=per_model,
        )
        llm._runtime = self
        return llm

    def model_notes(self) -> list[str]:
        """Sentences a report puts at the top about the models that wrote it."""
        from . import embedded

        notes = []
        # Only models that actually wrote something count, in the order they first did.
        used = dict.fromkeys(r.spec for r in self.ledger.records if r.ok)
        for spec in used:
            parsed = parse_spec(spec)
            if parsed.backend == "embedded":
                note = embedded.model_note(parsed.name, self.data_dir)
                if note and note not in notes:
                    notes.append(note)
        return notes

    @property
    def versions(self) -> dict[str, str]:
        """Ollama's version per reachable host (after `reachable_hosts`)."""
        return dict(self._versions)


# -- helpers -------------------------------------------------------------------------------


def _default_data_dir() -> Path:
    env = os.environ.get("SCOUTCREW_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "scoutcrew"


def _model_key(spec: ModelSpec) -> str:
    return f"{spec.backend}/{spec.name}@{spec.host or ''}"


def _options_dict(options: Any) -> dict[str, Any]:
    keys = ("num_ctx", "temperature", "seed", "keep_alive", "num_predict")
    return {k: v for k in keys if (v := option_value(options, k)) is not None}


_LLM_CLASS: type | None = None
_LLM_CLASS_LOCK = threading.Lock()


def _llm_class() -> type:
    """Build the crewai BaseLLM subclass on first use, so importing this module stays cheap."""
    global _LLM_CLASS
    with _LLM_CLASS_LOCK:
        if _LLM_CLASS is None:
            from .crewai_llm import build_llm_class

            _LLM_CLASS = build_llm_class()
        return _LLM_CLASS
