"""`rlm chat`: one input loaded once, one REPL worker, questions in turn at a prompt. Each question
is a run of its own (recorded, listed by `rlm runs` with its session) that follows up the one
before in the same REPL. Never imports typer.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rlm_cli.errors import InputError
from rlm_cli.events import Event
from rlm_cli.followup import MAX_EARLIER_RUNS, Continuation, absolute_sources, saved_snapshot
from rlm_cli.result import RunResult
from rlm_cli.runner import RunRequest, RunSession, execute_in, new_run_id, warm_up_litellm
from rlm_cli.settings import Settings, resolve, state_dir
from rlm_cli.trace import runs_dir

if TYPE_CHECKING:
    from rlm_cli.ingest import IngestResult
    from rlm_cli.sandbox.relay import SharedRepl

PROMPT = "rlm> "
HISTORY_FILE = "chat_history"  # readline history, in the state directory
HISTORY_LINES = 1000


def chat(sources: list[str], flags: dict[str, Any], request: RunRequest) -> int:
    """Load `sources`, then answer questions from the terminal until Ctrl-D; the exit code."""
    if not sources:
        raise InputError("rlm chat needs a SOURCE to talk about", hint="rlm chat ./repo")
    if "-" in sources:
        raise InputError("rlm chat reads its questions from stdin, so it cannot read the input there too",
                         hint='save the input to a file first: cat big.log > big.txt && rlm chat big.txt')
    settings = resolve(flags).settings
    from rlm_cli.ingest import IngestOptions, ingest
    from rlm_cli.keys import load_dotenv
    from rlm_cli.llm import quiet_litellm
    from rlm_cli.sandbox import Sandbox
    from rlm_cli.sandbox.relay import Relay, SharedRepl

    load_dotenv(settings.dotenv)
    with tempfile.TemporaryDirectory(prefix="rlm-chat-") as spool, _readline(settings):
        first = RunSession(settings, lambda event: None)
        with quiet_litellm():
            first.llm.check_keys([settings.model, settings.effective_sub_model])
        warm_up_litellm()  # while the input is read and the first question typed
        ingested = ingest(sources, IngestOptions.from_settings(settings), spool_dir=Path(spool))
        config = dataclasses.replace(first.sandbox_config(ingested), keep_after_interrupt=True)
        relay = Relay()
        with Sandbox(config, relay) as sandbox:
            shared = SharedRepl(sandbox, relay, session_id=new_run_id())
            _say(f"rlm: chat {shared.session_id} on {ingested.summary()['documents']} documents; Ctrl-C stops a question, Ctrl-D ends")
            continuation: Continuation | None = None
            while (question := _ask()) is not None:
                if question:
                    continuation = _answer(settings, request, question, ingested, sources, shared, continuation)
    return 0


def _ask() -> str | None:
    """The next question from the prompt ("" for none); None at end of input (Ctrl-D)."""
    try:
        return input(PROMPT).strip()
    except EOFError:
        sys.stderr.write("\n")
        return None
    except KeyboardInterrupt:  # Ctrl-C at the prompt: a fresh prompt, as a shell does
        sys.stderr.write("\n")
        return ""


def _answer(
    settings: Settings, request: RunRequest, question: str, ingested: IngestResult, sources: list[str],
    shared: SharedRepl, continuation: Continuation | None,
) -> Continuation | None:
    """One question as a run in the shared REPL; the continuation the next question follows up."""
    from rlm_cli.render import make_renderer
    from rlm_cli.render.answer import print_result

    events: list[Event] = []
    renderer = make_renderer(settings.progress, quiet=request.quiet, verbose=request.verbose)

    def emit(event: Event) -> None:
        events.append(event)
        renderer.handle(event)

    result = RunResult()
    try:
        result = execute_in(request, settings, emit, question, ingested, sources, shared, continuation)
    except KeyboardInterrupt:  # a second Ctrl-C, between the run's own parts
        result.stopped_by, result.error = "interrupt", "interrupted"
    renderer.close(result)
    print_result(result, as_json=False, quiet=request.quiet, raw=request.raw)
    shared.questions += 1
    shared.worker = shared.sandbox.worker
    if not result.run_id:
        return continuation
    mine = [event for event in events if event.run_id == result.run_id]
    earlier = continuation.conversation if continuation else []
    return Continuation(
        continues=result.run_id, answer=result.answer, conversation=[*earlier, mine][-MAX_EARLIER_RUNS:],
        sources=sources, source_paths=absolute_sources(sources), input=dict(result.input),
        snapshot=saved_snapshot(runs_dir(settings), result.run_id),  # for a worker that replaces this one
        chat_session=shared.session_id,
    )


def _say(text: str) -> None:
    from rlm_cli.termsafe import visible

    sys.stderr.write(visible(text) + "\n")


@contextlib.contextmanager
def _readline(settings: Settings) -> Iterator[None]:
    """Line editing and history for the prompt, the history kept in the state directory."""
    try:
        import readline
    except ImportError:  # no readline on this platform: plain input() still works
        yield
        return
    path = state_dir(settings) / HISTORY_FILE
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(HISTORY_LINES)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)
