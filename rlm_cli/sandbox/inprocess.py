"""`--sandbox none`: the REPL inside the host process. For debugging only: no isolation, no
limits, and a cell that crashes takes the host with it. The cell timeout works only when cells
run on the main thread. Same messages as a worker, handed over without a channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rlm_cli.sandbox.calls import Broker, serve_call
from rlm_cli.sandbox.messages import Init, Load, Result, Save, Stored
from rlm_cli.sandbox.repl import Repl


class InProcessSession:
    """The same Repl the worker runs, called directly."""

    def __init__(self, context: Any, init: Init, broker: Broker) -> None:
        self._interrupted: Result | None = None
        self._repl = Repl(context, lambda kind, args: serve_call(broker, kind, args), init.capture_limit)
        self._repl.set_answer(init.answer)
        for name, value in init.variables.items():
            self._repl.set_variable(name, value)

    def ended(self) -> str | None:
        """Never: this REPL lives as long as the host."""
        return None

    def set_variable(self, name: str, value: Any) -> None:
        """Bind a name in the namespace."""
        self._repl.set_variable(name, value)

    def store(self, command: Save | Load, timeout: float) -> Stored:
        """Save or load the variables in this process (`--sandbox none` runs the model's code
        unisolated anyway)."""
        return self._repl.store(command)

    def run(
        self, code: str, timeout: float, grace: float, deadline: float | None = None,
        stop_if: Callable[[], str | None] | None = None,
    ) -> Result:
        """Run a cell in this process; Ctrl-C during it stops it and reaches the caller.

        Code running in this process cannot be stopped from outside, so `stop_if` is not asked
        (the host checks the scratch directory once the cell has ended)."""
        result = self._repl.run(code, timeout)
        if result.interrupted:
            self._interrupted = result
            raise KeyboardInterrupt
        return result

    def interrupt(self, wait: float) -> Result | None:
        """The result of the cell Ctrl-C stopped, if any."""
        result, self._interrupted = self._interrupted, None
        return result

    def close(self) -> None:
        """Nothing to reap."""
