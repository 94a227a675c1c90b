"""Which command lines get `rlm: starting …` before the command line loads (rlm_cli.early)."""

from __future__ import annotations

import pytest

from rlm_cli.early import shows_progress

TERMINAL = {"TERM": "xterm-256color"}


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "small.log", "why?"],
        ["--debug", "ask", "small.log", "why?"],
        ["ask", "small.log", "why?", "-v", "--progress", "plain", "-m", "openai/qwen"],
        ["ask", "small.log", "why?", "-mqwen", "-o", "temperature", "0"],  # -m's value holds a q
        ["ask", "--", "-q"],  # a question after -- is no flag
    ],
)
def test_an_ask_on_a_terminal_gets_the_early_line(args: list[str]) -> None:
    assert shows_progress(args, TERMINAL, True)


@pytest.mark.parametrize(
    "args",
    [
        ["ask", "small.log", "why?", "-q"],
        ["ask", "small.log", "why?", "--quiet"],
        ["ask", "small.log", "why?", "-vq"],
        ["ask", "small.log", "why?", "--json"],
        ["ask", "small.log", "why?", "--events"],
        ["ask", "small.log", "why?", "--estimate"],
        ["ask", "small.log", "why?", "--progress", "none"],
        ["ask", "small.log", "why?", "--progress=none"],
        ["ask", "--help"],
        ["ask", "-h"],
        ["--help"],
        ["--version"],
        ["show", "last"],
        [],
    ],
)
def test_silent_or_other_commands_get_nothing(args: list[str]) -> None:
    assert not shows_progress(args, TERMINAL, True)


@pytest.mark.parametrize(
    ("environ", "on_terminal"),
    [
        (TERMINAL, False),  # stderr piped or redirected
        ({"TERM": "dumb"}, True),  # the line could not be erased
        ({**TERMINAL, "_RLM_COMPLETE": "complete_bash"}, True),  # shell completion
        ({**TERMINAL, "RLM_PROGRESS": "none"}, True),
        ({**TERMINAL, "RLM_PROGRESS": " None "}, True),
    ],
)
def test_no_terminal_dumb_terminal_completion_or_progress_off_get_nothing(environ: dict[str, str], on_terminal: bool) -> None:
    assert not shows_progress(["ask", "small.log", "why?"], environ, on_terminal)
