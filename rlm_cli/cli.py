"""The Typer app: options -> Settings -> runner -> renderer. Nothing below this module sees Typer.

Must stay import-light (no litellm, pypdf, chardet): `rlm --help` and completion load only this.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from rlm_cli import __version__, cli_help
from rlm_cli.exits import DEBUG, EXIT_CODES_HELP, handles_errors
from rlm_cli.modes import ProgressMode
from rlm_cli.options import (
    BUDGETS,
    INPUT,
    OUTPUT,
    SANDBOX,
    ApiBaseOpt,
    CellTimeoutOpt,
    ConcurrencyOpt,
    ConfigGroup,
    DepthOpt,
    FollowLinksOpt,
    JsonOpt,
    MaxCostOpt,
    MaxFileOpt,
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

app = typer.Typer(
    name="rlm",
    help=(
        "Answer questions about inputs far larger than a model's context window.\n\n"
        "The input is loaded into a sandboxed Python REPL; the model explores it with code and "
        "fans out sub-LLM calls over its pieces (Recursive Language Models)."
    ),
    epilog=EXIT_CODES_HELP,
    rich_markup_mode="rich",
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    cls=cli_help.Group,
)
config_app = typer.Typer(help="Show, set and edit the settings, and say where the config file lives.", cls=ConfigGroup, no_args_is_help=True)
app.add_typer(config_app, name="config")

EstimateOpt = Annotated[bool, typer.Option("--estimate", help="Print what the run would read (documents, bytes, tokens) and what one root turn and one pass of the input through the sub-model cost, then exit 0; no model is called.", rich_help_panel=BUDGETS)]
IncludeOpt = Annotated[list[str] | None, typer.Option("--include", help="Only files matching this glob (repeatable).", rich_help_panel=INPUT)]
ExcludeOpt = Annotated[list[str] | None, typer.Option("--exclude", help="Skip files matching this glob (repeatable).", rich_help_panel=INPUT)]
GitignoreOpt = Annotated[bool | None, typer.Option("--gitignore/--no-gitignore", help="Honour .gitignore files in directory walks. \\[default: gitignore]", rich_help_panel=INPUT)]
RefOpt = Annotated[str | None, typer.Option("--ref", help="Branch, tag or full commit hash to clone from git URL sources. \\[default: the remote's HEAD]", rich_help_panel=INPUT)]
PathsFromOpt = Annotated[str | None, typer.Option("--paths-from", help="Read more source paths (NUL- or newline-separated) from this file, or - for stdin.", rich_help_panel=INPUT)]
AllowNetOpt = Annotated[bool | None, typer.Option("--allow-net", help="Let the REPL open network connections.", rich_help_panel=SANDBOX)]
AllowWriteOpt = Annotated[list[str] | None, typer.Option("--allow-write", help="Let the REPL write under this path (repeatable).", rich_help_panel=SANDBOX)]
EventsOpt = Annotated[bool, typer.Option("--events", help="Print each event of the run on stdout as it happens, one JSON object a line (the trace's vocabulary, with \"schema\"), then the --json object.", rich_help_panel=OUTPUT)]
TraceOpt = Annotated[Path | None, typer.Option("--trace", help="Also write the run's events as JSONL to this path.", rich_help_panel=OUTPUT)]
NoTraceOpt = Annotated[bool, typer.Option("--no-trace", help="Do not record the run in the state directory.", rich_help_panel=OUTPUT)]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="More detail: full cell output, skipped files.", rich_help_panel=OUTPUT)]
NoCacheOpt = Annotated[bool, typer.Option("--no-cache", help="Call the model for every sub-call, even one asked before, and read every input file again (setting: cache = false).", rich_help_panel=BUDGETS)]
NoCiteOpt = Annotated[bool, typer.Option("--no-cite", help="Do not ask for citations nor check them (setting: cite = false).", rich_help_panel=OUTPUT)]
ContinueOpt = Annotated[bool, typer.Option("--continue", "-c", help="Follow up the most recent run: same input, its REPL variables, its answer and conversation; the only argument is the question.")]
ContinueRunOpt = Annotated[str | None, typer.Option("--continue-run", metavar="ID", help="Follow up this run (a run id or any unique part of one, as `rlm show` takes).")]
ProgressOpt = Annotated[ProgressMode | None, typer.Option("--progress", help="How progress is drawn on stderr; auto is the tree on a colour terminal, plain lines otherwise. \\[default: auto]", rich_help_panel=OUTPUT)]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rlm {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for internal errors.")] = False,
) -> None:
    """Answer questions about inputs far larger than a model's context window."""
    DEBUG.set(debug)


ASK_EPILOG = (
    "The Model, Budgets, Input and Sandbox options and --progress can also be set as RLM_<OPTION> "
    "(e.g. RLM_MAX_COST) or in the config file; flags win, then the environment, then the file. "
    "--no-trace is RLM_TRACE=false there, --no-dotenv RLM_DOTENV=false, --no-cite RLM_CITE=false, --no-cache RLM_CACHE=false; --paths-from, --json, --events, --trace, --quiet and --verbose are flags only. "
    "`rlm config show` lists the settings.\n\n" + EXIT_CODES_HELP
)


@app.command(epilog=ASK_EPILOG, cls=ModelOptionCommand)
@handles_errors
def ask(
    arguments: Annotated[list[str], typer.Argument(metavar="[SOURCE]... QUESTION", help="Files, directories, globs, git or s3:// gs:// https:// URLs, or - for stdin; the last argument is the question.", show_default=False)],
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
    estimate: EstimateOpt = False,
    concurrency: ConcurrencyOpt = None,
    include: IncludeOpt = None,
    exclude: ExcludeOpt = None,
    gitignore: GitignoreOpt = None,
    follow_links: FollowLinksOpt = None,
    max_file_size: MaxFileOpt = None,
    paths_from: PathsFromOpt = None,
    ref: RefOpt = None,
    sandbox: SandboxOpt = None,
    cell_timeout: CellTimeoutOpt = None,
    allow_net: AllowNetOpt = None,
    allow_write: AllowWriteOpt = None,
    json_output: JsonOpt = False,
    events: EventsOpt = False,
    raw: RawOpt = False,
    trace: TraceOpt = None,
    no_trace: NoTraceOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    progress: ProgressOpt = None,
    no_cite: NoCiteOpt = False,
    continue_last: ContinueOpt = False,
    continue_run: ContinueRunOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Ask a QUESTION about one or more SOURCEs.

    [dim]rlm ask ./repo "where is auth handled?"[/dim]
    [dim]cat big.log | rlm ask - "why did the deploy fail?"[/dim]
    [dim]rlm ask docs/*.pdf "compare the evaluation setups" --json | jq -r .answer[/dim]
    [dim]rlm ask -c "and which of those routes skip it?"[/dim]
    """
    flags: dict[str, Any] = {
        "model": model, "sub_model": sub_model, "api_base": api_base, "sub_api_base": sub_api_base,
        "router": router, "dotenv": False if no_dotenv else None, "depth": depth,
        "max_iterations": max_iterations, "max_cost": max_cost, "max_sub_calls": max_sub_calls,
        "max_tokens": max_tokens, "timeout": timeout, "concurrency": concurrency,
        "include": tuple(include) if include else None, "exclude": tuple(exclude) if exclude else None,
        "gitignore": gitignore, "follow_links": follow_links, "max_file_size": max_file_size, "git_ref": ref, "sandbox": sandbox,
        "cell_timeout": cell_timeout, "allow_net": allow_net,
        "allow_write": tuple(allow_write) if allow_write else None,
        "progress": progress, "trace": False if no_trace else None, "cite": False if no_cite else None,
        "cache": False if no_cache else None,
        "system": system, "options": as_model_options(option),
    }
    follows = continue_run or ("last" if continue_last else None)
    if estimate:
        from rlm_cli.estimate import estimate_and_report

        raise typer.Exit(estimate_and_report(arguments, paths_from, flags, as_json=json_output, continue_run=follows))
    from rlm_cli.runner import RunRequest, run_and_report

    request = RunRequest(
        arguments=arguments, paths_from=paths_from, trace_path=trace,
        json_output=json_output, quiet=quiet, verbose=verbose, events=events, debug=DEBUG.get(),
        piped_input=True, raw=raw, continue_run=follows,
    )
    raise typer.Exit(run_and_report(request, flags))


@config_app.command("show")
@handles_errors
def config_show(json_output: JsonOpt = False) -> None:
    """Show the effective settings and where each value came from."""
    from rlm_cli.render.config import print_settings
    from rlm_cli.settings import resolve

    print_settings(resolve(), as_json=json_output)


@config_app.command("set")
@handles_errors
def config_set(
    key: Annotated[str, typer.Argument(help="A setting (e.g. max-cost), or options.NAME for one model option.", show_default=False)],
    value: Annotated[str, typer.Argument(help="Its value, as in the environment (e.g. 0.50, 50M, true, \"*.log, build/**\").", show_default=False)],
) -> None:
    """Check a value and write it to the config file, keeping the other keys and comments."""
    from rlm_cli.config_file import set_value
    from rlm_cli.settings import config_path

    path = config_path()
    typer.echo(f"rlm: {set_value(path, key, value)} in {path}", err=True)


@config_app.command("edit")
@handles_errors
def config_edit() -> None:
    """Open the config file in $VISUAL or $EDITOR (created with every setting commented out), then check it."""
    from rlm_cli.config_file import edit
    from rlm_cli.settings import config_path

    edit(config_path())


@config_app.command("path")
def config_path_command() -> None:
    """Print the path of the config file (it may not exist yet)."""
    from rlm_cli.settings import config_path

    typer.echo(str(config_path()))


from rlm_cli.cli_bench import register_bench_command  # noqa: E402 (after the app exists)
from rlm_cli.cli_cache import register_cache_commands  # noqa: E402 (after the app exists)
from rlm_cli.cli_chat import register_chat_command  # noqa: E402 (after the app exists)
from rlm_cli.cli_history import register_history_commands  # noqa: E402 (after the app exists)
from rlm_cli.cli_keys import register_keys_commands  # noqa: E402 (after the app exists)
from rlm_cli.cli_mcp import register_mcp_command  # noqa: E402 (after the app exists)

register_history_commands(app)
register_bench_command(app)
register_keys_commands(app)
register_mcp_command(app)
register_chat_command(app)
register_cache_commands(app)


def main() -> None:
    """Console-script entry point."""
    from rlm_cli.usage_errors import run

    run(app)
