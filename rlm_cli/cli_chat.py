"""`rlm chat`: questions in turn about one loaded input, in one REPL.

Import-light like cli.py: the session (and with it the runner) loads only when the command runs.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rlm_cli.exits import DEBUG, handles_errors
from rlm_cli.options import (
    OUTPUT,
    ApiBaseOpt,
    CellTimeoutOpt,
    ConcurrencyOpt,
    DepthOpt,
    MaxCostOpt,
    MaxIterOpt,
    MaxSubOpt,
    MaxTokOpt,
    ModelOpt,
    ModelOptionCommand,
    ModelOptionOpt,
    NoDotenvOpt,
    QuietOpt,
    RawOpt,
    RouterOpt,
    SandboxOpt,
    SubApiBaseOpt,
    SubModelOpt,
    SystemOpt,
    TimeoutOpt,
    as_model_options,
)


def register_chat_command(app: typer.Typer) -> None:
    """Add `chat` to the app."""
    app.command("chat", cls=ModelOptionCommand)(handles_errors(chat))


def chat(
    sources: Annotated[list[str], typer.Argument(metavar="SOURCE...", help="Files, directories or globs to talk about (read once).", show_default=False)],
    model: ModelOpt = None,
    sub_model: SubModelOpt = None,
    api_base: ApiBaseOpt = None,
    sub_api_base: SubApiBaseOpt = None,
    router: RouterOpt = None,
    system: SystemOpt = None,
    option: ModelOptionOpt = None,
    no_dotenv: NoDotenvOpt = False,
    depth: DepthOpt = None,
    max_iterations: MaxIterOpt = None,
    max_cost: MaxCostOpt = None,
    max_sub_calls: MaxSubOpt = None,
    max_tokens: MaxTokOpt = None,
    timeout: TimeoutOpt = None,
    concurrency: ConcurrencyOpt = None,
    sandbox: SandboxOpt = None,
    cell_timeout: CellTimeoutOpt = None,
    quiet: QuietOpt = False,
    raw: RawOpt = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="More detail: full cell output.", rich_help_panel=OUTPUT)] = False,
) -> None:
    """Ask questions in turn about SOURCEs loaded once, in one REPL: variables carry over.

    Each question is a run in `rlm runs` (with its chat session); Ctrl-C stops the question being
    answered, Ctrl-D ends the session. Budgets apply per question.

    [dim]rlm chat ./repo[/dim]
    """
    from rlm_cli.conversation import chat as run_chat
    from rlm_cli.runner import RunRequest

    flags: dict[str, Any] = {
        "model": model, "sub_model": sub_model, "api_base": api_base, "sub_api_base": sub_api_base,
        "router": router, "dotenv": False if no_dotenv else None, "depth": depth, "concurrency": concurrency,
        "max_iterations": max_iterations, "max_cost": max_cost, "max_sub_calls": max_sub_calls,
        "max_tokens": max_tokens, "timeout": timeout, "cell_timeout": cell_timeout,
        "sandbox": sandbox, "system": system, "options": as_model_options(option),
    }
    request = RunRequest(quiet=quiet, verbose=verbose, debug=DEBUG.get(), raw=raw)
    raise typer.Exit(run_chat(sources, flags, request))
