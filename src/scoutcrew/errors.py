"""Every error scoutcrew raises on purpose.

Each class is a user-facing failure: the CLI turns it into a clean message and a non-zero
exit in one place (cli.main). Set SCOUTCREW_DEBUG=1 or pass --debug to see the traceback.
"""

from __future__ import annotations

from typing import TypeVar

E = TypeVar("E", bound=BaseException)


class ScoutcrewError(Exception):
    """Something went wrong that the user can fix; the message says how."""

    exit_code = 1


class ProjectNotFound(ScoutcrewError):
    """No scoutcrew project folder (pyproject.toml + agents.yaml) was found."""


class ConfigError(ScoutcrewError):
    """One or more YAML files are invalid; nothing runs on a bad config."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


class MissingInput(ScoutcrewError):
    """A {placeholder} has no default and was not given with --input."""


class InputsNeeded(MissingInput):
    """A crew was started without inputs it needs; `names` lists them, so each front end
    (CLI, web page, MCP) can ask for them in its own words."""

    def __init__(self, message: str, names: list[str]):
        super().__init__(message)
        self.names = names


class BadInput(ScoutcrewError):
    """An input value cannot be used: too long, or holding control characters such as NUL."""


class UnknownCrew(ScoutcrewError):
    """The crew named on the command line has no file under crews/."""


class LLMError(ScoutcrewError):
    """A model call failed after retries and every fallback in its chain."""


class OllamaUnreachable(LLMError):
    """Ollama did not answer at the configured host(s)."""


class OllamaFailing(LLMError):
    """Ollama (or a proxy in front of it) answers, but every answer is an error status."""


class OllamaNotResponding(LLMError):
    """Ollama accepted the connection but did not answer (wedged or overloaded)."""


class NotOllama(LLMError):
    """The server at OLLAMA_HOST answers HTTP but does not speak Ollama's native API."""


class StreamDropped(LLMError):
    """The model server dropped the connection in the middle of an answer."""


class ModelNotFound(LLMError):
    """The model is not pulled on the Ollama host."""


class ContextOverflow(LLMError):
    """The prompt does not fit the model's context window."""


class EmptyResponse(LLMError):
    """The model answered with no usable text."""


class EmbeddedEngineUnavailable(LLMError):
    """The embedded engine (xllamacpp) or its model file is not installed."""


class RunFailed(ScoutcrewError):
    """The crew run failed; its record says where."""


class UnknownStory(ScoutcrewError):
    """A rating names a run, a story or a rule that is not there; the message lists what is."""


class BadRating(ScoutcrewError):
    """A rating cannot be kept: a vote other than up or down, an empty term or outlet."""


class RunLocked(ScoutcrewError):
    """Another run of the same crew holds its lock."""


class StoreError(ScoutcrewError):
    """The SQLite store cannot be used: read-only, the disk is full, or a lock was not freed."""


class StoreLocked(StoreError):
    """Another process held the store's write lock for longer than scoutcrew waits."""


class SourceError(ScoutcrewError):
    """A feed, search or page could not be used; it becomes a note, never stops the run."""


class SearchFailed(SourceError):
    """Every search backend failed for one query; `problems` has one line per backend."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


class UnsafeSource(SourceError):
    """A source was refused by the safety rules (address, scheme, size, XML entities)."""


class LLMTimeout(LLMError):
    """The model did not answer within the connect, per-chunk or per-call timeout."""


class OutputFormatError(LLMError):
    """The model's answer did not have the format the task asked for."""


class InvalidModelSpec(ScoutcrewError):
    """A model spec is not ollama/NAME, ollama/NAME@HOST or embedded/..."""


class RunInterrupted(ScoutcrewError):
    """The run was stopped (Ctrl-C or SIGTERM); `scoutcrew resume RUN` continues it."""

    exit_code = 130


class ServeRefused(ScoutcrewError):
    """The web app would be reachable from other machines without a token."""


class MissingExtra(ScoutcrewError):
    """A command needs an optional extra (e.g. `serve`) that is not installed."""


class Interrupted(KeyboardInterrupt):
    """A run was stopped by Ctrl-C or SIGTERM; the message says how to resume it.

    A KeyboardInterrupt, not a ScoutcrewError, so `except Exception` never swallows it.
    """

    exit_code = 130


class BudgetExhausted(ScoutcrewError):
    """The run's model budget (prompt tokens, output tokens or minutes) is spent."""

    def __init__(self, message: str, limit: str = "budget"):
        self.limit = limit
        super().__init__(message)


def cause_of(exc: BaseException, kind: type[E]) -> E | None:
    """The first exception of `kind` in `exc`'s chain of causes (crewai wraps ours)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
