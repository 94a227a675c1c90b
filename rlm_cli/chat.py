"""The seam between a run and its models: the ChatModel protocol, a reply, and the stop signal.

The engine, the broker and the meter see models only through `ChatModel`; `llm.LLMClient` is the
LiteLLM implementation, tests use an in-process scripted one. Imports `budget` only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rlm_cli.budget import Quote

Message = dict[str, Any]  # one chat message: role, content, tool calls
ToolSchema = dict[str, Any]  # one OpenAI-style function tool


@dataclass(frozen=True)
class Completion:
    """One model reply with its accounting."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_s: float
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None  # "stop", "length" (the output cap was reached), ...
    deployment: str | None = None  # which of the model's deployments answered (--router), if several
    cached_input_tokens: int = 0  # of the prompt tokens, those read from the provider's prompt cache
    from_cache: bool = False  # answered from the response cache: the usage is what it saved


@dataclass(frozen=True)
class Retry:
    """A failed attempt that will be made again after a pause."""

    model: str
    reason: str  # the HTTP status ("429"), or "timeout", "connection error"
    retry: int  # which retry comes next, from 1
    max_retries: int
    delay_s: float
    error: str  # the provider's message, one line


OnRetry = Callable[[Retry], None]


class Stop:
    """Set once a run has ended; a child run's signal is set too when its parent's is.

    Calls waiting on a model (or between retries) give up when it is set, so nothing more is sent
    or spent for a run that is over. Thread-safe.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], object]] = []

    def set(self) -> None:
        """End the run: wake every waiter, stop every child."""
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def is_set(self) -> bool:
        """Whether the run has ended."""
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds, less when the run ends; True when it has."""
        return self._event.wait(timeout)

    def on_set(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call `callback` when the signal is set (now, if it is); returns its remover."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)

                def remove() -> None:
                    with self._lock:
                        if callback in self._callbacks:
                            self._callbacks.remove(callback)

                return remove
        callback()
        return lambda: None

    def child(self) -> Stop:
        """The signal of a child run: set with this one, or on its own."""
        child = Stop()
        child.on_set(self.on_set(child.set))  # a finished child is forgotten by its parent
        return child


class ChatModel(Protocol):
    """What a run needs of its models: the worst case of a call before it is sent, and the call."""

    def quote(self, model: str, messages: list[Message], tools: list[ToolSchema] | None = None) -> Quote:
        """The worst case of one call: its prompt (estimated) and output cap, at the model's price."""
        ...

    def complete(
        self,
        model: str,
        messages: list[Message],
        *,
        tools: list[ToolSchema] | None = None,
        deadline: float | None = None,
        max_output: int | None = None,
        on_retry: OnRetry | None = None,
        stop: Stop | None = None,
    ) -> Completion:
        """One chat completion (retried on transient failures): ProviderError or ConfigError when
        it failed for good, ProviderError(reason="cancelled") once `stop` is set."""
        ...


class Stoppable:
    """A ChatModel whose every call gives up once `stop` is set (a run's calls, for its meter)."""

    def __init__(self, model: ChatModel, stop: Stop) -> None:
        self.model = model
        self.stop = stop

    def quote(self, model: str, messages: list[Message], tools: list[ToolSchema] | None = None) -> Quote:
        """The wrapped model's quote."""
        return self.model.quote(model, messages, tools)

    def complete(
        self,
        model: str,
        messages: list[Message],
        *,
        tools: list[ToolSchema] | None = None,
        deadline: float | None = None,
        max_output: int | None = None,
        on_retry: OnRetry | None = None,
        stop: Stop | None = None,
    ) -> Completion:
        """The wrapped model's call, cancelled when the run's signal is set."""
        return self.model.complete(
            model, messages, tools=tools, deadline=deadline, max_output=max_output, on_retry=on_retry,
            stop=stop or self.stop,
        )
