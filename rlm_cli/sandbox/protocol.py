"""Framing of the control channel: a 4-byte big-endian length, then the message as UTF-8 JSON.

The length is checked against the reader's limit before the body is read, so a frame claiming
more than the operation needs costs nothing. Used by host and worker: standard library only.
"""

from __future__ import annotations

import json
import socket
import struct

from rlm_cli.sandbox.messages import Message, Op, ProtocolError, from_dict, to_dict

HEADER = struct.Struct(">I")
MAX_MESSAGE = 64 * 1024**2  # bytes per message the host accepts from a worker (results are capped)
MAX_COMMAND = 1 << 30  # bytes per message a worker accepts from its host (variables can be large)


class ChannelClosed(EOFError):
    """The other end closed the channel (for the host: the worker died)."""


class FrameTooLarge(ProtocolError):
    """A frame longer than the reader accepts (refused from its header alone)."""


def encode(message: Message, limit: int = MAX_COMMAND) -> bytes:
    """One frame; lone surrogates from badly decoded text travel intact."""
    body = json.dumps(to_dict(message), ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )
    if len(body) > limit:
        raise FrameTooLarge(f"a message of {len(body):,} bytes is over the {limit:,}-byte limit")
    return HEADER.pack(len(body)) + body


def decode(body: bytes | bytearray, allowed: frozenset[Op]) -> Message:
    """The message in one frame's body; ProtocolError for anything but a valid `allowed` one."""
    try:
        data = json.loads(body.decode("utf-8", "surrogatepass"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise ProtocolError(f"a frame that is not JSON ({type(error).__name__})") from None
    return from_dict(data, allowed)


def send(sock: socket.socket, message: Message, limit: int = MAX_COMMAND) -> None:
    """Write one message; callers sharing a socket across threads hold a lock."""
    sock.sendall(encode(message, limit))


def recv(sock: socket.socket, allowed: frozenset[Op], limit: int = MAX_COMMAND) -> Message:
    """Read one message; ChannelClosed at a clean end of stream, ProtocolError for a bad one."""
    return decode(read_frame(sock, limit), allowed)


def read_frame(sock: socket.socket, limit: int) -> bytearray:
    """One frame's body, refused from its header if longer than `limit`."""
    (size,) = HEADER.unpack(_read_exactly(sock, HEADER.size))
    if size > limit:
        raise FrameTooLarge(f"a frame of {size:,} bytes is over the {limit:,}-byte limit")
    return _read_exactly(sock, size)


def _read_exactly(sock: socket.socket, size: int) -> bytearray:
    """`size` bytes; a socket timeout only means nothing arrived yet (sends carry the timeout)."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        try:
            count = sock.recv_into(view[got:], size - got)
        except TimeoutError:
            continue
        if count == 0:
            raise ChannelClosed("the control channel was closed")
        got += count
    return buffer
