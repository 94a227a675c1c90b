"""`rlm runs` and `rlm show`: the table of past runs, and one run's header line.

Imports `history` for its RunSummary only.
"""

from __future__ import annotations

import json
import sys
import time

from rlm_cli.history import RunSummary
from rlm_cli.render import fmt
from rlm_cli.render.consoles import stdout_console
from rlm_cli.termsafe import visible

RUNS_SCHEMA = 1


def print_runs(runs: list[RunSummary], *, as_json: bool, search: str | None = None) -> None:
    """A table of runs newest first, or one JSON object `{"schema": 1, "runs": [...]}`."""
    if as_json:
        payload = {"schema": RUNS_SCHEMA, "runs": [run.to_json_dict() for run in runs]}
        sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
        return
    if not runs:
        sys.stderr.write(visible(f"rlm: no recorded run mentions {search!r}\n" if search else "rlm: no recorded runs yet\n"))
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, box=None, pad_edge=False)
    for column in ("run", "when", "status", "cost"):
        table.add_column(column, no_wrap=True)
    table.add_column("question · model · sources", ratio=1, min_width=30, overflow="fold")
    for run in runs:
        about = Text(visible(fmt.one_line(run.question, 120)))
        about.append(visible(f" · {run.model} · {fmt.one_line(' '.join(run.sources), 40)}{_link(run)}"), style="dim")
        table.add_row(
            short_id(run.run_id), short_when(run.started), run.status,
            fmt.cost(run.cost_usd) if run.status != "unfinished" else "-", about,
        )
    stdout_console().print(table)


def _link(run: RunSummary) -> str:
    """` · chat 1a2b3c` or ` · follows a3d1f4`: how a run hangs together with others."""
    if run.session:
        return f" · chat {short_id(run.session)}"
    return f" · follows {short_id(run.continues)}" if run.continues else ""


def short_id(run_id: str) -> str:
    """The random tail of a run id (`20261124T031207-a3d1f4` -> `a3d1f4`): enough for `rlm show`."""
    return run_id.rsplit("-", 1)[-1]


def when(ts: float) -> str:
    """Local date and time to the minute."""
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def short_when(ts: float) -> str:
    """`01-02 13:04` for the table."""
    return time.strftime("%m-%d %H:%M", time.localtime(ts))


def run_header(run: RunSummary) -> str:
    """`rlm: run abc123 · 2025-01-02 13:04 · openai/gpt-5-mini · where is auth handled?`."""
    return visible(f"rlm: run {run.run_id} · {when(run.started)} · {run.model} · {fmt.one_line(run.question, 100)}")
