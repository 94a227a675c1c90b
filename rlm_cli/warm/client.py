"""The caller's side: hand this `rlm ask` to a warm server, or start one after a cold run.

The request is one datagram on a SOCK_SEQPACKET socket: the arguments, environment, umask,
niceness, resource limits and start time as JSON, with the standard streams and the working directory as file descriptors.
The server answers `pid N` once the child runs and `exit N` when it has ended; meanwhile signals
sent to this process (Ctrl-C, SIGTERM, a hang-up, a resize, Ctrl-Z) reach the child. If this
process dies, the server sees the socket close and hangs the child up. Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys

from rlm_cli.warm.address import Address, address_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

# The caller's resource limits a child takes on, as a process started by the caller would have them.
LIMITS = ("RLIMIT_AS", "RLIMIT_CORE", "RLIMIT_CPU", "RLIMIT_DATA", "RLIMIT_FSIZE", "RLIMIT_NOFILE",
          "RLIMIT_NPROC", "RLIMIT_STACK")
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGWINCH,
             signal.SIGUSR1, signal.SIGUSR2, signal.SIGCONT)

HAND_OFF_SECONDS = 30.0  # to connect, hand the command over and hear the child's pid, at most
# Where a server for this process would listen, and the environment it started with: set when
# no server took the command, so that the run can start one when it ends.
_cold: tuple[Address, dict[str, str]] | None = None


def enabled(environ: Mapping[str, str]) -> bool:
    """False when RLM_WARM turns warm processes off (0)."""
    try:
        return float(environ.get("RLM_WARM", "1")) > 0
    except ValueError:
        return True  # the settings report the bad value; the hand-off does no harm


def hand_off(args: Sequence[str], *, early: bool, started: float) -> int | None:
    """Run `rlm ARGS` in a warm server's child and return its exit status; None when no server took it."""
    global _cold
    address = address_for(os.environ)
    if address is None:
        return None
    status = _run_in_server(address, args, early=early, started=started)
    if status is None:
        _cold = (address, dict(os.environ))
    return status


def keep_warm(idle: float, *, wanted: bool) -> None:
    """After a cold run, start a server for the next one (unless one is up or starting).

    `wanted`: the run was on a terminal, or the `warm` setting was given explicitly.
    """
    if _cold is None or idle <= 0 or not wanted:
        return
    address, environ = _cold
    if _held(address.lock):
        return
    import subprocess

    subprocess.Popen(
        [sys.executable, "-P", "-m", "rlm_cli.warm", address.directory, address.key, str(idle)],
        env=environ, cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, start_new_session=True,
    )


def _held(path: str) -> bool:
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _run_in_server(address: Address, args: Sequence[str], *, early: bool, started: float) -> int | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    conn.settimeout(HAND_OFF_SECONDS)  # a server that does not take the command in time: run here
    try:
        conn.connect(address.socket)
        with open(address.token, encoding="ascii") as secret:  # only the user can read it
            token = secret.read()
        request = {"args": list(args), "env": dict(os.environ), "started": started, "early": early, "token": token, **_process()}
        here = os.open(".", os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            socket.send_fds(conn, [json.dumps(request).encode("utf-8", "surrogateescape")], [0, 1, 2, here])
        finally:
            os.close(here)
        pid = _expect(conn, "pid")
    except (OSError, ValueError):
        conn.close()
        return None
    with conn:
        if pid is None:
            return None
        conn.settimeout(None)  # the run takes as long as it takes
        with _Forwarding(pid):
            code = _expect(conn, "exit")
    if code is None:  # the server went away with the child still running
        _signal(pid, signal.SIGHUP)
        sys.stderr.write("rlm: the warm process ended before the run did\n")
        return 1
    return code if code >= 0 else 128 - code


def _process() -> dict[str, object]:
    """What else a child of this process would inherit: umask, niceness, resource limits."""
    import resource

    umask = os.umask(0o077)
    os.umask(umask)
    limits = {name: list(resource.getrlimit(getattr(resource, name))) for name in LIMITS}
    return {"umask": umask, "nice": os.getpriority(os.PRIO_PROCESS, 0), "limits": limits}


def _expect(conn: socket.socket, word: str) -> int | None:
    """The number after `word` in the server's next message; None at the end of the stream."""
    try:
        message = conn.recv(64).decode("ascii")
    except (OSError, UnicodeDecodeError):
        return None
    said, _, number = message.partition(" ")
    return int(number) if said == word and number.lstrip("-").isdigit() else None


def _signal(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


class _Forwarding:
    """Signals to this process go to the child instead; Ctrl-Z stops both."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.saved: dict[int, object] = {}

    def __enter__(self) -> None:
        for number in FORWARDED:
            self.saved[number] = signal.signal(number, self._forward)
        self.saved[signal.SIGTSTP] = signal.signal(signal.SIGTSTP, self._stop)

    def __exit__(self, *exc: object) -> None:
        for number, handler in self.saved.items():
            signal.signal(number, handler)  # type: ignore[arg-type]

    def _forward(self, number: int, frame: object) -> None:
        _signal(self.pid, number)

    def _stop(self, number: int, frame: object) -> None:
        _signal(self.pid, signal.SIGSTOP)
        signal.signal(signal.SIGTSTP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTSTP)  # stops here until `fg`; SIGCONT then reaches the child
        signal.signal(signal.SIGTSTP, self._stop)
