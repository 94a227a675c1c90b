"""The commands over past runs: `rlm replay`, `rlm runs`, `rlm show`.

Import-light like cli.py: only typer here; Rich, traces and history load inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rlm_cli.exits import handles_errors
from rlm_cli.options import JsonOpt, RawOpt


def register_history_commands(app: typer.Typer) -> None:
    """Add `replay`, `runs` and `show` to the app."""
    app.command("replay")(handles_errors(replay))
    app.command("runs")(handles_errors(runs))
    app.command("show")(handles_errors(show))


def replay(
    trace: Annotated[Path, typer.Argument(help="A trace file (.jsonl), a run id from `rlm runs`, or `last`.")],
    live: Annotated[bool, typer.Option("--live", help="Re-play the run with its original timing.")] = False,
    speed: Annotated[float, typer.Option("--speed", min=0.01, help="With --live: how many times faster than the original.")] = 10.0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Full code, output and every sub-call.")] = False,
) -> None:
    """Re-draw the tree of a past run (its final state; --live to watch it unfold again)."""
    from rlm_cli.history import find_run
    from rlm_cli.render.consoles import stdout_console
    from rlm_cli.render.replay import print_final_tree, replay_live
    from rlm_cli.trace import read_trace

    events = read_trace(find_run(_runs_dir(), str(trace)))
    if live:
        replay_live(events, stdout_console(), speed=speed, verbose=verbose)
    else:
        print_final_tree(events, stdout_console(), verbose=verbose)


def runs(
    json_output: JsonOpt = False,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most this many runs.")] = 20,
    search: Annotated[str | None, typer.Option("--search", "-s", help="Only runs whose question, sources, model or answer hold this text (any case).")] = None,
) -> None:
    """List past runs, newest first: when, status, model, cost, question, sources."""
    from rlm_cli.history import list_runs
    from rlm_cli.render.runs import print_runs

    print_runs(list_runs(_runs_dir(), limit, search=search), as_json=json_output, search=search)


def show(
    run_id: Annotated[str, typer.Argument(help="A run id (or a unique part of one), `last` for the newest run, or a trace file.")],
    json_output: JsonOpt = False,
    raw: RawOpt = False,
) -> None:
    """Print a past run's answer on stdout and its summary on stderr."""
    import sys

    from rlm_cli.history import find_run, result_from_events, summarize
    from rlm_cli.render.answer import print_result
    from rlm_cli.render.runs import run_header
    from rlm_cli.trace import read_trace

    path = find_run(_runs_dir(), run_id)
    summary = summarize(path)
    if summary is not None:
        print(run_header(summary), file=sys.stderr)
    print_result(result_from_events(read_trace(path), trace=str(path)), as_json=json_output, raw=raw)


def _runs_dir() -> Path:
    from rlm_cli.settings import resolve
    from rlm_cli.trace import runs_dir

    return runs_dir(resolve().settings)
