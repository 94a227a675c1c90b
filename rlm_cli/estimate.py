"""`rlm ask --estimate`: what a run would read and what its first steps cost, before any call.

Reads the sources as a run would, then prices one root turn and one pass of the whole input
through the sub-model. No model call, no sandbox, no key needed. Never imports typer.
"""

from __future__ import annotations

import json
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from rlm_cli.units import estimate_tokens

COUNT_CHARS = 8_000_000  # input counted by the tokenizer at most; past it the count is extrapolated
PIECE_CHARS = 1_000_000


@dataclass(frozen=True)
class Tokens:
    """A token count and how it was made: "tokenizer", "extrapolated" or "estimate"."""

    tokens: int
    by: str


@dataclass(frozen=True)
class Estimate:
    """The figures `--estimate` prints (its `--json` object)."""

    documents: int
    bytes: int
    skipped: int
    chars: int
    input: Tokens
    model: str
    sub_model: str
    root_prompt: Tokens
    max_output_tokens: int
    root_turn_cost_usd: float | None  # its prompt
    root_turn_max_cost_usd: float | None  # its prompt and a reply as long as the output cap
    read_cost_usd: float | None  # the whole input once, as sub-model prompts

    def to_json_dict(self) -> dict[str, Any]:
        """The `--estimate --json` object."""
        return asdict(self)

    def text(self) -> str:
        """The figures for a person, one line each."""
        return (
            f"input: {self.documents:,} documents, {self.bytes:,} bytes, {self.chars:,} characters, "
            f"{_tokens(self.input, self.sub_model)}\n"
            f"one root turn ({self.model}): {_tokens(self.root_prompt, self.model)} in · "
            f"{_usd(self.root_turn_cost_usd)}, at most {_usd(self.root_turn_max_cost_usd)} with "
            f"{self.max_output_tokens:,} tokens out\n"
            f"reading the whole input once ({self.sub_model}): {self.input.tokens:,} tokens in · "
            f"{_usd(self.read_cost_usd)}\n"
        )


def estimate_and_report(
    arguments: list[str], paths_from: str | None, flags: dict[str, Any], *, as_json: bool, out: TextIO | None = None,
    continue_run: str | None = None,
) -> int:
    """Print the estimate for `SOURCE... QUESTION` (or a follow-up of `continue_run`); the exit code (0)."""
    from rlm_cli.settings import resolve

    figures = estimate(arguments, paths_from, resolve(flags).settings, continue_run)
    out = sys.stdout if out is None else out
    out.write(json.dumps(figures.to_json_dict()) + "\n" if as_json else figures.text())
    return 0


def estimate(arguments: list[str], paths_from: str | None, settings: Any, continue_run: str | None = None) -> Estimate:
    """Read the sources (a follow-up's: those of the run it continues) and price the first steps of a run over them."""
    from rlm_cli.budget import Budget
    from rlm_cli.engine import Engine
    from rlm_cli.ingest import IngestOptions, ingest
    from rlm_cli.runner import RunSession, limits_for, what_is_asked

    _, sources, question = what_is_asked(arguments, paths_from, continue_run, settings, sys.stdin.isatty(), piped_input=True)
    session = RunSession(settings, lambda event: None)
    llm = session.llm
    model, sub_model = settings.model, settings.effective_sub_model
    with tempfile.TemporaryDirectory(prefix="rlm-") as spool:
        ingested = ingest(sources, IngestOptions.from_settings(settings), spool_dir=Path(spool), paths_from=paths_from, stdin=sys.stdin.buffer)
        corpus = ingested.corpus
        summary = ingested.summary()
        engine = Engine(
            llm=llm, config=session.engine_config(1), budget=Budget(limits_for(settings)), emit=lambda event: None,
            run_id="estimate", failures=session.failures,
        )
        opening = engine.opening(question, corpus.describe(), corpus.mapped)
        input_tokens = _count(llm, sub_model, corpus, len(corpus))
    root_prompt = _count_text(llm, model, "\n".join(m["content"] for m in opening))
    max_output = llm.max_output(model)
    root_price, sub_price = llm.price(model), llm.price(sub_model)
    return Estimate(
        documents=summary["documents"], bytes=summary["bytes"], skipped=summary["skipped"], chars=len(corpus),
        input=input_tokens, model=model, sub_model=sub_model, root_prompt=root_prompt, max_output_tokens=max_output,
        root_turn_cost_usd=root_prompt.tokens * root_price[0] if root_price else None,
        root_turn_max_cost_usd=root_prompt.tokens * root_price[0] + max_output * root_price[1] if root_price else None,
        read_cost_usd=input_tokens.tokens * sub_price[0] if sub_price else None,
    )


def _count(llm: Any, model: str, corpus: Any, chars: int) -> Tokens:
    """The input's tokens: by the model's tokenizer where LiteLLM has one (up to COUNT_CHARS,
    extrapolated past it), else the estimate."""
    counted = seen = 0
    for piece in corpus.iter_chunks(PIECE_CHARS):
        tokens = llm.count_tokens(model, str(piece))
        if tokens is None:
            return Tokens(estimate_tokens(chars), "estimate")
        counted, seen = counted + tokens, seen + len(piece)
        if seen >= COUNT_CHARS:
            return Tokens(round(counted * chars / seen), "extrapolated")
    return Tokens(counted, "tokenizer")


def _count_text(llm: Any, model: str, text: str) -> Tokens:
    tokens = llm.count_tokens(model, text)
    return Tokens(estimate_tokens(len(text)), "estimate") if tokens is None else Tokens(tokens, "tokenizer")


def _tokens(count: Tokens, model: str) -> str:
    how = {
        "tokenizer": f"by LiteLLM's tokenizer for {model}",
        "extrapolated": f"by LiteLLM's tokenizer for {model}, extrapolated from the first {COUNT_CHARS:,} characters",
        "estimate": f"estimated: LiteLLM has no tokenizer for {model}",
    }[count.by]
    return f"{count.tokens:,} tokens ({how})"


def _usd(cost: float | None) -> str:
    return "cost unknown (no price known)" if cost is None else f"${cost:.4f}"
