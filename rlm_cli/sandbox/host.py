"""Sandbox: the host's handle on the REPL. Starts the worker in the chosen mode, runs cells,
restarts a worker that died (restoring `context`, the contract names, set variables and the
answer), and turns every outcome into a CellResult.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from rlm_cli.errors import SandboxError
from rlm_cli.sandbox import launch, protocol, scratch, tasks
from rlm_cli.sandbox.calls import Broker
from rlm_cli.sandbox.config import SandboxConfig
from rlm_cli.sandbox.contract import RESERVED
from rlm_cli.sandbox.inprocess import InProcessSession
from rlm_cli.sandbox.messages import Answer, Init, Load, PolicySpec, Result, Save, Stored
from rlm_cli.sandbox.repl import load_context
from rlm_cli.sandbox.result import CellResult
from rlm_cli.sandbox.session import Died, WorkerSession
from rlm_cli.units import nbytes

_RESTART_COST = ("`context` and the REPL functions are back, but your variables were lost "
                 "(recompute what you need); `answer` was kept.")
MAX_GRACE = 2.0  # seconds between the worker's own interrupt and the kill
INTERRUPT_WAIT = 1.0  # seconds a cell gets to stop on Ctrl-C before the worker is killed
# seconds within which the scratch is not walked again: a running cell is walked only every
# second anyway, so skipping a walk after quick cells in a row adds nothing a writer could use
SCRATCH_RECHECK = 0.05
SNAPSHOT_NAME = ".rlm-variables.pickle"  # in the scratch directory, where the worker may write
SNAPSHOT_VARIABLE_BYTES = 64 * 1024**2  # a variable pickled larger is not kept
SNAPSHOT_TOTAL_BYTES = 256 * 1024**2
SNAPSHOT_TIMEOUT = 60.0  # seconds the worker gets to pickle or unpickle its variables


class Sandbox:
    """The REPL the root model's code runs in. Use as a context manager, or call close()."""

    def __init__(self, config: SandboxConfig, broker: Broker) -> None:
        self.config = config
        self._broker = broker
        self._mode = config.mode
        self._session: WorkerSession | InProcessSession | None = None
        self._scratch: Path | None = None
        self._answer = Answer()
        self._variables: dict[str, Any] = {}
        self._failures = 0
        self._timeout = config.cell_timeout  # the limit of the cell that ran last
        self._scratch_walked = float("-inf")  # when the scratch was last measured (monotonic)
        self._scratch_over = False  # what that measure found
        self._spawned = 0  # workers started so far

    @property
    def mode(self) -> str:
        """The mode in use once started ("bwrap", "process" or "none"); before, the one asked for."""
        return self._mode

    @property
    def answer(self) -> dict[str, Any]:
        """The last known answer, `{"content": str, "ready": bool}`; it survives restarts."""
        return self._answer.as_dict()

    @property
    def worker(self) -> int:
        """Which worker runs now (each one started counts up, so a replaced one has a new number);
        0 when none does."""
        alive = self._session is not None and self._session.ended() is None
        return self._spawned if alive else 0

    @property
    def scratch_dir(self) -> Path | None:
        """The worker's working directory (and $HOME), once started."""
        return self._scratch

    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        """Pick the mode and start the worker; SandboxError when that is impossible."""
        if self._session is not None:
            return
        self._mode = launch.resolve_mode(self.config.mode)
        if self._scratch is None:
            self._scratch = self.config.scratch_dir or Path(tempfile.mkdtemp(prefix="rlm-scratch-"))
            self._scratch.mkdir(parents=True, exist_ok=True)
        try:
            self._session = self._spawn()
        except BaseException:  # `with` does not call __exit__ when __enter__ fails
            self.close()
            raise

    def preset_answer(self, content: str) -> None:
        """Set the REPL's answer to `content`, not ready (a follow-up starts from the last answer)."""
        self._answer = Answer(content, False)
        if self._session is not None:
            self.execute(f'answer["content"], answer["ready"] = {content!r}, False')

    def save_variables(self, target: Path) -> Stored | None:
        """Have the worker pickle its variables, and copy the snapshot to `target` (the host
        never unpickles it); None when no worker runs or it gave no answer."""
        if self._session is None or self._scratch is None or self._session.ended() is not None:
            return None
        inside = self._scratch / SNAPSHOT_NAME
        stored = self._session.store(Save(str(inside), SNAPSHOT_VARIABLE_BYTES, SNAPSHOT_TOTAL_BYTES), SNAPSHOT_TIMEOUT)
        if stored is not None and not _copy_regular(inside, target, SNAPSHOT_TOTAL_BYTES + 1024**2):
            return None
        return stored

    def load_variables(self, source: Path) -> Stored | None:
        """Bind the variables of a snapshot `save_variables` wrote; None when the worker gave no answer."""
        self.start()
        assert self._session is not None and self._scratch is not None
        inside = self._scratch / SNAPSHOT_NAME
        if not _copy_regular(source, inside, SNAPSHOT_TOTAL_BYTES + 1024**2):
            return Stored(kept=[], lost=["(every variable): the snapshot is missing"])
        return self._session.store(Load(str(inside)), SNAPSHOT_TIMEOUT)

    def set_variable(self, name: str, value: Any) -> None:
        """Bind a JSON-able value in the REPL; it is bound again after any restart."""
        if not name.isidentifier() or name in RESERVED:
            raise ValueError(f"cannot set {name!r} in the REPL: not a free variable name")
        json.dumps(value)  # not JSON-able: fail here, not in the channel
        self._variables[name] = value
        if self._session is not None:
            self._session.set_variable(name, value)

    def execute(self, code: str, timeout: float | None = None) -> CellResult:
        """Run one cell within the cell timeout and, when given, `timeout` seconds of wall-clock
        time (a run's time left; sub-calls included).

        Raises SandboxError only when no worker can be kept alive.
        """
        self.start()
        assert self._session is not None
        deadline = None if timeout is None else time.monotonic() + max(0.1, timeout)
        timeout = self.config.cell_timeout if timeout is None else max(0.1, min(timeout, self.config.cell_timeout))
        self._timeout = timeout
        notes = self._replace_ended_worker()
        try:
            outcome = self._session.run(code, timeout, min(MAX_GRACE, timeout), deadline, self._scratch_full)
        except KeyboardInterrupt:
            stopped = False
            try:
                stopped = self._keep_answer_of_interrupted_cell()
            finally:  # even if a second Ctrl-C cuts the wait short
                if not (stopped and self.config.keep_after_interrupt):
                    self.close()
            raise
        except BaseException:  # a broker bug: leave no worker behind
            self.close()
            raise
        notes += self._empty_full_scratch()
        if isinstance(outcome, Died):
            self._failures += 1
            self._session = None
            self._session = self._restart(outcome.reason)
            return self._died_result(outcome, notes)
        self._failures = 0
        self._answer = outcome.answer
        return self._result(outcome, notes)

    def _scratch_full(self) -> str | None:
        """Why the running cell must stop: its scratch directory passed the cap (else None)."""
        limit, now = self.config.scratch_limit, time.monotonic()
        if limit is None or self._scratch is None:
            return None
        if now - self._scratch_walked >= SCRATCH_RECHECK:
            self._scratch_walked, self._scratch_over = now, scratch.over(self._scratch, limit) is not None
        if not self._scratch_over:
            return None
        return f"its working directory passed {nbytes(limit)}, the cap on what it may hold"

    def _empty_full_scratch(self) -> list[str]:
        """A scratch directory past the cap is emptied (the files were the problem); the note says so."""
        reason = self._scratch_full()
        if reason is None:
            return []
        assert self._scratch is not None
        scratch.empty(self._scratch)
        self._scratch_over = False
        return [f"The REPL's {reason}, so every file in it was removed. Keep results in variables, "
                "or write smaller files."]

    def _replace_ended_worker(self) -> list[str]:
        """A worker that ended between cells (say, cut off for a forged message) is replaced
        before the next cell runs; the note tells the model what that cost."""
        assert self._session is not None
        reason = self._session.ended()
        if reason is None:
            return []
        self._failures += 1
        self._session.close()
        self._session = None
        self._session = self._restart(reason)
        return [f"The REPL process ended after the previous cell ({reason}) and a new one was "
                f"started before this cell: {_RESTART_COST}"]

    def _keep_answer_of_interrupted_cell(self) -> bool:
        """On Ctrl-C, give the cell a moment to stop so the answer it set so far is not lost;
        True when it stopped in time."""
        assert self._session is not None
        outcome = self._session.interrupt(INTERRUPT_WAIT)
        if outcome is not None:
            self._answer = outcome.answer
        return outcome is not None

    def close(self) -> None:
        """Stop the worker and everything it started; remove a scratch dir made here."""
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._scratch is not None and self.config.scratch_dir is None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def _spawn(self) -> WorkerSession | InProcessSession:
        assert self._scratch is not None
        self._spawned += 1
        config, scratch = self.config, str(self._scratch)
        init = Init(
            manifest=str(config.manifest_path) if config.manifest_path else None,
            capture_limit=config.capture_limit, memory_limit=config.memory_limit,
            file_size_limit=config.file_size_limit, answer=self._answer,
            variables=dict(self._variables), max_message=protocol.MAX_MESSAGE,
        )
        if self._mode == "none":
            return InProcessSession(load_context(config.manifest_path), init, self._broker)
        writable = [scratch, *map(str, config.allow_write)]
        readable = launch.runtime_paths() + [str(p) for p in config.readable_paths]
        if config.manifest_path:
            readable.append(str(config.manifest_path))
        policy = PolicySpec(writable, readable, config.allow_net)
        return WorkerSession(
            lambda fd: launch.worker_command(self._mode, fd, scratch, readable, writable, config.allow_net),
            launch.worker_env(scratch, config.allow_net), scratch,
            dataclasses.replace(init, policy=policy), self._broker,
            config.start_timeout, tasks.join,
        )

    def _restart(self, reason: str) -> WorkerSession | InProcessSession:
        """A new worker, or SandboxError once failures in a row pass max_restarts."""
        while True:
            if self._failures > self.config.max_restarts:
                raise SandboxError(
                    f"the REPL worker failed {self._failures} times in a row (last: {reason}); giving up",
                    hint="the partial answer is kept; cells that exhaust memory or crash Python "
                    "end the worker",
                )
            try:
                return self._spawn()
            except SandboxError as error:
                self._failures += 1
                reason = error.message

    def _result(self, outcome: Result, notes: list[str]) -> CellResult:
        if outcome.restored:
            names = ", ".join(f"`{name}`" for name in outcome.restored)
            notes.append(f"REPL names put back after the cell replaced them: {names}; keep your data under other names.")
        notes += outcome.notes
        if outcome.timed_out:
            notes.append(self._timeout_note())
        notes += self._cut_note(outcome)
        return CellResult(
            stdout=outcome.stdout, stderr=outcome.stderr, value_repr=outcome.value_repr,
            error=outcome.error, duration_s=outcome.duration_s, variables=list(outcome.variables),
            answer=self.answer, timed_out=outcome.timed_out, notice=" ".join(notes) or None,
            stdout_chars=outcome.stdout_chars, stderr_chars=outcome.stderr_chars,
        )

    def _died_result(self, outcome: Died, notes: list[str]) -> CellResult:
        reason = outcome.reason
        if outcome.timed_out:
            error = (f"CellTimeout: the cell ran longer than {self._timeout:g} s, "
                     "ignored the interrupt and was killed")
            notes = [self._timeout_note(), *notes]
        else:
            error = f"WorkerDied: the REPL process ended while running this cell ({reason})"
        notes.append(f"A new REPL process was started: {_RESTART_COST}")
        notes += self._cut_note(outcome)
        return CellResult(
            stdout=outcome.stdout, stderr=outcome.stderr, error=error,
            duration_s=outcome.duration_s, variables=list(self._variables), answer=self.answer,
            timed_out=outcome.timed_out, restarted=True, notice=" ".join(notes),
            stdout_chars=outcome.stdout_chars, stderr_chars=outcome.stderr_chars,
        )

    def _timeout_note(self) -> str:
        return (
            f"The cell was stopped after {self._timeout:g} s, the limit per cell (or the run's time left). "
            "Write cheaper code: work on a sample, use context.grep, send larger chunks per "
            "llm_batch call."
        )

    def _cut_note(self, outcome: Result | Died) -> list[str]:
        limit = self.config.output_limit
        if max(outcome.stdout_chars, outcome.stderr_chars) <= limit:
            return []
        return ["The output was cut from the middle: print less (counts, slices, samples)."]


def _copy_regular(source: Path, target: Path, limit: int) -> bool:
    """Copy a regular file, never through a link (the worker's code may have left one where the
    snapshot goes), up to `limit` bytes; False when there is no such file."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(target.name + ".part")
        with open(temporary, "wb") as out:
            os.chmod(temporary, 0o600)
            shutil.copyfileobj(handle, out)
        os.replace(temporary, target)
    return True
