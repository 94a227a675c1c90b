"""The Python API: `from rlm_cli import ask`. Same run as the command line, no terminal output."""

from __future__ import annotations

import dataclasses
import difflib
import io
from collections.abc import Sequence
from typing import Any

from rlm_cli.events import Emit
from rlm_cli.result import RunResult
from rlm_cli.settings import Settings, resolve


def ask(
    question: str,
    sources: Sequence[str] = (),
    *,
    text: str | None = None,
    settings: Settings | None = None,
    on_event: Emit | None = None,
    **overrides: Any,
) -> RunResult:
    """Answer `question` about files/directories/globs in `sources`, or about `text`.

    Settings come from `settings`, else from RLM_* variables and the config file; keyword
    `overrides` (e.g. model="openai/gpt-5-mini", max_iterations=10) win over both; an unknown
    one raises TypeError. Returns the same fields as `rlm ask --json` (`result.to_json_dict()`);
    failures of the run are in `result.error` and `result.exit_code`, never raised, except
    KeyboardInterrupt.
    """
    from rlm_cli.runner import RunRequest, execute, failed_result

    _check_options(overrides)
    arguments = [*sources, question]
    stdin = None
    if text is not None:
        arguments = ["-", *arguments]
        stdin = io.BytesIO(text.encode("utf-8"))
    try:
        resolved = resolve(overrides).settings if settings is None else _with(settings, overrides)
        request = RunRequest(arguments=arguments, stdin=stdin)
        return execute(request, resolved, on_event or (lambda event: None))
    except KeyboardInterrupt:
        raise
    except Exception as error:
        return failed_result(RunResult(), error)


def _check_options(overrides: dict[str, Any]) -> None:
    """Refuse an option that is no setting (a typo would otherwise be ignored), naming the closest."""
    known = [field.name for field in dataclasses.fields(Settings)]
    for name in overrides:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
            advice = f"did you mean {close[0]!r}?" if close else "the options are the fields of rlm_cli.settings.Settings"
            raise TypeError(f"ask() got an unknown option {name!r}: {advice}")


def _with(settings: Settings, overrides: dict[str, Any]) -> Settings:
    return dataclasses.replace(settings, **overrides) if overrides else settings
