"""A run's events (as `rlm ask --events` prints them) folded into MCP progress reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Report:
    """One progress notification: `step` rises with every report; `message` says where the run is."""

    step: int
    message: str


class RunProgress:
    """Follows the root run's turns and the whole tree's sub-calls, tokens and cost."""

    def __init__(self) -> None:
        self.steps = 0
        self.root_run: str | None = None
        self.turn = 0
        self.max_turns: int | None = None
        self.sub_calls = 0
        self.batch: tuple[int, int] | None = None  # (finished, size) of the root run's open batch
        self.tokens = 0
        self.cost = 0.0
        self.cost_known = True

    def update(self, event: dict[str, Any]) -> Report | None:
        """Take one event; a report when it moved the run on in a way worth telling."""
        kind = event.get("event")
        root = self.root_run is None or event.get("run_id") == self.root_run
        if kind == "RunStarted" and self.root_run is None:
            self.root_run = event.get("run_id")
            self.max_turns = (event.get("budgets") or {}).get("max_iterations")
            inputs = event.get("input") or {}
            return self._report(f"started: {inputs.get('documents', 0):,} documents, {inputs.get('bytes', 0):,} bytes")
        if kind in ("ModelReplied", "SubcallFinished"):
            self._count(event)
        if kind == "TurnStarted" and root:
            self.turn = event.get("turn", self.turn)
            return self._report("model thinking")
        if kind == "CellStarted" and root:
            return self._report("running code")
        if kind == "BatchStarted":
            self.batch = (0, event.get("size", 0))
            return self._report(f"{self.batch[1]} sub-calls started")
        if kind == "SubcallFinished":
            if self.batch is not None and event.get("batch_id") is not None:
                self.batch = (self.batch[0] + 1, self.batch[1])
                return self._report(f"{self.batch[0]}/{self.batch[1]} sub-calls of the batch done")
            return self._report("sub-call done")
        if kind == "BatchFinished":
            self.batch = None
        if kind == "Notice" and event.get("level") == "warning":
            return self._report(str(event.get("message", "")))
        if kind == "RunFinished" and root:
            return self._report(f"finished: stopped by {event.get('stopped_by')}")
        return None

    def _count(self, event: dict[str, Any]) -> None:
        self.tokens += int(event.get("prompt_tokens") or 0) + int(event.get("completion_tokens") or 0)
        cost = event.get("cost_usd")
        if cost is None:
            self.cost_known = False
        else:
            self.cost += float(cost)
        if event.get("event") == "SubcallFinished":
            self.sub_calls += 1

    def _report(self, what: str) -> Report:
        self.steps += 1
        turn = f"turn {self.turn}/{self.max_turns}" if self.max_turns else f"turn {self.turn}"
        cost = f"${self.cost:.4f}" if self.cost_known else "cost unknown"
        return Report(self.steps, f"{turn} · {what} · {self.sub_calls} sub-calls · {self.tokens:,} tokens · {cost}")
