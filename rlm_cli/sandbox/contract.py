"""The names of the REPL contract the root model uses: sub-calls, `answer`, FINAL, SHOW_VARS.

Every sub-call is one message to the host through `call`. Standard library only (runs in the
worker).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

Call = Callable[[str, dict[str, Any]], dict[str, Any]]

RESERVED = (
    "context", "llm_query", "llm_batch", "llm_query_batched", "rlm_query", "answer",
    "FINAL", "FINAL_VAR", "SHOW_VARS",
)


def make_contract(namespace: dict[str, Any], answer: dict[str, Any], call: Call) -> dict[str, Any]:
    """The contract functions bound to one namespace, its answer dict and the host channel."""

    def llm_query(prompt: Any, model: str | None = None, tools: list[str] | None = None) -> str:
        """One sub-LLM call; returns its answer."""
        if isinstance(prompt, list | tuple):
            raise TypeError("llm_query takes one prompt; for several use llm_batch(prompts)")
        args = {"prompt": prompt_text(prompt, "llm_query"), "model": model, "tools": tools}
        return _unwrap("llm_query", call("llm_query", args))

    def llm_batch(prompts: Any, model: str | None = None, tools: list[str] | None = None) -> list[str]:
        """Sub-LLM calls run in parallel; answers in input order, a failed item is an error string."""
        if isinstance(prompts, str) or not hasattr(prompts, "__iter__"):
            raise TypeError("llm_batch takes a list of prompts; for one prompt use llm_query")
        texts = [prompt_text(item, "llm_batch") for item in prompts]
        if not texts:
            return []
        return _unwrap("llm_batch", call("llm_batch", {"prompts": texts, "model": model, "tools": tools}))

    def rlm_query(prompt: Any, context: Any = None) -> str:
        """A child RLM answering `prompt` over `context` with its own REPL."""
        args = {
            "prompt": prompt_text(prompt, "rlm_query"),
            "context": None if context is None else prompt_text(context, "rlm_query"),
        }
        return _unwrap("rlm_query", call("rlm_query", args))

    def FINAL(text: Any) -> None:  # the names the RLM papers use
        """Set the answer to `text` and mark it ready."""
        answer["content"] = str(text)
        answer["ready"] = True

    def FINAL_VAR(name: Any) -> None:
        """Set the answer to a variable (given by name, or the value itself) and mark it ready."""
        if isinstance(name, str) and name.isidentifier():
            if name not in namespace:
                raise NameError(
                    f"FINAL_VAR: no variable named {name!r} in the REPL "
                    f"(variables: {', '.join(user_variables(namespace)) or 'none'})"
                )
            name = namespace[name]
        FINAL(name)

    def SHOW_VARS() -> None:
        """Print the user variables with their types and sizes."""
        print(describe_variables(namespace))

    return {
        "llm_query": llm_query, "llm_batch": llm_batch, "llm_query_batched": llm_batch,
        "rlm_query": rlm_query, "FINAL": FINAL, "FINAL_VAR": FINAL_VAR, "SHOW_VARS": SHOW_VARS,
    }


def prompt_text(value: Any, where: str) -> str:
    """A prompt as str: str itself, or the text of a corpus object (a chunk, a document)."""
    if isinstance(value, str):
        return value
    if type(value).__module__.startswith("rlm_cli."):
        return str(value)
    raise TypeError(
        f"{where} takes prompts as str, not {type(value).__name__}: build the text first "
        "(an f-string, str(), '\\n'.join(...))"
    )


def _unwrap(kind: str, reply: dict[str, Any]) -> Any:
    if reply.get("ok"):
        return reply["value"]
    raise RuntimeError(f"{kind} failed: {reply.get('error', 'no reason given')}")


def user_variables(namespace: dict[str, Any]) -> list[str]:
    """The model's own names: not private, not the contract, not imported modules."""
    return [
        name
        for name, value in namespace.items()
        if not name.startswith("_") and name not in RESERVED and not isinstance(value, types.ModuleType)
    ]


def describe_variables(namespace: dict[str, Any]) -> str:
    """One line per user variable: name, type and size."""
    lines = [f"{name}: {_shape(namespace[name])}" for name in user_variables(namespace)]
    return "\n".join(lines) if lines else "(no variables yet)"


def _shape(value: Any) -> str:
    kind = type(value).__name__
    if isinstance(value, str):
        return f"{kind}, {len(value):,} chars"
    try:
        return f"{kind}, {len(value):,} items"
    except Exception:  # no len(), or a len() that fails: the type is enough
        return kind
