"""The LLM layer's calls: a chain's models asked in order, each call recorded in the ledger.

Agents get a crewai BaseLLM built by `LLMRuntime.llm_for`. It speaks Ollama's native /api/chat
(never the OpenAI-compatible /v1 route, where num_ctx cannot be set and an over-long prompt is
cut silently), sends one fixed num_ctx per model and `truncate: false` on every request, and
walks the agent's chain of models when one fails. The embedded engine (embedded.py) serves
`embedded/...` specs in process behind the same interface. Every HTTP call or engine call is
recorded in the UsageLedger with the server's own token counts. Model facts, num_ctx and
chains are in modelfacts.py (`ModelFacts`, which `LLMRuntime` extends).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from ..errors import (
    ContextOverflow,
    EmptyResponse,
    LLMError,
    LLMTimeout,
    ModelNotFound,
    OllamaNotResponding,
    OllamaUnreachable,
    RunInterrupted,
    StreamDropped,
)
from ..text.measure import estimate_tokens
from .ledger import CallRecord, UsageLedger
from .limits import output_cap, prompt_tokens
from .modelfacts import ModelFacts, not_ollama, options_dict
from .ollama import (
    Attempt,
    ChatResult,
    OllamaAPIError,
    OllamaConnectionFailed,
    OllamaNotAnswering,
    OllamaStreamDropped,
    OllamaTimedOut,
    to_ollama_messages,
)
from .replay import call_key, keep_answer, kept_answer
from .specs import (
    EMBEDDED_DEFAULT,
    ModelInfo,
    ModelSpec,
    Options,
    option_value,
    parse_spec,
    strip_thinking,
)

if TYPE_CHECKING:
    from crewai.llms.base_llm import BaseLLM

    from .crewai_llm import LLMFactory

log = logging.getLogger(__name__)

__all__ = ["LLMRuntime", "UsageLedger"]


class ServerCounts(TypedDict):
    """The token counts and durations an engine reported for one call."""

    prompt_tokens: int
    completion_tokens: int
    total_ms: float
    load_ms: float
    prompt_eval_ms: float
    eval_ms: float


class RecordFields(TypedDict, total=False):
    """What a call adds to its CallRecord once it is over (ServerCounts among them)."""

    prompt_tokens: int
    completion_tokens: int
    total_ms: float
    load_ms: float
    prompt_eval_ms: float
    eval_ms: float
    host: str | None
    wall_ms: float
    ok: bool
    error: str | None
    started_at: str
    done_reason: str | None


class LLMRuntime(ModelFacts):
    """Everything model-related for one run: hosts, model facts, num_ctx, chains, usage."""

    # -- the crewai LLM of an agent ------------------------------------------------------------

    def llm_for(
        self,
        chain: list[str] | str,
        options: Options = None,
        agent: str | None = None,
        model_num_ctx: dict[str, int] | None = None,
    ) -> BaseLLM:
        """Build the crewai LLM an agent uses: the resolved chain, its options, its name."""
        specs = self.resolve_chain(chain)
        per_model = self.chain_options(specs, options, model_num_ctx)
        for spec in specs:
            self._claim_num_ctx(spec, per_model[spec])
        return _llm_factory()(
            self,
            model=specs[0],
            chain=specs,
            agent_name=agent,
            options=options_dict(options),
            model_options=per_model,
        )

    # -- calling -----------------------------------------------------------------------------

    def complete(
        self,
        chain: Sequence[str],
        messages: list[dict],
        *,
        options: Options = None,
        tools: list[dict] | None = None,
        stop: list[str] | None = None,
        response_format: dict | None = None,
        validate: Callable[[str], Any] | None = None,
        agent: str | None = None,
        task: str | None = None,
        model_options: dict[str, dict[str, Any]] | None = None,
        mode: str | None = None,
    ) -> tuple[ChatResult, Any, str]:
        """Ask the chain's models in order until one answers usefully.

        Returns (result, value, spec): `value` is the cleaned text, or what `validate` made
        of it. An error after retries, a timeout, an overflow, an empty answer or an answer
        `validate` rejects moves on to the next model; the last failure is raised. `mode`
        (how the answer was asked for: cited JSON, select, free text) goes into the record.
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
                text = strip_thinking(answer.content)
                if validate is not None and not answer.tool_calls:
                    return answer, validate(text), given_by
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
                text = strip_thinking(result.content)
                value: object = text  # the text, or what `validate` makes of it
                record.mode = mode
                if record.cut:
                    self._warn_cut(spec, task, record.num_predict)
                try:
                    if not text and not result.tool_calls:
                        raise EmptyResponse(f"{spec} answered with no text (task {task!r})")
                    if validate is not None and not result.tool_calls:
                        value = validate(text)
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

    def _warn_cut(self, spec: str, task: str | None, cap: int | None) -> None:
        log.warning(
            "%s stopped at its output cap of %s tokens (task %r): the answer is cut, and the "
            "report says so",
            spec,
            cap,
            task,
        )

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
        options: Options,
        tools: list[dict] | None,
        stop: list[str] | None,
        response_format: dict | None,
        agent: str | None,
        task: str | None,
        fallback_from: str | None,
    ) -> tuple[ChatResult, CallRecord]:
        spec = parse_spec(spec_text)
        num_ctx = self.num_ctx(spec_text, options)
        prompt = prompt_tokens(messages) + (estimate_tokens(json.dumps(tools)) if tools else 0)
        cap = output_cap(num_ctx, prompt, option_value(options, "num_predict"))

        def record(**fields: Unpack[RecordFields]) -> CallRecord:
            return CallRecord(
                spec=spec_text,
                backend=spec.backend,
                agent=agent,
                task=task,
                fallback_from=fallback_from,
                num_ctx=num_ctx,
                num_predict=cap,
                **fields,
            )

        if not cap:
            # A prompt that would overflow the context is never sent.
            error = overflow_error(spec.name, task, prompt, num_ctx)
            self.ledger.add(record(ok=False, error=f"not sent: {error}"))
            raise error
        options = {**_options_of(options), "num_predict": cap}
        if spec.backend == "embedded":
            return self._chat_embedded(
                spec, messages, options, stop, num_ctx, record, response_format
            )

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
            done_reason=result.done_reason,
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
        options: Options,
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
            return overflow_error(spec.name, task, prompt_tokens(messages), num_ctx, exc.message)
        if exc.is_model_missing:
            return ModelNotFound(
                f"model {spec.name!r} is not pulled on {exc.host}: run `ollama pull {spec.name}`"
            )
        if exc.is_not_ollama:
            return not_ollama(exc)
        return LLMError(f"{spec.raw} failed: {exc}")

    def _chat_embedded(
        self,
        spec: ModelSpec,
        messages: list[dict],
        options: Options,
        stop: list[str] | None,
        num_ctx: int,
        record: Callable[..., CallRecord],
        response_format: dict | None = None,
    ) -> tuple[ChatResult, CallRecord]:
        from . import embedded

        limit = int(option_value(options, "num_predict") or self.embedded_num_predict)
        if spec.name == "default":  # the small base model: short answers keep a demo quick
            limit = min(limit, self.embedded_num_predict)
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
                    json_schema=response_format,
                )
            )
        except LLMError as exc:
            self.ledger.add(
                record(wall_ms=(time.perf_counter() - started) * 1000, ok=False, error=str(exc))
            )
            raise
        return result, record(
            **_server_counts(result),
            done_reason=result.done_reason,
            wall_ms=(time.perf_counter() - started) * 1000,
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


# -- helpers -------------------------------------------------------------------------------


def overflow_error(
    model: str, task: str | None, tokens: int, num_ctx: int, said: str = ""
) -> ContextOverflow:
    """The error for a prompt over the context, with the ways to make it fit."""
    told = f" (the server said: {said})" if said else ""
    return ContextOverflow(
        f"the prompt of task {task!r} (~{tokens} tokens) does not fit {model} with num_ctx "
        f"{num_ctx}{told}: shorten the evidence (fewer items or pages), raise num_ctx for this "
        "agent in agents.yaml if the model allows it, or add a model with a longer context to "
        "its llm chain, with its own num_ctx (`llm: [..., {model: ollama/NAME, num_ctx: "
        "32768}]`)"
    )


def _fallback_hint(chain: Sequence[str], error: LLMError) -> str:
    """How to declare a fallback, when Ollama is down and the chain names none."""
    if not isinstance(error, OllamaUnreachable | OllamaNotResponding):
        return ""
    if any(parse_spec(spec).backend == "embedded" for spec in chain):
        return ""
    specs = ",".join(chain)
    return f" Or declare a fallback: --model {specs},{EMBEDDED_DEFAULT} (or in the llm: list)."


def _options_of(options: Options) -> dict[str, Any]:
    """A call's options as a dict (an agent's ModelOptions, a dict, or None)."""
    if options is None:
        return {}
    if isinstance(options, dict):
        return dict(options)
    dumped = getattr(options, "model_dump", None)
    if dumped is not None:
        return {k: v for k, v in dumped().items() if v is not None}
    return {k: v for k, v in vars(options).items() if v is not None and not k.startswith("_")}


def _server_counts(result: ChatResult) -> ServerCounts:
    """The token counts and durations an engine reported for one call."""
    return {
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "total_ms": result.total_ms,
        "load_ms": result.load_ms,
        "prompt_eval_ms": result.prompt_eval_ms,
        "eval_ms": result.eval_ms,
    }


_LLM_FACTORY: LLMFactory | None = None
_LLM_FACTORY_LOCK = threading.Lock()


def _llm_factory() -> LLMFactory:
    """Build the crewai BaseLLM subclass on first use, so importing this module stays cheap."""
    global _LLM_FACTORY
    with _LLM_FACTORY_LOCK:
        if _LLM_FACTORY is None:
            from .crewai_llm import build_llm_factory

            _LLM_FACTORY = build_llm_factory()
        return _LLM_FACTORY
