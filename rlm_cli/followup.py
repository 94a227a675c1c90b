"""Follow-up questions: the run a question continues (its sources, answer, variables and
conversation, read back from its trace), and what the root model is told about it.

Imports `events`, `engine` (its Lineage), `history`, `trace`, `prompts` and `units` (no Rich,
no LiteLLM); the sandbox only for its type. The REPL
snapshot is opaque here: it is copied, never unpickled (the worker loads it).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rlm_cli import events as ev
from rlm_cli import prompts
from rlm_cli.engine import Lineage
from rlm_cli.errors import InputError
from rlm_cli.history import find_run
from rlm_cli.settings import Settings
from rlm_cli.trace import read_trace, runs_dir
from rlm_cli.units import clip

if TYPE_CHECKING:
    from rlm_cli.sandbox import Sandbox
    from rlm_cli.sandbox.relay import SharedRepl

LAST = "last"  # `-c`: the most recent run
MAX_EARLIER_RUNS = 5  # questions of the conversation told to the model, newest kept
HISTORY_CHARS = 12_000  # the whole earlier-conversation block, at most
ANSWER_CHARS = 2_000  # each earlier answer in it
TURN_CHARS = 160  # each turn's line in it
TURNS_SHOWN = 12  # turns per earlier question
SNAPSHOT = "variables.pickle"
INDEX = "index.json"
NO_SNAPSHOT = "(every variable): not kept (the run did not reach its end, or its snapshot was removed under snapshots_size)"


@dataclass
class Continuation:
    """What a follow-up question carries over from the run it continues."""

    continues: str  # the run id
    answer: str  # its answer (the REPL's `answer["content"]` starts from it)
    conversation: list[list[ev.Event]]  # each earlier question's root-run events, oldest first
    sources: list[str] = field(default_factory=list)  # as typed then
    source_paths: list[str] = field(default_factory=list)  # made absolute ("-" for stdin)
    input: dict[str, int] = field(default_factory=dict)  # documents, bytes, skipped then
    snapshot: Path | None = None  # variables for a new worker (None: the same worker goes on)
    lost: list[str] = field(default_factory=list)  # "name: why" for variables the snapshot lacks
    chat_session: str | None = None


def absolute_sources(sources: list[str]) -> list[str]:
    """The sources as a later run in another directory can read them again (stdin stays `-`, a URL
    stays as it is)."""
    from rlm_cli.ingest.remote import is_remote

    return [source if source == "-" or is_remote(source) else os.path.abspath(source) for source in sources]


def load(directory: Path, key: str) -> Continuation:
    """The run `key` names (any unique part of its id; `last`: the newest) as a Continuation."""
    try:
        path = find_run(directory, key)
    except InputError as error:
        if key == LAST:
            raise InputError("-c: there is no earlier run to continue", hint='ask a first question: rlm ask ./repo "question"') from None
        raise InputError(f"--continue-run: {error.message}", hint=error.hint) from None
    conversation = _conversation(directory, read_trace(path))
    start = _start(conversation[-1])
    if start.sources == ["(parent input)"] or start.parent_run_id is not None:
        raise InputError(f"run {start.run_id} is a child run; continue its root run")
    finished = next((e for e in reversed(conversation[-1]) if isinstance(e, ev.RunFinished)), None)
    answers = [e for e in conversation[-1] if isinstance(e, ev.AnswerUpdated)]
    answer = finished.answer if finished else answers[-1].content if answers else ""
    snapshot = saved_snapshot(directory, start.run_id)
    return Continuation(
        continues=start.run_id, answer=answer, conversation=conversation, sources=list(start.sources),
        source_paths=list(start.source_paths) or list(start.sources), input=dict(start.input),
        snapshot=snapshot,
        lost=_saved_lost(snapshot_dir(directory, start.run_id)) if snapshot else [NO_SNAPSHOT], chat_session=start.chat_session,
    )


def sources_and_question(
    continuation: Continuation, arguments: list[str], stdin_is_tty: bool, paths_from: str | None = None,
) -> tuple[list[str], str]:
    """What a follow-up reads and asks: `[SOURCE...] QUESTION`, the sources (if given) the earlier
    run's own; they are read again from where that run found them."""
    if not arguments or not arguments[-1].strip():
        raise InputError("missing QUESTION", hint='rlm ask -c "your follow-up question"')
    if paths_from is not None:
        raise InputError("a follow-up reads the input of the run it continues: --paths-from does not go with it",
                         hint=f'rlm ask -c "{arguments[-1]}"')
    *given, question = arguments
    then = continuation.source_paths
    if given and absolute_sources(given) != then:
        raise InputError(
            f"run {continuation.continues} read {' '.join(continuation.sources)}, not {' '.join(given)}: "
            "a follow-up keeps the input of the run it continues",
            hint=f'leave the sources out (rlm ask -c "{question}"), or ask afresh: rlm ask {" ".join(given)} "{question}"',
        )
    if "-" in then and stdin_is_tty:
        raise InputError(
            f"run {continuation.continues} read its input from stdin: pipe the same input in again",
            hint=f'cat big.log | rlm ask -c "{question}"',
        )
    for source in then:
        if source != "-" and not os.path.lexists(source) and not glob.glob(source, recursive=True):
            raise InputError(
                f"cannot continue run {continuation.continues}: its source {source} is gone",
                hint=f'ask afresh: rlm ask SOURCE... "{question}"',
            )
    return then, question


def check_input(continuation: Continuation, now: dict[str, int]) -> None:
    """Refuse a follow-up whose input no longer is what the earlier run read (documents, bytes)."""
    then = continuation.input
    keys = ("documents", "bytes")
    if not then or all(then.get(key) == now.get(key) for key in keys):
        return
    raise InputError(
        f"the input of run {continuation.continues} changed since it ran "
        f"({then.get('documents')} documents, {then.get('bytes')} bytes then; "
        f"{now.get('documents')} documents, {now.get('bytes')} bytes now): its variables and answer no longer fit it",
        hint="ask afresh without -c, on the input as it is now",
    )


def restore(sandbox: Sandbox, sources: list[str], continuation: Continuation | None, shared: SharedRepl | None) -> Lineage:
    """A root run's links and, for a follow-up, its earlier conversation. A new REPL first loads
    the earlier run's variables (the worker unpickles them), and the model hears what came back.
    `shared`: the chat session's REPL, which keeps its variables while its worker lives."""
    session = shared.session_id if shared else None
    if continuation is None:
        return Lineage(absolute_sources(sources), chat_session=session)
    # A chat's REPL goes on as it was, unless Ctrl-C or a crash replaced its worker since.
    same_repl = shared is not None and shared.worker != 0 and sandbox.worker == shared.worker
    kept: list[str] | None = None if same_repl else []  # None: every variable is still there
    lost = [] if same_repl else list(continuation.lost)
    if continuation.snapshot is not None and not same_repl:
        stored = sandbox.load_variables(continuation.snapshot)
        kept = stored.kept if stored else []
        lost += stored.lost if stored else ["(every variable): the REPL did not load the snapshot in time"]
    return Lineage(absolute_sources(sources), continuation.continues, session, earlier_block(continuation, kept, lost))


def keep_variables(sandbox: Sandbox, settings: Settings, run_id: str) -> None:
    """Snapshot a recorded run's REPL variables next to its trace, for a later follow-up."""
    if not settings.trace:
        return
    directory = runs_dir(settings)
    stored = sandbox.save_variables(snapshot_dir(directory, run_id) / SNAPSHOT)
    if stored is not None:
        write_index(directory, run_id, stored.kept, stored.lost)
    prune_snapshots(directory, settings.snapshots_size)


def prune_snapshots(directory: Path, cap: int) -> list[Path]:
    """Remove the oldest runs' variable snapshots until all of them hold at most `cap` bytes (the
    newest is always kept); the removed folders. A follow-up of such a run is told its variables
    are gone."""
    folders = []
    for state in directory.glob("*.state"):
        try:
            files = [entry.stat(follow_symlinks=False) for entry in os.scandir(state) if entry.is_file(follow_symlinks=False)]
            folders.append((state.stat().st_mtime, sum(info.st_size for info in files), state))
        except OSError:
            continue
    folders.sort(reverse=True)
    total, removed = 0, []
    for index, (_, size, state) in enumerate(folders):
        total += size
        if total > cap and index > 0:
            shutil.rmtree(state, ignore_errors=True)
            removed.append(state)
    return removed


def snapshot_dir(directory: Path, run_id: str) -> Path:
    """Where a run's REPL variables are kept: `<runs dir>/<run id>.state/`."""
    return directory / f"{run_id}.state"


def saved_snapshot(directory: Path, run_id: str) -> Path | None:
    """The snapshot of a run's variables, when it kept one."""
    path = snapshot_dir(directory, run_id) / SNAPSHOT
    return path if path.is_file() else None


def write_index(directory: Path, run_id: str, kept: list[str], lost: list[str]) -> None:
    """Record which variables a run's snapshot holds and which it could not keep (host-written JSON)."""
    state = snapshot_dir(directory, run_id)
    state.mkdir(parents=True, exist_ok=True)
    (state / INDEX).write_text(json.dumps({"kept": kept, "lost": lost}), encoding="utf-8")


def _saved_lost(state: Path) -> list[str]:
    try:
        data = json.loads((state / INDEX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    lost = data.get("lost") if isinstance(data, dict) else None
    return [str(item) for item in lost] if isinstance(lost, list) else []


def _start(events: list[ev.Event]) -> ev.RunStarted:
    start = next((e for e in events if isinstance(e, ev.RunStarted)), None)
    if start is None:
        raise InputError("the trace holds no RunStarted: not a run that can be continued")
    return start


def _conversation(directory: Path, events: list[ev.Event]) -> list[list[ev.Event]]:
    """The root-run events of this run and of the runs it followed up, oldest first."""
    chain: list[list[ev.Event]] = []
    while len(chain) < MAX_EARLIER_RUNS:
        start = _start(events)
        chain.append([e for e in events if e.run_id == start.run_id])
        if start.continues is None:
            break
        try:
            events = read_trace(find_run(directory, start.continues))
        except InputError:  # an earlier trace was removed: the conversation starts later
            break
    return chain[::-1]


def earlier_block(continuation: Continuation, kept: list[str] | None, lost: list[str]) -> str:
    """The prompt block telling the root model about the earlier conversation, bounded in size.

    `kept`: the variables restored from the snapshot (None: the same REPL goes on, all kept).
    """
    exchanges = [_exchange(number, events) for number, events in enumerate(continuation.conversation, 1)]
    history = "\n\n".join(exchanges)
    return prompts.earlier_conversation(clip(history, HISTORY_CHARS), kept, lost)


def _exchange(number: int, events: list[ev.Event]) -> str:
    """One earlier question: what was asked, what the turns did, what came of it."""
    start = _start(events)
    finished = next((e for e in reversed(events) if isinstance(e, ev.RunFinished)), None)
    answers = [e for e in events if isinstance(e, ev.AnswerUpdated)]
    answer = finished.answer if finished else answers[-1].content if answers else ""
    how = f"ready ({finished.iterations} turns, {finished.sub_calls} sub-calls)" if finished and finished.ready else (
        f"partial: stopped by {finished.stopped_by}" if finished else "partial: the run was cut short")
    turns = _turns(events)
    return (f"Question {number}: {clip(start.question, 500)}\n"
            f"What was done:\n{turns or '(no code ran)'}\n"
            f"Answer ({how}):\n{clip(answer, ANSWER_CHARS) or '(empty)'}")


def _turns(events: list[ev.Event]) -> str:
    """One line per cell: its first line of code, and what came of it."""
    lines: list[str] = []
    code: dict[tuple[int, int], str] = {}
    for event in events:
        if isinstance(event, ev.CellStarted):
            code[(event.turn, event.cell)] = event.code
        elif isinstance(event, ev.CellExecuted):
            first = next((line.strip() for line in code.get((event.turn, event.cell), "").splitlines() if line.strip() and not line.strip().startswith("#")), "")
            outcome = f"error: {event.error.strip().splitlines()[-1]}" if event.error else f"{event.output_chars:,} characters of output"
            lines.append(clip(f"- turn {event.turn}: `{first}` ... -> {outcome}", TURN_CHARS))
    if len(lines) > TURNS_SHOWN:
        lines = [*lines[:TURNS_SHOWN // 2], f"- ({len(lines) - TURNS_SHOWN} more cells)", *lines[-TURNS_SHOWN // 2:]]
    return "\n".join(lines)
