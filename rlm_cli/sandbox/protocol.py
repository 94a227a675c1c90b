"""Framing of the control channel: 4-byte big-endian length, then a UTF-8 JSON object.

Used by both the host and the worker, so it imports the standard library only.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

_HEADER = struct.Struct(">I")
MAX_FRAME = 1 << 30


class ChannelClosed(EOFError):
    """The other end closed the channel (for the host: the worker died)."""


def encode(message: dict[str, Any]) -> bytes:
    """One frame; lone surrogates from badly decoded text travel intact."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode(
        "utf-8", "surrogatepass"
    )
    if len(body) > MAX_FRAME:
        raise ValueError(f"message of {len(body):,} bytes exceeds the {MAX_FRAME:,}-byte frame limit")
    return _HEADER.pack(len(body)) + body


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    """Write one message; callers sharing a socket across threads hold a lock."""
    sock.sendall(encode(message))


def recv(sock: socket.socket) -> dict[str, Any]:
    """Read one message; ChannelClosed at a clean end of stream."""
    (size,) = _HEADER.unpack(_read_exactly(sock, _HEADER.size))
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size:,} bytes exceeds the {MAX_FRAME:,}-byte limit")
    message = json.loads(_read_exactly(sock, size).decode("utf-8", "surrogatepass"))
    if not isinstance(message, dict):
        raise ValueError("a frame must hold a JSON object")
    return message


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = sock.recv_into(view[got:], size - got)
        if count == 0:
            raise ChannelClosed("the control channel was closed")
        got += count
    return bytes(buffer)
