"""Provider prompt caching for the root model's repeated prefix: `cache_control` breakpoints.

Each root turn resends the system prompt and every earlier turn. Where a provider caches a
prefix only up to a marked block (Anthropic's Claude), `PromptCaching` marks the system prompt
and the newest message, so the next turn, which extends this one, reads that prefix from the
cache. LiteLLM passes the marks on. The messages given are never changed (they are copied).
Must not import litellm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rlm_cli.budget import Quote
from rlm_cli.chat import ChatModel, Completion, Message, OnRetry, Stop, ToolSchema

EPHEMERAL = {"type": "ephemeral"}


def with_cache_points(messages: list[Message]) -> list[Message]:
    """A copy of `messages` with the system prompt and the newest message marked as cache points."""
    marked = list(messages)
    if marked and marked[0].get("role") == "system":
        marked[0] = _marked(marked[0])
    if marked:
        marked[-1] = _marked(marked[-1])
    return marked


def _marked(message: Message) -> Message:
    """The message with its text as one block carrying `cache_control` (others are left as they are)."""
    content: Any = message.get("content")
    if not isinstance(content, str) or not content:
        return message
    return {**message, "content": [{"type": "text", "text": content, "cache_control": EPHEMERAL}]}


class PromptCaching:
    """A ChatModel that marks cache points for the models `marks(model)` says need them."""

    def __init__(self, model: ChatModel, marks: Callable[[str], bool]) -> None:
        self.model = model
        self.marks = marks

    def quote(self, model: str, messages: list[Message], tools: list[ToolSchema] | None = None) -> Quote:
        """The wrapped model's quote (of the unmarked messages: the marks add no tokens)."""
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
        """The wrapped model's call, with cache points where the model needs them."""
        sent = with_cache_points(messages) if self.marks(model) else messages
        return self.model.complete(
            model, sent, tools=tools, deadline=deadline, max_output=max_output, on_retry=on_retry, stop=stop,
        )
