"""The names of the REPL contract the root model uses: sub-calls, `answer`, FINAL, SHOW_VARS.

Every sub-call is one message to the host through `call`. Names other harnesses use for the same
things (`SUBMIT`, `rlm_query_batched`, `await llm_query(...)`) are accepted too. Standard library
only (runs in the worker).
"""

from __future__ import annotations

import ast
import builtins
import sys
import types
from collections.abc import Callable
from typing import Any

Call = Callable[[str, dict[str, Any]], dict[str, Any]]

RESERVED = (
    "context", "llm_query", "llm_batch", "llm_query_batched", "rlm_query", "rlm_query_batched",
    "answer", "FINAL", "FINAL_VAR", "SUBMIT", "SHOW_VARS",
)
PROSE_FINAL = "_final_from_prose"  # the engine's way to apply a FINAL written outside code
CHILD_CONCURRENCY = 4  # child RLMs of one rlm_query_batched running at once


def make_contract(namespace: dict[str, Any], answer: dict[str, Any], call: Call) -> dict[str, Any]:
    """The contract functions bound to one namespace, its answer dict and the host channel."""

    def llm_query(prompt: Any, model: str | None = None, tools: list[str] | None = None) -> str:
        """One sub-LLM call; returns its answer."""
        if isinstance(prompt, list | tuple):
            raise TypeError("llm_query takes one prompt; for several use llm_batch(prompts)")
        args = {"prompt": prompt_text(prompt, "llm_query"), "model": model, "tools": tools}
        return _awaitable(_unwrap("llm_query", call("llm_query", args)))

    def llm_batch(prompts: Any, model: str | None = None, tools: list[str] | None = None) -> list[str]:
        """Sub-LLM calls run in parallel; answers in input order, a failed item is an error string."""
        texts = _prompt_list(prompts, "llm_batch")
        if not texts:
            return _awaitable([])
        return _awaitable(_unwrap("llm_batch", call("llm_batch", {"prompts": texts, "model": model, "tools": tools})))

    def rlm_query(prompt: Any, context: Any = None, model: str | None = None) -> str:
        """A child RLM answering `prompt` over `context` with its own REPL.

        `model` is accepted for other harnesses' code; the child uses this run's models.
        """
        args = {
            "prompt": prompt_text(prompt, "rlm_query"),
            "context": None if context is None else prompt_text(context, "rlm_query"),
        }
        return _awaitable(_unwrap("rlm_query", call("rlm_query", args)))

    def rlm_query_batched(prompts: Any, context: Any = None, model: str | None = None) -> list[str]:
        """rlm_query for each prompt, a few at a time; answers in input order, a failure is an error string."""
        texts = _prompt_list(prompts, "rlm_query_batched")

        def one(prompt: str) -> str:
            try:
                return str(rlm_query(prompt, context))
            except RuntimeError as error:
                return f"Error: {error}"

        # imported here: most workers never batch rlm_query, and the pool pulls in logging
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max(1, min(CHILD_CONCURRENCY, len(texts)))) as pool:
            return _awaitable(list(pool.map(one, texts)))

    def FINAL(*values: Any, **fields: Any) -> None:  # the names the RLM papers use
        """Set the answer and mark it ready.

        One value gives its text (`answer` itself gives answer["content"]); keyword fields, as in
        `SUBMIT(answer=x)`, give the field's value, or `name: value` lines for several fields.
        """
        answer["content"] = _final_text(values, fields, answer)
        answer["ready"] = True

    def FINAL_VAR(name: Any) -> None:
        """Set the answer to a variable's value and mark it ready.

        `name` is a variable's name (`FINAL_VAR("result")`) or the value itself
        (`FINAL_VAR(result)`): a string naming a REPL variable gives that variable's value; any
        other value is the answer as it is, so `FINAL_VAR(city)` with city = 'Polk' answers
        'Polk'. Only a snake_case string with an underscore that names no variable
        (`"final_answer"`) raises NameError: that is a variable that was never set, not an answer.
        """
        if isinstance(name, str) and name in _names(namespace):
            FINAL(namespace[name])
        elif isinstance(name, str) and _reads_as_variable(name):
            raise NameError(
                f"FINAL_VAR: no variable named {name!r} in the REPL "
                f"(variables: {', '.join(user_variables(namespace)) or 'none'}); "
                f"to answer with this text itself, use FINAL({name!r})"
            )
        else:
            FINAL(name)

    def SHOW_VARS() -> str:
        """The user variables with their types and sizes, one per line (shown when last in a cell)."""
        return _Listing(describe_variables(namespace))

    def final_from_prose(name: str, source: str, literal: bool = True) -> None:
        """Apply `name(source)` written in the reply's prose, outside any code block.

        When it refers to REPL variables (its free names all bound, one at least in the REPL), or
        is FINAL_VAR of a bare name or of a string naming a variable, the call runs as code:
        prose `FINAL(total)` answers total's value, `FINAL_VAR(x)` with no x is a NameError.
        Otherwise it is literal, applied only when `literal` is true: one argument gives the text
        as written (`FINAL(Polk)`, `FINAL("a b")` gives a b, `FINAL(42 apples)`); constants in
        other forms (`SUBMIT(answer="Polk")`, `FINAL_VAR('Polk')`) run as code.
        """
        expression = _parse_call(name, source)
        call = expression.body if expression is not None else None
        if isinstance(call, ast.Call) and (
            _refers_to_variables(call, name, namespace) or (literal and _constants_only(call, name))
        ):
            eval(compile(expression, "<prose FINAL>", "eval"), namespace)  # type: ignore[arg-type]
        elif literal:
            FINAL(literal_text(source))

    return {
        "llm_query": llm_query, "llm_batch": llm_batch, "llm_query_batched": llm_batch,
        "rlm_query": rlm_query, "rlm_query_batched": rlm_query_batched, "FINAL": FINAL,
        "FINAL_VAR": FINAL_VAR, "SUBMIT": FINAL, "SHOW_VARS": SHOW_VARS, PROSE_FINAL: final_from_prose,
    }


class _Listing(str):
    """SHOW_VARS()'s text: a str, shown as plain lines when it is a cell's last expression."""

    def __repr__(self) -> str:
        return str(self)


class _AwaitableStr(str):
    """A sub-call's answer that `await` also accepts (code written for async harnesses)."""

    def __await__(self) -> Any:
        return str(self)
        yield  # a generator that finishes at once with the value


class _AwaitableList(list[str]):
    """A batch's answers that `await` also accepts."""

    def __await__(self) -> Any:
        return list(self)
        yield


def _awaitable(value: Any) -> Any:
    """The value as is; inside a running event loop (an async cell), a form `await` accepts."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return value
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return value
    return _AwaitableStr(value) if isinstance(value, str) else _AwaitableList(value)


def _final_text(values: tuple[Any, ...], fields: dict[str, Any], answer: dict[str, Any]) -> str:
    if not values and not fields:
        raise TypeError("FINAL needs the answer: FINAL(text), FINAL_VAR(name) or SUBMIT(answer=...)")

    def text(value: Any) -> str:
        return str(answer["content"]) if value is answer else str(value)

    if len(values) + len(fields) == 1:
        return text(values[0] if values else next(iter(fields.values())))
    return "\n".join([*(text(value) for value in values), *(f"{key}: {text(value)}" for key, value in fields.items())])


def _names(namespace: dict[str, Any]) -> list[str]:
    """Names FINAL_VAR may look up: the model's variables and the contract's (not dunders)."""
    return [name for name in namespace if not name.startswith("__")]


def _reads_as_variable(text: str) -> bool:
    return text.isidentifier() and "_" in text.strip("_") and text == text.lower()


def literal_text(source: str) -> str:
    """The answer a prose FINAL(source) gives when taken as text: a quoted string's value, else as written."""
    text = source.strip()
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text
    return value if isinstance(value, str) else text


def _parse_call(name: str, source: str) -> ast.Expression | None:
    try:
        tree = ast.parse(f"{name}({source})", mode="eval")
    except (SyntaxError, ValueError):
        return None
    return tree if isinstance(tree.body, ast.Call) else None


def _refers_to_variables(call: ast.Call, name: str, namespace: dict[str, Any]) -> bool:
    if name == "FINAL_VAR" and len(call.args) == 1 and not call.keywords:
        arg = call.args[0]
        if isinstance(arg, ast.Name) or (isinstance(arg, ast.Constant) and arg.value in _names(namespace)):
            return True  # FINAL_VAR(x) names a variable: run it, a NameError included
    free = _free_names(call) - {name}
    return any(n in namespace for n in free) and all(n in namespace or hasattr(builtins, n) for n in free)


def _constants_only(call: ast.Call, name: str) -> bool:
    """A call of constants not in the one-argument form (taken as text as written)."""
    single = len(call.args) == 1 and not call.keywords
    return not _free_names(call) - {name} and (name == "FINAL_VAR" or not single)


def _free_names(node: ast.AST) -> set[str]:
    """Names an expression reads, less those its comprehensions and lambdas bind."""
    read: set[str] = set()
    bound: set[str] = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            (read if isinstance(child.ctx, ast.Load) else bound).add(child.id)
        elif isinstance(child, ast.arg):
            bound.add(child.arg)
    return read - bound


def prompt_text(value: Any, where: str) -> str:
    """A prompt as str: str itself, or the text of a corpus object (a chunk, a document); a chunk
    opens with its source, so the sub-model can cite it."""
    source = getattr(value, "cite", None) if type(value).__module__.startswith("rlm_cli.") else None
    if isinstance(source, str) and source:
        return f"[source: {source}]\n{str.__str__(value)}"
    if isinstance(value, str):
        return value
    if type(value).__module__.startswith("rlm_cli."):
        return str(value)
    raise TypeError(
        f"{where} takes prompts as str, not {type(value).__name__}: build the text first "
        "(an f-string, str(), '\\n'.join(...))"
    )


def _prompt_list(prompts: Any, where: str) -> list[str]:
    if isinstance(prompts, str) or not hasattr(prompts, "__iter__"):
        raise TypeError(f"{where} takes a list of prompts; for one prompt use {where.split('_')[0]}_query")
    return [prompt_text(item, where) for item in prompts]


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
