"""Parser errors (bad flag, bad value, missing argument) in rlm's one style: one line, a hint, exit 2.

Typer draws these as boxed panels through Rich; here the command line runs the app in
non-standalone mode and prints the error the way every other rlm error is printed.
"""

from __future__ import annotations

import difflib
import sys
from typing import Any, NoReturn

import typer
from typer._click import exceptions as parser_errors  # Typer's vendored Click: its error classes

from rlm_cli.exits import ExitCode
from rlm_cli.status import erase_early
from rlm_cli.termsafe import visible


def run(app: typer.Typer, args: list[str] | None = None) -> NoReturn:
    """Run the app as `rlm`; parser errors become `rlm: error: ...` + `hint: ...` and exit 2."""
    try:
        code = app(args=args, prog_name="rlm", standalone_mode=False)
    except parser_errors.NoArgsIsHelpError as error:  # bare `rlm` or `rlm config`: the help
        print(error.format_message())
        raise SystemExit(ExitCode.USAGE) from None
    except parser_errors.UsageError as error:
        message, hint = describe(error)
        _say(f"rlm: error: {message}", f"hint: {hint}")
        raise SystemExit(ExitCode.USAGE) from None
    except parser_errors.ClickException as error:
        _say(f"rlm: error: {error.format_message()}")
        raise SystemExit(error.exit_code) from None
    except typer.Abort:
        _say("rlm: aborted")
        raise SystemExit(ExitCode.INTERRUPTED) from None
    raise SystemExit(code if isinstance(code, int) else 0)


def _say(*lines: str) -> None:
    """Lines on stderr, control characters made visible, the early status line erased first."""
    erase_early()
    for line in lines:
        print(visible(line), file=sys.stderr)


def describe(error: Any) -> tuple[str, str]:
    """The one-line message and the hint for a parser error."""
    command = error.ctx.command_path if error.ctx is not None else "rlm"
    help_hint = f"{command} --help lists the options"
    if isinstance(error, parser_errors.NoSuchOption):
        options = _options(error.ctx)
        closest = closest_option(error.option_name, options)
        return f"no such option: {error.option_name}", (f"did you mean {closest}? ({help_hint})" if closest else help_hint)
    if isinstance(error, parser_errors.MissingParameter):
        return _sentence(error.format_message()), f"{command} --help shows the usage and examples"
    message = _sentence(error.format_message())
    commands = sorted(getattr(error.ctx.command, "commands", {})) if error.ctx is not None else []
    if commands and message.startswith("no such command"):
        message = message.split(". Did you mean")[0]  # the hint says it
        typed = message.split("'")[1] if message.count("'") >= 2 else ""
        near = difflib.get_close_matches(typed, commands, n=1, cutoff=0.5)
        listed = f"{command} --help lists the commands: {', '.join(commands)}"
        return message, f"did you mean {command} {near[0]}? ({listed})" if near else listed
    if isinstance(error, parser_errors.BadParameter) and error.param is not None:
        name = next((o for o in error.param.opts if o.startswith("--")), None)
        return message, f"{command} --help describes {name or error.param.name}"
    return message, help_hint


def closest_option(typed: str, options: list[str]) -> str | None:
    """The real option a mistyped one most likely meant: a unique prefix, else the most similar."""
    starting = [o for o in options if o.startswith(typed)]
    if len(starting) == 1:
        return starting[0]
    close = difflib.get_close_matches(typed, options, n=1, cutoff=0.5)
    return close[0] if close else None


def _options(ctx: Any) -> list[str]:
    if ctx is None:
        return []
    return sorted({o for p in ctx.command.params for o in [*p.opts, *p.secondary_opts] if o.startswith("-")})


def _sentence(text: str) -> str:
    """Click's message as one rlm line: no trailing period, lower-case start, quotes off the flag."""
    line = " ".join(text.split()).rstrip(".")
    line = line.replace("'--", "--").replace("': ", ": ").replace(": Value error, ", ": ")
    return line[:1].lower() + line[1:]
