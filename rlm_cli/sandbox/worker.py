"""The REPL worker process: `python -m rlm_cli.sandbox.worker --fd N`.

Talks to the host over the socket on fd N only (its stdout and stderr are for stray output).
Limits itself, builds `context`, installs the audit policy, then runs cells until the host
goes away. Standard library only (plus rlm_cli.corpus, which is too).
"""

from __future__ import annotations

import faulthandler
import itertools
import os
import queue
import signal
import socket
import sys
import threading
import traceback
from typing import Any

from rlm_cli.sandbox import policy, protocol
from rlm_cli.sandbox.repl import Repl, load_context


class Channel:
    """The worker's end of the control socket: commands in order, sub-call replies by id."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._send_lock = threading.Lock()
        self._commands: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        self._waiting: dict[int, _Slot] = {}
        self._ids = itertools.count(1)
        self._main = threading.main_thread().ident

    def send(self, message: dict[str, Any]) -> None:
        """Send one message (any thread)."""
        with self._send_lock:
            protocol.send(self._sock, message)

    def request(self, kind: str, args: dict[str, Any]) -> dict[str, Any]:
        """One sub-call to the host; blocks the calling thread until the reply."""
        call_id = next(self._ids)
        slot = self._waiting[call_id] = _Slot()
        self.send({"op": "call", "id": call_id, "kind": kind, "args": args})
        slot.done.wait()
        return slot.reply

    def next_command(self) -> dict[str, Any]:
        """The next command from the host (main thread)."""
        return self._commands.get()

    def listen(self) -> None:
        """Read the socket on a daemon thread; the host going away ends the worker."""
        threading.Thread(target=self._read_forever, name="rlm-channel", daemon=True).start()

    def _read_forever(self) -> None:
        while True:
            try:
                message = protocol.recv(self._sock)
            except (OSError, ValueError, protocol.ChannelClosed):
                os._exit(0)  # the host is gone (or spoke garbage): nothing left to serve
            if message.get("op") == "reply":
                slot = self._waiting.pop(message["id"])
                slot.reply = message
                slot.done.set()
            elif message.get("op") == "interrupt" and self._main is not None:
                # to the main thread itself, so a blocking call there is interrupted too
                signal.pthread_kill(self._main, signal.SIGINT)
            else:
                self._commands.put(message)


class _Slot:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.reply: dict[str, Any] = {}


def _start(sock: socket.socket) -> tuple[Channel, Repl]:
    """Apply the host's init message: limits, Landlock, context, variables, then the audit policy."""
    init = protocol.recv(sock)
    rules = policy.Policy(**init["policy"])
    policy.apply_limits(init["memory_limit"], init["file_size_limit"])
    policy.confine(rules)  # before any other thread exists: Landlock binds the calling thread only
    channel = Channel(sock)
    repl = Repl(load_context(init["manifest"]), channel.request, init["capture_limit"])
    repl.set_answer(init["answer"])
    for name, value in init["variables"].items():
        repl.set_variable(name, value)
    policy.install(rules)
    return channel, repl


def serve(sock: socket.socket) -> None:
    """Start up, report ready (or why not), then run commands until the host closes the channel."""
    try:
        channel, repl = _start(sock)
    except Exception as error:  # reported to the host, which raises SandboxError with it
        reason = "".join(traceback.format_exception_only(error)).strip()
        protocol.send(sock, {"op": "failed", "error": reason})
        raise SystemExit(1) from None
    channel.listen()
    channel.send({"op": "ready"})
    while True:
        command = channel.next_command()
        if command["op"] == "exec":
            channel.send({"op": "result", **repl.run(command["code"], command["timeout"])})
        elif command["op"] == "set":
            repl.set_variable(command["name"], command["value"])


def main(argv: list[str]) -> None:
    """Entry point: `--fd N` names the inherited control socket."""
    if len(argv) != 2 or argv[0] != "--fd":
        raise SystemExit("usage: python -m rlm_cli.sandbox.worker --fd N")
    faulthandler.enable()  # a crash leaves its traceback on stderr, which the host reads
    serve(socket.socket(fileno=int(argv[1])))


if __name__ == "__main__":
    main(sys.argv[1:])
