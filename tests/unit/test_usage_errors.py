"""Parser errors in rlm's one style, and the Typer exits the error decorator must let through."""

from __future__ import annotations

from typing import Annotated

import pytest
import typer

from rlm_cli import cli_help
from rlm_cli.exits import handles_errors
from rlm_cli.usage_errors import closest_option, run


def make_app() -> typer.Typer:
    app = typer.Typer(cls=cli_help.Group)

    @app.command(cls=cli_help.Command)
    @handles_errors
    def ask(
        arguments: Annotated[list[str], typer.Argument(metavar="[SOURCE]... QUESTION")],
        max_cost: Annotated[float | None, typer.Option("--max-cost")] = None,
        verbose: Annotated[bool, typer.Option("--verbose")] = False,
        code: Annotated[int, typer.Option("--code")] = 0,
    ) -> None:
        if arguments == ["bad-value"]:
            raise typer.BadParameter("not like that", param_hint="'--code'")
        raise typer.Exit(code)

    @app.command()
    def other() -> None:
        """A second command, so `ask` is a subcommand."""

    return app


def outcome(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        run(make_app(), args)
    captured = capsys.readouterr()
    return int(stopped.value.code or 0), captured.out, captured.err


def test_unknown_option_is_one_line_with_the_closest_real_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = outcome(["ask", "q", "--max-cots", "1"], capsys)
    assert (code, out) == (2, "")
    assert err == "rlm: error: no such option: --max-cots\nhint: did you mean --max-cost? (rlm ask --help lists the options)\n"


def test_bad_value_and_missing_argument_are_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = outcome(["ask", "q", "--max-cost", "lots"], capsys)
    assert code == 2
    lines = err.splitlines()
    assert lines[0].startswith("rlm: error: invalid value for --max-cost: ") and lines[1] == "hint: rlm ask --help describes --max-cost"
    assert "╭" not in err and len(lines) == 2
    code, _, err = outcome(["ask"], capsys)
    assert code == 2
    assert err == "rlm: error: missing argument '[SOURCE]... QUESTION'\nhint: rlm ask --help shows the usage and examples\n"


def test_typer_exits_pass_through_the_error_decorator(capsys: pytest.CaptureFixture[str]) -> None:
    assert outcome(["ask", "q", "--code", "3"], capsys) == (3, "", "")
    code, _, err = outcome(["ask", "bad-value"], capsys)
    assert code == 2 and err.startswith("rlm: error: invalid value for --code: not like that\n")


def test_an_error_from_a_module_named_like_typer_is_still_ours(capsys: pytest.CaptureFixture[str]) -> None:
    look_alike = type("Boom", (Exception,), {"__module__": "typer_plugin.errors"})

    @handles_errors
    def command() -> None:
        raise look_alike("boom")

    with pytest.raises(SystemExit) as stopped:
        command()
    assert stopped.value.code == 1
    assert "internal error: Boom: boom" in capsys.readouterr().err


def test_help_has_a_plain_usage_line_and_no_bool_placeholder(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = outcome(["ask", "--help"], capsys)
    assert code == 0
    assert "Usage: rlm ask [OPTIONS] [SOURCE]... QUESTION" in out
    assert "<bool>" not in out and "{" not in out
    assert "--verbose" in out


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("--max-cos", "--max-cost"), ("--verbos", "--verbose"), ("--modle", "--model"), ("--zzzzzzzzzz", None)],
)
def test_closest_option(typed: str, meant: str | None) -> None:
    assert closest_option(typed, ["--max-cost", "--max-tokens", "--model", "--verbose"]) == meant


def test_unknown_command_names_the_closest_and_lists_them(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = outcome(["aks", "q"], capsys)
    assert code == 2
    assert err == "rlm: error: no such command 'aks'\nhint: did you mean rlm ask? (rlm --help lists the commands: ask, other)\n"
