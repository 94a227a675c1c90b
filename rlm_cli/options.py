"""Option aliases and help panels shared by the commands (`ask`, `bench`, `config show`, `runs`, `show`).

Imports only typer, typing and the leaves `modes` and `units` (settings only inside callbacks),
so `import rlm_cli.cli` stays light. Help texts are Rich markup:
a literal "[env: RLM_MODEL]" must be written "\\[env: RLM_MODEL]" or Rich swallows it.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rlm_cli import cli_help
from rlm_cli.modes import SandboxMode
from rlm_cli.units import parse_size

MODEL = "Model"
BUDGETS = "Budgets"
INPUT = "Input"
SANDBOX = "Sandbox"
OUTPUT = "Output"

# A bad --sandbox or --progress flag is a usage error here, a bad environment or config value a
# ConfigError in settings; both check the one list of each in `modes`.


def above_zero(value: float | None) -> float | None:
    """Option callback: a number that must be more than 0 when given."""
    if value is not None and value <= 0:
        raise typer.BadParameter("must be more than 0 (leave the option out for no limit)")
    return value


def size(text: str) -> int:
    """Option parser: a size like 50M, 2G, 512K (binary units) or a number of bytes."""
    try:
        return parse_size(text)
    except ValueError:
        raise typer.BadParameter(f"expected a size like 50M, 2G or 512K (binary units) or a number of bytes, got {text!r}") from None


class ConfigGroup(cli_help.Group):
    """`rlm config`: its help ends with every setting, built only when the help is shown."""

    @property
    def epilog(self) -> str:
        from rlm_cli.settings_doc import config_epilog

        return config_epilog()

    @epilog.setter
    def epilog(self, value: str | None) -> None:
        """Click sets the epilog when it builds the command; the settings' list replaces it."""


OPTION_FLAGS = ("-o", "--option")


class ModelOptionCommand(cli_help.Command):
    """A command with `-o KEY VALUE`: Typer has no repeatable two-word option, so each `-o KEY
    VALUE` (or `-o KEY=VALUE`) is read as one `--option KEY=VALUE` word before Click parses the line."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # Click's Context (Typer vendors it)
        joined: list[str] = []
        index = 0
        while index < len(args):
            word = args[index]
            if word == "--":
                joined += args[index:]
                break
            if word not in OPTION_FLAGS:
                joined.append(word)
                index += 1
                continue
            pair = args[index + 1 : index + 3]
            if not pair or pair[0].startswith("-"):
                taken = 0  # no KEY: Click says the option needs a value
            elif "=" in pair[0] or len(pair) < 2 or pair[1].startswith("--"):
                taken = 1  # KEY=VALUE as one word, or no VALUE (the callback says so)
            else:
                taken = 2
            joined += [OPTION_FLAGS[1], "=".join(pair[:taken])] if taken else [word]
            index += 1 + taken
        return super().parse_args(ctx, joined)


def model_options(pairs: list[str] | None) -> list[str] | None:
    """Option callback for `-o KEY VALUE`: both words given, KEY a name rlm does not set itself."""
    from rlm_cli.settings import RESERVED_OPTIONS

    for pair in pairs or ():
        key, equals, _ = pair.partition("=")
        if not equals or not key or key.startswith("-") or any(char.isspace() for char in key):
            raise typer.BadParameter(f"expected -o KEY VALUE (e.g. -o temperature 0.2), got {pair!r}")
        if key in RESERVED_OPTIONS:
            raise typer.BadParameter(f"{key!r} is set by rlm itself (see --model, --timeout), not a model option")
    return pairs


def as_model_options(pairs: list[str] | None) -> dict[str, object] | None:
    """`-o KEY VALUE` pairs as model options (a later KEY wins); None when there are none."""
    from rlm_cli.settings import parse_option_value

    return {key: parse_option_value(value) for key, _, value in (pair.partition("=") for pair in pairs)} if pairs else None


ModelOpt = Annotated[str | None, typer.Option("--model", "-m", help="Root model, any LiteLLM model string (e.g. openai/gpt-5-mini, anthropic/claude-sonnet-4-5, ollama_chat/qwen3). \\[env: RLM_MODEL]", rich_help_panel=MODEL)]
SubModelOpt = Annotated[str | None, typer.Option("--sub-model", help="Model for sub-calls (default: the root model). \\[env: RLM_SUB_MODEL]", rich_help_panel=MODEL)]
ApiBaseOpt = Annotated[str | None, typer.Option("--api-base", help="Base URL of the root model's server, e.g. a local OpenAI-compatible one (vLLM, llama.cpp, LM Studio); the sub-model uses it too when it is the same provider. \\[env: RLM_API_BASE]", rich_help_panel=MODEL)]
SubApiBaseOpt = Annotated[str | None, typer.Option("--sub-api-base", help="Base URL of the sub-model's server (default: its provider's host, or --api-base when the same provider as the root model). \\[env: RLM_SUB_API_BASE]", rich_help_panel=MODEL)]
RouterOpt = Annotated[str | None, typer.Option("--router", metavar="FILE", help="Deployments for LiteLLM's Router: a YAML or JSON file with a model_list (the LiteLLM proxy's format); the models it names are balanced over their deployments. \\[env: RLM_ROUTER]", rich_help_panel=MODEL)]
NoDotenvOpt = Annotated[bool, typer.Option("--no-dotenv", help="Do not read API keys from ./.env (setting: dotenv = false).", rich_help_panel=MODEL)]
DepthOpt = Annotated[int | None, typer.Option("--depth", min=1, help="Recursion depth: 1 means sub-calls are plain model calls; 2 lets rlm_query start child RLMs. \\[default: 1]", rich_help_panel=MODEL)]
ConcurrencyOpt = Annotated[int | None, typer.Option("--concurrency", min=1, help="Sub-calls in flight at most, across the whole run. \\[default: 8]", rich_help_panel=BUDGETS)]
SandboxOpt = Annotated[SandboxMode | None, typer.Option("--sandbox", help="Isolation of the REPL (none: for debugging only). \\[default: auto]", rich_help_panel=SANDBOX)]
FollowLinksOpt = Annotated[bool | None, typer.Option("--follow-links", help="Follow links that lead out of a directory being walked (skipped by default: `link leaves source`).", rich_help_panel=INPUT)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout instead of text.", rich_help_panel=OUTPUT)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Nothing on stderr but errors.", rich_help_panel=OUTPUT)]
SystemOpt = Annotated[str | None, typer.Option("--system", help="An extra instruction appended to the root model's system prompt. \\[env: RLM_SYSTEM]", rich_help_panel=MODEL)]
ModelOptionOpt = Annotated[list[str] | None, typer.Option("--option", "-o", metavar="KEY VALUE", callback=model_options, help="A model option passed to every model call, e.g. -o temperature 0.2 -o reasoning_effort high (repeatable; values are JSON scalars where they parse, else text; names are the provider's).", rich_help_panel=MODEL)]
MaxFileOpt = Annotated[int | None, typer.Option("--max-file-size", parser=size, metavar="SIZE", help="Skip files larger than this (50M, 2G, 512K: binary units) in directory walks; files named explicitly are always read. \\[default: 50M]", rich_help_panel=INPUT)]
RawOpt = Annotated[bool, typer.Option("--raw", help="Print the answer as its plain text, not rendered as Markdown, even on a terminal.", rich_help_panel=OUTPUT)]

# Budgets (per run; per question in `rlm chat`) and the cell limit.
MaxIterOpt = Annotated[int | None, typer.Option("--max-iterations", min=1, help="Root-model turns at most. \\[default: 30]", rich_help_panel=BUDGETS)]
MaxCostOpt = Annotated[float | None, typer.Option("--max-cost", min=0, help="Spend at most this many USD (needs a priced model).", rich_help_panel=BUDGETS)]
MaxSubOpt = Annotated[int | None, typer.Option("--max-sub-calls", min=0, help="Sub-LLM calls at most.", rich_help_panel=BUDGETS)]
MaxTokOpt = Annotated[int | None, typer.Option("--max-tokens", min=1, help="Tokens (root + sub, prompt + completion) at most.", rich_help_panel=BUDGETS)]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", callback=above_zero, help="Wall-clock seconds at most for the whole run, more than 0 (no limit when left out).", rich_help_panel=BUDGETS)]
CellTimeoutOpt = Annotated[float | None, typer.Option("--cell-timeout", min=0.1, help="Seconds one REPL cell may run. \\[default: 120]", rich_help_panel=SANDBOX)]
