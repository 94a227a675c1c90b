"""The Broker protocol and the host side of sub-calls: one worker message, one broker call.

Replies are JSON-safe dicts (`ok`, `value` or `error`). Must not import the engine or litellm.
"""

from __future__ import annotations

from typing import Any, Protocol


class Broker(Protocol):
    """Answers the sub-calls a cell makes. Implemented by rlm_cli.broker.Broker; any thread may
    call it."""

    def llm_query(self, prompt: str, model: str | None = None, tools: list[str] | None = None) -> str:
        """One sub-LLM call."""
        ...

    def llm_batch(
        self, prompts: list[str], model: str | None = None, tools: list[str] | None = None
    ) -> list[str]:
        """Several sub-LLM calls, answered in input order; a failed item is "Error: <why>"."""
        ...

    def rlm_query(self, prompt: str, context: str | None = None) -> str:
        """A child RLM run over `context` (or a plain sub-call when depth does not allow it)."""
        ...


def serve_call(broker: Broker, kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one sub-call on the broker; whatever it raises becomes an error reply."""
    try:
        if kind == "llm_query":
            value: Any = broker.llm_query(args["prompt"], args.get("model"), args.get("tools"))
            _expect_str(value)
        elif kind == "rlm_query":
            value = broker.rlm_query(args["prompt"], args.get("context"))
            _expect_str(value)
        elif kind == "llm_batch":
            prompts = args["prompts"]
            try:
                value = broker.llm_batch(prompts, args.get("model"), args.get("tools"))
            except Exception as error:  # the batch never raises for the cell: each item says why
                return {"ok": True, "value": [f"Error: {_describe(error)}"] * len(prompts)}
            if not isinstance(value, list) or len(value) != len(prompts):
                raise TypeError(f"the broker returned {_kind_of(value)} for {len(prompts)} prompts")
            for item in value:
                _expect_str(item)
        else:
            raise ValueError(f"unknown sub-call {kind!r}")
    except Exception as error:  # reported to the cell, which raises it there
        return {"ok": False, "error": _describe(error)}
    return {"ok": True, "value": value}


def _expect_str(value: Any) -> None:
    if not isinstance(value, str):
        raise TypeError(f"the broker returned {type(value).__name__}, not str")


def _kind_of(value: Any) -> str:
    return f"{len(value)} items" if isinstance(value, list) else type(value).__name__


def _describe(error: BaseException) -> str:
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__
