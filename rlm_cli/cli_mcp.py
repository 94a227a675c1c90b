"""`rlm mcp`: serve rlm to coding agents over the Model Context Protocol.

Import-light like cli.py: the MCP SDK loads only when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rlm_cli.exits import handles_errors


def register_mcp_command(app: typer.Typer) -> None:
    """Add `mcp` to the app."""
    app.command("mcp")(handles_errors(mcp))


def mcp(
    root: Annotated[Path | None, typer.Option("--root", help="The directory the tools may read under; paths outside it are refused. \\[default: the working directory]")] = None,
) -> None:
    """Serve the tools `ask` and `describe` on stdin/stdout (MCP), for Claude Code, Cursor, Codex.

    Models, keys, budgets and the sandbox come from the same settings as `rlm ask` (config file, RLM_* variables, keys); a tool call can only tighten the budgets. Needs `pip install 'rlm-cli\\[mcp]'`.

    [dim]claude mcp add rlm -- rlm mcp[/dim]
    """
    from rlm_cli.mcp.server import serve

    serve(root or Path.cwd())
