"""Renderers: turn events and results into what the user sees. Import `events`, never `engine`.

Kept import-light: Rich is loaded only when a renderer is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, TextIO, cast

from rlm_cli.events import Event
from rlm_cli.modes import PROGRESS_MODES
from rlm_cli.result import RunResult
from rlm_cli.termsafe import visible_event

if TYPE_CHECKING:
    from rich.console import Console


class Renderer(Protocol):
    """Receives every event of a run (from several threads at once) and the result at the end."""

    def handle(self, event: Event) -> None:
        """Take one event; must be thread-safe."""

    def close(self, result: RunResult) -> None:
        """The run is over: stop any display and leave the final picture."""


class TerminalSafe:
    """Wraps a renderer so every text it receives from outside has its control characters made visible."""

    def __init__(self, inner: Renderer) -> None:
        self.inner = inner

    def handle(self, event: Event) -> None:
        """Pass on a terminal-safe copy of the event."""
        self.inner.handle(visible_event(event))

    def close(self, result: RunResult) -> None:
        """Close the wrapped renderer."""
        self.inner.close(result)


class SilentRenderer:
    """Shows nothing: `-q` and `--progress none` (errors are printed with the result)."""

    def handle(self, event: Event) -> None:
        """Ignore the event."""

    def close(self, result: RunResult) -> None:
        """Nothing to stop."""


def make_renderer(
    progress: str, *, quiet: bool, verbose: bool, console: Console | None = None, origin: float | None = None,
) -> Renderer:
    """The stderr renderer for a run: "auto" is the tree on a colour terminal, plain lines otherwise.

    `origin`: the wall-clock zero of elapsed times (process start); the first event's time by default.
    """
    if progress not in PROGRESS_MODES:
        raise ValueError(f"progress must be one of {', '.join(PROGRESS_MODES)}, not {progress!r}")
    if quiet or progress == "none":
        return SilentRenderer()
    from rlm_cli.render.consoles import no_color, stderr_console

    console = console or stderr_console()
    if progress == "auto":
        progress = "tree" if console.is_terminal and not no_color() else "plain"
    if progress == "plain":
        from rlm_cli.render.plain import PlainRenderer

        return TerminalSafe(PlainRenderer(cast(TextIO, console.file), verbose=verbose, origin=origin))
    from rlm_cli.render.live import TreeRenderer

    return TerminalSafe(TreeRenderer(console, verbose=verbose, origin=origin))
