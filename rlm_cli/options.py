"""Option aliases and help panels shared by the commands (`ask`, `bench`, `config show`, `runs`, `show`).

Imports only typer and typing, so `import rlm_cli.cli` stays light. Help texts are Rich markup:
a literal "[env: RLM_MODEL]" must be written "\\[env: RLM_MODEL]" or Rich swallows it.
"""

from __future__ import annotations

from typing import Annotated, Literal

import typer

MODEL = "Model"
BUDGETS = "Budgets"
INPUT = "Input"
SANDBOX = "Sandbox"
OUTPUT = "Output"

# The same choices as settings.SANDBOX_MODES and settings.PROGRESS_MODES (a test keeps them equal):
# a bad flag is a usage error here, a bad environment or config value a ConfigError there.
SandboxMode = Literal["auto", "bwrap", "process", "none"]
ProgressMode = Literal["auto", "tree", "plain", "none"]


def above_zero(value: float | None) -> float | None:
    """Option callback: a number that must be more than 0 when given."""
    if value is not None and value <= 0:
        raise typer.BadParameter("must be more than 0 (leave the option out for no limit)")
    return value


ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Root model, any LiteLLM model string (e.g. openai/gpt-5-mini, anthropic/claude-sonnet-4-5, ollama_chat/qwen3). \\[env: RLM_MODEL]", rich_help_panel=MODEL)]
SubModelOpt = Annotated[str | None, typer.Option("--sub-model", help="Model for sub-calls (default: the root model). \\[env: RLM_SUB_MODEL]", rich_help_panel=MODEL)]
ApiBaseOpt = Annotated[str | None, typer.Option("--api-base", help="Base URL of the root model's server, e.g. a local OpenAI-compatible one (vLLM, llama.cpp, LM Studio); the sub-model uses it too when it is the same provider. \\[env: RLM_API_BASE]", rich_help_panel=MODEL)]
SubApiBaseOpt = Annotated[str | None, typer.Option("--sub-api-base", help="Base URL of the sub-model's server (default: its provider's host, or --api-base when the same provider as the root model). \\[env: RLM_SUB_API_BASE]", rich_help_panel=MODEL)]
NoDotenvOpt = Annotated[bool, typer.Option("--no-dotenv", help="Do not read API keys from ./.env (setting: dotenv = false).", rich_help_panel=MODEL)]
DepthOpt = Annotated[int | None, typer.Option("--depth", min=1, help="Recursion depth: 1 means sub-calls are plain model calls; 2 lets rlm_query start child RLMs. \\[default: 1]", rich_help_panel=MODEL)]
ConcurrencyOpt = Annotated[int | None, typer.Option("--concurrency", min=1, help="Sub-calls in flight at most, across the whole run. \\[default: 8]", rich_help_panel=BUDGETS)]
SandboxOpt = Annotated[SandboxMode | None, typer.Option("--sandbox", help="Isolation of the REPL (none: for debugging only). \\[default: auto]", rich_help_panel=SANDBOX)]
FollowLinksOpt = Annotated[bool | None, typer.Option("--follow-links", help="Follow links that lead out of a directory being walked (skipped by default: `link leaves source`).", rich_help_panel=INPUT)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of text.", rich_help_panel=OUTPUT)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Nothing on stderr but errors.", rich_help_panel=OUTPUT)]
RawOpt = Annotated[bool, typer.Option("--raw", help="Print the answer as its plain text, not rendered as Markdown, even on a terminal.", rich_help_panel=OUTPUT)]
