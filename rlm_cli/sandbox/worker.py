"""The REPL worker process: `python -m rlm_cli.sandbox.worker --fd N`.

Talks to the host over the socket on fd N only (its stdout and stderr are for stray output).
Dies with its host, limits itself, builds `context`, installs the audit policy, then runs cells
until the host goes away. Imports the standard library and the worker's own modules only (a
test holds it to that list): never the host side of the sandbox.
"""

from __future__ import annotations

import dataclasses
import faulthandler
import itertools
import os
import queue
import signal
import socket
import sys
import threading
from typing import Any

from rlm_cli.sandbox import policy, protocol
from rlm_cli.sandbox.messages import (
    TO_WORKER,
    Answer,
    Call,
    Exec,
    Failed,
    Init,
    Interrupt,
    Load,
    Message,
    Op,
    Ready,
    Reply,
    Result,
    Save,
    SetVariable,
)
from rlm_cli.sandbox.repl import Repl, load_context
from rlm_cli.units import clip

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class Channel:
    """The worker's end of the control socket: commands in order, sub-call replies by id."""

    def __init__(self, sock: socket.socket, reader: protocol.Reader, limit: int) -> None:
        self._sock = sock
        self._reader = reader
        self.limit = limit  # bytes the host accepts per message
        self._send_lock = threading.Lock()
        self._commands: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._waiting: dict[int, _Slot] = {}
        self._ids = itertools.count(1)
        self._main = threading.main_thread().ident

    def send(self, message: Message) -> None:
        """Send one message (any thread); FrameTooLarge if it is over the host's limit."""
        with self._send_lock:
            protocol.send(self._sock, message, self.limit)

    def request(self, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        """One sub-call to the host; blocks the calling thread until the reply."""
        call_id = next(self._ids)
        slot = self._waiting[call_id] = _Slot()
        try:
            self.send(Call(call_id, kind, args))
        except protocol.FrameTooLarge as error:
            del self._waiting[call_id]
            raise ValueError(f"{kind}: {error}; send fewer or shorter prompts per call") from None
        slot.done.wait()
        return slot.reply

    def next_command(self) -> Message:
        """The next command from the host (main thread)."""
        return self._commands.get()

    def listen(self) -> None:
        """Read the socket on a daemon thread; the host going away ends the worker."""
        threading.Thread(target=self._read_forever, name="rlm-channel", daemon=True).start()

    def _read_forever(self) -> None:
        while True:
            try:
                message = self._reader.recv(TO_WORKER)
            except (OSError, ValueError, protocol.ChannelClosed):
                os._exit(0)  # the host is gone (or spoke garbage): nothing left to serve
            if isinstance(message, Reply):
                slot = self._waiting.pop(message.id, None)
                if slot is not None:  # a reply to a call this channel did not make is ignored
                    slot.reply = message.payload()
                    slot.done.set()
            elif isinstance(message, Interrupt):
                if self._main is not None:
                    # to the main thread itself, so a blocking call there is interrupted too
                    signal.pthread_kill(self._main, signal.SIGINT)
            else:
                self._commands.put(message)


class _Slot:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.reply: dict[str, Any] = {}


def _start(sock: socket.socket) -> tuple[Channel, Repl]:
    """Apply the host's Init: limits, Landlock, context, variables, then the audit policy."""
    reader = protocol.Reader(sock)
    init = reader.recv(frozenset({Op.INIT}))
    assert isinstance(init, Init)
    rules = None if init.policy is None else policy.Policy(**dataclasses.asdict(init.policy))
    policy.apply_limits(init.memory_limit, init.file_size_limit)
    if rules is not None:
        policy.confine(rules)  # before any other thread exists: Landlock binds the calling thread only
    channel = Channel(sock, reader, init.max_message)
    repl = Repl(load_context(init.manifest), channel.request, init.capture_limit)
    repl.set_answer(init.answer)
    for name, value in init.variables.items():
        repl.set_variable(name, value)
    if rules is not None:
        policy.install(rules)
    return channel, repl


def fit(result: Result, limit: int) -> Result:
    """The result cut down until it fits one message of `limit` bytes: output first, then the
    answer (up to 6 bytes per character once encoded)."""
    if _size(result) <= limit:
        return result
    chars = limit // 64
    result = dataclasses.replace(
        result, stdout=clip(result.stdout, chars, total=result.stdout_chars),
        stderr=clip(result.stderr, chars, total=result.stderr_chars),
        value_repr=None if result.value_repr is None else clip(result.value_repr, chars),
        error=None if result.error is None else clip(result.error, chars),
        variables=result.variables[:1000], notes=[clip(note, 1000) for note in result.notes],
    )
    if _size(result) <= limit:
        return result
    kept = limit // 16
    return dataclasses.replace(
        result, answer=Answer(clip(result.answer.content, kept), result.answer.ready),
        notes=[*result.notes, f'answer["content"] was cut to {kept:,} characters: the channel '
               "to rlm carries no more. Keep the answer shorter."],
    )


def _size(result: Result) -> int:
    """Bytes once encoded; a cheap upper bound (6 bytes a character at most) when that fits."""
    texts = [result.stdout, result.stderr, result.value_repr or "", result.error or "",
             result.answer.content, *result.restored, *result.variables, *result.notes]
    bound = 6 * sum(map(len, texts)) + 8 * len(texts) + 1024
    return bound if bound <= 1 << 20 else len(protocol.encode(result, sys.maxsize))


def serve(sock: socket.socket) -> None:
    """Start up, report ready (or why not), then run commands until the host closes the channel."""
    try:
        channel, repl = _start(sock)
    except Exception as error:  # reported to the host, which raises SandboxError with it
        import traceback  # only here: a worker that starts does without it

        reason = "".join(traceback.format_exception_only(error)).strip()
        protocol.send(sock, Failed(reason))
        raise SystemExit(1) from None
    channel.listen()
    channel.send(Ready())
    while True:
        command = channel.next_command()
        if isinstance(command, Exec):
            result = fit(repl.run(command.code, command.timeout, command.cell), channel.limit)
            repl.set_answer(result.answer)  # the answer as the host now knows it
            channel.send(result)
        elif isinstance(command, SetVariable):
            repl.set_variable(command.name, command.value)
        elif isinstance(command, Save | Load):
            channel.send(repl.store(command))


def _die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent dies, even by SIGKILL (Linux)."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the closed channel still ends the worker
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)


def main(argv: list[str]) -> None:
    """Entry point: `--fd N` names the inherited control socket."""
    if len(argv) != 2 or argv[0] != "--fd":
        raise SystemExit("usage: python -m rlm_cli.sandbox.worker --fd N")
    _die_with_parent()
    faulthandler.enable()  # a crash leaves its traceback on stderr, which the host reads
    serve(socket.socket(fileno=int(argv[1])))


if __name__ == "__main__":
    main(sys.argv[1:])
