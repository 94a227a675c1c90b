"""FitHeight: keeps the head and the newest lines of a renderable taller than the screen.

Rich's Live crops the bottom, where a run's activity is; this crops the middle instead.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment


class FitHeight:
    """Draw `renderable` in at most the screen height minus `reserve` lines."""

    def __init__(self, renderable: RenderableType, *, head: int = 3, reserve: int = 3) -> None:
        self.renderable = renderable
        self.head = head
        self.reserve = reserve

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.renderable, options, pad=False)
        limit = options.max_height - self.reserve
        if limit > self.head + 1 and len(lines) > limit:
            tail = limit - self.head - 1
            hidden = len(lines) - self.head - tail
            lines = [
                *lines[: self.head],
                [Segment(f"⋮ {hidden} lines above", console.get_style("dim"))],
                *lines[len(lines) - tail :],
            ]
        for line in lines:
            yield from line
            yield Segment.line()
