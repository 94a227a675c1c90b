"""The host side of sub-calls: serves llm_query, llm_batch and rlm_query for one run's REPL.

Owns parallelism (one adaptive gate for the whole run tree, `concurrency.py`), soft budgets, the sub-model's window check,
the sub-LLM tool loop, the events of every sub-call, and reporting failed calls to the run's
failure policy. Never prints.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rlm_cli.accounting import RLM_KIND
from rlm_cli.budget import Budget, OverBudget
from rlm_cli.chat import ChatModel, Completion, Message, Stop, Stoppable
from rlm_cli.concurrency import AdaptiveLimit
from rlm_cli.errors import RlmError
from rlm_cli.events import (
    BatchFinished,
    BatchStarted,
    Emit,
    Event,
    Notice,
    SubcallFinished,
    SubcallStarted,
    ToolCalled,
)
from rlm_cli.exits import error_message
from rlm_cli.failures import Failures
from rlm_cli.metering import Meter
from rlm_cli.subtools import run_tool, tool_schemas
from rlm_cli.units import CHARS_PER_TOKEN

if TYPE_CHECKING:
    from rlm_cli.corpus.lazy import LazyCorpus

MAX_TOOL_ROUNDS = 8
FIRST_WAVE = 8  # calls of a batch that, all failing the same way, stop the run (at least the concurrency)

STOPPED = "Error: the run has stopped; this sub-call was not sent"
FINISH_NOW = (
    "Error: the {limit} budget is used up, so this sub-call was not made. Finish now: put your "
    "best answer in answer[\"content\"] and set answer[\"ready\"] = True."
)

# (prompt, context, budget, call id) -> (answer, child run id)
ChildRunner = Callable[[str, str | None, Budget, str], tuple[str, str | None]]


@dataclass
class SubcallSettings:
    """What the broker needs to know about sub-calls."""

    sub_model: str
    sub_window_tokens: int
    can_recurse: bool


class Broker:
    """Answers the REPL's sub-calls for one run (any thread may call these)."""

    def __init__(
        self,
        *,
        run_id: str,
        llm: ChatModel,
        settings: SubcallSettings,
        budget: Budget,
        gate: AdaptiveLimit,
        concurrency: int,
        emit: Emit,
        corpus: LazyCorpus | None = None,
        child_runner: ChildRunner | None = None,
        failures: Failures,
        stop: Stop | None = None,
        ids: Iterator[int] | None = None,
    ) -> None:
        """`stop`: the run's signal, shared with its engine; `ids`: call and batch numbers, shared
        by a run tree so that its ids are unique."""
        self.run_id = run_id
        self.settings = settings
        self.budget = budget
        self.gate = gate
        self.concurrency = concurrency
        self._emit_event = emit
        self.corpus = corpus
        self.child_runner = child_runner
        self.failures = failures  # shared with the run's engine, which ends the run on a failure
        self.stopped = stop or Stop()
        self.meter = Meter(llm=Stoppable(llm, self.stopped), budget=budget, emit=self.emit, run_id=run_id, failures=self.failures)
        self._ids = ids or itertools.count(1)
        self._lock = threading.Lock()  # guards _noted and _ids
        self._noted: set[str] = set()
        self._pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="rlm-subcall")

    def stop(self) -> None:
        """The run is over (or interrupted): calls queued are dropped, calls in flight abandoned."""
        self.stopped.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def emit(self, event: Event) -> None:
        """Pass an event on while the run lasts: none follows its RunFinished."""
        if not self.stopped.is_set():
            self._emit_event(event)

    # the REPL contract -----------------------------------------------------------------------
    def llm_query(self, prompt: str, model: str | None = None, tools: list[str] | None = None) -> str:
        """One sub-LLM call; budget and window refusals come back as text, provider failures raise."""
        answer, failure = self._call(prompt, model, tools, batch_id=None, index=0)
        self.failures.after_calls([failure])
        if failure is not None:
            raise failure
        return answer

    def llm_batch(self, prompts: list[str], model: str | None = None, tools: list[str] | None = None) -> list[str]:
        """Parallel sub-LLM calls, answers in input order; a failed item is an error string."""
        batch_id = self._new_id("b")
        model_name = model or self.settings.sub_model
        started = time.monotonic()
        self.emit(BatchStarted(self.run_id, batch_id=batch_id, size=len(prompts), model=model_name))
        # The first calls decide: when all of them failed the same way, the rest is not sent.
        wave = min(len(prompts), max(self.concurrency, FIRST_WAVE))
        outcomes: list[BaseException | None] = []
        lock = threading.Lock()

        def one(index: int) -> str:
            answer, failure = self._call(prompts[index], model, tools, batch_id=batch_id, index=index)
            with lock:
                outcomes.append(failure)
                if len(outcomes) == wave:
                    self.failures.after_calls(outcomes)
            return answer

        answers = [_answer(future) for future in self._submit(one, len(prompts))]
        failed = sum(1 for answer in answers if answer.startswith("Error:"))
        self.emit(BatchFinished(self.run_id, batch_id=batch_id, size=len(prompts), failed=failed, duration_s=time.monotonic() - started))
        return answers

    def rlm_query(self, prompt: str, context: str | None = None) -> str:
        """A child RLM when depth allows, else a plain sub-call over prompt and context."""
        if not (self.settings.can_recurse and self.child_runner):
            full = prompt if context is None else f"{prompt}\n\n{context}"
            return self.llm_query(full)
        refused = self.budget.reserve_sub_call()
        if refused:
            return self._finish_now(refused)
        call_id = self._new_id("c")
        self.emit(SubcallStarted(self.run_id, call_id=call_id, batch_id=None, index=0, model=self.settings.sub_model, prompt=prompt, prompt_chars=len(prompt), kind=RLM_KIND))
        started = time.monotonic()
        child_budget = self.budget.child()
        error: str | None = None
        child_run_id: str | None = None
        try:
            answer, child_run_id = self.child_runner(prompt, context, child_budget, call_id)
        except Exception as raised:  # the child's run failed for good (or a bug: it ends the run)
            error = error_message(raised)
            answer = f"Error: {error}"
            if self.stopped.is_set():
                pass  # the run ended while the child ran: nothing to decide any more
            elif isinstance(raised, RlmError):
                self.failures.after_calls([raised])
            else:
                self.failures.stop(raised)
        spent = child_budget.snapshot()["total"]
        self.emit(SubcallFinished(
            self.run_id, call_id=call_id, batch_id=None, index=0, model=self.settings.sub_model,
            answer=answer, answer_chars=len(answer), prompt_tokens=spent["prompt_tokens"],
            completion_tokens=spent["completion_tokens"], cost_usd=spent["cost_usd"],
            latency_s=time.monotonic() - started, error=error, child_run_id=child_run_id,
        ))
        return answer

    def _submit(self, work: Callable[[int], str], count: int) -> list[Future[str]]:
        """`work(index)` for each index on the run's pool; nothing runs once the run has stopped."""
        futures: list[Future[str]] = []
        for index in range(count):
            try:
                futures.append(self._pool.submit(work, index))
            except RuntimeError:  # the pool was shut down: the run has stopped
                stopped: Future[str] = Future()
                stopped.cancel()
                futures.append(stopped)
        return futures

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._ids)}"

    # one call ---------------------------------------------------------------------------------
    def _call(self, prompt: str, model: str | None, tools: list[str] | None, *, batch_id: str | None, index: int) -> tuple[str, BaseException | None]:
        """One sub-call: (answer, None), or ("Error: ...", what failed). A bug stops the run."""
        model_name = model or self.settings.sub_model
        refusal = self._refusal(prompt, tools)
        if refusal:
            return refusal, None
        call_id = self._new_id("c")
        self.emit(SubcallStarted(self.run_id, call_id=call_id, batch_id=batch_id, index=index, model=model_name, prompt=prompt, prompt_chars=len(prompt)))
        started = time.monotonic()
        try:
            completion = self._complete(call_id, model_name, prompt, tools)
        except OverBudget as over:
            answer = self._finish_now(over.limit)
            self._finished(call_id, batch_id, index, model_name, answer, None, started, None)
            return answer, None
        except Exception as failure:
            if self.stopped.is_set():  # abandoned as the run ended: no failure of the provider
                return STOPPED, None
            if not isinstance(failure, RlmError):
                self.failures.stop(failure)  # a bug of ours: the run ends as an internal error
            self._finished(call_id, batch_id, index, model_name, "", None, started, error_message(failure))
            return f"Error: {error_message(failure)}", failure
        self._finished(call_id, batch_id, index, model_name, completion.text, completion, started, None)
        return completion.text, None

    def _refusal(self, prompt: str, tools: list[str] | None) -> str | None:
        """Text returned instead of a call: over budget, over the window, or bad arguments."""
        if self.stopped.is_set() or self.failures.failure is not None:
            return STOPPED
        if not isinstance(prompt, str):
            return f"Error: a prompt must be a string, not {type(prompt).__name__}"
        if tools:
            try:
                tool_schemas(tools)
            except ValueError as error:
                return f"Error: {error}"
        window_chars = self.settings.sub_window_tokens * CHARS_PER_TOKEN
        if len(prompt) > window_chars:
            return (
                f"Error: this prompt has {len(prompt):,} characters, more than the sub-model's window "
                f"(about {window_chars:,}); it was not sent. Split the text into pieces of at most "
                f"{window_chars // 2:,} characters (context.chunks) and use llm_batch."
            )
        limit = self.budget.reserve_sub_call()
        return self._finish_now(limit) if limit else None

    def _finish_now(self, limit: str) -> str:
        with self._lock:
            first = limit not in self._noted
            self._noted.add(limit)
        if first:
            self.emit(Notice(self.run_id, message=f"{limit} reached: sub-calls now answer 'finish now'", level="warning"))
        return FINISH_NOW.format(limit=limit.replace("_", "-"))

    def _complete(self, call_id: str, model: str, prompt: str, tools: list[str] | None) -> Completion:
        messages: list[Message] = [{"role": "user", "content": prompt}]
        schemas = tool_schemas(tools) if tools else None
        for _round in range(MAX_TOOL_ROUNDS + 1):
            with self.gate.slot():
                completion = self.meter.call("sub", model, messages, call_id=call_id, tools=schemas)
            if not completion.tool_calls or self.corpus is None:
                return completion
            messages.append({"role": "assistant", "content": completion.text or None, "tool_calls": [
                {"id": call["id"], "type": "function", "function": {"name": call["name"], "arguments": call["arguments"]}}
                for call in completion.tool_calls
            ]})
            for call in completion.tool_calls:
                result = run_tool(self.corpus, call["name"], call["arguments"])
                self.emit(ToolCalled(self.run_id, call_id=call_id, tool=call["name"], arguments=_arguments(call["arguments"]), result_chars=len(result)))
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": result})
            schemas = schemas if _round < MAX_TOOL_ROUNDS - 1 else None  # last round: answer, no tools
        return completion

    def _finished(self, call_id: str, batch_id: str | None, index: int, model: str, answer: str, completion: Completion | None, started: float, error: str | None) -> None:
        self.emit(SubcallFinished(
            self.run_id, call_id=call_id, batch_id=batch_id, index=index, model=model,
            answer=answer, answer_chars=len(answer),
            prompt_tokens=completion.prompt_tokens if completion else 0,
            completion_tokens=completion.completion_tokens if completion else 0,
            cost_usd=completion.cost_usd if completion else None,
            latency_s=time.monotonic() - started, error=error,
            deployment=completion.deployment if completion else None,
            cached_input_tokens=completion.cached_input_tokens if completion else 0,
            from_cache=completion.from_cache if completion else False,
        ))


def _answer(future: Future[str]) -> str:
    """A batch item's answer; one dropped as the run stopped says so."""
    try:
        return future.result()
    except CancelledError:
        return STOPPED


def _arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"raw": raw[:200]}
    return value if isinstance(value, dict) else {"value": value}
