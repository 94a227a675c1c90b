"""SIGTERM and SIGHUP end a run the way Ctrl-C does: partial answer printed, trace closed, temp
dirs removed. Installed by the command line only, never by the library API.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from rlm_cli.errors import Terminated

_STOPPING = (signal.SIGTERM, signal.SIGHUP)


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """While inside, the first SIGTERM or SIGHUP raises Terminated in the main thread; later ones
    are ignored so that the clean-up they asked for is not cut short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise Terminated(signum, signal.Signals(signum).name)

    previous = {number: signal.signal(number, stop) for number in _STOPPING}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
