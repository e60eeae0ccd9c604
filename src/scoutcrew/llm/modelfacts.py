"""Model facts and chains for one run: hosts, what each model is, its num_ctx, the chains.

`ModelFacts` holds a run's model state: which Ollama hosts answer, what /api/show (or the
embedded engine) says of each model, the one num_ctx a model gets for the whole run, and how a
chain of models is resolved for the backend choice. `LLMRuntime` (runtime.py) adds the calls.

crewai is imported only when the first LLM object is built (see `LLMRuntime.llm_for`).
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
    NotOllama,
    OllamaFailing,
    OllamaNotResponding,
    OllamaUnreachable,
)
from .cited import CitedTask
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
from .probe import Profile
from .replay import AnswerReplay
from .specs import (
    BACKENDS,
    EMBEDDED_DEFAULT,
    ModelInfo,
    ModelSpec,
    Options,
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
        probe: str | None = None,
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
        # "auto": a model is probed the first time a run uses it (cached per digest); "off".
        self.probe_mode = probe or os.environ.get("SCOUTCREW_PROBE") or "auto"
        self._profiles: dict[str, Profile | None] = {}
        self._probing = threading.local()
        self._profile_locks: dict[str, threading.Lock] = {}
        self._client: OllamaClient | None = None
        self._lock = threading.RLock()
        self._reachable: list[str] | None = None
        self._versions: dict[str, str] = {}
        self._info: dict[tuple[str, str], ModelInfo] = {}
        self._num_ctx: dict[str, int] = {}
        self._ctx_claims: dict[str, int] = {}
        self._warned_fallbacks: set[tuple[str, str]] = set()
        self.cited_tasks: dict[str, CitedTask] = {}  # writing tasks cited by construction
        self.task_caps: dict[str, int] = {}  # output cap per crew task, from what it asks
        self._not_ollama: dict[str, OllamaAPIError] = {}  # hosts that answer, but not as Ollama
        self._http_errors: dict[str, OllamaAPIError] = {}  # hosts that answer only errors
        self._aborted = False
        # The answers this run was already given (llm/replay.py): a call asked again after a
        # crash gets its answer back instead of being paid again. None: every call is made.
        self.replay: AnswerReplay | None = None

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
                    except (OllamaConnectionFailed, OllamaNotAnswering):
                        continue
                    except OllamaAPIError as exc:
                        if exc.is_not_ollama:  # something answers, but not Ollama
                            self._not_ollama.setdefault(host, exc)
                        else:  # it answers, with an error: not "down"
                            self._http_errors[host] = exc
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
        foreign = [self._not_ollama[h] for h in hosts if h in self._not_ollama]
        if foreign and len(foreign) == len(hosts):
            return not_ollama(foreign[0])
        failures = [self.client.failure(h) for h in hosts]
        wedged = [f for f in failures if isinstance(f, OllamaNotAnswering)]
        if wedged:
            return OllamaNotResponding(f"{wedged[0]}.")
        answered = [self._http_errors[h] for h in hosts if h in self._http_errors]
        if answered and len(answered) == len(hosts):
            first = answered[0]
            return OllamaFailing(
                f"Ollama at {', '.join(hosts)} answers, but with errors: {first.status_code} "
                f"{first.message} (from /api/version). The server, or a proxy in front of it, "
                "is failing: check its log and restart it, or set OLLAMA_HOST to one that works"
            )
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
                if exc.is_not_ollama:
                    raise not_ollama(exc) from exc
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

    def num_ctx(self, spec_text: str, options: Options = None) -> int:
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
        if getattr(self._probing, "spec", None) == spec_text:
            return value  # the probe's own calls: not fixed until the profile is known
        profile = self.profile(spec_text)
        if profile is not None and profile.context_length:
            value = min(value, profile.context_length)  # what the server really runs
        with self._lock:
            return self._num_ctx.setdefault(key, value)

    # -- what a model was measured to do --------------------------------------------------------

    def is_base_model(self, spec_text: str) -> bool:
        """True for an embedded model without a chat template: it continues text."""
        spec = parse_spec(spec_text)
        if spec.backend != "embedded":
            return False
        from . import embedded

        return embedded.is_base_model(spec.name, self.data_dir)

    def profile(self, spec_text: str, *, force: bool = False) -> Profile | None:
        """The model's measured profile: probed the first time a run uses it and cached per
        model digest (see probe.py). None with probing off, for base models (their way is
        fixed), or when the model cannot be reached (then nothing is cached)."""
        if not force and (self.probe_mode == "off" or self.is_base_model(spec_text)):
            return None
        with self._lock:
            if spec_text in self._profiles and not force:
                return self._profiles[spec_text]
            lock = self._profile_locks.setdefault(spec_text, threading.Lock())
        with lock:
            if spec_text in self._profiles and not force:
                return self._profiles[spec_text]
            found = self._measure(spec_text, force)
            with self._lock:
                self._profiles[spec_text] = found
            return found

    def _measure(self, spec_text: str, force: bool) -> Profile | None:
        from .probe import load_profile, model_digest, probe, save_profile

        try:
            self.model_info(spec_text)
        except LLMError:
            return None
        digest = model_digest(self, spec_text)  # type: ignore[arg-type]
        cached = None if force else load_profile(self.data_dir, digest)
        if cached is not None:
            cached.spec = spec_text
            return cached
        log.info("probing %s: a few short calls measure what it can do (once per model)", spec_text)
        self._probing.spec = spec_text
        try:
            measured = probe(self, spec_text, digest)  # type: ignore[arg-type]
        finally:
            self._probing.spec = None
        if not any(r.ok for r in self.ledger.records if r.task == "probe" and r.spec == spec_text):
            return None  # nothing answered: not a measure of the model
        save_profile(self.data_dir, measured)
        return measured

    def profile_lines(self) -> list[str]:
        """One line per model this run probed or found probed: the report's Models section."""
        with self._lock:
            return [p.summary() for p in self._profiles.values() if p is not None]

    def _claim_num_ctx(self, spec_text: str, options: Options) -> None:
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

    def serving_spec(self, chain: list[str] | str, options: Options = None) -> str:
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
        chain: list[str], options: Options, model_num_ctx: dict[str, int] | None = None
    ) -> dict[str, dict[str, Any]]:
        """Each model's options: the agent's, with num_ctx per model.

        A chain entry's own num_ctx wins; the agent's num_ctx is for the chain's first model,
        and the later ones get at least that much (so escalating after an overflow can help).
        """
        base = options_dict(options)
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


def not_ollama(exc: OllamaAPIError) -> NotOllama:
    """Name a server that answers HTTP without Ollama's native API, and the fix."""
    path = exc.path or "Ollama's API"
    return NotOllama(
        f"the server at {exc.host} is not Ollama: {path} answered {exc.status_code} "
        f"({exc.message}). It may be a proxy or an OpenAI-compatible server (llama.cpp's "
        "server, vLLM, LM Studio); scoutcrew needs Ollama's native API (/api/chat, /api/show). "
        "Point OLLAMA_HOST at Ollama (default http://localhost:11434), or run a GGUF file in "
        "process with --model embedded/PATH.gguf"
    )


def _default_data_dir() -> Path:
    env = os.environ.get("SCOUTCREW_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "scoutcrew"


def _model_key(spec: ModelSpec) -> str:
    return f"{spec.backend}/{spec.name}@{spec.host or ''}"


def options_dict(options: Options) -> dict[str, Any]:
    """A call's options as plain keys, without the unset ones."""
    # focus: what the crew is about (its topic), for a base model that must pick lines itself.
    keys = ("num_ctx", "temperature", "seed", "keep_alive", "num_predict", "focus")
    return {k: v for k in keys if (v := option_value(options, k)) is not None}
