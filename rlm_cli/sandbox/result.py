"""CellResult: what one cell did, and the text the root model is shown for it. Leaf module."""

from __future__ import annotations

from dataclasses import dataclass, field

from rlm_cli.sandbox.messages import Answer
from rlm_cli.units import clip

NO_OUTPUT = "(no output: print() what you want to see)"


@dataclass(frozen=True)
class CellResult:
    """The outcome of one cell. Errors, timeouts and worker deaths are recorded, never raised."""

    stdout: str = ""
    stderr: str = ""
    value_repr: str | None = None
    error: str | None = None
    duration_s: float = 0.0
    variables: list[str] = field(default_factory=list)
    answer: dict[str, object] = field(default_factory=lambda: Answer().as_dict())
    timed_out: bool = False
    restarted: bool = False
    notice: str | None = None
    stdout_chars: int = 0
    stderr_chars: int = 0

    def for_model(self, limit: int) -> str:
        """The text shown to the root model: every part cut from the middle past `limit`."""
        parts: list[str] = []
        if self.stdout:
            parts.append(clip(self.stdout, limit, total=self.stdout_chars))
        if self.stderr:
            parts.append("[stderr]\n" + clip(self.stderr, limit, total=self.stderr_chars))
        if self.value_repr is not None:
            parts.append("[value of the last expression]\n" + clip(self.value_repr, limit))
        if self.error:
            parts.append("[error]\n" + clip(self.error, limit))
        if not parts:
            parts.append(NO_OUTPUT)
        if self.notice:
            parts.append("[note] " + clip(self.notice, limit))
        return "\n".join(parts)
