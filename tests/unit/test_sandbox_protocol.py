"""The host-worker protocol on its own: every message round-trips through a real socket pair,
the decoder refuses anything malformed, frame lengths are checked before bodies are read, and the
worker cuts an oversized result down to fit."""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from rlm_cli.sandbox import protocol, worker
from rlm_cli.sandbox.calls import serve_call
from rlm_cli.sandbox.messages import (
    TO_HOST,
    TO_WORKER,
    Answer,
    Call,
    Exec,
    Failed,
    Init,
    Interrupt,
    Message,
    Op,
    PolicySpec,
    ProtocolError,
    Ready,
    Reply,
    Result,
    SetVariable,
    build,
    from_dict,
    to_dict,
)
from tests.unit.sandbox_helpers import FakeBroker

RESULT = Result(
    stdout="out é\udcff", stderr="", stdout_chars=6, stderr_chars=0, value_repr="3", error=None,
    duration_s=0.5, timed_out=False, interrupted=False, restored=["llm_query"], variables=["x"],
    answer=Answer("draft", False), notes=["a note"],
)
EVERY_MESSAGE: list[Message] = [
    Init("/m.json", 100, None, 1 << 20, Answer("so far", True), {"history": [{"a": 1}]}, 1 << 20,
         PolicySpec(["/s"], ["/r"], False)),
    Init(None, 100, 1 << 30, None, Answer(), {}, 1 << 20),
    Exec("print(1)", 2.5, 1), SetVariable("name", [1, "two", None]), Interrupt(),
    Reply(7, True, "text"), Reply(8, True, ["a", "b"]), Reply(9, False, error="RuntimeError: no"),
    Ready(), Failed("ImportError: x"), Call(1, "llm_query", {"prompt": "p", "model": None}), RESULT,
]


@pytest.mark.parametrize("message", EVERY_MESSAGE, ids=lambda m: type(m).__name__)
def test_every_message_round_trips_over_a_socket_pair(message: Message) -> None:
    left, right = socket.socketpair()
    reader = protocol.Reader(right)
    with left, right:
        protocol.send(left, message)
        assert reader.recv(TO_HOST | TO_WORKER) == message


@pytest.mark.parametrize("message", EVERY_MESSAGE, ids=lambda m: type(m).__name__)
def test_a_frame_is_the_same_bytes_with_or_without_the_c_encoder(message: Message, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = protocol.encode(message)
    assert fast[4:] == json.dumps(to_dict(message), ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass")
    monkeypatch.setattr(protocol, "_C_ENCODER", None)  # a Python whose json has no C part
    assert protocol.encode(message) == fast


def test_large_frames_arrive_whole_and_the_end_of_stream_is_told_apart() -> None:
    big = Exec("é" * 3_000_000 + "\udcff", 1.0, 2)
    left, right = socket.socketpair()
    reader = protocol.Reader(right)
    with left, right:
        writer = threading.Thread(target=lambda: [protocol.send(left, big), protocol.send(left, Ready())])
        writer.start()
        assert reader.recv(TO_HOST | TO_WORKER) == big
        assert reader.recv(TO_HOST | TO_WORKER) == Ready()
        writer.join()
        left.shutdown(socket.SHUT_WR)
        with pytest.raises(protocol.ChannelClosed):
            reader.recv(TO_HOST)


def test_a_frame_claiming_too_much_is_refused_from_its_header() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(protocol.HEADER.pack(700 * 1024**2))
        left.shutdown(socket.SHUT_WR)  # no body: reading one would end in ChannelClosed instead
        with pytest.raises(protocol.FrameTooLarge, match="734,003,200 bytes"):
            protocol.Reader(right, protocol.MAX_MESSAGE).recv(TO_HOST)


def test_a_message_over_the_limit_is_not_sent() -> None:
    with pytest.raises(protocol.FrameTooLarge):
        protocol.encode(Call(1, "llm_batch", {"prompts": ["x" * 1000]}), limit=500)
    assert protocol.encode(Ready())[:4] == protocol.HEADER.pack(len(b'{"op":"ready"}'))


def _with(message: Message, **changes: Any) -> dict[str, Any]:
    return {**to_dict(message), **changes}


@pytest.mark.parametrize(
    ("data", "allowed", "why"),
    [
        ([1, 2], TO_HOST, "must be a JSON object"),
        ({"op": "hack"}, TO_HOST, "unexpected op 'hack'"),
        ({"op": "exec", "code": "1", "timeout": 1, "cell": 1}, TO_HOST, "unexpected op 'exec'"),
        ({"op": "call", "kind": "llm_query", "args": {}}, TO_HOST, "missing field 'id'"),
        (_with(Call(1, "llm_query", {}), id=True), TO_HOST, "expected int, got bool"),
        (_with(Call(1, "llm_query", {}), id="1"), TO_HOST, "expected int, got str"),
        (_with(Call(1, "llm_query", {}), id=0), TO_HOST, "out of range"),
        (_with(Call(1, "llm_query", {}), args=[1]), TO_HOST, "args: expected dict"),
        ({"op": "result"}, TO_HOST, "missing field 'stdout'"),
        (_with(RESULT, answer="the answer"), TO_HOST, "answer: expected Answer, got str"),
        (_with(RESULT, answer={"content": "a", "ready": "false"}), TO_HOST, "ready: expected bool"),
        (_with(RESULT, answer={"content": 42, "ready": True}), TO_HOST, "content: expected str"),
        (_with(RESULT, extra=1), TO_HOST, "unknown field 'extra'"),
        (_with(RESULT, variables=["x", 3]), TO_HOST, "variables: expected str, got int"),
        (_with(Reply(1, True, "v"), id=None), TO_WORKER, "id: expected int, got NoneType"),
    ],
)
def test_malformed_messages_are_refused(data: object, allowed: frozenset[Op], why: str) -> None:
    with pytest.raises(ProtocolError, match=why.replace("(", r"\(")):
        from_dict(data, allowed)


@pytest.mark.parametrize("body", [
    b"\xff{", b"[" * 100_000, b"", b"nul", b'{"op":"re', b'{"op":"ready",}', b'{"op":"ready"}x',
    b'{"op":"ready"}{"op":"ready"}', b'{"op":"ready"} ', b"NaNx",
], ids=repr)
def test_a_frame_that_is_not_one_json_value_is_refused(body: bytes) -> None:
    with pytest.raises(ProtocolError, match="not JSON"):
        protocol.decode(body, TO_HOST)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"content": "x", "ready": True}, Answer("x", True)),
        ({"content": "x", "ready": "false"}, Answer("x", False)),
        ({"content": "x", "ready": 1}, Answer("x", False)),
        ({"content": 42}, Answer("42", False)),
        ({}, Answer()),
    ],
)
def test_only_true_marks_the_models_answer_ready(raw: dict[str, object], expected: Answer) -> None:
    assert Answer.from_model(raw) == expected


def test_forged_sub_call_arguments_get_an_error_reply() -> None:
    broker = FakeBroker()
    assert serve_call(broker, "llm_query", {"prompt": 3})["error"].endswith("prompt: expected str, got int")
    assert serve_call(broker, "llm_batch", {"prompts": "abc"})["ok"] is False
    assert serve_call(broker, "rlm_query", {"prompt": "p", "shell": "rm"})["error"].endswith("unknown field 'shell'")
    assert broker.calls == []


def test_an_oversized_result_is_cut_to_fit_output_first_then_the_answer() -> None:
    limit = 64_000
    loud = Result("o" * 200_000, "e" * 200_000, 200_000, 200_000, "v" * 100_000, None, 0.1,
                  False, False, [], [f"v{i}" for i in range(5000)], Answer("short", True))
    fitted = worker.fit(loud, limit)
    assert len(protocol.encode(fitted)) <= limit
    assert "200,000 characters in all" in fitted.stdout and fitted.answer == Answer("short", True)
    wordy = Result("", "", 0, 0, None, None, 0.1, False, False, [], [], Answer("a" * 200_000, True))
    fitted = worker.fit(wordy, limit)
    assert len(protocol.encode(fitted)) <= limit
    assert fitted.answer.ready and "200,000 characters in all" in fitted.answer.content
    assert "was cut to 4,000 characters" in fitted.notes[-1]
    assert worker.fit(RESULT, limit) is RESULT


def test_frames_sent_together_are_read_apart_however_they_straddle_the_reads() -> None:
    """Small frames arriving in one read, and a long one starting inside such a read, come out
    whole and in order."""
    messages: list[Message] = [Ready(), Exec("x" * (protocol.Reader.CHUNK + 10), 1.0, 1), Failed("no"), Ready()]
    left, right = socket.socketpair()
    reader = protocol.Reader(right)
    with left, right:
        writer = threading.Thread(target=lambda: left.sendall(b"".join(map(protocol.encode, messages))))
        writer.start()
        assert [reader.recv(TO_HOST | TO_WORKER) for _ in messages] == messages
        writer.join()


def test_a_message_class_its_dict_cannot_fill_is_refused_before_any_message_is_built() -> None:
    """Messages are built and read through the instance dict: a class with a __post_init__
    (whose checks that would skip) cannot become one."""

    @dataclass(frozen=True)
    class Checked:
        size: int

        def __post_init__(self) -> None:
            if self.size < 0:
                raise ValueError("negative")

    with pytest.raises(TypeError, match="__post_init__"):
        build(Checked, {"size": -1}, "checked")
