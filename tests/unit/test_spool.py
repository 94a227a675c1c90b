"""Spooling stdin: the spool file holds exactly the bytes piped in, whichever way they are moved
(spliced from a pipe, read from a file or an in-memory stream)."""

from __future__ import annotations

import contextlib
import errno
import io
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest

from rlm_cli.corpus import load_manifest
from rlm_cli.errors import InputError
from rlm_cli.ingest import IngestOptions, ingest
from rlm_cli.ingest.spool import Spool

BIG = b"".join(b"line %d \xe2\x82\xac\r\n" % n for n in range(200_000)) + b"\xff tail"  # past a block, no newline at the end
CONTENTS = {
    "empty": b"",
    "crlf": b"first\r\nsecond\r\n",
    "invalid utf-8": "\u20ac caf\xe9, ".encode() * 20 + b"a stray \xff byte\n",  # mostly UTF-8: read as UTF-8
    "no trailing newline": b"just one line",
    "several blocks": BIG,
}


@contextmanager
def piped(data: bytes) -> Iterator[BinaryIO]:
    """A real pipe with `data` written into it by a thread, then closed."""
    reader, writer = os.pipe()

    def feed() -> None:
        with os.fdopen(writer, "wb") as out:
            out.write(data)

    thread = threading.Thread(target=feed)
    thread.start()
    try:
        with os.fdopen(reader, "rb", buffering=0) as stream:
            yield stream  # type: ignore[misc]  # a raw file is a binary stream
    finally:
        thread.join()


@contextmanager
def from_file(data: bytes, tmp_path: Path) -> Iterator[BinaryIO]:
    """`rlm ask - < file`: stdin is a regular file."""
    (tmp_path / "input").write_bytes(data)
    with open(tmp_path / "input", "rb") as stream:
        yield stream


@contextmanager
def in_memory(data: bytes, tmp_path: Path) -> Iterator[BinaryIO]:
    yield io.BytesIO(data)


SOURCES: dict[str, Callable[[bytes, Path], object]] = {
    "pipe": lambda data, tmp_path: piped(data), "file": from_file, "memory": in_memory,
}


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("name", CONTENTS)
def test_the_spool_file_holds_exactly_the_bytes_read(tmp_path: Path, source: str, name: str) -> None:
    data = CONTENTS[name]
    with SOURCES[source](data, tmp_path) as stream:  # type: ignore[attr-defined]
        path = Spool(tmp_path / "spool").stdin(stream, cap=len(data))  # exactly at the cap is allowed
    assert path.read_bytes() == data


@pytest.mark.parametrize("source", SOURCES)
def test_a_stream_one_byte_past_the_cap_stops(tmp_path: Path, source: str) -> None:
    with SOURCES[source](BIG, tmp_path) as stream, pytest.raises(InputError, match="stdin is larger than max_stdin"):  # type: ignore[attr-defined]
        Spool(tmp_path / "spool").stdin(stream, cap=len(BIG) - 1)


@pytest.mark.parametrize("name", ["crlf", "invalid utf-8", "no trailing newline", "several blocks"])
def test_piped_text_becomes_the_context_as_read(tmp_path: Path, name: str) -> None:
    data = CONTENTS[name]
    with piped(data) as stream:
        manifest = ingest(["-"], IngestOptions(), spool_dir=tmp_path / "spool", stdin=stream).manifest_path
    assert load_manifest(manifest) == data.decode("utf-8", errors="replace")


def test_an_empty_pipe_is_the_empty_stdin_error(tmp_path: Path) -> None:
    with piped(b"") as stream, pytest.raises(InputError, match="stdin is empty"):
        ingest(["-"], IngestOptions(), spool_dir=tmp_path / "spool", stdin=stream)


def test_a_file_system_without_splice_still_gets_every_byte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = os.splice

    def no_splice_into_files(source: int, target: int, count: int, *args: object, **kwargs: object) -> int:
        if not stat.S_ISFIFO(os.fstat(target).st_mode):
            raise OSError(errno.EINVAL, "splice refused")
        return real(source, target, count, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "splice", no_splice_into_files)
    with piped(BIG) as stream:
        path = Spool(tmp_path / "spool").stdin(stream, cap=len(BIG))
    assert path.read_bytes() == BIG


@pytest.mark.parametrize("cap", [len(BIG), len(BIG) - 1], ids=["whole", "past the cap"])
def test_stdin_moves_with_the_gil_handed_over_quickly_and_the_default_comes_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cap: int,
) -> None:
    """With LiteLLM importing on another thread, each move waits for the GIL: at Python's default
    5 ms a wait, spooling ran at a tenth of its speed."""
    real, seen, default = os.splice, [], sys.getswitchinterval()

    def recording(*args: object, **kwargs: object) -> int:
        seen.append(sys.getswitchinterval())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "splice", recording)
    with piped(BIG) as stream, contextlib.suppress(InputError):
        Spool(tmp_path / "spool").stdin(stream, cap=cap)
    assert seen and max(seen) <= default / 10
    assert sys.getswitchinterval() == default


def test_spools_running_at_once_leave_the_default_switch_interval_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first spool starts, the second starts while it runs, the first ends, then the second."""
    real, default = os.splice, sys.getswitchinterval()
    first_inside, first_done, both_inside = threading.Event(), threading.Event(), threading.Barrier(2, timeout=10)
    first, moved = threading.Thread(target=lambda: spool("first"), name="first"), set()

    def ordered(*args: object, **kwargs: object) -> int:
        if threading.current_thread().name not in moved:  # a spool's first move
            moved.add(threading.current_thread().name)
            if threading.current_thread() is first:
                first_inside.set()
                both_inside.wait()
            else:
                both_inside.wait()
                assert first_done.wait(10)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    def spool(name: str) -> None:
        with piped(BIG) as stream:
            assert Spool(tmp_path / name).stdin(stream, cap=len(BIG)).read_bytes() == BIG

    monkeypatch.setattr(os, "splice", ordered)
    first.start()
    assert first_inside.wait(10)
    threading.Thread(target=lambda: (first.join(), first_done.set())).start()
    spool("second")
    assert sys.getswitchinterval() == default


@pytest.mark.parametrize("refusal", [None, errno.EXDEV, errno.ENOSYS], ids=["kernel copy", "across disks", "no such call"])
def test_stdin_from_a_file_is_copied_from_where_its_reader_stands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusal: int | None,
) -> None:
    """`(head -c 5 >/dev/null; rlm ask -) < log`: the bytes after those already read, whichever way they are copied."""
    real, calls = os.copy_file_range, []

    def kernel_copy(*args: object, **kwargs: object) -> int:
        calls.append(args)
        if refusal is not None:
            raise OSError(refusal, os.strerror(refusal))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "copy_file_range", kernel_copy)
    (tmp_path / "input").write_bytes(BIG)
    with open(tmp_path / "input", "rb", buffering=0) as stream:
        os.lseek(stream.fileno(), 5, os.SEEK_SET)
        path = Spool(tmp_path / "spool").stdin(stream, cap=len(BIG))  # type: ignore[arg-type]  # a raw file is a binary stream
    assert path.read_bytes() == BIG[5:]
    assert len(calls) == (1 if refusal else -(-len(BIG[5:]) // (1 << 20)) + 1)  # refused once, then never asked again


def test_stdin_from_a_proc_file_keeps_its_bytes(tmp_path: Path) -> None:
    """`rlm ask - < /proc/version`: a file that says it is empty, on another file system."""
    with open("/proc/version", "rb") as stream:
        path = Spool(tmp_path / "spool").stdin(stream, cap=1 << 20)
    assert path.read_bytes() == Path("/proc/version").read_bytes() != b""
