"""Wires one run: ingest, sandbox, broker, engine, renderers and trace; returns a RunResult.

The one place that turns any failure into a RunResult with its exit code, so `--json` always
prints one object. Never imports typer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import itertools
import os
import shlex
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from rlm_cli.budget import Budget, Limits
from rlm_cli.concurrency import AdaptiveLimit
from rlm_cli.errors import InputError, RlmError
from rlm_cli.events import ConcurrencyChanged, Emit, Event, RunFinished
from rlm_cli.exits import error_message, exit_code_for_stop, should_reraise, stop_for
from rlm_cli.result import RunResult
from rlm_cli.settings import Settings
from rlm_cli.signals import stop_signals_interrupt
from rlm_cli.uptime import elapsed, process_started
from rlm_cli.urls import without_credentials

if TYPE_CHECKING:
    from rlm_cli.chat import ChatModel, Stop
    from rlm_cli.citations import CitationReview
    from rlm_cli.engine import EngineConfig, RunOutcome
    from rlm_cli.followup import Continuation
    from rlm_cli.ingest import IngestResult
    from rlm_cli.llm import LLMClient
    from rlm_cli.sandbox import SandboxConfig
    from rlm_cli.sandbox.relay import SharedRepl


@dataclass
class RunRequest:
    """What the user asked for, beyond the settings."""

    arguments: list[str] = field(default_factory=list)  # SOURCE... QUESTION, as typed
    paths_from: str | None = None
    trace_path: Path | None = None
    json_output: bool = False
    quiet: bool = False
    verbose: bool = False
    stdin: BinaryIO | None = None
    events: bool = False  # --events: every event as a JSON line on stdout, then the --json object
    debug: bool = False  # an internal error is raised (its traceback shown), not reported
    piped_input: bool = False  # no SOURCE: read stdin when it is not a terminal (the command line)
    raw: bool = False  # the answer unrendered on a terminal
    continue_run: str | None = None  # follow up this run (a unique part of its id, or `last`)


def split_sources(
    arguments: list[str], paths_from: str | None, stdin_is_tty: bool, *, piped_input: bool = False,
) -> tuple[list[str], str]:
    """Split `SOURCE... QUESTION`, naming the usual mix-ups.

    `piped_input` (the command line): with no SOURCE, stdin is the input unless it is a terminal.
    """
    if not arguments:
        raise InputError("missing QUESTION", hint='rlm ask ./repo "where is auth handled?"')
    *sources, question = arguments
    if not question.strip():
        raise InputError("the question is empty")
    _refuse_path_as_question(sources, question)
    if not sources and not paths_from:
        if stdin_is_tty or not piped_input:
            raise InputError(
                "no SOURCE given: name files, directories, globs, or pipe text in",
                hint=f'rlm ask ./repo "{question}"  or  cat big.log | rlm ask "{question}"',
            )
        sources = ["-"]  # `cat big.log | rlm ask "why?"`: stdin is the input
    if sources.count("-") > 1 or ("-" in sources and paths_from == "-"):
        raise InputError("stdin can be read only once", hint="give either - or --paths-from -, not both")
    if ("-" in sources or paths_from == "-") and stdin_is_tty:
        raise InputError(
            "'-' reads from stdin, but stdin is a terminal",
            hint=f'pipe something in: cat big.log | rlm ask - "{question}"',
        )
    return sources, question


def _refuse_path_as_question(sources: list[str], question: str) -> None:
    """`rlm ask repo` or `rlm ask repo small.log`: the last argument names a path, not a question."""
    if question == "-" or any(c.isspace() for c in question) or not os.path.lexists(question):
        return
    from rlm_cli.ingest.remote import is_remote

    missing = [s for s in sources if s != "-" and not os.path.lexists(s) and not glob.glob(s, recursive=True) and not is_remote(s)]
    if missing:  # `rlm ask "why?" small.log`: the question came first
        raise InputError(
            f"the question comes last, but {question!r} is a path and {missing[0]!r} is not",
            hint=f'rlm ask {shlex.join([*(s for s in sources if s not in missing), question])} "{missing[0]}"',
        )
    raise InputError(
        f"missing QUESTION: the last argument, {question!r}, is a path, not a question",
        hint=f'rlm ask {shlex.join([*sources, question])} "your question"',
    )


def run_and_report(request: RunRequest, flags: dict[str, Any]) -> int:
    """Run, show progress, print the answer (or the JSON object); return the exit code."""
    from rlm_cli.render import make_renderer
    from rlm_cli.render.answer import print_result
    from rlm_cli.settings import resolve
    from rlm_cli.status import Status, erase_early

    result = RunResult()
    renderer = None
    status = None
    settings: Settings | None = None
    warm_given = False
    try:
        resolved = resolve(flags)
        settings, warm_given = resolved.settings, resolved.origins.get("warm", "default") != "default"
        status = Status.on_terminal(sys.stderr, settings.progress, quiet=request.quiet)
        reading = "the earlier run's input" if request.continue_run else _naming(request.arguments[:-1], request.paths_from)
        status.show(f"reading {reading}")  # before Rich loads
        renderer = make_renderer(settings.progress, quiet=request.quiet, verbose=request.verbose, origin=process_started())
        if request.events:
            from rlm_cli.render.events import EventStream

            renderer = EventStream(renderer)
        with stop_signals_interrupt():
            result = execute(request, settings, status.after(renderer.handle), status.show)
    except BaseException as error:  # every failure becomes a result: --json must still print one object
        if isinstance(error, SystemExit):
            raise
        result = failed_result(result, error, debug=request.debug)
    _redact(result)
    erase_early()  # the settings never resolved: the early line has no taker
    if status is not None:
        status.clear()
    if renderer is not None:
        renderer.close(result)
    try:
        print_result(result, as_json=request.json_output or request.events, quiet=request.quiet, raw=request.raw)
    except BrokenPipeError:  # `rlm ask ... | head`: the reader left, which is no error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if settings is not None:
        from rlm_cli.warm.client import keep_warm

        keep_warm(settings.warm, wanted=warm_given or sys.stderr.isatty())
    return result.exit_code


def what_is_asked(
    arguments: list[str], paths_from: str | None, continue_run: str | None, settings: Settings, stdin_is_tty: bool,
    *, piped_input: bool,
) -> tuple[Continuation | None, list[str], str]:
    """The run a follow-up continues (None for a fresh question), the sources to read and the question."""
    if continue_run:
        from rlm_cli.followup import load, sources_and_question
        from rlm_cli.trace import runs_dir

        continuation = load(runs_dir(settings), continue_run)
        return (continuation, *sources_and_question(continuation, arguments, stdin_is_tty, paths_from))
    return (None, *split_sources(arguments, paths_from, stdin_is_tty, piped_input=piped_input))


def execute(request: RunRequest, settings: Settings, emit: Emit, stage: Callable[[str], None] = lambda text: None) -> RunResult:
    """One run from sources to answer. Failures inside the run come back in the RunResult.

    `stage` hears what the run is doing before its first event (connecting to the model).
    """
    stdin = request.stdin or sys.stdin.buffer
    stdin_is_tty = request.stdin is None and sys.stdin.isatty()
    continuation, sources, question = what_is_asked(
        request.arguments, request.paths_from, request.continue_run, settings, stdin_is_tty, piped_input=request.piped_input,
    )
    from rlm_cli.keys import load_dotenv

    load_dotenv(settings.dotenv)  # before the trace opens: its redaction reads the environment
    if settings.router is not None:  # likewise: it names the variables that hold its deployments' keys
        from rlm_cli.deployments import RouterConfig

        RouterConfig.load(settings.router)
    from rlm_cli.ingest import IngestOptions, ingest
    from rlm_cli.llm import quiet_litellm

    run_id = new_run_id()
    result = RunResult(model=settings.model, sub_model=settings.effective_sub_model, depth=settings.depth, run_id=run_id)
    with quiet_litellm(), tempfile.TemporaryDirectory(prefix="rlm-") as spool, _trace(request, settings, run_id, emit) as (emit, trace_path):
        result.trace = trace_path
        clock = RunClock(run_id, emit)
        session = RunSession(settings, clock.emit)

        def run() -> RunOutcome:
            session.llm.check_keys([settings.model, settings.effective_sub_model])  # no key: fail in a blink
            warm_up_litellm()
            options = IngestOptions.from_settings(settings)
            ingested = ingest(sources, options, spool_dir=Path(spool), paths_from=request.paths_from, stdin=stdin, reuse=_ingest_cache(settings))
            result.input = ingested.summary()
            if continuation is not None:
                from rlm_cli.followup import check_input

                check_input(continuation, result.input)
            notes = _skipped_notes(ingested, sources, request.verbose) + _reused_notes(ingested)
            stage(f"connecting to {settings.model}")
            return session.run_root(run_id, question, ingested, sources, notes, continuation)

        _settle(result, session, run, request.debug)
    if result.trace and not Path(result.trace).exists():
        result.trace = None  # the run ended before its first event: no trace was kept
    result.elapsed_s = clock.elapsed_s()
    return result


def execute_in(
    request: RunRequest, settings: Settings, emit: Emit, question: str, ingested: IngestResult,
    sources: list[str], shared: SharedRepl, continuation: Continuation | None,
) -> RunResult:
    """One question of a chat session, run in its REPL on its loaded input, recorded as any run."""
    run_id = new_run_id()
    result = RunResult(model=settings.model, sub_model=settings.effective_sub_model, depth=settings.depth, run_id=run_id)
    result.input = ingested.summary()
    started = time.monotonic()
    from rlm_cli.llm import quiet_litellm

    with quiet_litellm(), _trace(request, settings, run_id, emit) as (emit, trace_path):
        result.trace = trace_path
        session = RunSession(settings, emit)
        _settle(result, session, lambda: session.run_root(run_id, question, ingested, sources, [], continuation, shared), request.debug)
    result.elapsed_s = time.monotonic() - started
    return result


def _settle(result: RunResult, session: RunSession, run: Callable[[], RunOutcome], debug: bool) -> None:
    """Run the root run and record in `result` how it ended: the answer, or the failure."""
    try:
        outcome = run()
    except KeyboardInterrupt as interrupt:
        failed_result(result, interrupt)
        if session.interrupted is not None:
            result.answer, result.iterations = session.interrupted.answer, session.interrupted.iterations
    except RlmError as error:  # before the loop ran: keys, input, sandbox start-up
        failed_result(result, error)
    else:
        if outcome.failure is not None and should_reraise(outcome.failure, debug):
            raise outcome.failure  # --debug: show where the bug is
        result.answer, result.ready, result.iterations = outcome.answer, outcome.ready, outcome.iterations
        _stopped(result, outcome.stopped_by, outcome.failure, outcome.error)
    finally:
        _fill_usage(result, session)
        result.concurrency = session.gate.trace().to_dict()
        if session.citations is not None:
            result.citations = [item.to_json_dict() for item in session.citations.citations]


class RunClock:
    """One elapsed time per run, counted from process start: the root RunFinished carries it, and
    the result (the summary, `--json`) repeats it, so the tree, the trace and `rlm show` agree."""

    def __init__(self, run_id: str, emit: Emit) -> None:
        self.run_id = run_id
        self.forward = emit
        self.finished: float | None = None

    def emit(self, event: Event) -> None:
        """Pass the event on, the root run's end stamped with the time since process start."""
        if isinstance(event, RunFinished) and event.run_id == self.run_id:
            self.finished = elapsed()
            event = dataclasses.replace(event, elapsed_s=self.finished)
        self.forward(event)

    def elapsed_s(self) -> float:
        """The run's elapsed time: as its RunFinished said, else (it never got that far) until now."""
        return self.finished if self.finished is not None else elapsed()


class RunSession:
    """The shared pieces of a run tree: the LLM client, the concurrency gate, child runs."""

    def __init__(self, settings: Settings, emit: Emit, *, replay: bool = False) -> None:
        """`replay`: the root model's calls are answered from the response cache too (a run
        repeated to rebuild its state); otherwise only sub-calls are, and root replies are kept."""
        from rlm_cli.failures import Failures
        from rlm_cli.llm import LLMClient
        from rlm_cli.sandbox.libraries import available_libraries

        self.settings = settings
        self.emit = emit
        self.llm = LLMClient.from_settings(settings)
        self.root_llm, self.sub_llm = _models(self.llm, settings, replay=replay)
        self.failures = Failures()  # one failure policy for the whole run tree
        self.gate = AdaptiveLimit(settings.concurrency)  # sub-call requests in flight, fewer after 429s
        self.libraries = tuple(available_libraries())
        self.interrupted: RunOutcome | None = None  # the root run's outcome at Ctrl-C, once it had started
        self.root_budget: Budget | None = None
        self.ids = itertools.count(1)  # sub-call and batch numbers, unique in the run tree
        self.citations: CitationReview | None = None  # the root run's check, when citations are checked

    def run_root(
        self, run_id: str, question: str, ingested: IngestResult, sources: list[str], notes: list[tuple[str, str]],
        continuation: Continuation | None = None, shared: SharedRepl | None = None,
    ) -> RunOutcome:
        """The top-level run; `notes` (message, level) are shown once it has started.

        `continuation`: the run this one follows up; `shared`: the REPL of a chat session to run in.
        """
        settings = self.settings
        budget = Budget(limits_for(settings))
        self.root_budget = budget
        maximum = self.gate.maximum
        self.gate.on_change = lambda limit, why: self.emit(ConcurrencyChanged(run_id, limit=limit, maximum=maximum, reason=why))
        return self._run(run_id, None, None, question, ingested, sources, budget, notes, continuation=continuation, shared=shared)

    def _run(
        self, run_id: str, parent_run_id: str | None, parent_call_id: str | None, question: str,
        ingested: IngestResult, sources: list[str], budget: Budget, notes: Sequence[tuple[str, str]] = (),
        parent_stop: Stop | None = None, continuation: Continuation | None = None, shared: SharedRepl | None = None,
    ) -> RunOutcome:
        from rlm_cli.broker import Broker, SubcallSettings
        from rlm_cli.chat import Stop
        from rlm_cli.engine import Engine
        from rlm_cli.followup import keep_variables, restore
        from rlm_cli.sandbox import Sandbox
        from rlm_cli.sandbox.relay import Relay

        settings = self.settings
        stop = parent_stop.child() if parent_stop else Stop()  # a child run ends with its parent
        # The worker starts (and a follow-up's variables load) while LiteLLM is still being imported:
        # the broker, which needs LiteLLM's model facts, joins through the relay before any cell runs.
        relay = shared.relay if shared else Relay()
        sandbox = shared.sandbox if shared else Sandbox(self.sandbox_config(ingested), relay)
        if continuation is not None:
            sandbox.preset_answer(continuation.answer)
        with sandbox if shared is None else contextlib.nullcontext(sandbox):
            lineage = None
            if parent_run_id is None:
                notes = [*_sandbox_notes(sandbox.mode, settings.sandbox), *notes] if not (shared and shared.questions) else list(notes)
                lineage = restore(sandbox, sources, continuation, shared)
            config = self.engine_config(budget.depth)
            broker = Broker(
                run_id=run_id, llm=self.sub_llm, budget=budget, gate=self.gate, concurrency=settings.concurrency,
                emit=self.emit, corpus=ingested.corpus, failures=self.failures, stop=stop, ids=self.ids,
                settings=SubcallSettings(config.sub_model, config.sub_window_tokens, budget.depth < settings.depth),
                child_runner=lambda prompt, context, child_budget, call_id: self._child(run_id, call_id, prompt, context, ingested, child_budget, stop),
            )
            review = self._citation_review(run_id, ingested) if parent_run_id is None else None
            engine = Engine(
                llm=self.root_llm, config=config, budget=budget, emit=self.emit, run_id=run_id, parent_run_id=parent_run_id,
                parent_call_id=parent_call_id, failures=self.failures, stop=stop, review=review,
            )
            relay.target = broker
            try:
                outcome = engine.run(question, sandbox, description=ingested.corpus.describe(), input_summary=ingested.summary(), sources=sources, notes=list(notes), mapped=ingested.corpus.mapped, lineage=lineage)
                if parent_run_id is None:
                    keep_variables(sandbox, settings, run_id)
                return outcome
            except KeyboardInterrupt:
                if parent_run_id is None:
                    self.interrupted = engine.interrupted
                raise
            finally:
                broker.stop()
                if shared is not None:
                    shared.relay.target = None

    def _citation_review(self, run_id: str, ingested: IngestResult) -> CitationReview | None:
        """The root run's citation check (None with --no-cite); its findings end up in the result."""
        if not self.settings.cite:
            return None
        from rlm_cli.citations import CitationReview

        self.citations = CitationReview(ingested.corpus, self.emit, run_id)
        return self.citations

    def _child(
        self, parent_run_id: str, call_id: str, prompt: str, context: str | None, ingested: IngestResult,
        budget: Budget, stop: Stop,
    ) -> tuple[str, str]:
        """An rlm_query child run over `context` (or the parent's input); returns (answer, run id)."""
        from rlm_cli.ingest import IngestOptions, ingest

        run_id = new_run_id()
        if context is None:
            outcome = self._run(run_id, parent_run_id, call_id, prompt, ingested, ["(parent input)"], budget, parent_stop=stop)
            return _child_answer(outcome), run_id
        with tempfile.TemporaryDirectory(prefix="rlm-child-") as spool:
            source = Path(spool) / "context.txt"
            source.write_text(context, encoding="utf-8")
            child_input = ingest([str(source)], IngestOptions(), spool_dir=Path(spool))
            outcome = self._run(run_id, parent_run_id, call_id, prompt, child_input, ["(rlm_query context)"], budget, parent_stop=stop)
        return _child_answer(outcome), run_id

    def engine_config(self, depth: int) -> EngineConfig:
        """The models and sizes of a run at `depth` (1: the root run)."""
        from rlm_cli.engine import EngineConfig

        settings = self.settings
        sub_model = settings.effective_sub_model
        # A child RLM is a sub-call: the sub-model drives it, and its own sub-calls.
        model = settings.model if depth == 1 else sub_model
        return EngineConfig(
            model=model, sub_model=sub_model, max_depth=settings.depth, output_limit=settings.output_limit,
            root_window_tokens=self.llm.context_window(model, settings.root_context_window),
            sub_window_tokens=self.llm.context_window(sub_model, settings.sub_context_window),
            concurrency=settings.concurrency, libraries=self.libraries,
            instruction=settings.system if depth == 1 else None, cite=settings.cite and depth == 1,
        )

    def sandbox_config(self, ingested: IngestResult) -> SandboxConfig:
        """The REPL's settings for a run on `ingested`."""
        from rlm_cli.sandbox import SandboxConfig

        settings = self.settings
        return SandboxConfig(
            mode=settings.sandbox, manifest_path=ingested.manifest_path,
            readable_paths=tuple(Path(p) for p in ingested.roots),
            cell_timeout=settings.cell_timeout, output_limit=settings.output_limit,
            allow_net=settings.allow_net, allow_write=tuple(Path(p).resolve() for p in settings.allow_write),
        )


def _models(llm: LLMClient, settings: Settings, *, replay: bool) -> tuple[ChatModel, ChatModel]:
    """The root model (its repeated prefix marked for the provider's prompt cache) and the
    sub-model, both through the response cache unless it is off (`cache = false`)."""
    from rlm_cli.prompt_cache import PromptCaching

    root: ChatModel = PromptCaching(llm, llm.caches_prompts)
    if not settings.cache:
        return root, llm
    from rlm_cli.response_cache import CachedModel, response_cache
    from rlm_cli.settings import cache_dir

    cache = response_cache(cache_dir(settings), settings.cache_size)
    return CachedModel(root, cache, llm.call_identity, read=replay), CachedModel(llm, cache, llm.call_identity)


def limits_for(settings: Settings) -> Limits:
    """The limits of a top-level run; its --timeout starts now."""
    deadline = time.monotonic() + settings.timeout if settings.timeout else None
    return Limits(settings.max_iterations, settings.max_sub_calls, settings.max_cost, settings.max_tokens, deadline)


def _naming(sources: list[str], paths_from: str | None) -> str:
    """What a run reads, in a few words: `small.log`, `stdin`, `3 sources` (no SOURCE: stdin)."""
    named = ["stdin" if source == "-" else source for source in sources or ([] if paths_from else ["-"])]
    if paths_from:
        named.append(f"the paths in {'stdin' if paths_from == '-' else paths_from}")
    return without_credentials(named[0]) if len(named) == 1 else f"{len(named)} sources"


def warm_up_litellm() -> None:
    """Import LiteLLM (seconds) on a second core while the input is read and the worker starts."""
    from rlm_cli.llm import litellm_module

    threading.Thread(target=litellm_module, name="rlm-import-litellm", daemon=True).start()


def _sandbox_notes(mode: str, requested: str) -> list[tuple[str, str]]:
    """What the user should know about the isolation in use, as (message, level)."""
    from rlm_cli.sandbox.landlock import abi_version

    if mode == "none":
        return [("--sandbox none: the model's code runs inside rlm itself, unisolated (for debugging only)", "warning")]
    if mode != "process":
        return []
    fallback = "bubblewrap is not usable here, so " if requested == "auto" else ""
    if abi_version() == 0:
        return [(f"sandbox: {fallback}process mode without Landlock (the kernel has none): resource limits "
                 "and an audit hook only, a guard, not a boundary; install bubblewrap for isolation", "warning")]
    message = (f"sandbox: {fallback}process mode: Landlock confines the REPL to its inputs and scratch (no exec, "
               "no signals or TCP out); bubblewrap (apt install bubblewrap) adds namespaces")
    return [(message, "warning" if fallback else "info")]


def _child_answer(outcome: RunOutcome) -> str:
    """The child's answer for its parent's rlm_query; a child that failed for good raises."""
    if outcome.failure is not None:
        raise outcome.failure
    if outcome.ready:
        return outcome.answer
    note = f"[the child run stopped ({outcome.stopped_by}) before its answer was ready; partial answer follows]\n"
    return note + outcome.answer


def new_run_id() -> str:
    """A sortable, unique run id: UTC time plus random hex."""
    return time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]


@contextmanager
def _trace(request: RunRequest, settings: Settings, run_id: str, emit: Emit) -> Iterator[tuple[Emit, str | None]]:
    """Fan events out to the trace file(s) as well as the renderer."""
    from rlm_cli.trace import TraceWriter, default_trace_path

    paths: list[Path] = []
    if request.trace_path:
        paths.append(request.trace_path)
    if settings.trace:
        paths.append(default_trace_path(settings, run_id))
    lock = threading.Lock()
    with ExitStack() as stack:
        writers = []
        for path in paths:
            writer = TraceWriter(path)
            stack.callback(writer.discard_if_empty)
            stack.callback(writer.close)
            writers.append(writer)

        def fanout(event: Event) -> None:
            with lock:  # one order for the trace and every renderer (--events repeats the trace's)
                for writer in writers:
                    writer.handle(event)
                emit(event)

        yield fanout, str(paths[0]) if paths else None


def _ingest_cache(settings: Settings) -> Path | None:
    """The ingest cache's directory (None with `cache = false`: every file is read again)."""
    from rlm_cli.ingest.reuse import ingest_cache
    from rlm_cli.settings import cache_dir

    return ingest_cache(cache_dir(settings)) if settings.cache else None


def _reused_notes(ingested: IngestResult) -> list[tuple[str, str]]:
    """Say how many files were taken from the ingest cache, unread."""
    if not ingested.reused:
        return []
    files = "file" if ingested.reused == 1 else "files"
    return [(f"reused ingest of {ingested.reused:,} {files} (unchanged since an earlier run)", "info")]


def _skipped_notes(ingested: IngestResult, sources: list[str], verbose: bool) -> list[tuple[str, str]]:
    """Skipped files are listed with -v; a source the user named and we could not read, always."""
    named = set(sources)
    return [
        (f"skipped {skipped.path}: {skipped.reason}", "warning" if skipped.path in named else "info")
        for skipped in ingested.skipped
        if verbose or skipped.path in named
    ]


def _redact(result: RunResult) -> None:
    """No key value reaches stdout or --json (a provider may quote one in an error)."""
    from rlm_cli.trace import Redactor

    redact = Redactor()
    result.answer, result.error, result.hint = redact(result.answer), result.error and redact(result.error), result.hint and redact(result.hint)
    result.citations = [{key: redact(value) if isinstance(value, str) else value for key, value in item.items()} for item in result.citations]


def _fill_usage(result: RunResult, session: RunSession) -> None:
    budget = session.root_budget
    if budget is not None:
        result.usage = budget.snapshot()
        result.sub_calls = budget.sub_calls


def failed_result(result: RunResult, error: BaseException, *, debug: bool = False) -> RunResult:
    """A result for a run that could not go on: error set, the documented exit code (with
    `debug`, an internal error is raised instead)."""
    if should_reraise(error, debug):
        raise error
    return _stopped(result, stop_for(error), error, error_message(error))


def _stopped(result: RunResult, stopped_by: str, failure: BaseException | None, error: str | None) -> RunResult:
    """Record how the run stopped: the one place a result gets its exit code and hint."""
    result.stopped_by, result.error = stopped_by, error
    result.hint = getattr(failure, "hint", None)
    result.exit_code = int(exit_code_for_stop(stopped_by, failure))
    return result
