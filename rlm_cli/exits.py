"""The one mapping from errors to exit codes, and the decorator that applies it to commands."""

from __future__ import annotations

import contextvars
import functools
import sys
from collections.abc import Callable
from enum import IntEnum
from typing import Any, TypeVar

from rlm_cli.errors import (
    ConfigError,
    InputError,
    ProviderError,
    RlmError,
    SandboxError,
    Terminated,
)
from rlm_cli.status import erase_early
from rlm_cli.termsafe import visible


class ExitCode(IntEnum):
    """Process exit codes, as documented in the README and `rlm --help`."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    LIMIT = 3
    CONFIG = 4
    PROVIDER = 5
    SANDBOX = 6
    INTERRUPTED = 130
    HUNG_UP = 129  # SIGHUP
    TERMINATED = 143  # SIGTERM


EXIT_CODES_HELP = (
    "Exit codes: 0 answer ready · 1 internal error · 2 usage or input error · "
    "3 a limit stopped the run (partial answer printed) · 4 configuration error · "
    "5 provider or network failure · 6 the sandbox could not start or keep running · "
    "130 interrupted (Ctrl-C) · 143 terminated (SIGTERM) · 129 hung up (SIGHUP)."
)

_CODES: list[tuple[type[BaseException], ExitCode]] = [
    (InputError, ExitCode.USAGE),
    (ConfigError, ExitCode.CONFIG),
    (ProviderError, ExitCode.PROVIDER),
    (SandboxError, ExitCode.SANDBOX),
    (KeyboardInterrupt, ExitCode.INTERRUPTED),
]


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code for an error; anything unknown is an internal error."""
    if isinstance(error, Terminated):
        return ExitCode(128 + error.signum)
    for kind, code in _CODES:
        if isinstance(error, kind):
            return code
    return ExitCode.INTERNAL


LIMIT_STOPS = frozenset({"max_iterations", "max_cost", "max_sub_calls", "max_tokens", "timeout"})


def exit_code_for_stop(stopped_by: str, failure: BaseException | None = None) -> ExitCode:
    """The exit code of a run that stopped this way (`failure`: what ended it, when known).

    An "error" run whose failure is not known (a recorded trace) was ended by the provider.
    """
    if stopped_by == "answer":
        return ExitCode.OK
    if stopped_by in LIMIT_STOPS:
        return ExitCode.LIMIT
    if failure is not None:
        return exit_code_for(failure)
    return ExitCode.INTERRUPTED if stopped_by == "interrupt" else ExitCode.PROVIDER


def stop_for(error: BaseException) -> str:
    """How a run that raised `error` stopped: "interrupt" (Ctrl-C, SIGTERM, SIGHUP) or "error"."""
    return "interrupt" if isinstance(error, KeyboardInterrupt) else "error"


def error_message(error: BaseException) -> str:
    """What went wrong, in one line, without the `rlm: error:` prefix."""
    if isinstance(error, Terminated):
        return f"terminated by {error.name}"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    if isinstance(error, RlmError):
        return error.message
    return f"internal error: {type(error).__name__}: {error} (run with --debug for the traceback, and please report it)"


def error_line(error: BaseException) -> str:
    """The one line printed to stderr for an error."""
    if isinstance(error, KeyboardInterrupt | RlmError):
        return f"rlm: {'' if isinstance(error, KeyboardInterrupt) else 'error: '}{error_message(error)}"
    return f"rlm: {error_message(error)}"


# `rlm --debug`, handed from the command-line callback to the command it runs (never process-wide).
DEBUG: contextvars.ContextVar[bool] = contextvars.ContextVar("rlm_debug", default=False)


def should_reraise(error: BaseException, debug: bool) -> bool:
    """With --debug, an unknown exception is re-raised to show its traceback."""
    return debug and not isinstance(error, RlmError | KeyboardInterrupt)


F = TypeVar("F", bound=Callable[..., Any])


def handles_errors(command: F) -> F:
    """Decorate a command so any error becomes one stderr line and its documented exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SystemExit:
            raise
        except BaseException as error:
            if _is_typer_exit(error):
                raise
            erase_early()
            if should_reraise(error, DEBUG.get()):
                raise
            print(visible(error_line(error)), file=sys.stderr)
            hint = getattr(error, "hint", None)
            if hint:
                print(visible(f"hint: {hint}"), file=sys.stderr)
            raise SystemExit(int(exit_code_for(error))) from None

    return wrapper  # type: ignore[return-value]


def _is_typer_exit(error: BaseException) -> bool:
    """typer.Exit, Abort and the parser's errors carry their own exit code: the command line handles them.

    Only a loaded Typer can have raised one, so this module itself never imports it.
    """
    typer = sys.modules.get("typer")
    return typer is not None and isinstance(error, typer.Exit | typer.Abort | typer.TyperException)
