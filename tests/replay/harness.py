"""Replays recorded root replies through `rlm ask` (the in-process API) against the fake provider.

Each trajectory runs as one `rlm ask` over a synthetic input of the original's shape. A first
scripted turn gives the input the names the original harness used (`docs`, `completion_context`,
...); then the model's recorded replies follow as root turns, in order. Sub-calls are answered by
the fake provider's rule. The events of the run say, per reply, which cells ran and how.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rlm_cli import ask
from rlm_cli.events import CellExecuted, Event, RunFinished, RunStarted
from tests.fakes.provider import FakeProvider, Request, code, script
from tests.replay import inputs
from tests.replay.corpus import Trajectory, Turn
from tests.replay.judge import Verdict, category, intended_blocks, prose_final

_IDENTIFIER = re.compile(r"^[A-Za-z_]\w*$")


def sub_answer(request: Request) -> str:
    """A sub-call answer that reads as a short finding (JSON when the prompt asks for JSON)."""
    if "json" in request.last_user.lower():
        return "[]"
    return "Finding: nothing notable in this part."


def replay(trajectory: Trajectory, provider: FakeProvider) -> list[Verdict]:
    """Run one trajectory and judge each of its recorded replies."""
    opening = code(inputs.naming_cell(trajectory.input))
    provider.root_script = script(opening, *(turn.text for turn in trajectory.turns))
    provider.sub_rule = sub_answer
    events: list[Event] = []
    result = ask(
        "Answer the question in the input.", text=inputs.build(trajectory.input), model="openai/root",
        sub_model="openai/sub", api_base=provider.url, max_iterations=len(trajectory.turns) + 1,
        progress="none", trace=False, cell_timeout=60.0, retry_base_delay=0.01, on_event=events.append,
    )
    if not any(isinstance(event, RunStarted) for event in events):
        reason = f"the run did not start: {result.error}"
        return [Verdict(trajectory.id, trajectory.source, trajectory.model, turn.index, category(trajectory, turn)[0], False, reason)
                for turn in trajectory.turns]
    return [_judge(trajectory, turn, events) for turn in trajectory.turns]


def _judge(trajectory: Trajectory, turn: Turn, events: list[Event]) -> Verdict:
    root = next(event.run_id for event in events if isinstance(event, RunStarted))
    mine = [event for event in events if event.run_id == root]
    finished = next(event for event in mine if isinstance(event, RunFinished))
    engine_turn = turn.index + 1  # the naming turn comes first
    kind, why = category(trajectory, turn)

    def verdict(ok: bool, reason: str = "", kind: str = kind) -> Verdict:
        shown = "; replay: ".join(part for part in (why, reason) if part)
        return Verdict(trajectory.id, trajectory.source, trajectory.model, turn.index, kind, ok, shown)

    if engine_turn > finished.iterations:
        return verdict(False, "the run had already ended", "not-reached")
    cells = [e for e in mine if isinstance(e, CellExecuted) and e.turn == engine_turn]
    expected = len(intended_blocks(turn.code)) or (1 if trajectory.format == "dspy" and turn.code.strip() else 0)
    if len(cells) < expected:
        return verdict(False, f"{expected} block(s) written, {len(cells)} ran")
    errors = [e.error for e in cells if e.error]
    if errors and not turn.original_error:
        return verdict(False, "error the original run did not have: " + _first_line(errors[-1]))
    final = prose_final(turn.text)
    if final and not expected:
        ended_here = finished.ready and finished.iterations == engine_turn
        if not ended_here:
            return verdict(False, f"prose {final[0]}({final[1]}) did not end the run")
        if _IDENTIFIER.match(final[1]) and finished.answer.strip() == final[1]:
            return verdict(False, f"prose {final[0]}({final[1]}) gave the literal name")
    return verdict(True)


def _first_line(error: str) -> str:
    lines = [line for line in error.strip().splitlines() if line.strip()]
    return lines[-1][:160] if lines else error[:160]


def replay_all(trajectories: Iterable[Trajectory]) -> list[Verdict]:
    """Replay every trajectory against one fake provider."""
    verdicts: list[Verdict] = []
    with FakeProvider() as provider:
        for trajectory in trajectories:
            verdicts += replay(trajectory, provider)
    return verdicts
