"""The work behind `rlm bench`: check the request, run the plan, write and print the reports.

Never imports typer; cli_bench.py turns options into a BenchRequest and calls `run_bench`.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rlm_cli.bench.items import parse_sizes, size_label
from rlm_cli.bench.methods import METHODS, MethodConfig
from rlm_cli.bench.runner import ITEMS_FILE, Plan, Row, run_plan
from rlm_cli.bench.tasks import TASKS
from rlm_cli.errors import InputError
from rlm_cli.exits import ExitCode
from rlm_cli.settings import Settings

DEFAULT_SIZES = "8k,32k,128k,1m"
DEFAULT_METHODS = "rlm,direct,rlm-no-sub"


@dataclass
class BenchRequest:
    """The command line's options, parsed but not yet checked."""

    tasks: list[str] = field(default_factory=list)
    sizes: str = DEFAULT_SIZES
    n: int = 20
    seed: int = 0
    methods: str = DEFAULT_METHODS
    jobs: int = 4
    window: int | None = None
    out: Path | None = None
    note: str = ""
    json_output: bool = False
    quiet: bool = False
    flags: dict[str, Any] = field(default_factory=dict)  # Settings overrides, None = not given


def make_plan(request: BenchRequest) -> Plan:
    """The plan, or InputError naming the unknown task, method or bad size."""
    tasks = request.tasks or list(TASKS)
    methods = [m.strip() for m in request.methods.split(",") if m.strip()]
    for kind, names, known in (("task", tasks, TASKS), ("method", methods, METHODS)):
        unknown = [name for name in names if name not in known]
        if unknown:
            raise InputError(f"unknown {kind} {unknown[0]!r}", hint=f"choose from: {', '.join(known)}")
    try:
        sizes = parse_sizes(request.sizes)
    except ValueError as error:
        raise InputError(str(error)) from None
    if not methods:
        raise InputError("no method given", hint=f"--methods {DEFAULT_METHODS}")
    return Plan(tuple(dict.fromkeys(tasks)), tuple(dict.fromkeys(sizes)), request.n, request.seed, tuple(dict.fromkeys(methods)))


def run_bench(request: BenchRequest) -> int:
    """Run the suite, write items.jsonl, summary.json and the plot; print the table. Exit code."""
    from rlm_cli.bench.plot import MISSING, plot_summary
    from rlm_cli.bench.report import summarize, summary_table, write_summary
    from rlm_cli.settings import resolve

    plan = make_plan(request)
    # No response cache: each item's calls are measured as made, not answered from an earlier run.
    settings = resolve({**request.flags, "progress": "none", "trace": False, "cache": False}).settings
    jobs = max(1, min(request.jobs, settings.concurrency))
    # Items run side by side, so each gets its share of the sub-call concurrency limit.
    per_item = replace(settings, concurrency=max(1, settings.concurrency // jobs))
    _check_keys(per_item)
    out_dir = request.out or _default_out(settings)
    progress = _Progress(plan.runs, request.quiet)
    _say(request.quiet, f"rlm bench: {plan.runs} runs ({', '.join(plan.tasks)} at {', '.join(map(size_label, plan.sizes))}; "
                        f"n={plan.n}; {', '.join(plan.methods)}), {jobs} at a time, into {out_dir}")
    started = time.monotonic()
    rows = run_plan(plan, MethodConfig(per_item, request.window), out_dir, jobs, progress.row)
    progress.note_resumed()
    meta = {
        "model": settings.model, "sub_model": settings.effective_sub_model, "api_base": settings.api_base,
        "depth": settings.depth, "max_iterations": settings.max_iterations, "jobs": jobs,
        "window": request.window, "note": request.note, "elapsed_s": round(time.monotonic() - started, 2),
    }
    summary = summarize(rows, plan, meta)
    summary_path = write_summary(summary, out_dir)
    plot_path = plot_summary(summary, out_dir, request.note)
    if request.json_output:
        print(json.dumps(summary, indent=2))
    else:
        from rlm_cli.render.consoles import stdout_console

        stdout_console().print(summary_table(summary))
    _say(request.quiet, f"rlm bench: items {out_dir / ITEMS_FILE} · summary {summary_path}"
                        + (f" · plot {plot_path}" if plot_path else f"\nrlm: note: {MISSING}"))
    failed = rows and all(row.get("error") for row in rows)
    return int(ExitCode.PROVIDER if failed else ExitCode.OK)


def _check_keys(settings: Settings) -> None:
    from rlm_cli.keys import load_dotenv
    from rlm_cli.llm import LLMClient

    load_dotenv(settings.dotenv)
    LLMClient.from_settings(settings).check_keys([settings.model, settings.effective_sub_model])


def _default_out(settings: Settings) -> Path:
    from rlm_cli.settings import state_dir

    return state_dir(settings) / "bench" / time.strftime("%Y%m%d-%H%M%S")


def _say(quiet: bool, line: str) -> None:
    if not quiet:
        print(line, file=sys.stderr, flush=True)


class _Progress:
    """One stderr line per finished run; rows taken from an earlier run are only counted."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total = total
        self.quiet = quiet
        self.done = 0
        self.resumed = 0

    def row(self, row: Row, resumed: bool) -> None:
        self.done += 1
        if resumed:
            self.resumed += 1
            return
        self.note_resumed()
        trouble = f" · {row['stopped_by']}" if row["stopped_by"] != "answer" else ""
        cut = f" · kept {row['kept_fraction']:.0%}" if row.get("truncated") else ""
        _say(self.quiet, f"[{self.done}/{self.total}] {row['task']} {row['size_label']} #{row['index']} {row['method']}: "
                         f"score {row['score']:.2f} · {row['turns']} turn{'s' * (row['turns'] != 1)} · {row['wall_s']:.1f} s{cut}{trouble}")

    def note_resumed(self) -> None:
        """Say once how many runs came from the earlier run in the same directory."""
        if self.resumed:
            _say(self.quiet, f"rlm bench: {self.resumed} finished runs taken from the earlier run")
            self.resumed = 0
