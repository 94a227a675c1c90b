"""Prints the replay table at the end of a test session that ran the replay suite."""

from __future__ import annotations

from typing import Any

from tests.replay.judge import Verdict

RESULTS: list[Verdict] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    from tests.replay.report import failures, table

    terminalreporter.section("replay of real model replies")
    terminalreporter.write_line(table(RESULTS))
    terminalreporter.write_line(failures(RESULTS))
