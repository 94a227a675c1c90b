"""The persistent REPL: one namespace, cells run in it, the contract names kept in place.

Runs inside the worker process (or in the host for `--sandbox none`). Standard library only.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import json
import linecache
import re
import sys
import time
from types import CodeType
from typing import TYPE_CHECKING, Any

from rlm_cli.sandbox.alarm import CellAlarm, CellTimeout
from rlm_cli.sandbox.capture import CappedText
from rlm_cli.sandbox.contract import RESERVED, Call, make_contract, user_variables
from rlm_cli.sandbox.messages import Answer, Load, Result, Save, Stored
from rlm_cli.units import clip

if TYPE_CHECKING:  # imported when used: a worker without input or errors needs neither at its start
    import traceback
    from pathlib import Path


def load_context(manifest: str | Path | None) -> Any:
    """The REPL's `context`: the Corpus the manifest describes, or "" when there is no input."""
    if manifest is None:
        return ""
    from rlm_cli.corpus import load_manifest  # standard library only, like this module

    return load_manifest(manifest)


class Repl:
    """A namespace that outlives cells, with `context` and the contract names always present."""

    def __init__(self, context: Any, call: Call, capture_limit: int) -> None:
        self.answer: dict[str, Any] = {"content": "", "ready": False}
        # re and json come imported: model code uses them on `context` without importing them
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins, "re": re, "json": json}
        self.capture_limit = capture_limit
        self._alarm = CellAlarm()
        self._call = call
        self._fixed = {"context": context, **make_contract(self.namespace, self.answer, self._paused_call)}
        self._cells = 0
        self._restore()

    def _paused_call(self, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        with self._alarm.paused():
            return self._call(kind, args)

    def set_variable(self, name: str, value: Any) -> None:
        """Bind a value the host provides (e.g. the conversation history)."""
        self.namespace[name] = value

    def set_answer(self, answer: Answer) -> None:
        """Carry the answer over, e.g. into a restarted worker."""
        self.answer["content"], self.answer["ready"] = answer.content, answer.ready

    def store(self, command: Save | Load) -> Stored:
        """Save the user variables to a snapshot file, or bind those a snapshot holds."""
        from rlm_cli.sandbox import state  # only runs that save or restore need pickle

        if isinstance(command, Save):
            names = user_variables(self.namespace)
            return state.save(self.namespace, names, command.path, command.max_bytes, command.max_total)
        return state.load(self.namespace, command.path, frozenset(self._fixed) | {"answer"})

    def run(self, code: str, timeout: float, cell: int = 0) -> Result:
        """Run one cell (numbered `cell` by the host); everything the code does ends up in the
        Result, nothing raises."""
        self._cells += 1
        filename = f"<cell {self._cells}>"
        linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
        out, err = CappedText(self.capture_limit), CappedText(self.capture_limit)
        value_repr = error = None
        timed_out = interrupted = False
        saved = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = out, err
        started = time.perf_counter()
        try:
            with self._alarm.running(timeout):
                value_repr = self._execute(code, filename)
        except CellTimeout as exc:
            timed_out = True
            error = _format_error(exc)
        except KeyboardInterrupt as exc:  # Ctrl-C reached the cell: the host is stopping
            interrupted = True
            error = _format_error(exc)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt included: the REPL lives on
            error = _format_error(exc)
        finally:
            duration = time.perf_counter() - started
            sys.stdout, sys.stderr = saved
        restored = self._restore()
        return Result(
            stdout=out.getvalue(), stderr=err.getvalue(), stdout_chars=out.total,
            stderr_chars=err.total, value_repr=value_repr, error=error, duration_s=duration,
            timed_out=timed_out, interrupted=interrupted, restored=restored,
            variables=user_variables(self.namespace), answer=Answer.from_model(self.answer),
            notes=_answer_notes(self.answer), cell=cell,
        )

    def _execute(self, code: str, filename: str) -> str | None:
        tree = ast.parse(code, filename, "exec")
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        assert last is None or isinstance(last, ast.Expr)
        _run(compile(tree, filename, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT), self.namespace)
        if last is None:
            return None
        value = _run(compile(ast.Expression(last.value), filename, "eval", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT), self.namespace)
        if value is None:
            return None
        return clip(repr(value), self.capture_limit)

    def _restore(self) -> list[str]:
        """Put back contract names the cell replaced; `answer` keeps the edits made through it."""
        restored = [name for name, value in self._fixed.items() if self.namespace.get(name) is not value]
        self.namespace.update(self._fixed)
        current = self.namespace.get("answer")
        if isinstance(current, dict):
            if current is not self.answer:
                self.set_answer(Answer.from_model({**self.answer, **current}))
        elif "answer" in self.namespace:
            restored.append("answer")
        self.namespace["answer"] = self.answer
        return [name for name in RESERVED if name in restored]


def _run(code: CodeType, namespace: dict[str, Any]) -> Any:
    """Run compiled cell code; a cell with top-level `await` runs in an event loop of its own."""
    result = eval(code, namespace)  # an "exec" code object gives None, or a coroutine
    if not code.co_flags & inspect.CO_COROUTINE:
        return result
    import asyncio  # only for cells that await

    loop = asyncio.new_event_loop()  # not asyncio.run: it would take over Ctrl-C
    try:
        return loop.run_until_complete(result)
    finally:
        loop.close()


def _answer_notes(answer: dict[str, Any]) -> list[str]:
    """What the host reads differently from what the model wrote in `answer`."""
    ready = answer.get("ready")
    if isinstance(ready, bool):
        return []
    shown = repr(ready)[:40] if isinstance(ready, str | int | float | None) else type(ready).__name__
    return [f'answer["ready"] is {shown}, not True or False: only True marks the answer ready, '
            "so it is not ready."]


def _format_error(exc: BaseException) -> str:
    """The exception with a traceback of the model's own frames (cells) only, and a hint when
    a str-only function rejected the lazy (memory-mapped) context."""
    import traceback

    from rlm_cli.corpus import lazy_hint  # standard library only, like this module

    summary = traceback.TracebackException.from_exception(exc)
    _keep_cell_frames(summary)
    hint = lazy_hint(exc)
    return "".join(summary.format()).rstrip("\n") + (f"\nHint: {hint}" if hint else "")


def _keep_cell_frames(summary: traceback.TracebackException) -> None:
    import traceback

    frames = [frame for frame in summary.stack if frame.filename.startswith("<cell ")]
    summary.stack = traceback.StackSummary.from_list(frames)
    for linked in (summary.__cause__, summary.__context__):
        if linked is not None:
            _keep_cell_frames(linked)
