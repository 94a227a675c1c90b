"""The spool directory: stdin copied as it streams, PDF text, transcoded huge inputs, snapshots.

Everything here is written in bounded blocks; nothing is held whole in memory. Every byte
written is counted against the disk's free space, and stdin against its own cap: a stream
without end (`/dev/zero`) stops with an InputError, never fills the disk.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import fcntl
import itertools
import os
import select
import shutil
import stat
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from rlm_cli.errors import InputError
from rlm_cli.ingest.clock import Clock

_BLOCK = 1024 * 1024
_PIPE_SIZE = 1024 * 1024  # a pipe's buffer for stdin: Linux's default pipe-max-size
_RECHECK = 16 * 1024 * 1024  # bytes written between two looks at the disk's free space
FREE_RESERVE = 100 * 1024 * 1024  # bytes left free on the spool's disk for everything else
_HINT_SPACE = "point TMPDIR at a disk with more room, or read fewer inputs"
_SWITCH_INTERVAL = 1e-4  # seconds a thread waits for the GIL while stdin streams (Python's default: 5 ms)


class Spool:
    """Names and writes the files of one run's spool directory."""

    def __init__(self, directory: Path, clock: Clock | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.clock = clock or Clock(None)
        self._numbers = itertools.count(1)

    def new_path(self, stem: str, suffix: str = ".txt") -> Path:
        """A fresh file name in the spool directory."""
        return self.directory / f"{stem}-{next(self._numbers)}{suffix}"

    def reserve(self, size: int, what: str) -> int:
        """Raise InputError when writing `size` more bytes would leave the disk nearly full;
        return the bytes that could still be written after them."""
        free = shutil.disk_usage(self.directory).free
        if size > free - FREE_RESERVE:
            raise InputError(
                f"no room to spool {what}: {free:,} bytes free in {self.directory.parent}, "
                f"{FREE_RESERVE:,} kept free", hint=_HINT_SPACE,
            )
        return free - FREE_RESERVE - size

    def stdin(self, stream: BinaryIO, cap: int) -> Path:
        """Copy a stream to a spool file block by block, at most `cap` bytes; return its path.

        The blocks move as _mover says. The disk's free space is looked at once per _RECHECK
        bytes, not per block. The GIL changes hands quickly meanwhile (_PromptGil).
        """
        target = self.new_path("stdin")
        fd = _fileno(stream)
        total = room = 0
        with target.open("wb") as out, contextlib.ExitStack() as stack, _prompt_gil:
            move, from_pipe = _mover(stream, fd, out, stack)
            ready = False  # from a pipe, waited on only when it had nothing (no select per block)
            while True:
                self.clock.check("reading stdin")
                if fd is not None and not ready and not select.select([fd], [], [], self.clock.wait(1.0))[0]:
                    continue  # nothing yet: look at the clock again
                if room < _BLOCK:
                    room = min(self.reserve(_BLOCK, "stdin") + _BLOCK, _RECHECK)
                try:
                    moved = move(min(_BLOCK, cap + 1 - total))  # one byte past the cap tells a stream over it
                except BlockingIOError:  # the pipe is empty for now
                    ready = False
                    continue
                if not moved:
                    return target
                ready = from_pipe
                total, room = total + moved, room - moved
                if total > cap:
                    raise InputError(
                        f"stdin is larger than max_stdin ({cap:,} bytes)",
                        hint="raise it with RLM_MAX_STDIN or max_stdin in the config file, or pass a file",
                    )

    def transcode(self, source: str, encoding: str) -> Path:
        """Rewrite a file as UTF-8 (BOM dropped, bad bytes as U+FFFD); return the new path."""
        target = self.new_path("utf8")
        decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        with open(source, "rb") as handle, target.open("wb") as out:
            while block := handle.read(_BLOCK):
                self.clock.check("transcoding " + source)
                text = decoder.decode(block).encode("utf-8")
                self.reserve(len(text), source)
                out.write(text)
            out.write(decoder.decode(b"", final=True).encode("utf-8"))
        return target

    def adopt(self, source: str) -> Path:
        """A read-only snapshot of a file in the spool: a hard link, or a copy across disks."""
        target = self.new_path("input", "")
        try:
            os.link(source, target, follow_symlinks=True)
        except OSError:  # another file system, or a file the user does not own
            self.reserve(os.stat(source).st_size, source)
            self.clock.check("copying " + source)
            shutil.copyfile(source, target)
        return target


class _Relay:
    """Moves a pipe's bytes into a file in the kernel: from the pipe into a private pipe (its
    pages change hands, nothing is copied), then from the private pipe into the file.

    Splicing the pipe straight into the file holds the pipe's lock while the file system writes,
    so the writer (`cat`) waits on every block; through the private pipe it fills the pipe while
    the file is written. Both pipes are widened to _PIPE_SIZE: one move a mebibyte.
    """

    def __init__(self, source: int, out: BinaryIO) -> None:
        self.source, self.out = source, out
        self.read_end, self.write_end = os.pipe()
        self.spliced = True  # False once the file system refused splice: written through reads
        for fd in (source, self.write_end):
            _widen(fd)

    def __enter__(self) -> _Relay:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.read_end)
        os.close(self.write_end)

    def move(self, limit: int) -> int:
        """Move at most `limit` bytes into the file; 0 at the end, BlockingIOError while the pipe is empty."""
        moved = os.splice(self.source, self.write_end, limit, flags=os.SPLICE_F_NONBLOCK)
        left = moved
        while left and self.spliced:
            try:
                left -= os.splice(self.read_end, self.out.fileno(), left)
            except OSError as error:
                if error.errno != errno.EINVAL:  # EINVAL: a file system without splice
                    raise
                self.spliced = False
        while left:
            left -= self.out.write(os.read(self.read_end, left))  # a buffered file takes it all
        return moved


class _PromptGil:
    """While any spooling runs, the GIL changes hands within _SWITCH_INTERVAL. Every move of
    stdin is a system call that gives up the GIL and must take it back; with LiteLLM importing
    on another thread (runner.warm_up_litellm), Python's default 5 ms wait each time cut spooling
    to a third of its speed (benchmarks/RESULTS.md, "Beside the LiteLLM import"). Spools running
    at once share it: the last to end puts the interval back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spooling = 0
        self._default = sys.getswitchinterval()

    def __enter__(self) -> None:
        with self._lock:
            if not self._spooling:
                self._default = sys.getswitchinterval()
                sys.setswitchinterval(min(self._default, _SWITCH_INTERVAL))
            self._spooling += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._spooling -= 1
            if not self._spooling:
                sys.setswitchinterval(self._default)


_prompt_gil = _PromptGil()


def _mover(
    stream: BinaryIO, fd: int | None, out: BinaryIO, stack: contextlib.ExitStack,
) -> tuple[Callable[[int], int], bool]:
    """How stdin's blocks move into `out` (a function moving at most `limit` bytes, 0 at the end),
    and whether they come from a pipe. From a pipe the kernel moves them (_Relay), never through
    this process; from a regular file on the same disk (`rlm ask - < log`) the kernel copies them
    (_kernel_copier); other streams are read into one buffer used again for every block."""
    if fd is not None and _splices(fd):
        return stack.enter_context(_Relay(fd, out)).move, True
    copier = _block_copier(stream, fd, out)
    if fd is not None and _kernel_copies(fd, out.fileno()):
        return _kernel_copier(fd, out, copier), False
    return copier, False


def _block_copier(stream: BinaryIO, fd: int | None, out: BinaryIO) -> Callable[[int], int]:
    """For a stream that is not a pipe: move at most `limit` bytes into the file through one reused buffer."""
    buffer = memoryview(bytearray(_BLOCK))

    def move(limit: int) -> int:
        moved = _read_into(stream, fd, buffer[:limit])
        out.write(buffer[:moved])
        return moved

    return move


_NO_KERNEL_COPY = frozenset({errno.EXDEV, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP, errno.EPERM})


def _kernel_copier(fd: int, out: BinaryIO, fallback: Callable[[int], int]) -> Callable[[int], int]:
    """For a regular file: move at most `limit` bytes with copy_file_range(2), one copy inside the
    kernel (or shared blocks, where the file system has them), as `cat file > copy` does; where
    the kernels or file systems refuse it, `fallback` (both keep to the descriptors' offsets)."""
    refused = False

    def move(limit: int) -> int:
        nonlocal refused
        if not refused:
            try:
                return os.copy_file_range(fd, out.fileno(), limit)
            except OSError as error:
                if error.errno not in _NO_KERNEL_COPY:
                    raise
                refused = True
        return fallback(limit)

    return move


def _kernel_copies(fd: int, out: int) -> bool:
    """Whether the system has copy_file_range(2) and `fd` is a regular file on the file system
    `out` is on. Only then is the kernel asked to copy: between file systems some kernels copied
    nothing from /proc and /sys files and called it the end of the file."""
    if not hasattr(os, "copy_file_range"):
        return False
    info = os.fstat(fd)
    return stat.S_ISREG(info.st_mode) and info.st_dev == os.fstat(out).st_dev


def _splices(fd: int) -> bool:
    """Whether the descriptor is a pipe and the system has splice(2)."""
    return hasattr(os, "splice") and stat.S_ISFIFO(os.fstat(fd).st_mode)


def _widen(pipe: int) -> None:
    """Grow a pipe's buffer to _PIPE_SIZE; a system that refuses (a lower pipe-max-size) keeps its own."""
    with contextlib.suppress(OSError):
        if fcntl.fcntl(pipe, fcntl.F_GETPIPE_SZ) < _PIPE_SIZE:
            fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)


def _read_into(stream: BinaryIO, fd: int | None, buffer: memoryview) -> int:
    """Bytes read into the buffer (0 at the end): from the descriptor, else from the stream."""
    if fd is not None:
        return os.readv(fd, [buffer])
    return stream.readinto(buffer)  # type: ignore[attr-defined,no-any-return]  # io.BytesIO and other binary streams


def _fileno(stream: BinaryIO) -> int | None:
    """The stream's descriptor when it can be waited on (a pipe, a file, a device), else None."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.BytesIO and other in-memory streams
        return None
    try:
        select.select([fd], [], [], 0)
    except (OSError, ValueError):
        return None
    return fd
