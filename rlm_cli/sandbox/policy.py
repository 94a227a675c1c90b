"""What the worker imposes on itself before model code runs: resource limits and an audit hook.

The hook refuses network use, subprocesses, writes outside the scratch directory (and
`--allow-write` paths), and reads of anything bubblewrap would not show: only the inputs, the
runtime, the scratch directory and the system paths of view.py are readable, never another
process's /proc entries.
The hook alone is a guard, not a boundary: code can step around it (ctypes, C extensions,
dir_fd-relative calls). Where the kernel has Landlock, `confine` makes the file, exec, signal and
network rules the kernel's own; under bubblewrap the namespaces are the boundary as well.
Standard library only (runs in the worker).
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import socket
import sys
from collections.abc import Sequence
from typing import Any

from rlm_cli.sandbox import landlock
from rlm_cli.sandbox.view import system_paths

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

# audit event -> positions of the arguments that are paths written to
_PATH_WRITES = {
    "os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1),
    "os.link": (1,), "os.symlink": (1,), "os.truncate": (0,), "os.chmod": (0,),
    "os.chown": (0,), "os.utime": (0,), "os.chflags": (0,), "os.setxattr": (0,),
    "os.removexattr": (0,), "shutil.rmtree": (0,),
}
_PATH_READS = {"os.listdir": (0,), "os.scandir": (0,), "os.getxattr": (0,), "os.listxattr": (0,)}
_SPAWNS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork",
    "os.forkpty", "pty.spawn",
})
_NETWORK = frozenset({
    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
    "socket.gethostbyname", "socket.gethostbyaddr", "socket.getnameinfo",
})
_SIGNALS = frozenset({"os.kill", "os.killpg"})
_WATCHED = frozenset({"open", "socket.__new__", *_PATH_WRITES, *_PATH_READS, *_SPAWNS, *_NETWORK, *_SIGNALS})


def apply_limits(memory: int | None, file_size: int | None) -> None:
    """No core dumps; cap the heap (RLIMIT_DATA spares mapped corpus files), file sizes, tasks."""
    _lower(resource.RLIMIT_CORE, 0)
    if memory:
        _lower(resource.RLIMIT_DATA, memory)
    if file_size:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write raises, not kills
        _lower(resource.RLIMIT_FSIZE, file_size)
    # RLIMIT_NPROC counts every task (thread) of the user, the host's included: leave room
    # above what runs now, enough for the host's threads and the cell's, no more
    _lower(resource.RLIMIT_NPROC, _tasks_on_system() + 512)


def _lower(which: int, value: int) -> None:
    """Set soft and hard limit, so the cell cannot raise it back (unless privileged)."""
    _, hard = resource.getrlimit(which)
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    with contextlib.suppress(ValueError, OSError):  # a platform refusing it keeps its own
        resource.setrlimit(which, (value, value))


def _tasks_on_system() -> int:
    try:
        with open("/proc/loadavg", encoding="ascii") as file:
            return int(file.read().split()[3].split("/")[1])
    except (OSError, IndexError, ValueError):
        return 4096


class Policy:
    """The audit-hook rules for one worker."""

    def __init__(self, writable: Sequence[str], readable: Sequence[str] = (), allow_net: bool = False) -> None:
        self.writable = tuple(_real(path) for path in writable)
        shown = [*readable, *system_paths(allow_net)]
        # each readable path and its real path (a venv's python links to the base install)
        self.readable = frozenset({*shown, *map(_real, shown), *self.writable})
        self.allow_net = allow_net
        self.pid = os.getpid()

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event not in _WATCHED:
            return
        if event == "open":
            self._check_open(args)
        elif event in _PATH_WRITES:
            for index in _PATH_WRITES[event]:
                self._check_write(args[index])
        elif event in _PATH_READS:
            self._check_read(args[0])
        elif event in _SPAWNS:
            raise PermissionError("rlm sandbox: starting processes is not allowed in the REPL")
        elif event in _SIGNALS:
            self._check_signal(event, args)
        elif not self.allow_net:
            if event == "socket.__new__" and args[1] == socket.AF_UNIX:
                return  # unnamed local sockets (asyncio's self-pipe); connecting is still refused
            raise PermissionError("rlm sandbox: network access is off (rlm --allow-net turns it on)")

    def _check_open(self, args: tuple[Any, ...]) -> None:
        path, mode, flags = args
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if writing:
            self._check_write(path)
        else:
            self._check_read(path)

    def _check_write(self, path: Any) -> None:
        real = _resolve(path)
        if real is None or real == os.devnull or _under(real, self.writable):
            return
        raise PermissionError(
            f"rlm sandbox: writing {real} is not allowed; write under the working directory "
            f"{self.writable[0]} (rlm --allow-write PATH allows more)"
        )

    def _check_read(self, path: Any) -> None:
        real = _resolve(path)
        if real is None:
            return
        parts = real.split("/")
        other_process = len(parts) > 2 and parts[1] == "proc" and parts[2].isdigit() and int(parts[2]) != self.pid
        if other_process or not _inside(real, self.readable):
            raise PermissionError(f"rlm sandbox: reading {real} is not allowed (only the input, the runtime and the working directory are)")

    def _check_signal(self, event: str, args: tuple[Any, ...]) -> None:
        target = args[0]
        own = target in (0, self.pid) if event == "os.kill" else target == os.getpgrp()
        if not own:
            raise PermissionError("rlm sandbox: signalling other processes is not allowed")


def confine(policy: Policy) -> int:
    """Let the kernel enforce the policy's files, exec and network rules (Landlock); the ABI used,
    0 where the kernel has none or refuses it (then the audit hook is the only guard)."""
    try:
        return landlock.restrict(policy.readable, policy.writable, allow_net=policy.allow_net)
    except OSError:
        return 0


def install(policy: Policy) -> None:
    """Install the hook for the rest of the process's life (audit hooks cannot be removed)."""
    sys.addaudithook(policy)


def _real(path: str) -> str:
    return os.path.realpath(path)


def _resolve(path: Any) -> str | None:
    """The real path an audited call names; None for file descriptors."""
    if path is None or isinstance(path, int):
        return None
    try:
        return os.path.realpath(os.fsdecode(os.fspath(path)))
    except (TypeError, ValueError):
        return None


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _inside(path: str, roots: frozenset[str]) -> bool:
    """`path` or one of its parent folders is in `roots`: one set lookup per level, however many roots."""
    while True:
        if path in roots:
            return True
        parent = path.rsplit("/", 1)[0] or "/"
        if parent == path:
            return False
        path = parent
