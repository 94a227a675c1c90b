"""The Python API: `from rlm_cli import ask`. Same run as the command line, no terminal output."""

from __future__ import annotations

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
    `overrides` (e.g. model="openai/gpt-5-mini", max_iterations=10) win over both. Returns the
    same fields as `rlm ask --json` (`result.to_json_dict()`); failures are in `result.error`
    and `result.exit_code`, never raised, except KeyboardInterrupt.
    """
    from rlm_cli.runner import RunRequest, execute, failed_result

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


def _with(settings: Settings, overrides: dict[str, Any]) -> Settings:
    import dataclasses

    return dataclasses.replace(settings, **overrides) if overrides else settings
