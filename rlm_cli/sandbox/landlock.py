"""Landlock: the kernel confines the worker to the files it may read and write, for root too.

Process mode's boundary where the kernel has Landlock (Linux 5.13+), and a second layer under
bubblewrap. Once restricted, the worker and everything it starts can read only the runtime, the
system libraries, a few /etc files, its own /proc entry and the run's inputs; write only its
scratch directory, `--allow-write` paths and /dev/null; execute nothing; neither trace nor read
the memory of processes outside its domain; and, on kernels that have it (ABI 4+ and 6+), make no
TCP connection unless the network is allowed and send no signal outside its domain.
Standard library only (runs in the worker). Calls the system directly: there is no libc wrapper.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from collections.abc import Iterable

_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446  # the same number on every architecture
_VERSION_FLAG = 1  # LANDLOCK_CREATE_RULESET_VERSION
_PATH_BENEATH = 1
_NO_NEW_PRIVS = 38  # PR_SET_NO_NEW_PRIVS

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_MAKE_AND_REMOVE = sum(1 << bit for bit in range(4, 13))  # remove dir/file, make char..sym
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
_NET_BIND_TCP, _NET_CONNECT_TCP = 1, 2
_SCOPE_ABSTRACT_UNIX, _SCOPE_SIGNAL = 1, 2

READ = READ_FILE | READ_DIR
WRITE = READ | WRITE_FILE | _MAKE_AND_REMOVE | REFER | TRUNCATE
def abi_version() -> int:
    """The kernel's Landlock ABI version; 0 where it has none (or this is not Linux)."""
    if not sys.platform.startswith("linux"):
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    version = libc.syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(_VERSION_FLAG))
    return max(0, int(version))


def restrict(readable: Iterable[str], writable: Iterable[str], *, allow_net: bool) -> int:
    """Confine this process (and its future children) for good; returns the ABI used (0: none).

    `readable` holds the system paths too (sandbox/view.py). Paths that do not exist are left out. Raises OSError when the kernel refuses a step.
    """
    abi = abi_version()
    if abi == 0:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    handled = READ | WRITE | EXECUTE | (IOCTL_DEV if abi >= 5 else 0)
    if abi < 2:
        handled &= ~REFER
    if abi < 3:
        handled &= ~TRUNCATE
    attr = struct.pack("=Q", handled)
    if abi >= 4:
        attr += struct.pack("=Q", 0 if allow_net else _NET_BIND_TCP | _NET_CONNECT_TCP)
    if abi >= 6:
        attr += struct.pack("=Q", _SCOPE_ABSTRACT_UNIX | _SCOPE_SIGNAL)
    ruleset = _check(libc.syscall(_CREATE_RULESET, attr, ctypes.c_size_t(len(attr)), ctypes.c_uint32(0)))
    try:
        for path, access in _rules(readable, writable):
            _allow(libc, ruleset, path, access & handled)
        _check(libc.prctl(_NO_NEW_PRIVS, 1, 0, 0, 0))
        _check(libc.syscall(_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)))
    finally:
        os.close(ruleset)
    return abi


def _rules(readable: Iterable[str], writable: Iterable[str]) -> list[tuple[str, int]]:
    # /proc and /dev are never granted whole: only this process's own entry and a few devices
    shared = [path for path in readable if not any(_under(path, root) for root in ("/proc", "/dev"))]
    own = [f"/proc/{os.getpid()}", "/proc/cpuinfo", "/proc/meminfo", "/sys/devices/system/cpu", "/dev/urandom"]
    return [
        *((path, READ) for path in [*shared, *own]),
        ("/dev/null", READ_FILE | WRITE_FILE),
        *((path, WRITE) for path in writable),
    ]


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root + "/")


def _allow(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # nothing there: nothing to allow
    try:
        if not os.path.isdir(path):
            access &= _FILE_ONLY
        rule = struct.pack("=Qi", access, fd)
        _check(libc.syscall(_ADD_RULE, ruleset, ctypes.c_int(_PATH_BENEATH), rule, ctypes.c_uint32(0)))
    finally:
        os.close(fd)


def _check(result: int) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"landlock: {os.strerror(errno)}")
    return result
