"""The Broker protocol and the host side of sub-calls: a Call's arguments checked into a typed
request, then one broker call whose outcome becomes the Reply payload.

Payloads are `{"ok": True, "value": ...}` or `{"ok": False, "error": "..."}`, as the contract
functions read them. Must not import the engine or litellm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from rlm_cli.sandbox.messages import build


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


@dataclass(frozen=True)
class LlmQuery:
    prompt: str
    model: str | None = None
    tools: list[str] | None = None


@dataclass(frozen=True)
class LlmBatch:
    prompts: list[str]
    model: str | None = None
    tools: list[str] | None = None


@dataclass(frozen=True)
class RlmQuery:
    prompt: str
    context: str | None = None


Request = LlmQuery | LlmBatch | RlmQuery
KINDS: dict[str, type[Request]] = {"llm_query": LlmQuery, "llm_batch": LlmBatch, "rlm_query": RlmQuery}


def parse_call(kind: str, args: dict[str, Any]) -> Request:
    """The typed request a Call names; ValueError for an unknown kind or bad arguments."""
    if kind not in KINDS:
        raise ValueError(f"unknown sub-call {kind!r}"[:200])
    request: Request = build(KINDS[kind], args, kind)
    return request


def answer_call(broker: Broker, request: Request) -> dict[str, Any]:
    """Run one request on the broker; whatever it raises becomes an error payload."""
    try:
        if isinstance(request, LlmQuery):
            value: Any = _expect_str(broker.llm_query(request.prompt, request.model, request.tools))
        elif isinstance(request, RlmQuery):
            value = _expect_str(broker.rlm_query(request.prompt, request.context))
        else:
            prompts = request.prompts
            try:
                value = broker.llm_batch(prompts, request.model, request.tools)
            except Exception as error:  # the batch never raises for the cell: each item says why
                return {"ok": True, "value": [f"Error: {describe(error)}"] * len(prompts)}
            if not isinstance(value, list) or len(value) != len(prompts):
                raise TypeError(f"the broker returned {_kind_of(value)} for {len(prompts)} prompts")
            for item in value:
                _expect_str(item)
    except Exception as error:  # reported to the cell, which raises it there
        return failure(error)
    return {"ok": True, "value": value}


def serve_call(broker: Broker, kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """Check and run one sub-call: the whole host side of the `Call` seam in one function."""
    try:
        request = parse_call(kind, args)
    except ValueError as error:
        return failure(error)
    return answer_call(broker, request)


def failure(error: BaseException) -> dict[str, Any]:
    """The error payload for `error`."""
    return {"ok": False, "error": describe(error)}


def describe(error: BaseException) -> str:
    """`Type: message`, or the type alone."""
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _expect_str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"the broker returned {type(value).__name__}, not str")
    return value


def _kind_of(value: Any) -> str:
    return f"{len(value)} items" if isinstance(value, list) else type(value).__name__
