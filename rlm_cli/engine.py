"""The RLM loop: root model turns, code cells in the REPL, the answer variable, limits, compaction.

Emits events for everything and never prints; knows the sandbox and the LLM client only through
their small interfaces.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from rlm_cli import prompts
from rlm_cli.budget import Budget, OverBudget, Reservation
from rlm_cli.chat import ChatModel, Message, Stop, Stoppable
from rlm_cli.errors import RlmError
from rlm_cli.events import (
    AnswerUpdated,
    CellExecuted,
    CellStarted,
    Emit,
    HistoryCompacted,
    ModelReplied,
    Notice,
    RunFinished,
    RunStarted,
    TurnStarted,
)
from rlm_cli.exits import error_message
from rlm_cli.failures import Failures
from rlm_cli.metering import Meter
from rlm_cli.replies import ProseFinal, parse
from rlm_cli.sandbox.contract import PROSE_FINAL, literal_text
from rlm_cli.units import CHARS_PER_TOKEN

if TYPE_CHECKING:
    from rlm_cli.sandbox.result import CellResult

COMPACT_AT = 0.75  # of the root model's window
FINAL_CALL_GRACE = 30.0  # seconds the last call may take once --timeout has passed


class Repl(Protocol):
    """What the engine needs of a sandbox."""

    @property
    def answer(self) -> dict[str, Any]: ...

    def execute(self, code: str, timeout: float | None = None) -> CellResult: ...

    def set_variable(self, name: str, value: Any) -> None: ...


class AnswerReview(Protocol):
    """A check of the finished answer (the citations): one repair request, then the final form."""

    def repair_request(self, answer: str) -> str | None: ...

    def settle(self, answer: str) -> str: ...


@dataclass(frozen=True)
class EngineConfig:
    """The models and sizes a run works with."""

    model: str
    sub_model: str
    max_depth: int
    output_limit: int
    root_window_tokens: int
    sub_window_tokens: int
    concurrency: int
    libraries: tuple[str, ...] = ()
    instruction: str | None = None  # appended to the system prompt (the `system` setting)
    cite: bool = False  # the model is asked for citations


@dataclass(frozen=True)
class Lineage:
    """Where a root run stands among others: its sources made absolute, the run it follows up,
    its chat session, and what the model is told of the earlier conversation."""

    source_paths: list[str] = field(default_factory=list)
    continues: str | None = None
    chat_session: str | None = None
    earlier: str | None = None  # a prompt block after the question (prompts.earlier_conversation)


@dataclass
class RunOutcome:
    """How a run ended."""

    answer: str
    ready: bool
    stopped_by: str
    iterations: int
    error: str | None = None
    failure: BaseException | None = None  # what ended a run stopped by "error"


@dataclass
class _State:
    messages: list[Message]
    transcript: list[Message]
    turn: int = 0
    seen_output: bool = False
    answer: dict[str, Any] = field(default_factory=lambda: {"content": "", "ready": False})


class Engine:
    """Runs one RLM (the root, or a child started by rlm_query) to its end."""

    def __init__(
        self, *, llm: ChatModel, config: EngineConfig, budget: Budget, emit: Emit, run_id: str,
        failures: Failures, parent_run_id: str | None = None, parent_call_id: str | None = None,
        stop: Stop | None = None,
        review: AnswerReview | None = None,
    ) -> None:
        """`stop` is set when the run ends (before RunFinished), and ends its calls when set first."""
        self.config = config
        self.budget = budget
        self.emit = emit
        self.run_id = run_id
        self.parent_run_id = parent_run_id
        self.parent_call_id = parent_call_id
        self.failures = failures  # shared with the run's broker
        self.stop = stop or Stop()  # shared with the run's broker
        self.meter = Meter(llm=Stoppable(llm, self.stop), budget=budget, emit=emit, run_id=run_id, failures=self.failures)
        self.review = review
        self.started = time.monotonic()
        self.question = ""
        self.interrupted: RunOutcome | None = None  # how the run stood when Ctrl-C ended it

    # the loop ---------------------------------------------------------------------------------
    def run(
        self, question: str, repl: Repl, *, description: str, input_summary: dict[str, Any],
        sources: list[str], notes: list[tuple[str, str]] | None = None, mapped: bool = False,
        lineage: Lineage | None = None,
    ) -> RunOutcome:
        """Turn after turn until the answer is ready or a limit stops the run.

        `mapped`: the input is memory-mapped, so `context` is the lazy form, not a str.
        `lineage`: a follow-up's earlier conversation and links (recorded in RunStarted).
        """
        limits = self.budget.limits
        lineage = lineage or Lineage()
        opening = self.opening(question, description, mapped, lineage.earlier)
        system = opening[0]["content"]
        self.emit(RunStarted(
            self.run_id, question=question, model=self.config.model, sub_model=self.config.sub_model,
            depth=self.budget.depth, max_depth=self.config.max_depth, parent_run_id=self.parent_run_id,
            input=input_summary, sources=sources,
            budgets={"max_iterations": limits.max_iterations, "max_sub_calls": limits.max_sub_calls,
                     "max_cost": limits.max_cost, "max_tokens": limits.max_tokens, "timeout": limits.timeout_left},
            parent_call_id=self.parent_call_id, system_prompt=system, source_paths=lineage.source_paths,
            continues=lineage.continues, chat_session=lineage.chat_session,
        ))
        for message, level in notes or []:
            self.emit(Notice(self.run_id, message=message, level=level))
        state = _State(messages=opening, transcript=opening[1:])
        state.answer = dict(repl.answer)
        self.question = question
        try:
            while state.turn < limits.max_iterations:
                if self.failures.failure is not None:  # sub-calls failed in a way no turn can fix
                    return self._finish(state, "error", failure=self.failures.failure)
                # A sub-call turned away last turn means the model was told to finish and did not.
                reached = self.budget.reached() or self.budget.refused
                if reached:
                    return self._finish_on_limit(state, reached)
                try:
                    held = self.meter.reserve(self.config.model, state.messages)
                except OverBudget as over:
                    return self._finish_on_limit(state, over.limit)
                if self._turn(state, repl, held):
                    self._repair(state, repl)
                    return self._finish(state, "answer")
            if self.failures.failure is not None:
                return self._finish(state, "error", failure=self.failures.failure)
            return self._finish_on_limit(state, "max_iterations")
        except OverBudget as over:  # a compaction call did not fit
            self._sync_answer(state, repl)
            return self._finish_on_limit(state, over.limit)
        except RlmError as error:
            self._sync_answer(state, repl)
            if self.budget.reached() == "timeout":  # the call ran out of time, not the provider
                return self._finish_on_limit(state, "timeout")
            # The provider or the sandbox failed for good: end with what the answer holds so far.
            return self._finish(state, "error", failure=error)
        except KeyboardInterrupt:
            self._sync_answer(state, repl)
            self.interrupted = self._finish(state, "interrupt", error="interrupted")
            raise

    def opening(self, question: str, description: str, mapped: bool = False, earlier: str | None = None) -> list[Message]:
        """The first request's messages: the system prompt, then the input's description and the
        question (and, for a follow-up, the earlier conversation)."""
        first = prompts.first_user_message(description, question)
        if earlier:
            first = f"{first}\n\n{earlier}"
        return [{"role": "system", "content": prompts.system_prompt(self._facts(mapped))}, {"role": "user", "content": first}]

    def _turn(self, state: _State, repl: Repl, held: Reservation) -> bool:
        """One root turn, its call's budget `held` already; True when the answer is ready."""
        state.turn += 1
        self.emit(TurnStarted(self.run_id, turn=state.turn, message=state.messages[-1]["content"]))
        if self._compaction_due(state):
            held.release()  # the compaction call reserves its own; the shorter history is quoted again
            self._compact(state, repl)
            held = self.meter.reserve(self.config.model, state.messages)
        text = self._root_call(state, state.messages, held=held)
        self._append(state, "assistant", text)
        reply = parse(text)
        if not reply.blocks and reply.cut_lines is None:
            if reply.final is None:
                self._append(state, "user", prompts.NO_CODE_NUDGE)
                return False
            return self._accept_prose_final(state, repl, reply.final)
        results = []
        for index, code in enumerate(reply.blocks, 1):
            results.append(self._run_cell(state, repl, index, code, len(reply.blocks)))
            if self.failures.failure is not None:
                break  # the run ends: later blocks would only meet refused sub-calls
        feedback = [shown for shown, _ in results]
        if reply.final is not None and not repl.answer.get("ready") and all(not r.error for _, r in results):
            feedback += self._prose_final_after_code(repl, reply.final, [r for _, r in results])
        ready = self._sync_answer(state, repl)
        refusal = self._refuse_ready(state, repl) if ready else None
        state.seen_output = state.seen_output or bool(results)
        if ready and refusal is None:
            return True
        notes = [refusal] if refusal else []
        if reply.cut_lines is not None:
            notes.append(prompts.cut_note(reply.cut_lines))
        if reply.final is not None and not ready:
            notes.append(prompts.PROSE_FINAL_NOTE.format(call=reply.final.call))
        notes.append(prompts.turn_status(state.turn, self.budget.limits.max_iterations, self.budget.remaining_text()))
        self._append(state, "user", "\n\n".join(feedback + notes))
        return False

    def _run_cell(self, state: _State, repl: Repl, index: int, code: str, count: int) -> tuple[str, CellResult]:
        self.emit(CellStarted(self.run_id, turn=state.turn, cell=index, code=code))
        result = repl.execute(code, timeout=self.budget.limits.timeout_left)
        shown = result.for_model(self.config.output_limit)
        self.emit(CellExecuted(
            self.run_id, turn=state.turn, cell=index, output=shown,
            output_chars=result.stdout_chars + result.stderr_chars, error=result.error,
            duration_s=result.duration_s, timed_out=result.timed_out, restarted=result.restarted,
        ))
        return (f"Output of block {index} of {count}:\n{shown}" if count > 1 else shown), result

    def _prose_final_after_code(self, repl: Repl, final: ProseFinal, results: list[CellResult]) -> list[str]:
        """A prose FINAL next to code that ran cleanly: applied when it cannot be made up.

        Models invent REPL output and finalise on it in the same reply. A FINAL that takes its
        value from REPL variables (`FINAL_VAR(x)`, `FINAL(total)`) is the same as that call at
        the end of the code, so it applies; a literal one applies only when the output just
        produced shows that very text on a line of its own. Otherwise the model is asked again.
        """
        seen = {line.strip() for r in results for line in r.stdout.splitlines()}
        seen |= {r.stdout.strip() for r in results} | {literal_text(r.value_repr) for r in results if r.value_repr}
        confirmed = bool(final.text.strip()) and final.text.strip() in seen
        result = repl.execute(_prose_final_call(final, literal=confirmed))
        return [result.for_model(self.config.output_limit)] if result.error else []

    def _accept_prose_final(self, state: _State, repl: Repl, final: ProseFinal) -> bool:
        if not state.seen_output:
            self._append(state, "user", prompts.EARLY_READY_NOTE)
            return False
        result = repl.execute(_prose_final_call(final, literal=True))
        if result.error:
            self._append(state, "user", result.for_model(self.config.output_limit))
            return False
        self._sync_answer(state, repl)
        refusal = self._refuse_ready(state, repl)
        if refusal:
            self._append(state, "user", refusal)
        return refusal is None

    def _refuse_ready(self, state: _State, repl: Repl) -> str | None:
        """Undo a ready answer that cannot be final yet; the note says why (None: accepted)."""
        if state.seen_output and state.answer["content"].strip():
            return None
        repl.execute('answer["ready"] = False')
        self._sync_answer(state, repl)
        return prompts.EARLY_READY_NOTE if not state.seen_output else prompts.EMPTY_ANSWER_NOTE

    def _sync_answer(self, state: _State, repl: Repl) -> bool:
        """Pick up the REPL's answer; emit AnswerUpdated when it changed. True when ready."""
        content, ready = str(repl.answer.get("content", "")), bool(repl.answer.get("ready"))
        if {"content": content, "ready": ready} != state.answer:
            state.answer = {"content": content, "ready": ready}
            self.emit(AnswerUpdated(self.run_id, content=content, ready=ready))
        return ready

    def _repair(self, state: _State, repl: Repl) -> None:
        """One more turn when the review finds the ready answer wanting (unsupported citations),
        within the budgets; unless that turn ends ready again, the answer stands as it was."""
        request = self.review.repair_request(state.answer["content"]) if self.review else None
        if request is None or state.turn >= self.budget.limits.max_iterations or self.budget.reached():
            return
        kept = dict(state.answer)
        repl.execute('answer["ready"] = False')
        self._sync_answer(state, repl)
        self._append(state, "user", request)
        try:
            ready = self._turn(state, repl, self.meter.reserve(self.config.model, state.messages))
        except (OverBudget, RlmError):
            ready = False
        if not ready or not state.answer["content"].strip():
            state.answer = kept
            self.emit(AnswerUpdated(self.run_id, content=kept["content"], ready=True))

    # model calls -------------------------------------------------------------------------------
    def _root_call(self, state: _State, messages: list[Message], *, deadline: float | None = None, held: Reservation | None = None) -> str:
        completion = self.meter.call("root", self.config.model, messages, deadline=deadline, held=held)
        self.emit(ModelReplied(
            self.run_id, turn=state.turn, prompt_chars=sum(len(m["content"] or "") for m in messages),
            reply=completion.text, prompt_tokens=completion.prompt_tokens,
            completion_tokens=completion.completion_tokens, cost_usd=completion.cost_usd,
            latency_s=completion.latency_s, deployment=completion.deployment,
            cached_input_tokens=completion.cached_input_tokens, from_cache=completion.from_cache,
        ))
        return completion.text

    def _compaction_due(self, state: _State) -> bool:
        """Whether the history nears the root model's window."""
        chars = sum(len(m["content"] or "") for m in state.messages)
        return chars >= COMPACT_AT * self.config.root_window_tokens * CHARS_PER_TOKEN and len(state.messages) >= 6

    def _compact(self, state: _State, repl: Repl) -> None:
        """Fold older turns into a summary; the full transcript goes to the REPL's `history`."""
        chars = sum(len(m["content"] or "") for m in state.messages)
        summary = self._root_call(state, [*state.messages, {"role": "user", "content": prompts.COMPACTION_REQUEST}])
        repl.set_variable("history", state.transcript)
        folded = len(state.messages) - 4
        first = state.messages[1]["content"].split(prompts.COMPACTED_PREFIX)[0].rstrip()
        state.messages = [
            state.messages[0],
            {"role": "user", "content": f"{first}\n\n{prompts.COMPACTED_PREFIX}{summary}"},
            *state.messages[-2:],
        ]
        after = sum(len(m["content"] or "") for m in state.messages)
        self.emit(HistoryCompacted(self.run_id, turns_folded=folded // 2, chars_before=chars, chars_after=after, summary=summary))

    def _append(self, state: _State, role: str, content: str) -> None:
        state.messages.append({"role": role, "content": content})
        state.transcript.append({"role": role, "content": content})

    # endings ------------------------------------------------------------------------------------
    def _finish_on_limit(self, state: _State, reason: str) -> RunOutcome:
        """One last root call for the best answer from what is known, if it fits what is left of
        the budget (else the draft stands); the answer is partial."""
        draft = state.answer["content"]
        request = prompts.LIMIT_FINAL_REQUEST.format(reason=_reason_text(reason), question=self.question, draft=draft or "(none yet)")
        # Past --timeout, the last call still gets a short, bounded grace to answer.
        deadline = time.monotonic() + FINAL_CALL_GRACE if reason == "timeout" else None
        try:
            reply = self._root_call(state, [*state.messages, {"role": "user", "content": request}], deadline=deadline)
        except (OverBudget, RlmError):
            reply = ""
        best = parse(reply).prose or draft
        if best != draft:
            state.answer = {"content": best, "ready": False}
            self.emit(AnswerUpdated(self.run_id, content=best, ready=False))
        return self._finish(state, reason)

    def _finish(self, state: _State, stopped_by: str, *, error: str | None = None, failure: BaseException | None = None) -> RunOutcome:
        if self.review is not None:
            state.answer["content"] = self.review.settle(state.answer["content"])
        usage = self.budget.snapshot()
        ready = stopped_by == "answer"
        error = error_message(failure) if failure else error
        self.stop.set()  # sub-calls still in flight are abandoned, none is sent after RunFinished
        outcome = RunOutcome(answer=state.answer["content"], ready=ready, stopped_by=stopped_by, iterations=state.turn, error=error, failure=failure)
        self.emit(RunFinished(
            self.run_id, stopped_by=stopped_by, ready=ready, answer=outcome.answer, iterations=state.turn,
            sub_calls=self.budget.sub_calls, usage=usage, elapsed_s=time.monotonic() - self.started, error=error,
        ))
        return outcome

    def _facts(self, mapped: bool) -> prompts.PromptFacts:
        limits = self.budget.limits
        return prompts.PromptFacts(
            sub_model=self.config.sub_model, sub_window_tokens=self.config.sub_window_tokens,
            concurrency=self.config.concurrency, output_limit=self.config.output_limit,
            max_iterations=limits.max_iterations, can_recurse=self.budget.depth < self.config.max_depth,
            max_sub_calls=limits.max_sub_calls, max_cost=limits.max_cost, max_tokens=limits.max_tokens,
            timeout=limits.timeout_left, libraries=self.config.libraries, mapped=mapped,
            instruction=self.config.instruction, cite=self.config.cite,
        )


_REASONS = {
    "max_iterations": "the turn limit (--max-iterations) is reached",
    "max_cost": "the cost limit (--max-cost) is reached",
    "max_sub_calls": "the sub-call limit (--max-sub-calls) is reached",
    "max_tokens": "the token limit (--max-tokens) is reached",
    "timeout": "the time limit (--timeout) is reached",
}


def _reason_text(reason: str) -> str:
    return _REASONS.get(reason, reason)


def _prose_final_call(final: ProseFinal, *, literal: bool) -> str:
    """The cell that applies a FINAL written in prose (the REPL decides what it refers to)."""
    return f"{PROSE_FINAL}({final.name!r}, {final.source!r}, literal={literal})"
