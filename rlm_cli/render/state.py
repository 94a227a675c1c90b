"""What the tree draws: runs, turns, cells, batches and sub-calls folded from events.

Plain data, no Rich; imports `events` and `accounting` only. Not thread-safe by itself: the owner
holds a lock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rlm_cli import events as ev
from rlm_cli.accounting import RLM_KIND, Ledger, charge, charged_when_finished, payers


@dataclass
class Call:
    """One sub-call (`llm_query`, one item of an `llm_batch`, or an `rlm_query` child run)."""

    call_id: str
    index: int
    model: str
    kind: str
    prompt_chars: int
    started: float
    finished: ev.SubcallFinished | None = None
    tools: int = 0
    last_tool: str = ""
    child: Run | None = None
    retries: int = 0
    retry: ev.CallRetried | None = None  # the latest, shown while the call waits for it

    @property
    def failed(self) -> bool:
        """The call ended with an error."""
        return self.finished is not None and self.finished.error is not None


@dataclass
class Batch:
    """One `llm_batch`: counters kept as events arrive so a 500-call batch stays cheap."""

    batch_id: str
    size: int
    model: str
    started: float
    calls: dict[str, Call] = field(default_factory=dict)
    done: int = 0
    failed: int = 0
    finished: ev.BatchFinished | None = None
    limit: ev.ConcurrencyChanged | None = None  # the run tree's limit, once 429s lowered it

    @property
    def running(self) -> int:
        """Calls started and not yet finished."""
        return len(self.calls) - self.done


@dataclass
class Cell:
    """One code block of a turn, with the sub-calls it made in order."""

    cell: int
    code: str
    started: float
    items: list[Batch | Call] = field(default_factory=list)
    executed: ev.CellExecuted | None = None


@dataclass
class Turn:
    """One root-model turn."""

    turn: int
    started: float
    reply: ev.ModelReplied | None = None
    cells: list[Cell] = field(default_factory=list)
    retries: int = 0
    retry: ev.CallRetried | None = None  # the latest retry of the root model's call


@dataclass
class Run:
    """One run (the root, or a child started by `rlm_query`)."""

    started: ev.RunStarted
    parent: Run | None = None
    turns: list[Turn] = field(default_factory=list)
    answer: str = ""
    ready: bool = False
    notices: list[ev.Notice] = field(default_factory=list)
    compactions: int = 0
    finished: ev.RunFinished | None = None
    usage: Ledger = field(default_factory=Ledger)  # what this run and its children spent so far
    sub_calls: int = 0
    failed_calls: int = 0
    cell: Cell | None = None  # the cell running now: sub-calls belong to it
    loose: list[Batch | Call] = field(default_factory=list)  # sub-calls made outside any cell
    batches: dict[str, Batch] = field(default_factory=dict)
    calls: dict[str, Call] = field(default_factory=dict)

    def place(self, item: Batch | Call) -> None:
        """Attach a batch or a single call to the cell running now."""
        (self.cell.items if self.cell else self.loose).append(item)


class RunState:
    """Every run seen so far, keyed by run id; `root` is the first run without a parent."""

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}
        self.root: Run | None = None
        self.first_ts: float | None = None
        self.last_ts: float = 0.0
        self.events = 0
        self.limit: ev.ConcurrencyChanged | None = None  # the run tree's latest sub-call limit
        self._handlers: dict[type[ev.Event], Callable[[Any, Run], None]] = {
            ev.TurnStarted: self._turn, ev.ModelReplied: self._replied,
            ev.CellStarted: self._cell, ev.CellExecuted: self._executed,
            ev.BatchStarted: self._batch, ev.BatchFinished: self._batch_done,
            ev.SubcallStarted: self._call, ev.SubcallFinished: self._call_done,
            ev.ToolCalled: self._tool, ev.CallRetried: self._retried, ev.ConcurrencyChanged: self._limit, ev.AnswerUpdated: self._answer,
            ev.HistoryCompacted: self._compacted, ev.Notice: self._notice,
            ev.RunFinished: self._finished,
        }

    def apply(self, event: ev.Event) -> None:
        """Fold one event in; events of runs never started are ignored."""
        self.events += 1
        self.first_ts = event.ts if self.first_ts is None else self.first_ts
        self.last_ts = max(self.last_ts, event.ts)
        if isinstance(event, ev.RunStarted):
            self._run(event)
            return
        run = self.runs.get(event.run_id)
        handler = self._handlers.get(type(event))
        if run is not None and handler is not None:
            handler(event, run)

    def _run(self, event: ev.RunStarted) -> None:
        parent = self.runs.get(event.parent_run_id) if event.parent_run_id else None
        run = Run(started=event, parent=parent)
        self.runs[event.run_id] = run
        if parent is None:
            self.root = self.root or run
            return
        call = parent.calls.get(event.parent_call_id or "") or _open_rlm_call(parent)
        if call is not None:
            call.child = run

    def _turn(self, event: ev.TurnStarted, run: Run) -> None:
        run.turns.append(Turn(turn=event.turn, started=event.ts))

    def _replied(self, event: ev.ModelReplied, run: Run) -> None:
        if run.turns:
            run.turns[-1].reply = event
        charge((r.usage for r in payers(run)), "root", event.prompt_tokens, event.completion_tokens, event.cost_usd,
               deployment=event.deployment, cached_input=event.cached_input_tokens, from_cache=event.from_cache)

    def _cell(self, event: ev.CellStarted, run: Run) -> None:
        if not run.turns:
            run.turns.append(Turn(turn=event.turn, started=event.ts))
        run.cell = Cell(cell=event.cell, code=event.code, started=event.ts)
        run.turns[-1].cells.append(run.cell)

    def _executed(self, event: ev.CellExecuted, run: Run) -> None:
        if run.cell is not None and run.cell.cell == event.cell:
            run.cell.executed = event

    def _batch(self, event: ev.BatchStarted, run: Run) -> None:
        batch = Batch(batch_id=event.batch_id, size=event.size, model=event.model, started=event.ts, limit=self.limit)
        run.batches[event.batch_id] = batch
        run.place(batch)

    def _batch_done(self, event: ev.BatchFinished, run: Run) -> None:
        batch = run.batches.get(event.batch_id)
        if batch is not None:
            batch.finished = event

    def _call(self, event: ev.SubcallStarted, run: Run) -> None:
        call = Call(
            call_id=event.call_id, index=event.index, model=event.model, kind=event.kind,
            prompt_chars=event.prompt_chars, started=event.ts,
        )
        run.calls[event.call_id] = call
        batch = run.batches.get(event.batch_id) if event.batch_id else None
        if batch is not None:
            batch.calls[event.call_id] = call
        else:
            run.place(call)

    def _call_done(self, event: ev.SubcallFinished, run: Run) -> None:
        call = run.calls.get(event.call_id)
        if call is None:  # its start was lost (a trace cut at the front): draw it anyway
            self._call(_started_from(event), run)
            call = run.calls[event.call_id]
        if call.finished is not None:
            return
        call.finished = event
        batch = run.batches.get(event.batch_id) if event.batch_id else None
        if batch is not None:
            batch.done += 1
            batch.failed += event.error is not None
        for owner in payers(run):
            owner.sub_calls += 1
            owner.failed_calls += event.error is not None
        if charged_when_finished(call.kind):
            charge((r.usage for r in payers(run)), "sub", event.prompt_tokens, event.completion_tokens, event.cost_usd,
                   deployment=event.deployment, cached_input=event.cached_input_tokens, from_cache=event.from_cache)

    def _limit(self, event: ev.ConcurrencyChanged, run: Run) -> None:
        self.limit = event
        for each in self.runs.values():  # the limit is the run tree's: every batch running shares it
            for batch in each.batches.values():
                if batch.finished is None:
                    batch.limit = event

    def _tool(self, event: ev.ToolCalled, run: Run) -> None:
        call = run.calls.get(event.call_id)
        if call is not None:
            call.tools += 1
            call.last_tool = event.tool

    def _retried(self, event: ev.CallRetried, run: Run) -> None:
        owner: Call | Turn | None = run.calls.get(event.call_id) if event.call_id else (run.turns[-1] if run.turns else None)
        if owner is not None:
            owner.retries += 1
            owner.retry = event

    def _answer(self, event: ev.AnswerUpdated, run: Run) -> None:
        run.answer, run.ready = event.content, event.ready

    def _compacted(self, event: ev.HistoryCompacted, run: Run) -> None:
        run.compactions += 1

    def _notice(self, event: ev.Notice, run: Run) -> None:
        run.notices.append(event)

    def _finished(self, event: ev.RunFinished, run: Run) -> None:
        run.finished = event
        run.answer, run.ready = event.answer, event.ready
        run.cell = None


def _open_rlm_call(run: Run) -> Call | None:
    """The newest `rlm_query` call of a run still waiting for its child (older engines)."""
    for call in reversed(run.calls.values()):
        if call.kind == RLM_KIND and call.child is None and call.finished is None:
            return call
    return None


def _started_from(event: ev.SubcallFinished) -> ev.SubcallStarted:
    return ev.SubcallStarted(
        event.run_id, call_id=event.call_id, batch_id=event.batch_id, index=event.index,
        model=event.model, prompt="", prompt_chars=0, ts=event.ts - event.latency_s,
    )
