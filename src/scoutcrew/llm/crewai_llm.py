"""The crewai side of the LLM layer: a BaseLLM subclass that hands every call to LLMRuntime.

Imported only when the first agent LLM is built (crewai takes seconds to import).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import OutputFormatError
from .crewai_env import quiet_telemetry
from .ollama import ChatResult, message_text
from .writer import write_cited

if TYPE_CHECKING:
    from crewai.agents.agent_builder.base_agent import BaseAgent
    from crewai.llms.base_llm import BaseLLM
    from crewai.task import Task
    from crewai.tools.base_tool import BaseTool
    from crewai.utilities.types import LLMMessage
    from pydantic import BaseModel

    from .runtime import LLMRuntime


class LLMFactory(Protocol):
    """What makes an agent's crewai LLM, backed by a runtime (see build_llm_factory)."""

    def __call__(
        self,
        runtime: LLMRuntime,
        *,
        model: str,
        chain: list[str],
        agent_name: str | None,
        options: dict[str, Any],
        model_options: dict[str, dict[str, Any]],
    ) -> BaseLLM: ...


FINAL_ANSWER = "Final Answer:"
# crewai's text tool format always spells this out; a prompt without it has no tools.
_TOOL_FORMAT_MARKER = "Action Input:"


def build_llm_factory() -> LLMFactory:
    """Define ScoutcrewLLM (needs crewai imported) and return what makes one for a runtime;
    called once per process."""
    quiet_telemetry()
    from crewai.llms.base_llm import BaseLLM
    from pydantic import Field, PrivateAttr

    class ScoutcrewLLM(BaseLLM):
        """A crewai LLM backed by scoutcrew's runtime: native Ollama or the embedded engine."""

        llm_type: str = "scoutcrew"
        provider: str = "scoutcrew"
        chain: list[str] = Field(default_factory=list)
        agent_name: str | None = None
        options: dict[str, Any] = Field(default_factory=dict)
        model_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
        _runtime: LLMRuntime = PrivateAttr()  # set by `make`, below

        def call(
            self,
            messages: str | list[LLMMessage],
            tools: list[dict[str, BaseTool]] | None = None,
            callbacks: list[Any] | None = None,
            available_functions: dict[str, Any] | None = None,
            from_task: Task | None = None,
            from_agent: BaseAgent | None = None,
            response_model: type[BaseModel] | None = None,
        ) -> str | list[dict[str, Any]] | BaseModel:
            chat: list[dict[str, Any]] = (
                [{"role": "user", "content": messages}]
                if isinstance(messages, str)
                else [dict(m) for m in messages]
            )
            task = _task_name(from_task)
            agent = self.agent_name or getattr(from_agent, "role", None)
            options, model_options = _capped(
                self.options, self.model_options, self._runtime.task_caps.get(task or "")
            )
            cited = self._runtime.cited_tasks.get(task or "")
            if (
                cited is not None
                and not tools
                and response_model is None
                and cited.agent in (None, self.agent_name)  # not a manager's delegation
                and not any(_TOOL_FORMAT_MARKER in message_text(m.get("content")) for m in chat)
            ):
                # A writing task: cited by construction (llm/cited.py), the Markdown by code.
                result, value, _spec, _made = write_cited(
                    self._runtime,
                    self.chain or [self.model],
                    chat,
                    cited,
                    options=options,
                    model_options=model_options or None,
                    agent=agent,
                )
                self._track_usage(result)
                return (
                    f"{FINAL_ANSWER} {value}"
                    if _needs_final_answer_marker(chat, tools, from_agent)
                    else value
                )
            validate = _validator(response_model) if response_model is not None else None
            fmt = response_model.model_json_schema() if response_model is not None else None
            result, value, _spec = self._runtime.complete(
                self.chain or [self.model],
                chat,
                options=options,
                tools=tools or None,
                stop=list(self.stop_sequences) or None,
                response_format=fmt,
                validate=validate,
                agent=agent,
                task=task,
                model_options=model_options or None,
            )
            self._track_usage(result)
            if result.tool_calls and tools:
                calls = _as_crewai_tool_calls(result.tool_calls)
                if available_functions:
                    return self._run_first_tool(calls, available_functions, from_task, from_agent)
                return calls
            if isinstance(value, str):
                value = self._apply_stop_words(value)
                if FINAL_ANSWER not in value and _needs_final_answer_marker(
                    chat, tools, from_agent
                ):
                    value = f"{FINAL_ANSWER} {value}"
            return value

        async def acall(
            self,
            messages: str | list[LLMMessage],
            tools: list[dict[str, BaseTool]] | None = None,
            callbacks: list[Any] | None = None,
            available_functions: dict[str, Any] | None = None,
            from_task: Task | None = None,
            from_agent: BaseAgent | None = None,
            response_model: type[BaseModel] | None = None,
        ) -> str | list[dict[str, Any]] | BaseModel:
            return await asyncio.to_thread(
                self.call,
                messages,
                tools,
                callbacks,
                available_functions,
                from_task,
                from_agent,
                response_model,
            )

        def _track_usage(self, result: ChatResult) -> None:
            # Only the answer that was used: failed attempts carry no server counts.
            prompt, completion = result.prompt_tokens, result.completion_tokens
            self._track_token_usage_internal(
                {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                }
            )

        def _run_first_tool(
            self,
            calls: list[dict[str, Any]],
            functions: dict[str, Any],
            from_task: Task | None,
            from_agent: BaseAgent | None,
        ) -> str | list[dict[str, Any]]:
            function = calls[0]["function"]
            result = self._handle_tool_execution(
                function["name"],
                json.loads(function["arguments"] or "{}"),
                functions,
                from_task=from_task,
                from_agent=from_agent,
            )
            return result if result is not None else calls

        def supports_function_calling(self) -> bool:
            spec = (self.chain or [self.model])[0]
            profile = self._runtime.profile(spec)
            if profile is not None and profile.native_tools is not None:
                return profile.tools  # measured, not what the server declares
            return bool(self._runtime.supports_tools(spec))

        def supports_stop_words(self) -> bool:
            return True

        def get_context_window_size(self) -> int:
            return self._runtime.num_ctx((self.chain or [self.model])[0], self.options)

        def is_context_window_overflowing_threshold(
            self,
            messages: str | list[LLMMessage],
            tools: list[dict[str, BaseTool]] | None = None,
            response_model: type[BaseModel] | None = None,
        ) -> bool:
            # Never let crewai summarise (cut) the evidence on its own guess: the server checks
            # the real prompt (truncate: false) and the chain escalates or the run fails.
            return False

        def get_input_tokens_count(
            self,
            messages: str | list[LLMMessage],
            tools: list[dict[str, BaseTool]] | None = None,
            response_model: type[BaseModel] | None = None,
        ) -> int:
            if isinstance(messages, str):
                return (len(messages) + 3) // 4
            return sum(len(str(m.get("content") or "")) for m in messages) // 4

    def make(
        runtime: LLMRuntime,
        *,
        model: str,
        chain: list[str],
        agent_name: str | None,
        options: dict[str, Any],
        model_options: dict[str, dict[str, Any]],
    ) -> BaseLLM:
        llm = ScoutcrewLLM(
            model=model,
            chain=chain,
            agent_name=agent_name,
            options=options,
            model_options=model_options,
        )
        llm._runtime = runtime
        return llm

    return make


def _capped(
    options: dict[str, Any], model_options: dict[str, dict[str, Any]], cap: int | None
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The task's output cap as num_predict, where the agent sets none of its own."""
    if not cap:
        return options, model_options
    capped = {**options, "num_predict": options.get("num_predict") or cap}
    per_model = {
        spec: {**own, "num_predict": own.get("num_predict") or cap}
        for spec, own in model_options.items()
    }
    return capped, per_model


def _as_crewai_tool_calls(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for index, call in enumerate(calls):
        function = call.get("function", {})
        out.append(
            {
                "id": call.get("id") or f"call_{index}_{function.get('name', 'tool')}",
                "type": "function",
                "function": {
                    "name": function.get("name", ""),
                    "arguments": json.dumps(function.get("arguments") or {}),
                },
            }
        )
    return out


def _needs_final_answer_marker(
    messages: list[dict[str, Any]],
    tools: list[dict[str, BaseTool]] | None,
    from_agent: BaseAgent | None,
) -> bool:
    """True when crewai will parse this reply as ReAct text but the agent has no tools.

    Then the whole reply is the answer. Without the marker crewai would re-prompt the model
    for the format, which small models rarely get right, spending a call each time.
    """
    if tools or from_agent is None:
        return False
    return not any(_TOOL_FORMAT_MARKER in message_text(m.get("content")) for m in messages)


def _task_name(task: Task | None) -> str | None:
    if task is None:
        return None
    name = getattr(task, "name", None)
    if name:
        return str(name)
    description = str(getattr(task, "description", "") or "")
    return description[:40] or None


def _validator(model: type[BaseModel]) -> Callable[[str], BaseModel]:
    def validate(text: str) -> BaseModel:
        candidate = text.strip()
        if candidate.startswith("```"):
            candidate = candidate.strip("`")
            candidate = candidate.split("\n", 1)[1] if "\n" in candidate else candidate
        try:
            return model.model_validate_json(candidate)
        except ValueError as exc:
            raise OutputFormatError(
                f"the answer is not valid {model.__name__} JSON: {str(exc)[:200]}"
            ) from exc

    return validate
