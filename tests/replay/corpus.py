"""The recorded trajectories under data/: loading them and turning each turn into reply text.

Each data/*.jsonl line is one trajectory: where it was published (repository, path, commit), the
model, the harness that produced it, the shape of the input the original run saw, and its root
replies verbatim with whatever the original log kept of their REPL output.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Turn:
    """One root reply as the model wrote it, and what its original run showed."""

    index: int
    text: str
    code: str  # the part the original harness ran: the whole reply, or DSPy's code field
    original: dict[str, Any] | None

    @property
    def original_error(self) -> bool:
        """Whether the original run reported an error for this turn's code."""
        if not self.original:
            return False
        blocks = self.original.get("blocks") or []
        if any(block.get("stderr", "").strip() for block in blocks):
            return True
        output = self.original.get("output") or ""
        return "Traceback (most recent call last)" in output or "Error:" in output


@dataclass(frozen=True)
class Trajectory:
    """One published run: its attribution, the input it saw and its root replies in order."""

    id: str
    source: str  # the data file's stem
    repo: str
    path: str
    commit: str
    model: str
    harness: str
    format: str  # "chat" (fenced code in the reply) or "dspy" (reasoning and code fields)
    input: dict[str, Any]
    turns: tuple[Turn, ...]


def dspy_reply(reasoning: str, code: str) -> str:
    """A DSPy RLM step as the model emitted it through DSPy's chat adapter."""
    return f"[[ ## reasoning ## ]]\n{reasoning}\n\n[[ ## code ## ]]\n{code}\n\n[[ ## completed ## ]]"


def _turn(raw: dict[str, Any], fmt: str) -> Turn:
    reply = raw["reply"]
    if fmt == "dspy":
        text = dspy_reply(reply["reasoning"], reply["code"])
        return Turn(raw["turn"], text, reply["code"], raw.get("original"))
    return Turn(raw["turn"], reply, reply, raw.get("original"))


def load(source: str | None = None) -> list[Trajectory]:
    """Every recorded trajectory, or those of one data file."""
    trajectories = []
    for path in sorted(DATA.glob("*.jsonl")):
        if source and path.stem != source:
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            raw = json.loads(line)
            trajectories.append(Trajectory(
                id=raw["id"], source=path.stem, repo=raw["repo"], path=raw["path"], commit=raw["commit"],
                model=raw["model"], harness=raw["harness"], format=raw["format"], input=raw["input"],
                turns=tuple(_turn(turn, raw["format"]) for turn in raw["turns"]),
            ))
    return trajectories
