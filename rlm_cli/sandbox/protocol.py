"""Framing of the control channel: a 4-byte big-endian length, then the message as UTF-8 JSON.

The length is checked against the reader's limit before the body is read, so a frame claiming
more than the operation needs costs nothing. Used by host and worker: standard library only.
"""

from __future__ import annotations

import json
import json.encoder
import select
import socket
import struct
import time

from rlm_cli.sandbox.messages import Message, Op, ProtocolError, from_dict, to_dict

HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024**2  # bytes per message the host accepts from a worker (results are capped)
MAX_COMMAND = 1 << 30  # bytes per message a worker accepts from its host (variables can be large)
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner json.loads ends in, without its three Python layers
_C_ENCODER = json.encoder.c_make_encoder  # type: ignore[attr-defined]  # None where Python's json has no C accelerator


class ChannelClosed(EOFError):
    """The other end closed the channel (for the host: the worker died)."""


class FrameTooLarge(ProtocolError):
    """A frame longer than the reader accepts (refused from its header alone)."""


def encode(message: Message, limit: int = MAX_COMMAND) -> bytes:
    """One frame; lone surrogates from badly decoded text travel intact."""
    body = _to_json(to_dict(message)).encode("utf-8", "surrogatepass")
    if len(body) > limit:
        raise FrameTooLarge(f"a message of {len(body):,} bytes is over the {limit:,}-byte limit")
    return HEADER.pack(len(body)) + body


def decode(body: bytes | bytearray, allowed: frozenset[Op]) -> Message:
    """The message in one frame's body; ProtocolError for anything but a valid `allowed` one."""
    try:
        text = body.decode("utf-8", "surrogatepass")
        data, end = _SCAN(text, 0)
    except StopIteration:  # the scanner's word for "no JSON value starts here"
        raise ProtocolError("a frame that is not JSON (JSONDecodeError)") from None
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ProtocolError(f"a frame that is not JSON ({type(error).__name__})") from None
    if end != len(text):
        raise ProtocolError("a frame that is not JSON (data after its value)")
    return from_dict(data, allowed)


def _to_json(data: dict[str, object]) -> str:
    """`data` as compact JSON: what `_JSON.encode` gives, through the C encoder it ends in when
    Python has one (without `encode` and `iterencode`, two Python layers; fresh circular-reference
    markers per call, as they make)."""
    if _C_ENCODER is None:
        return _JSON.encode(data)
    return "".join(_C_ENCODER({}, _JSON.default, json.encoder.encode_basestring, None, ":", ",", False, False, True)(data, 0))


def send(sock: socket.socket, message: Message, limit: int = MAX_COMMAND) -> None:
    """Write one message; callers sharing a socket across threads hold a lock."""
    sock.sendall(encode(message, limit))


def send_by(sock: socket.socket, data: bytes, deadline: float) -> None:
    """Write `data` on a blocking socket, never waiting past `deadline` (time.monotonic()):
    each write takes what the socket's buffer has room for without waiting, and only a full
    buffer makes it wait, in poll(). TimeoutError if the peer did not read in time."""
    view = memoryview(data)
    while True:
        try:
            sent = sock.send(view, socket.MSG_DONTWAIT)
        except BlockingIOError:
            sent = 0
        if sent == len(view):
            return
        view = view[sent:]
        left = deadline - time.monotonic()
        if left <= 0 or not _writable(sock, left):
            raise TimeoutError("the peer did not read in time")


def _writable(sock: socket.socket, timeout: float) -> bool:
    """Whether the socket has room within `timeout` seconds (or failed: the send says how);
    BrokenPipeError if another thread closed it meanwhile."""
    poller = select.poll()
    try:
        poller.register(sock, select.POLLOUT)
    except ValueError:  # closed: its descriptor is -1
        raise BrokenPipeError("the control channel was closed") from None
    return bool(poller.poll(timeout * 1000))


class Reader:
    """The frames arriving on one socket. Each `recv` takes what the socket holds (up to CHUNK
    bytes, often several small frames) into a buffer, so a small message costs one system call;
    a longer frame is read into its own buffer once its header passed the limit."""

    CHUNK = 64 * 1024

    def __init__(self, sock: socket.socket, limit: int = MAX_COMMAND) -> None:
        self._sock = sock
        self.limit = limit
        self._pending = bytearray()
        self._chunk = memoryview(bytearray(self.CHUNK))

    def recv(self, allowed: frozenset[Op]) -> Message:
        """Read one message; ChannelClosed at a clean end of stream, ProtocolError for a bad one."""
        return decode(self.frame(), allowed)

    def frame(self) -> bytearray:
        """One frame's body, refused from its header if longer than the limit."""
        pending = self._pending
        while len(pending) < HEADER.size:
            self._fill()
        (size,) = HEADER.unpack_from(pending)
        if size > self.limit:
            raise FrameTooLarge(f"a frame of {size:,} bytes is over the {self.limit:,}-byte limit")
        end = HEADER.size + size
        if len(pending) >= end:
            body = pending[HEADER.size:end]
            del pending[:end]
            return body
        body = bytearray(size)
        got = len(pending) - HEADER.size
        body[:got] = pending[HEADER.size:]
        pending.clear()
        view = memoryview(body)
        while got < size:
            got += self._recv_into(view[got:])
        return body

    def _fill(self) -> None:
        count = self._recv_into(self._chunk)
        self._pending += self._chunk[:count]

    def _recv_into(self, view: memoryview) -> int:
        """Some bytes into `view`, waiting as long as it takes (the host's main loop, not the
        reader, gives up on a silent worker)."""
        count = self._sock.recv_into(view)
        if count == 0:
            raise ChannelClosed("the control channel was closed")
        return count
