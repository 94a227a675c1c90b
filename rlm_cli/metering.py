"""One model call within a run's budget: reserve its worst case, call, settle to the real usage.

Retries become events and every reply is checked for emptiness, so the engine (root turns) and
the broker (sub-calls) follow one rule. Never prints.
"""

from __future__ import annotations

from typing import Any

from rlm_cli.budget import UNPRICED_NOTE, Budget, Reservation
from rlm_cli.chat import ChatModel, Completion, Retry
from rlm_cli.events import CallRetried, Emit, Notice
from rlm_cli.failures import Failures


class Meter:
    """Makes the model calls of one run (the root run or a child) against its budget."""

    def __init__(self, *, llm: ChatModel, budget: Budget, emit: Emit, run_id: str, failures: Failures) -> None:
        self.llm = llm
        self.budget = budget
        self.emit = emit
        self.run_id = run_id
        self.failures = failures

    def reserve(self, model: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> Reservation:
        """Hold the call's worst case, or raise OverBudget (nothing is sent then)."""
        held = self.budget.reserve(self.llm.quote(model, messages, tools))
        if held.unpriced:
            self.emit(Notice(self.run_id, message=UNPRICED_NOTE, level="warning"))
        return held

    def call(
        self, role: str, model: str, messages: list[dict[str, Any]], *, call_id: str | None = None,
        tools: list[dict[str, Any]] | None = None, deadline: float | None = None, held: Reservation | None = None,
    ) -> Completion:
        """One call ("root" or "sub" role) within the budget; `held` is a reservation made already.

        Raises OverBudget when it does not fit, ProviderError or ConfigError when it failed for good.
        """
        held = held or self.reserve(model, messages, tools)

        def retried(retry: Retry) -> None:
            self.emit(CallRetried(
                self.run_id, call_id=call_id, model=retry.model, reason=retry.reason, retry=retry.retry,
                max_retries=retry.max_retries, delay_s=retry.delay_s, error=retry.error,
            ))

        try:
            completion = self.llm.complete(
                model, messages, tools=tools, max_output=held.max_output, on_retry=retried,
                deadline=self.budget.limits.deadline if deadline is None else deadline,
            )
        except BaseException:
            held.release()  # nothing known was spent: free the room for other calls
            raise
        # Released and charged under one lock hold, so no waiting call sees the room in between.
        if held.settle(role, completion.prompt_tokens, completion.completion_tokens, completion.cost_usd,
                       deployment=completion.deployment, cached_input=completion.cached_input_tokens,
                       from_cache=completion.from_cache):
            self.emit(Notice(self.run_id, message=UNPRICED_NOTE, level="warning"))
        empty = not completion.text.strip() and not completion.tool_calls
        notice = self.failures.reply(model, empty=empty, finish_reason=completion.finish_reason)
        if notice:
            self.emit(Notice(self.run_id, message=notice, level="warning"))
        return completion
