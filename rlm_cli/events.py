"""Frozen event dataclasses: the only vocabulary between the engine and renderers or traces.

Leaf module. Every field is JSON-safe; `event_to_dict` gives the trace line and `event_from_dict`
reads it back. Events only ever gain fields (the trace format is additive).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class Event:
    """Base: every event carries the run it belongs to (a child RLM has its own) and a time."""

    run_id: str
    ts: float = field(default_factory=_now, kw_only=True)


@dataclass(frozen=True)
class RunStarted(Event):
    question: str
    model: str
    sub_model: str
    depth: int
    max_depth: int
    parent_run_id: str | None
    input: dict[str, Any]
    sources: list[str]
    budgets: dict[str, Any]
    parent_call_id: str | None = None  # the rlm_query sub-call this child run serves
    system_prompt: str = ""  # what the root model was told, for audit
    source_paths: list[str] = field(default_factory=list)  # the sources made absolute, to read them again
    continues: str | None = None  # the run this one follows up (`rlm ask -c`, `rlm chat`)
    chat_session: str | None = None  # the `rlm chat` session this question belongs to


@dataclass(frozen=True)
class TurnStarted(Event):
    turn: int
    message: str = ""  # the user message that opens this turn's request (input description, feedback)


@dataclass(frozen=True)
class ModelReplied(Event):
    """The root model answered a turn."""

    turn: int
    prompt_chars: int
    reply: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_s: float
    deployment: str | None = None  # which of the model's deployments answered (--router)
    cached_input_tokens: int = 0  # of the prompt tokens, those read from the provider's prompt cache
    from_cache: bool = False  # answered from the response cache (a replay): the usage is what it saved


@dataclass(frozen=True)
class CellStarted(Event):
    turn: int
    cell: int
    code: str


@dataclass(frozen=True)
class CellExecuted(Event):
    turn: int
    cell: int
    output: str
    output_chars: int
    error: str | None
    duration_s: float
    timed_out: bool = False
    restarted: bool = False


@dataclass(frozen=True)
class BatchStarted(Event):
    batch_id: str
    size: int
    model: str


@dataclass(frozen=True)
class BatchFinished(Event):
    batch_id: str
    size: int
    failed: int
    duration_s: float


@dataclass(frozen=True)
class SubcallStarted(Event):
    call_id: str
    batch_id: str | None
    index: int
    model: str
    prompt: str
    prompt_chars: int
    kind: str = "llm"  # "llm" or "rlm" (a child run) or "tool"


@dataclass(frozen=True)
class SubcallFinished(Event):
    call_id: str
    batch_id: str | None
    index: int
    model: str
    answer: str
    answer_chars: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_s: float
    error: str | None
    child_run_id: str | None = None
    deployment: str | None = None  # which of the model's deployments answered (--router)
    cached_input_tokens: int = 0  # of the prompt tokens, those read from the provider's prompt cache
    from_cache: bool = False  # answered from the response cache: the usage is what it saved


@dataclass(frozen=True)
class CallRetried(Event):
    """A model call failed in a way worth retrying and is tried again after a pause."""

    call_id: str | None  # the sub-call; None for a call of the run's own (root) model
    model: str
    reason: str  # the HTTP status ("429"), or "timeout", "connection error"
    retry: int  # which retry comes next, from 1
    max_retries: int
    delay_s: float
    error: str = ""  # the provider's message, one line


@dataclass(frozen=True)
class ConcurrencyChanged(Event):
    """The run tree's limit on sub-call requests in flight moved: down on a 429, back up after."""

    limit: int
    maximum: int  # --concurrency
    reason: str  # "backoff" or "recovered"


@dataclass(frozen=True)
class ToolCalled(Event):
    """A sub-LLM used one of its tools (read, grep)."""

    call_id: str
    tool: str
    arguments: dict[str, Any]
    result_chars: int


@dataclass(frozen=True)
class AnswerUpdated(Event):
    content: str
    ready: bool


@dataclass(frozen=True)
class HistoryCompacted(Event):
    turns_folded: int
    chars_before: int
    chars_after: int
    summary: str = ""  # what replaced the folded turns


@dataclass(frozen=True)
class Notice(Event):
    """Something the user should know that is not an error (a budget note, a restart)."""

    message: str
    level: str = "info"  # "info" or "warning"


@dataclass(frozen=True)
class CitationsChecked(Event):
    """The answer's citations, each checked against the input (the `--json` citations items)."""

    citations: list[dict[str, Any]]


@dataclass(frozen=True)
class RunFinished(Event):
    stopped_by: str
    ready: bool
    answer: str
    iterations: int
    sub_calls: int
    usage: dict[str, Any]
    elapsed_s: float
    error: str | None


Emit = Callable[[Event], None]

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        RunStarted, TurnStarted, ModelReplied, CellStarted, CellExecuted, BatchStarted,
        BatchFinished, SubcallStarted, SubcallFinished, CallRetried, ConcurrencyChanged, ToolCalled, AnswerUpdated,
        HistoryCompacted, Notice, CitationsChecked, RunFinished,
    )
}


def event_to_dict(event: Event) -> dict[str, Any]:
    """The JSON-safe dict of an event, tagged with its class name."""
    return {"event": type(event).__name__, **dataclasses.asdict(event)}


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from `event_to_dict` output; unknown fields (from newer versions) are dropped."""
    cls = EVENT_TYPES[data["event"]]
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})
