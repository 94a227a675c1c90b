"""The methods a bench item is answered by: `rlm`, `rlm-no-sub` and the `direct` baseline.

Each takes an item and the run's settings and returns an Outcome; none raises for a failed call.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from rlm_cli.accounting import Usage
from rlm_cli.bench.items import Item
from rlm_cli.settings import Settings
from rlm_cli.units import CHARS_PER_TOKEN, clip, estimate_tokens

TokenCount = Callable[[str], int | None]
RESERVE_TOKENS = 1_000  # of the direct baseline's window: instructions, question and the answer


@dataclass(frozen=True)
class MethodConfig:
    """What every method needs: settings for the run, and the direct baseline's window override."""

    settings: Settings
    window: int | None = None


@dataclass
class Outcome:
    """What one method made of one item."""

    answer: str
    stopped_by: str
    root_tokens: int = 0
    sub_tokens: int = 0
    cost_usd: float | None = None
    wall_s: float = 0.0
    turns: int = 0
    sub_calls: int = 0
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def run_rlm(item: Item, config: MethodConfig) -> Outcome:
    """This tool: the input in the REPL, sub-calls allowed up to the configured depth."""
    return _ask(item, config.settings)


def run_rlm_no_sub(item: Item, config: MethodConfig) -> Outcome:
    """The REPL alone: the sub-call budget is zero, so every sub-call is refused."""
    return _ask(item, replace(config.settings, max_sub_calls=0))


def run_direct(item: Item, config: MethodConfig) -> Outcome:
    """The whole input in one prompt, cut to the model's window; the cut is recorded."""
    from rlm_cli.errors import RlmError
    from rlm_cli.llm import LLMClient

    settings = config.settings
    llm = LLMClient.from_settings(settings)
    window = config.window or llm.context_window(settings.model, settings.root_context_window)
    prompt, kept = direct_prompt(item, window, lambda text: llm.count_tokens(settings.model, text))
    extra = {"truncated": kept < 1.0, "kept_fraction": round(kept, 4), "window_tokens": window}
    started = time.monotonic()
    try:
        llm.check_keys([settings.model])
        completion = llm.complete(settings.model, [{"role": "user", "content": prompt}])
    except RlmError as error:
        return Outcome("", "error", wall_s=time.monotonic() - started, turns=1, error=error.message, extra=extra)
    spent = Usage(completion.prompt_tokens, completion.completion_tokens, completion.cost_usd)
    return Outcome(
        completion.text, "answer", root_tokens=spent.tokens, cost_usd=spent.cost_usd,
        wall_s=time.monotonic() - started, turns=1, extra=extra,
    )


def direct_prompt(item: Item, window_tokens: int, count: TokenCount = lambda text: None) -> tuple[str, float]:
    """The direct baseline's prompt and the fraction of the input it kept (middle cut first).

    `count` is the model's tokenizer (None where it has none: the estimate is used instead).
    """
    text = item.as_text()
    room = _room(text, window_tokens - RESERVE_TOKENS - estimate_tokens(len(item.question)), count)
    kept = min(1.0, room / len(text)) if text else 1.0
    text = clip(text, room)
    prompt = f"Read the input below, then answer the question after it.\n\n<input>\n{text}\n</input>\n\n{item.question}"
    return prompt, kept


def _room(text: str, budget: int, count: TokenCount) -> int:
    """How many characters of `text` fit in `budget` tokens, by the tokenizer where there is one."""
    tokens = count(text)
    if tokens is None:
        return max(0, budget) * CHARS_PER_TOKEN
    room = len(text)
    while tokens > budget and room > 0:  # shrink in proportion; a second pass is rarely needed
        room = int(room * max(0, budget) / tokens * 0.98)
        tokens = count(clip(text, room)) or 0
    return room


def _ask(item: Item, settings: Settings) -> Outcome:
    from rlm_cli.api import ask

    with tempfile.TemporaryDirectory(prefix="rlm-bench-") as scratch:
        sources: list[str] = []
        if item.files:
            # A repository is a directory on disk, as a user would point `rlm ask` at one.
            root = Path(scratch) / "repo"
            for path, body in item.files.items():
                (root / path).parent.mkdir(parents=True, exist_ok=True)
                (root / path).write_text(body, encoding="utf-8")
            sources = [str(root)]
        result = ask(item.question, sources, text=None if item.files else item.text, settings=settings)
    usage = result.usage
    return Outcome(
        result.answer, result.stopped_by,
        root_tokens=Usage.of(usage.get("root")).tokens, sub_tokens=Usage.of(usage.get("sub")).tokens,
        cost_usd=Usage.of(usage.get("total")).cost_usd, wall_s=result.elapsed_s,
        turns=result.iterations, sub_calls=result.sub_calls, error=result.error,
        extra={"citations": [item["status"] for item in result.citations]},
    )


METHODS: dict[str, Callable[[Item, MethodConfig], Outcome]] = {
    "rlm": run_rlm,
    "direct": run_direct,
    "rlm-no-sub": run_rlm_no_sub,
}
