"""Labels for sub-calls and batches, and which calls of a big batch are worth a line.

Imports `render.state` and `render.fmt`; knows nothing of trees.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from rich.text import Text

from rlm_cli.events import CallRetried
from rlm_cli.render import fmt
from rlm_cli.render.state import Batch, Call

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
BAR_WIDTH = 12
FULL_BATCH = 12  # batches up to this size list every call
SHOWN_NOTABLE = 5
SHOWN_FAILED = 5
SHOWN_RUNNING = 5
SHOWN_SLOWEST = 3


@dataclass(frozen=True)
class View:
    """How to draw: the clock, detail level, and whether the run is over (no spinners then)."""

    now: float
    verbose: bool = False
    final: bool = False
    preview: int = 60
    origin: float | None = None  # where the root run's elapsed time counts from (its start by default)

    def busy(self, started: float) -> str:
        """A spinner frame and the time spent so far, or a plain mark once the run is over."""
        if self.final:
            return "unfinished"
        frame = SPINNER[int(self.now * 10) % len(SPINNER)]
        return f"{frame} {fmt.duration(max(0.0, self.now - started))}"


def call_label(call: Call, view: View, name: str) -> Text:
    """`#3 ✓ 1.2k tok · 0.8s · "preview"`, a spinner while running, red when failed."""
    text = Text(name, style="bold" if call.kind == "rlm" else "", no_wrap=True, overflow="ellipsis")
    done = call.finished
    if done is None:
        text.append(f" {view.busy(call.started)}", style="cyan")
        if call.retry is not None:
            text.append(f" · {retry_text(call.retry)}", style="yellow")
    elif done.error is not None:
        text.append(f" ✗ {fmt.duration(done.latency_s)} · ", style="red")
        text.append(fmt.one_line(done.error, view.preview), style="red")
    else:
        used = done.prompt_tokens + done.completion_tokens
        text.append(" ✓", style="green")
        if done.from_cache:  # nothing was spent: the tokens are what the cache saved
            text.append(f" cached · {fmt.tokens(used)} tok saved", style="dim")
        else:
            text.append(f" {fmt.tokens(used)} tok · {fmt.duration(done.latency_s)}", style="dim")
        if done.answer:
            text.append(f' · "{fmt.one_line(done.answer, view.preview)}"')
    if done is not None and call.retries:
        text.append(f" · retried {fmt.count(call.retries, 'time')}", style="yellow")
    if call.tools:
        text.append(f" · {call.tools} tool calls (last: {call.last_tool})", style="dim")
    return text


def retry_text(event: CallRetried) -> str:
    """`429 from MODEL, retry 2/6 in 3.1 s`."""
    return fmt.retry(event.reason, event.model, event.retry, event.max_retries, event.delay_s)


def batch_label(batch: Batch, view: View) -> Text:
    """`llm_batch ━━━━━━━━──── 32/50 done · 8 running · 2 failed · 3.4s`."""
    text = Text("llm_batch ", style="bold", no_wrap=True, overflow="ellipsis")
    filled = round(BAR_WIDTH * batch.done / batch.size) if batch.size else BAR_WIDTH
    text.append("━" * filled, style="green")
    text.append("─" * (BAR_WIDTH - filled), style="dim")
    text.append(f" {batch.done}/{batch.size} done")
    if batch.running:
        text.append(f" · {batch.running} running", style="cyan")
    if batch.limit is not None and batch.limit.limit < batch.limit.maximum:
        text.append(f" · limit {batch.limit.limit}/{batch.limit.maximum} (429s)", style="yellow")
    if batch.failed:
        text.append(f" · {batch.failed} failed", style="red")
    if batch.finished is not None:
        text.append(f" · {fmt.duration(batch.finished.duration_s)}", style="dim")
    elif not view.final:
        text.append(f" · {view.busy(batch.started)}", style="cyan")
    return text


def pick_calls(batch: Batch, view: View) -> tuple[list[Call], int]:
    """The calls to draw and how many are left out.

    A small batch (or -v) shows every call, in index order. A big one shows, in this order, the
    calls whose answers stand out (see `standing_out`), the failed, the longest running and the
    slowest finished, so 500 calls stay a dozen lines and the one that found something is among them.
    """
    calls = sorted(batch.calls.values(), key=lambda c: c.index)
    if view.verbose or len(calls) <= FULL_BATCH:
        return calls, 0
    failed = [c for c in calls if c.failed][:SHOWN_FAILED]
    running = sorted((c for c in calls if c.finished is None), key=lambda c: c.started)
    finished = [c for c in calls if c.finished is not None and not c.failed]
    slowest = sorted(finished, key=lambda c: -c.finished.latency_s if c.finished else 0.0)
    notable = standing_out(finished)[:SHOWN_NOTABLE]
    chosen = {id(c): c for c in (*notable, *failed, *running[:SHOWN_RUNNING], *slowest[:SHOWN_SLOWEST])}
    return list(chosen.values()), len(calls) - len(chosen)


_NO_LIKE = re.compile(r"(no|none|nothing|n/?a|null|nil|false|unknown|irrelevant|not (found|present|mentioned|relevant|applicable))\b")


def no_like(answer: str) -> bool:
    """An answer that found nothing: empty, "no", "none", "not mentioned", "No relevant information."."""
    gist = _gist(answer)
    return not gist or gist in {"-", "0", "[]", "{}"} or (len(gist) <= 80 and _NO_LIKE.match(gist) is not None)


def standing_out(finished: list[Call]) -> list[Call]:
    """The finished calls whose answers stand out from the rest of their batch, in index order.

    Where most answers found nothing, the ones that found something; where most agree, the ones
    that differ; where all differ, none.
    """
    answers = [(c, c.finished.answer if c.finished else "") for c in finished]
    if not answers:
        return []
    empty = [no_like(answer) for _, answer in answers]
    if sum(empty) * 2 >= len(answers):
        return [c for (c, _), nothing in zip(answers, empty, strict=True) if not nothing]
    gists = Counter(_gist(answer) for _, answer in answers)
    common, count = gists.most_common(1)[0]
    if count * 2 < len(answers):
        return []
    return [c for c, answer in answers if _gist(answer) != common]


def _gist(answer: str) -> str:
    return " ".join(answer.lower().split()).strip(" .!\"'`*")
