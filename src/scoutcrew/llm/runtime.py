"""The LLM layer: model specs and chains, the usage ledger, and the crewai LLM the agents use.

Agents get a crewai BaseLLM built by `LLMRuntime.llm_for`. It speaks Ollama's native /api/chat
(never the OpenAI-compatible /v1 route, where num_ctx cannot be set and an over-long prompt is
cut silently), sends one fixed num_ctx per model and `truncate: false` on every request, and
walks the agent's chain of models when one fails. The embedded engine (embedded.py) serves
`embedded/...` specs in process behind the same interface. Every HTTP call or engine call is
recorded in the UsageLedger with the server's own token counts.

crewai is imported only when the first LLM object is built (see `_llm_class`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import (
    ContextOverflow,
    EmptyResponse,
    InvalidModelSpec,
    LLMError,
    LLMTimeout,
    ModelNotFound,
    OllamaFailing,
    OllamaNotResponding,
    OllamaUnreachable,
    RunInterrupted,
    StreamDropped,
)
from .ledger import CallRecord, UsageLedger
from .ollama import (
    Attempt,
    ChatResult,
    OllamaAPIError,
    OllamaClient,
    OllamaConnectionFailed,
    OllamaNotAnswering,
    OllamaStreamDropped,
    OllamaTimedOut,
    RetryPolicy,
    Timeouts,
    normalize_host,
    parse_hosts,
    to_ollama_messages,
)
from .replay import AnswerReplay, call_key, keep_answer, kept_answer
from .specs import (
    BACKENDS,
    EMBEDDED_DEFAULT,
    ModelInfo,
    ModelSpec,
    model_info_from_show,
    option_value,
    parse_spec,
    strip_thinking,
)

log = logging.getLogger(__name__)

# -- the runtime ---------------------------------------------------------------------------


class LLMRuntime:
    """Everything model-related for one run: hosts, model facts, num_ctx, chains, usage."""

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
        self._http_errors: dict[str, OllamaAPIError] = {}  # hosts that answer only errors
        self._versions: dict[str, str] = {}
        self._info: dict[tuple[str, str], ModelInfo] = {}
        self._num_ctx: dict[str, int] = {}
        self._ctx_claims: dict[str, int] = {}
        self._warned_fallbacks: set[tuple[str, str]] = set()
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
                    except OllamaAPIError as exc:  # it answers, with an error: not "down"
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

    # -- calling -----------------------------------------------------------------------------

    def complete(
        self,
        chain: list[str],
        messages: list[dict],
        *,
        options: Any = None,
        tools: list[dict] | None = None,
        stop: list[str] | None = None,
        response_format: dict | None = None,
        validate: Callable[[str], Any] | None = None,
        agent: str | None = None,
        task: str | None = None,
        model_options: dict[str, dict[str, Any]] | None = None,
    ) -> tuple[ChatResult, Any, str]:
        """Ask the chain's models in order until one answers usefully.

        Returns (result, value, spec): `value` is the cleaned text, or what `validate` made
        of it. An error after retries, a timeout, an overflow, an empty answer or an answer
        `validate` rejects moves on to the next model; the last failure is raised.
        """
        key = None
        if self.replay is not None:
            key = call_key(
                chain=chain,
                messages=messages,
                options=options,
                tools=tools,
                stop=stop,
                response_format=response_format,
                agent=agent,
                task=task,
                model_options=model_options,
            )
            kept = self.replay.get(key)
            if kept is not None:
                answer, given_by = kept_answer(kept)
                text: Any = strip_thinking(answer.content)
                if validate is not None and not answer.tool_calls:
                    text = validate(text)
                return answer, text, given_by
        failures: list[str] = []
        previous: str | None = None
        last_error: LLMError | None = None
        for spec in chain:
            if self._aborted:
                raise RunInterrupted("the run was interrupted before this model call")
            try:
                result, record = self._chat(
                    spec,
                    messages,
                    options=(model_options or {}).get(spec, options),
                    tools=tools,
                    stop=stop,
                    response_format=response_format,
                    agent=agent,
                    task=task,
                    fallback_from=previous,
                )
                value: Any = strip_thinking(result.content)
                try:
                    if not value and not result.tool_calls:
                        raise EmptyResponse(f"{spec} answered with no text (task {task!r})")
                    if validate is not None and not result.tool_calls:
                        value = validate(value)
                    if key is not None and self.replay is not None:
                        self.replay.put(key, keep_answer(result, spec))
                except LLMError as exc:
                    record.ok, record.error = False, str(exc)
                    raise
                finally:
                    self.ledger.add(record)
                return result, value, spec
            except LLMError as exc:
                last_error = exc
                failures.append(f"{spec}: {exc}")
                previous = spec
                if spec != chain[-1]:
                    self._warn_fallback(spec, chain[chain.index(spec) + 1], exc)
        assert last_error is not None
        # With --backend ollama a declared fallback would be dropped again: no hint then.
        hint = _fallback_hint(chain, last_error) if self.backend != "ollama" else ""
        if len(failures) > 1:
            summary = "; ".join(failures)
            raise type(last_error)(
                f"every model in the chain failed: {summary}{hint}"
            ) from last_error
        if hint:
            raise type(last_error)(f"{last_error}{hint}") from last_error
        raise last_error

    def _warn_fallback(self, spec: str, following: str, exc: LLMError) -> None:
        """Say once per run and pair of models that the chain moved on, and why."""
        with self._lock:
            if (spec, following) in self._warned_fallbacks:
                return
            self._warned_fallbacks.add((spec, following))
        log.warning(
            "%s failed (%s); falling back to %s, the next model of the chain", spec, exc, following
        )

    def _chat(
        self,
        spec_text: str,
        messages: list[dict],
        *,
        options: Any,
        tools: list[dict] | None,
        stop: list[str] | None,
        response_format: dict | None,
        agent: str | None,
        task: str | None,
        fallback_from: str | None,
    ) -> tuple[ChatResult, CallRecord]:
        spec = parse_spec(spec_text)
        num_ctx = self.num_ctx(spec_text, options)

        def record(**fields: Any) -> CallRecord:
            return CallRecord(
                spec=spec_text,
                backend=spec.backend,
                agent=agent,
                task=task,
                fallback_from=fallback_from,
                num_ctx=num_ctx,
                **fields,
            )

        if spec.backend == "embedded":
            return self._chat_embedded(spec, messages, options, stop, num_ctx, record)

        try:
            info = self.model_info(spec_text)
        except LLMError as exc:  # not pulled, or no host up: recorded, so the run shows why
            self.ledger.add(record(ok=False, error=str(exc)))
            raise
        payload = self._payload(spec, info, messages, options, tools, stop, num_ctx)
        if response_format is not None:
            payload["format"] = response_format

        succeeded: list[Attempt] = []

        def observe(attempt: Attempt) -> None:
            if attempt.error is None:
                succeeded.append(attempt)
            else:
                began = datetime.now(UTC) - timedelta(milliseconds=attempt.wall_ms)
                self.ledger.add(
                    record(
                        host=attempt.host,
                        wall_ms=attempt.wall_ms,
                        ok=False,
                        error=str(attempt.error),
                        started_at=began.isoformat(),
                    )
                )

        try:
            result = self.client.chat(payload, hosts=self._hosts_for(spec), observe=observe)
        except OllamaConnectionFailed as exc:
            raise self._unreachable(exc.hosts) from exc
        except OllamaNotAnswering as exc:
            raise self._unreachable([exc.host]) from exc
        except OllamaStreamDropped as exc:
            raise StreamDropped(f"{exc} (model {spec.name}, task {task!r})") from exc
        except OllamaTimedOut as exc:
            raise LLMTimeout(f"{exc} (model {spec.name}, task {task!r})") from exc
        except OllamaAPIError as exc:
            raise self._api_error(spec, exc, messages, num_ctx, task) from exc
        return result, record(
            host=result.host,
            **_server_counts(result),
            wall_ms=succeeded[-1].wall_ms,
            started_at=(
                datetime.now(UTC) - timedelta(milliseconds=succeeded[-1].wall_ms)
            ).isoformat(),
        )

    def _payload(
        self,
        spec: ModelSpec,
        info: ModelInfo,
        messages: list[dict],
        options: Any,
        tools: list[dict] | None,
        stop: list[str] | None,
        num_ctx: int,
    ) -> dict:
        model_options: dict[str, Any] = {"num_ctx": num_ctx}
        for key in ("temperature", "seed", "num_predict"):
            value = option_value(options, key)
            if value is not None:
                model_options[key] = value
        if stop:
            model_options["stop"] = list(stop)
        payload: dict[str, Any] = {
            "model": spec.name,
            "messages": to_ollama_messages(messages),
            "options": model_options,
            "truncate": False,  # an over-long prompt must fail, never be cut silently
            "stream": True,
        }
        keep_alive = option_value(options, "keep_alive")
        if keep_alive is not None:
            payload["keep_alive"] = keep_alive
        if tools and "tools" in info.capabilities:
            payload["tools"] = tools
        if self.think is not None and "thinking" in info.capabilities:
            payload["think"] = self.think
        return payload

    def _api_error(
        self,
        spec: ModelSpec,
        exc: OllamaAPIError,
        messages: list[dict],
        num_ctx: int,
        task: str | None,
    ) -> LLMError:
        if exc.is_overflow:
            chars = sum(len(str(m.get("content") or "")) for m in messages)
            return ContextOverflow(
                f"the prompt of task {task!r} (~{chars // 4} tokens, {chars} characters) does "
                f"not fit {spec.name} with num_ctx {num_ctx}: shorten the evidence (fewer "
                "items or pages), raise num_ctx for this agent in agents.yaml if the model "
                "allows it, or add a model with a longer context to its llm chain, with its "
                "own num_ctx (`llm: [..., {model: ollama/NAME, num_ctx: 32768}]`)"
            )
        if exc.is_model_missing:
            return ModelNotFound(
                f"model {spec.name!r} is not pulled on {exc.host}: run `ollama pull {spec.name}`"
            )
        return LLMError(f"{spec.raw} failed: {exc}")

    def _chat_embedded(
        self,
        spec: ModelSpec,
        messages: list[dict],
        options: Any,
        stop: list[str] | None,
        num_ctx: int,
        record: Callable[..., CallRecord],
    ) -> tuple[ChatResult, CallRecord]:
        from . import embedded

        requested = option_value(options, "num_predict")
        if spec.name == "default":  # the small base model: short answers keep a demo quick
            limit = min(int(requested or self.embedded_num_predict), self.embedded_num_predict)
        else:
            limit = int(requested or 1024)
        started = time.perf_counter()
        try:
            result = self._abandonable(
                lambda: embedded.chat(
                    spec.name,
                    messages,
                    data_dir=self.data_dir,
                    num_ctx=num_ctx,
                    num_predict=limit,
                    temperature=option_value(options, "temperature"),
                    seed=option_value(options, "seed"),
                    stop=stop,
                    focus=option_value(options, "focus"),
                )
            )
        except LLMError as exc:
            self.ledger.add(
                record(wall_ms=(time.perf_counter() - started) * 1000, ok=False, error=str(exc))
            )
            raise
        return result, record(
            **_server_counts(result), wall_ms=(time.perf_counter() - started) * 1000
        )

    def _abandonable(self, work: Callable[[], ChatResult]) -> ChatResult:
        """Run an in-process generation in a worker thread that an abort stops waiting for.

        llama.cpp cannot be interrupted mid-generation from here, and Python runs a signal
        handler only between bytecodes, so a call made on the main thread would hold Ctrl-C
        until it finished. In a worker the main thread waits on an event and stops at once;
        the abandoned generation runs to its end in the background (its thread is a daemon,
        so it never keeps the process alive) and its answer is dropped.
        """
        box: list[Any] = []
        done = threading.Event()

        def run() -> None:
            try:
                box.append((True, work()))
            except BaseException as exc:  # handed to the waiting thread
                box.append((False, exc))
            finally:
                done.set()

        worker = threading.Thread(target=run, name="scoutcrew-embedded", daemon=True)
        worker.start()
        while not done.wait(0.1):  # a signal handler runs during the wait
            if self._aborted:
                raise RunInterrupted("the run was interrupted during an embedded model call")
        ok, value = box[0]
        if not ok:
            raise value
        return value

    @property
    def versions(self) -> dict[str, str]:
        """Ollama's version per reachable host (after `reachable_hosts`)."""
        return dict(self._versions)


# -- helpers -------------------------------------------------------------------------------


def _fallback_hint(chain: list[str], error: LLMError) -> str:
    """How to declare a fallback, when Ollama is down and the chain names none."""
    if not isinstance(error, OllamaUnreachable | OllamaNotResponding):
        return ""
    if any(parse_spec(spec).backend == "embedded" for spec in chain):
        return ""
    specs = ",".join(chain)
    return f" Or declare a fallback: --model {specs},{EMBEDDED_DEFAULT} (or in the llm: list)."


def _server_counts(result: Any) -> dict[str, Any]:
    """The token counts and durations an engine reported for one call."""
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_ms": result.total_ms,
        "load_ms": result.load_ms,
        "prompt_eval_ms": result.prompt_eval_ms,
        "eval_ms": result.eval_ms,
    }


def _default_data_dir() -> Path:
    env = os.environ.get("SCOUTCREW_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "scoutcrew"


def _model_key(spec: ModelSpec) -> str:
    return f"{spec.backend}/{spec.name}@{spec.host or ''}"


def _options_dict(options: Any) -> dict[str, Any]:
    # focus: what the crew is about (its topic), for a base model that must pick lines itself.
    keys = ("num_ctx", "temperature", "seed", "keep_alive", "num_predict", "focus")
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
