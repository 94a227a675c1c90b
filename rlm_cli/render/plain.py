"""PlainRenderer: one plain line per event of interest, for logs, pipes, NO_COLOR and TERM=dumb.

No animation and no escape codes: lines are written to the stream as they are, never via Rich.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TextIO

from rlm_cli import events as ev
from rlm_cli.render import fmt
from rlm_cli.result import RunResult

PREVIEW = 100


class PlainRenderer:
    """`[  12.3s] turn 2 · reply 1.2k in, 300 out · 2.1s`, indented for child runs."""

    def __init__(self, stream: TextIO, *, verbose: bool = False, origin: float | None = None) -> None:
        self.stream = stream
        self.verbose = verbose
        self._lock = threading.Lock()
        self._start: float | None = origin  # None: the first event's time
        self._depth: dict[str, int] = {}
        self._lines: dict[type[ev.Event], Callable[[Any], str | None]] = {
            ev.RunStarted: self._run, ev.ModelReplied: self._replied,
            ev.CellStarted: self._cell, ev.CellExecuted: self._executed,
            ev.BatchStarted: self._batch, ev.BatchFinished: self._batch_done,
            ev.SubcallFinished: self._call_done, ev.CallRetried: self._retried, ev.AnswerUpdated: self._answer,
            ev.HistoryCompacted: self._compacted, ev.Notice: self._notice,
            ev.RunFinished: self._finished,
        }

    def handle(self, event: ev.Event) -> None:
        """Write the event's line, if it has one."""
        make = self._lines.get(type(event))
        if make is None:
            return
        with self._lock:
            if self._start is None:
                self._start = event.ts
            line = make(event)
            if line is None:
                return
            indent = "  " * (self._depth.get(event.run_id, 1) - 1)
            self.stream.write(f"[{event.ts - self._start:7.1f}s] {indent}{line}\n")
            self.stream.flush()

    def close(self, result: RunResult) -> None:
        """Nothing left to draw: the summary line is printed with the answer."""

    def _run(self, event: ev.RunStarted) -> str:
        self._depth[event.run_id] = event.depth
        data = event.input
        where = f"{fmt.count(int(data.get('documents', 0)), 'document')}, {fmt.nbytes(int(data.get('bytes', 0)))}"
        if data.get("skipped"):
            where += f", {data['skipped']} skipped"
        kind = "child run" if event.parent_run_id else "run"
        return (
            f"{kind} {event.run_id} · model {event.model} (sub {event.sub_model}) · {where} · "
            f"question: {fmt.one_line(event.question, PREVIEW)}"
        )

    def _replied(self, event: ev.ModelReplied) -> str:
        return (
            f"turn {event.turn} · reply {fmt.tokens(event.prompt_tokens)} in, "
            f"{fmt.tokens(event.completion_tokens)} out · {fmt.duration(event.latency_s)}"
            f"{fmt.priced(event.cost_usd)}"
        )

    def _cell(self, event: ev.CellStarted) -> str:
        line = f"turn {event.turn} cell {event.cell} · running {fmt.count(len(event.code.splitlines()), 'line')} of code"
        return line + ("\n" + event.code if self.verbose else "")

    def _executed(self, event: ev.CellExecuted) -> str:
        head = f"turn {event.turn} cell {event.cell}"
        if event.timed_out:
            status = f"timed out after {fmt.duration(event.duration_s)}"
        elif event.error:
            status = f"error after {fmt.duration(event.duration_s)}: {fmt.one_line(event.error.strip().splitlines()[-1], PREVIEW)}"
        else:
            status = f"done in {fmt.duration(event.duration_s)}"
        restarted = " · REPL restarted" if event.restarted else ""
        line = f"{head} · {status} · output {fmt.chars(event.output_chars)}{restarted}"
        return line + ("\n" + event.output if self.verbose and event.output else "")

    def _batch(self, event: ev.BatchStarted) -> str:
        return f"llm_batch {event.batch_id} · {event.size} calls to {event.model}"

    def _batch_done(self, event: ev.BatchFinished) -> str:
        failed = f" ({event.failed} failed)" if event.failed else ""
        return f"llm_batch {event.batch_id} · {event.size} calls done in {fmt.duration(event.duration_s)}{failed}"

    def _call_done(self, event: ev.SubcallFinished) -> str | None:
        # One line per item of a 500-call batch would drown the log: only failures, unless -v.
        if event.batch_id is not None and event.error is None and not self.verbose:
            return None
        name = f"llm_batch {event.batch_id} #{event.index}" if event.batch_id else "sub-call"
        if event.error is not None:
            return f"{name} · failed after {fmt.duration(event.latency_s)}: {fmt.one_line(event.error, PREVIEW)}"
        used = fmt.tokens(event.prompt_tokens + event.completion_tokens)
        spent = f"cached · {used} tok saved" if event.from_cache else f"{used} tok · {fmt.duration(event.latency_s)}"
        return f'{name} · {spent} · "{fmt.one_line(event.answer, 60)}"'

    def _retried(self, event: ev.CallRetried) -> str:
        line = fmt.retry(event.reason, event.model, event.retry, event.max_retries, event.delay_s)
        return line + (f": {fmt.one_line(event.error, PREVIEW)}" if self.verbose and event.error else "")

    def _answer(self, event: ev.AnswerUpdated) -> str:
        state = "ready" if event.ready else "draft"
        return f"answer ({state}) · {fmt.chars(len(event.content))}"

    def _compacted(self, event: ev.HistoryCompacted) -> str:
        return (
            f"history compacted · {event.turns_folded} turns folded · "
            f"{fmt.chars(event.chars_before)} -> {fmt.chars(event.chars_after)}"
        )

    def _notice(self, event: ev.Notice) -> str:
        return f"{event.level}: {event.message}"

    def _finished(self, event: ev.RunFinished) -> str | None:
        if self._depth.get(event.run_id, 1) == 1:
            return None  # the root run's end is the summary line, printed with the answer
        error = f" · error: {fmt.one_line(event.error, PREVIEW)}" if event.error else ""
        return (
            f"finished · stopped by {event.stopped_by} · {event.iterations} turns · "
            f"{event.sub_calls} sub-calls · {fmt.duration(event.elapsed_s)}{error}"
        )
