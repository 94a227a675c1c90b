"""The `rlm bench` command: the offline long-context suite, RLM against its baselines.

Import-light like cli.py: only typer and rlm_cli.options here; the bench package loads inside
the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rlm_cli.exits import handles_errors
from rlm_cli.options import (
    BUDGETS,
    OUTPUT,
    ApiBaseOpt,
    ConcurrencyOpt,
    DepthOpt,
    JsonOpt,
    ModelOpt,
    QuietOpt,
    SandboxOpt,
    SubApiBaseOpt,
    SubModelOpt,
    above_zero,
)

SUITE = "Suite"

TasksArg = Annotated[list[str] | None, typer.Argument(help="niah, multi-niah, aggregate, pairs, codeqa, verbatim (default: all).", show_default=False)]
SizesOpt = Annotated[str, typer.Option("--sizes", help="Input sizes in tokens (about 4 characters each), comma-separated.", rich_help_panel=SUITE)]
CountOpt = Annotated[int, typer.Option("--n", min=1, help="Items per task and size.", rich_help_panel=SUITE)]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of the generated items: the same seed gives the same items.", rich_help_panel=SUITE)]
MethodsOpt = Annotated[str, typer.Option("--methods", help="Comma-separated: rlm, direct (the whole input in one prompt, cut to the window), rlm-no-sub (the REPL without sub-calls).", rich_help_panel=SUITE)]
WindowOpt = Annotated[int | None, typer.Option("--window", min=100, help="Context window in tokens for the direct method (default: the model's, else 128000).", rich_help_panel=SUITE)]
JobsOpt = Annotated[int, typer.Option("--jobs", "-j", min=1, help="Items run side by side (at most --concurrency).", rich_help_panel=SUITE)]
MaxIterOpt = Annotated[int | None, typer.Option("--max-iterations", min=1, help="Root turns at most per item. \\[default: 30]", rich_help_panel=BUDGETS)]
MaxCostOpt = Annotated[float | None, typer.Option("--max-cost", min=0, help="USD at most per item.", rich_help_panel=BUDGETS)]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", callback=above_zero, help="Wall-clock seconds at most per item, more than 0 (no limit when left out).", rich_help_panel=BUDGETS)]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Directory for items.jsonl, summary.json and the plot; finished items there are skipped. \\[default: a new directory under $XDG_STATE_HOME/rlm/bench]", rich_help_panel=OUTPUT)]
NoteOpt = Annotated[str, typer.Option("--note", help="A line for the plot and summary.json (machine, provider, caveats).", rich_help_panel=OUTPUT)]


def register_bench_command(app: typer.Typer) -> None:
    """Add `bench` to the app."""
    app.command("bench")(handles_errors(bench))


def bench(
    tasks: TasksArg = None,
    model: ModelOpt = None,
    sub_model: SubModelOpt = None,
    api_base: ApiBaseOpt = None,
    sub_api_base: SubApiBaseOpt = None,
    depth: DepthOpt = None,
    sizes: SizesOpt = "8k,32k,128k,1m",
    n: CountOpt = 20,
    seed: SeedOpt = 0,
    methods: MethodsOpt = "rlm,direct,rlm-no-sub",
    max_iterations: MaxIterOpt = None,
    max_cost: MaxCostOpt = None,
    timeout: TimeoutOpt = None,
    window: WindowOpt = None,
    concurrency: ConcurrencyOpt = None,
    jobs: JobsOpt = 4,
    sandbox: SandboxOpt = None,
    out: OutOpt = None,
    note: NoteOpt = "",
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Measure RLM against direct calls on generated long-context tasks, offline and seeded.

    [dim]rlm bench niah aggregate --model openai/gpt-5-mini --sizes 8k,128k --n 5[/dim]
    [dim]rlm bench --model openai/gpt-5 --sub-model openai/gpt-5-mini --out bench-run[/dim]
    """
    from rlm_cli.bench.command import BenchRequest, run_bench

    flags = {
        "model": model, "sub_model": sub_model, "api_base": api_base, "sub_api_base": sub_api_base, "depth": depth,
        "max_iterations": max_iterations, "max_cost": max_cost, "timeout": timeout,
        "concurrency": concurrency, "sandbox": sandbox,
    }
    request = BenchRequest(
        tasks=list(tasks or []), sizes=sizes, n=n, seed=seed, methods=methods, jobs=jobs,
        window=window, out=out, note=note, json_output=json_output, quiet=quiet, flags=flags,
    )
    raise typer.Exit(run_bench(request))
