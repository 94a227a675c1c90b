"""How commands read in `--help`: flags without a type placeholder, an argument's metavar as written.

Typer shows `<bool>` beside every flag and wraps a required list argument as `{NAME...}...`;
these command classes (given to Typer as `cls=`) keep the help and usage line plain.
"""

from __future__ import annotations

from typing import Any

import typer.core


def plain_flags(params: list[Any]) -> None:
    """No `<bool>` beside a flag: an empty metavar stands for no value at all."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""


class Command(typer.core.TyperCommand):
    """A command whose flags show no type, and whose argument metavars are the usage line as written."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, `--help` included, flags made plain."""
        params = super().get_params(ctx)
        plain_flags(params)
        return params

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """`[OPTIONS] [SOURCE]... QUESTION`: an argument's own metavar, not `{METAVAR}...`."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument" and param.metavar:
                pieces.append(param.metavar)
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


INSTALL_COMPLETION_HELP = (
    "Install completion for the current shell. bash: writes ~/.bash_completions/rlm.sh and adds a line "
    "sourcing it to ~/.bashrc; zsh: writes ~/.zfunc/_rlm and adds fpath/compinit lines to ~/.zshrc; "
    "fish: writes ~/.config/fish/completions/rlm.fish. Restart the shell afterwards."
)


class Group(typer.core.TyperGroup):
    """A group whose own flags, and its commands' flags, show no type; --install-completion says what it edits."""

    def get_params(self, ctx: Any) -> list[Any]:
        """The parameters, `--help` and completion included, flags made plain."""
        params = super().get_params(ctx)
        plain_flags(params)
        for param in params:
            if param.name == "install_completion" and isinstance(param, typer.core.TyperOption):
                param.help = INSTALL_COMPLETION_HELP
        return params

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """The command, its flags made plain (every command, whatever class Typer gave it)."""
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            plain_flags(command.get_params(ctx))
        return command
