"""The warm server: one thread, a fork per request, gone after `idle` seconds without one.

It holds an exclusive lock on its lock file for its whole life (a second server for the same
address leaves at once), takes requests only from its own user (checked on the socket, in a
directory only that user can enter), and never starts a thread: a fork copies only the thread
that calls it, and a lock another thread held would stay held in the child for ever.

A child takes the caller's streams, working directory, umask, niceness, resource limits,
environment and arguments, puts its signal handlers back as a new process has them, and runs the
command line (`become`). Its exit status goes back to the caller; a caller that goes away has its
child hung up (SIGHUP).
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import hmac
import io
import json
import os
import resource
import secrets
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass

from rlm_cli.warm.address import Address, address_for
from rlm_cli.warm.client import LIMITS

REQUEST_LIMIT = 1 << 20
STREAMS = 4  # stdin, stdout, stderr and the working directory
_RESET = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGCHLD)


@dataclass(frozen=True)
class Request:
    """What a caller hands over: its command and the process it would have been."""

    args: list[str]
    env: dict[str, str]
    umask: int
    nice: int
    limits: dict[str, list[int]]
    started: float
    early: bool
    token: str
    fds: list[int]

    @classmethod
    def parse(cls, data: bytes, fds: list[int]) -> Request:
        """The request, checked; ValueError when it is not one."""
        fields = json.loads(data.decode("utf-8", "surrogateescape"))
        if not isinstance(fields, dict) or len(fds) != STREAMS:
            raise ValueError("not a request")
        args, env, umask, nice = fields.get("args"), fields.get("env"), fields.get("umask"), fields.get("nice")
        limits, started, early = _limits(fields.get("limits")), fields.get("started"), fields.get("early")
        token = fields.get("token")
        if not (isinstance(args, list) and all(isinstance(arg, str) for arg in args)
                and isinstance(env, dict) and all(isinstance(v, str) for v in env.values())
                and isinstance(umask, int) and isinstance(nice, int)
                and isinstance(started, int | float) and isinstance(early, bool) and isinstance(token, str)):
            raise ValueError("not a request")
        return cls(args, env, umask, nice, limits, float(started), early, token, fds)


def _limits(value: object) -> dict[str, list[int]]:
    if not isinstance(value, dict) or not all(
        name in LIMITS and isinstance(pair, list) and len(pair) == 2 and all(isinstance(n, int) for n in pair)
        for name, pair in value.items()
    ):
        raise ValueError("not a request")
    return value


def serve(address: Address, idle: float) -> Request | None:
    """Serve until idle; returns only in a child (its request) or when done (None)."""
    lock = os.open(address.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        return None  # another server has this address
    os.ftruncate(lock, 0)
    os.write(lock, f"{os.getpid()}\n".encode())  # who holds it: for `kill`, and for the tests
    from rlm_cli.warm.preload import import_what_a_run_imports

    import_what_a_run_imports()
    if threading.active_count() != 1:
        os.close(lock)
        return None  # something started a thread: forking would be unsafe
    gc.freeze()  # the children's collections skip the inherited heap (and leave its pages shared)
    token = _new_token(address.token)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(address.socket)  # a dead server's: the lock is ours
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    listener.bind(address.socket)
    listener.listen(16)
    return _Server(listener, lock, idle, _Gate(address, token)).run()


def _new_token(path: str) -> str:
    """A fresh secret in a file only this user can read: a caller proves it could read it."""
    token = secrets.token_hex(32)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(token)
    return token


@dataclass(frozen=True)
class _Gate:
    """Who may hand this server a command: the user's own processes that could read the token,
    in an environment that names this very server, and not from inside a sandbox (a sandboxed
    REPL worker runs with no_new_privs, and could otherwise reach the socket through a pathname
    it read in /proc/self/net/unix)."""

    address: Address
    token: str

    def admits(self, peer_pid: int, peer_uid: int, request: Request) -> bool:
        if peer_uid != os.getuid() or not hmac.compare_digest(request.token, self.token):
            return False
        if _no_new_privs(peer_pid):
            return False
        address = address_for(request.env, sys.path)  # started with -P: no script folder on the path
        return address is not None and address.socket == self.address.socket


def _no_new_privs(pid: int) -> bool:
    """Whether the process runs with no_new_privs (or cannot be looked at: then as if it did)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
            return any(line.split() == ["NoNewPrivs:", "1"] for line in status)
    except OSError:
        return True


class _Server:
    def __init__(self, listener: socket.socket, lock: int, idle: float, gate: _Gate) -> None:
        self.listener = listener
        self.gate = gate
        self.bound = os.stat(listener.getsockname()).st_ino
        self.lock = lock
        self.idle = idle
        self.children: dict[int, socket.socket | None] = {}  # pid -> its caller, until it hangs up
        self.wake_read, self.wake_write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda number, frame: None)
        self.selector = selectors.DefaultSelector()
        self.selector.register(listener, selectors.EVENT_READ)
        self.selector.register(self.wake_read, selectors.EVENT_READ)
        self.quiet_since = time.monotonic()

    def run(self) -> Request | None:
        while True:
            left = self.quiet_since + self.idle - time.monotonic()
            if not self.children and left <= 0:
                self._close()
                return None
            for key, _ in self.selector.select(None if self.children else left):
                if key.fileobj is self.listener:
                    request = self._accept()
                    if request is not None:
                        return request  # in the child
                elif key.fileobj == self.wake_read:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self.wake_read, 4096)
                    self._reap()
                else:
                    self._caller_spoke(key.data)

    def _accept(self) -> Request | None:
        conn, _ = self.listener.accept()
        fds: list[int] = []
        try:
            conn.settimeout(5)
            peer, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")))
            data, fds, flags, _ = socket.recv_fds(conn, REQUEST_LIMIT, STREAMS, socket.MSG_CMSG_CLOEXEC)
            if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
                raise ValueError("truncated")
            request = Request.parse(data, list(fds))
            if not self.gate.admits(peer, uid, request):
                raise ValueError("not admitted")
        except (OSError, ValueError):
            for fd in fds:
                os.close(fd)
            conn.close()
            return None
        pid = os.fork()
        if pid == 0:
            self._leave(conn)
            return request
        for fd in request.fds:
            os.close(fd)
        self.children[pid] = conn
        self.selector.register(conn, selectors.EVENT_READ, pid)
        with contextlib.suppress(OSError):
            conn.sendall(f"pid {pid}".encode())
        return None

    def _caller_spoke(self, pid: int) -> None:
        """A caller says nothing after its request: anything readable is its end."""
        conn = self.children.get(pid)
        if conn is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGHUP)
        self._forget(pid)

    def _reap(self) -> None:
        while self.children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = self.children.get(pid)
            if conn is not None:
                with contextlib.suppress(OSError):
                    conn.sendall(f"exit {os.waitstatus_to_exitcode(status)}".encode())
                self._forget(pid)
            self.children.pop(pid, None)
            if not self.children:
                self.quiet_since = time.monotonic()

    def _forget(self, pid: int) -> None:
        conn = self.children[pid]
        if conn is not None:
            self.selector.unregister(conn)
            conn.close()
            self.children[pid] = None

    def _leave(self, conn: socket.socket) -> None:
        """In the child: drop everything of the server's (its lock included)."""
        signal.set_wakeup_fd(-1)
        for number in _RESET:
            signal.signal(number, signal.default_int_handler if number == signal.SIGINT else signal.SIG_DFL)
        self.selector.close()
        self.listener.close()
        for fd in (self.wake_read, self.wake_write, self.lock):
            os.close(fd)
        for other in self.children.values():
            if other is not None:
                other.close()
        conn.close()

    def _close(self) -> None:
        """Idle: the socket goes first, so that no caller connects to a server about to leave."""
        path = self.listener.getsockname()
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == self.bound:
                os.unlink(path)
        with contextlib.suppress(OSError):
            os.unlink(self.gate.address.token)  # the lock is still ours: so is the token
        self.selector.close()
        self.listener.close()
        os.close(self.lock)


def become(request: Request) -> None:
    """In a child: be the caller's `rlm`, then exit as it would."""
    stdin, stdout, stderr, here = request.fds
    for target, fd in enumerate((stdin, stdout, stderr)):
        os.dup2(fd, target)
    os.fchdir(here)
    for fd in set(request.fds) - {0, 1, 2}:
        os.close(fd)
    os.umask(request.umask)
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, request.nice)  # a lower priority always; a higher one as allowed
    for name, (soft, hard) in request.limits.items():
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(getattr(resource, name), (soft, hard))
    os.environ.clear()
    os.environ.update(request.env)
    sys.argv = ["rlm", *request.args]
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.isatty():
        sys.stdout.reconfigure(line_buffering=True)  # as a process started on a terminal has it
    from rlm_cli import status, uptime

    uptime.started_at(request.started)
    if request.early:
        status.adopt_early(sys.stderr)
    from rlm_cli.cli import main

    main()
