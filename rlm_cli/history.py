"""Past runs: listing the traces of the runs directory cheaply, finding one, and its RunResult.

Imports `events`, `accounting`, `result`, `errors` and `trace` (no Rich).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rlm_cli import events as ev
from rlm_cli.accounting import Usage, empty_usage
from rlm_cli.errors import InputError
from rlm_cli.exits import ExitCode, exit_code_for_stop
from rlm_cli.result import RunResult
from rlm_cli.trace import parse_line

TAIL_BLOCK = 64 * 1024


@dataclass
class RunSummary:
    """One past run, from the first and last lines of its trace."""

    run_id: str
    path: str
    started: float
    question: str = ""
    sources: list[str] = field(default_factory=list)
    model: str = ""
    status: str = "unfinished"  # stopped_by once the run finished
    ready: bool = False
    cost_usd: float | None = None
    tokens: int = 0
    elapsed_s: float | None = None
    continues: str | None = None  # the run this one followed up
    session: str | None = None  # its `rlm chat` session

    def to_json_dict(self) -> dict[str, Any]:
        """The object `rlm runs --json` prints for this run."""
        return asdict(self)


def list_runs(directory: Path, limit: int | None = None, search: str | None = None) -> list[RunSummary]:
    """Recorded runs, newest first (by when their trace was last written).

    `search`: only runs whose question, sources, model or final answer hold this text (any case).
    """
    try:
        paths = [p for p in directory.iterdir() if p.suffix == ".jsonl" and p.is_file()]
    except FileNotFoundError:
        return []
    paths.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    found = (summarize(p) for p in paths)
    runs = [run for run in found if run is not None and (not search or _mentions(run, search.casefold()))]
    return runs if limit is None else runs[:limit]


def _mentions(run: RunSummary, text: str) -> bool:
    if text in " ".join([run.question, *run.sources, run.model]).casefold():
        return True
    last = parse_line(_first_and_last_line(Path(run.path))[1]) or {}
    return text in str(last.get("answer", "")).casefold()


def summarize(path: Path) -> RunSummary | None:
    """The summary of one trace, or None when its first line is not a RunStarted."""
    first, last = _first_and_last_line(path)
    start = parse_line(first) if first else None
    if start is None or start.get("event") != "RunStarted":
        return None
    run = RunSummary(
        run_id=str(start.get("run_id", path.stem)), path=str(path), started=float(start.get("ts", 0)),
        question=str(start.get("question", "")), sources=list(start.get("sources") or []),
        model=str(start.get("model", "")), continues=start.get("continues"), session=start.get("chat_session"),
    )
    end = parse_line(last) if last else None
    if end is not None and end.get("event") == "RunFinished" and end.get("run_id") == run.run_id:
        total = Usage.of((end.get("usage") or {}).get("total"))
        run.status = str(end.get("stopped_by", "unfinished"))
        run.ready = bool(end.get("ready"))
        run.cost_usd, run.tokens = total.cost_usd, total.tokens
        run.elapsed_s = end.get("elapsed_s")
    return run


def find_run(directory: Path, key: str) -> Path:
    """The trace for a run id, any unique part of one (`rlm runs` shows the last part), `last`, or a path."""
    if key == "last":
        newest = list_runs(directory, 1)
        if not newest:
            raise InputError("no recorded runs yet", hint='runs are recorded unless --no-trace: rlm ask ./repo "question"')
        return Path(newest[0].path)
    direct = Path(key)
    if direct.suffix == ".jsonl" and direct.is_file():
        return direct
    exact = directory / f"{key}.jsonl"
    if exact.is_file():
        return exact
    matches = sorted(directory.glob(f"*{key}*.jsonl")) if key and directory.is_dir() else []
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise InputError(f"no recorded run matches {key!r}", hint="`rlm runs` lists the recorded runs")
    names = ", ".join(p.stem for p in matches[:5])
    raise InputError(f"{key!r} matches {len(matches)} runs ({names}...): give more of the id")


def result_from_events(events: list[ev.Event], trace: str | None = None) -> RunResult:
    """The RunResult a traced run produced, as `--json` printed it (or would have, if cut short)."""
    start = next(e for e in events if isinstance(e, ev.RunStarted))
    mine = [e for e in events if e.run_id == start.run_id]
    result = RunResult(
        model=start.model, sub_model=start.sub_model, depth=start.max_depth, input=dict(start.input),
        trace=trace, run_id=start.run_id,
    )
    finished = next((e for e in reversed(mine) if isinstance(e, ev.RunFinished)), None)
    if finished is None:
        answers = [e for e in mine if isinstance(e, ev.AnswerUpdated)]
        result.answer = answers[-1].content if answers else ""
        result.iterations = sum(isinstance(e, ev.TurnStarted) for e in mine)
        result.elapsed_s = events[-1].ts - start.ts
        result.usage = empty_usage()
        result.error = "the trace ends before the run finished (interrupted or crashed)"
        result.exit_code = int(ExitCode.INTERNAL)
        return result
    checked = next((e for e in reversed(mine) if isinstance(e, ev.CitationsChecked)), None)
    result.citations = list(checked.citations) if checked else []
    result.answer, result.ready, result.stopped_by = finished.answer, finished.ready, finished.stopped_by
    result.iterations, result.sub_calls = finished.iterations, finished.sub_calls
    result.usage, result.elapsed_s, result.error = finished.usage, finished.elapsed_s, finished.error
    result.exit_code = int(exit_code_for_stop(finished.stopped_by))
    return result


def _first_and_last_line(path: Path) -> tuple[str, str]:
    """Read the first line and the last complete-or-cut line without reading the middle."""
    with path.open("rb") as handle:
        first = handle.readline()
        size = handle.seek(0, os.SEEK_END)
        tail = b""
        position = size
        while position > 0:
            step = min(TAIL_BLOCK, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            if tail.rstrip(b"\n").count(b"\n") >= 1 or position == 0:
                break
    lines = tail.rstrip(b"\n").split(b"\n")
    return first.decode("utf-8", "replace"), lines[-1].decode("utf-8", "replace") if lines else ""
