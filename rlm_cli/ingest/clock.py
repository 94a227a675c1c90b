"""The run's --timeout as seen by ingestion: reading the input counts against it. Leaf module."""

from __future__ import annotations

import time

from rlm_cli.errors import InputError


class Clock:
    """A deadline `timeout` seconds from now (None: no limit)."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.deadline = None if timeout is None else time.monotonic() + timeout

    def left(self) -> float | None:
        """Seconds until the deadline (never below 0), or None without one."""
        return None if self.deadline is None else max(0.0, self.deadline - time.monotonic())

    def wait(self, longest: float) -> float:
        """How long a blocking wait may last: `longest`, or less when the deadline is nearer."""
        left = self.left()
        return longest if left is None else min(longest, left)

    def check(self, doing: str) -> None:
        """Raise InputError once the deadline has passed."""
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise InputError(
                f"--timeout {self.timeout:g} s passed while {doing}; the input was not read",
                hint="raise --timeout, or give a smaller input",
            )
