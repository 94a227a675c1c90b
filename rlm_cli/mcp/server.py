"""The MCP server: tools `ask` and `describe` over stdio, on the MCP SDK's MCPServer (FastMCP's
successor): its tools take their JSON schema from type hints and turn raised errors and bad
arguments into tool errors, so this module only says what the tools do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from rlm_cli import __version__
from rlm_cli.errors import ConfigError, RlmError

try:
    from mcp.server.mcpserver import Context, MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from pydantic import Field
except ImportError as missing:  # the `mcp` extra is not installed
    raise ConfigError(
        f"`rlm mcp` needs the MCP SDK, which is not installed ({missing})",
        hint="pip install 'rlm-cli[mcp]'",
    ) from None

# After the check: the run children need anyio, which the SDK brings.
from rlm_cli.mcp.child import ChildOutcome, run_rlm
from rlm_cli.mcp.limits import budget_flags, tightened
from rlm_cli.mcp.paths import SourceRoot
from rlm_cli.mcp.progress import RunProgress

INSTRUCTIONS = (
    "rlm answers questions about inputs far larger than your context window: whole repositories, "
    "multi-gigabyte logs, folders of PDFs. It loads the files into a sandboxed Python REPL where a "
    "model explores them with code and fans out sub-model calls over the pieces (Recursive Language "
    "Models). Use `describe` to see what a set of paths holds, `ask` to get an answer about it, "
    "`follow_up` to ask more about an earlier answer's input in its REPL state. "
    "Paths are relative to the server's root directory; nothing outside it can be read."
)

Sources = Annotated[list[str], Field(min_length=1, description=(
    "Files, directories or glob patterns (** for any depth) to read, relative to the server's root "
    "directory or absolute inside it. Directories are walked (honouring .gitignore); PDFs and text "
    "in any encoding are read. The input may be far larger than your context window."))]
Globs = Annotated[list[str] | None, Field(description="In directory walks, only files matching these globs (e.g. ['*.py']) / skip files matching them.")]


def build_server(root: Path) -> MCPServer:
    """A server whose tools read under `root` only."""
    source_root = SourceRoot(root)
    server: MCPServer = MCPServer("rlm", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    async def ask(
        sources: Sources,
        question: Annotated[str, Field(min_length=1, description="The question to answer about the sources, as you would ask an expert who can read all of them.")],
        ctx: Context,
        model: Annotated[str | None, Field(description="Root model as a LiteLLM model string (e.g. openai/gpt-5-mini); default: the server's setting.")] = None,
        sub_model: Annotated[str | None, Field(description="Model for the sub-calls over pieces of the input; default: the server's setting.")] = None,
        max_cost: Annotated[float | None, Field(ge=0, description="Spend at most this many USD. Budgets can only be tightened: a value above the server's own limit is lowered to it.")] = None,
        max_iterations: Annotated[int | None, Field(ge=1, description="Root-model turns at most (lowered to the server's limit, 30 by default).")] = None,
        max_sub_calls: Annotated[int | None, Field(ge=0, description="Sub-model calls at most (lowered to the server's limit).")] = None,
        max_tokens: Annotated[int | None, Field(ge=1, description="Tokens, all calls together, at most (lowered to the server's limit).")] = None,
        timeout: Annotated[float | None, Field(gt=0, description="Wall-clock seconds at most (lowered to the server's limit).")] = None,
        include: Globs = None,
        exclude: Globs = None,
    ) -> dict[str, Any]:
        """Answer a question about files, directories or globs too large to read yourself.

        Runs a whole Recursive Language Model run (seconds to minutes; progress is reported) and
        returns `answer`, `ready` (false: a budget stopped the run and the answer is partial),
        `stopped_by`, `usage` (tokens and cost_usd for root, sub and total; cost_usd is null when
        no price is known), `iterations`, `sub_calls`, `input` (documents, bytes, skipped),
        `run_id` and `trace` (the run's recorded events). Cancel the call to stop the run.
        """
        budgets = {"max_cost": max_cost, "max_iterations": max_iterations, "max_sub_calls": max_sub_calls,
                   "max_tokens": max_tokens, "timeout": timeout}
        try:
            paths = source_root.check(sources)
        except RlmError as error:
            raise ToolError(_message(error.message, error.hint)) from None
        flags = [*_option("--model", model), *_option("--sub-model", sub_model)]
        flags += [part for glob in include or () for part in ("--include", glob)]
        flags += [part for glob in exclude or () for part in ("--exclude", glob)]
        return await _ask(ctx, source_root.root, budgets, [*flags, "--", *paths, question])

    @server.tool()
    async def follow_up(
        run_id: Annotated[str, Field(min_length=1, description="The run to follow up: the run_id an earlier `ask` or `follow_up` returned (or any unique part of it).")],
        question: Annotated[str, Field(min_length=1, description="The follow-up question.")],
        ctx: Context,
        max_cost: Annotated[float | None, Field(ge=0, description="Spend at most this many USD (lowered to the server's limit).")] = None,
        timeout: Annotated[float | None, Field(gt=0, description="Wall-clock seconds at most (lowered to the server's limit).")] = None,
    ) -> dict[str, Any]:
        """Ask a follow-up question about the input of an earlier `ask`, in its REPL state.

        The run reads the same sources again, starts with the variables the earlier run left and
        its answer, and the model sees the earlier questions and answers: cheaper and quicker than
        asking afresh. Returns what `ask` returns (with a new `run_id` to follow up in turn).
        """
        from rlm_cli.followup import load
        from rlm_cli.settings import resolve
        from rlm_cli.trace import runs_dir

        try:  # the earlier run's sources must lie under the root too
            continuation = load(runs_dir(resolve().settings), run_id)
            source_root.check(continuation.source_paths)
        except RlmError as error:
            raise ToolError(_message(error.message, error.hint)) from None
        budgets = {"max_cost": max_cost, "timeout": timeout}
        return await _ask(ctx, source_root.root, budgets, ["--continue-run", continuation.continues, "--", question])

    @server.tool()
    async def describe(sources: Sources, include: Globs = None, exclude: Globs = None) -> dict[str, Any]:
        """What `ask` would read from these sources, without calling any model.

        Returns `documents`, `bytes`, `skipped` (files left out: binary, too large, ignored),
        `chars`, `input` (tokens and how they were counted), and what one root-model turn and one
        pass of the whole input through the sub-model would cost (null when no price is known).
        """
        try:
            paths = source_root.check(sources)
        except RlmError as error:
            raise ToolError(_message(error.message, error.hint)) from None
        flags = [part for glob in include or () for part in ("--include", glob)]
        flags += [part for glob in exclude or () for part in ("--exclude", glob)]
        outcome = await run_rlm(["ask", "--estimate", "--json", *flags, "--", *paths, "(describe)"], source_root.root, _ignore)
        return _final(outcome)

    return server


async def _ask(ctx: Context, root: Path, budgets: dict[str, Any], arguments: list[str]) -> dict[str, Any]:
    """One `rlm ask` child within the server's budgets (tightened by the call's), progress reported."""
    from rlm_cli.settings import resolve

    try:
        limits = tightened(resolve().settings, budgets)
    except RlmError as error:
        raise ToolError(_message(error.message, error.hint)) from None
    progress = RunProgress()

    async def report(event: dict[str, Any]) -> None:
        update = progress.update(event)
        if update is not None:
            await ctx.report_progress(update.step, None, update.message)

    outcome = await run_rlm(["ask", "--events", "-q", *budget_flags(limits), *arguments], root, report)
    result = _final(outcome)
    if result.get("stopped_by") == "error":
        raise ToolError(_message(result.get("error") or "the run failed", result.get("hint")))
    return result


def serve(root: Path) -> None:
    """Serve the tools on stdin/stdout until the client closes them."""
    build_server(root).run()


def _final(outcome: ChildOutcome) -> dict[str, Any]:
    """The child's final object; a child that printed none failed before it started."""
    if outcome.final is not None:
        return outcome.final
    lines = [line.strip() for line in outcome.stderr.splitlines() if line.strip()]
    raise ToolError(" ".join(line.removeprefix("rlm: ") for line in lines[-3:]) or f"rlm exited with {outcome.returncode}")


def _message(error: str, hint: str | None) -> str:
    return f"{error} (hint: {hint})" if hint else error


def _option(flag: str, value: str | None) -> list[str]:
    return [flag, value] if value else []


async def _ignore(event: dict[str, Any]) -> None:
    """Events of a child that has none to report."""
