"""A scripted chat server on 127.0.0.1, for tests and benchmarks: OpenAI's chat-completions API,
or (`api="anthropic"`) Anthropic's `/v1/messages`.

Root-model replies come from a script chosen by the request itself (the number of assistant
messages so far), so the server keeps no conversation state. Sub-call replies come from rules over
the prompt. It can add latency and fail on cue, and it records every request it receives, with
its path and headers (a request to a route it does not serve is recorded and answered 404).
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = str | dict[str, Any]
RootScript = list[Reply] | Callable[["Request"], Reply]
SubRule = Callable[["Request"], Reply]


@dataclass
class Request:
    """One recorded chat-completions request."""

    model: str
    messages: list[dict[str, Any]]
    stream: bool
    tools: list[dict[str, Any]] | None
    started: float
    in_flight: int
    body: dict[str, Any]
    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)  # names in lower case
    finished: float | None = None
    status: int = 200

    @property
    def system(self) -> str:
        """The system prompt (empty when there is none)."""
        return next((_text(m) for m in self.messages if m.get("role") == "system"), "")

    @property
    def last_user(self) -> str:
        """The last user message: the sub-call's prompt, or the root's latest feedback."""
        return next((_text(m) for m in reversed(self.messages) if m.get("role") == "user"), "")

    @property
    def turn(self) -> int:
        """How many assistant replies the conversation already holds."""
        return sum(1 for m in self.messages if m.get("role") == "assistant")

    @property
    def prompt_chars(self) -> int:
        """Characters across all messages."""
        return sum(len(_text(m)) for m in self.messages)

    @property
    def message_sizes(self) -> list[int]:
        """Characters of each message."""
        return [len(_text(m)) for m in self.messages]


@dataclass
class Fault:
    """A failure served instead of a reply: kind is status, hang, malformed or reset."""

    kind: str
    status: int = 500
    retry_after: float | None = None
    times: int | None = 1  # None: forever
    models: tuple[str, ...] | None = None  # None: any model
    hang_s: float = 30.0
    skip: int = 0  # matching requests served normally before the failures start
    message: str | None = None  # the error text in the body (default: "fake failure STATUS")

    def matches(self, model: str) -> bool:
        return self.models is None or any(model.endswith(name) for name in self.models)


def _text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def default_sub_rule(request: Request) -> Reply:
    """Answer a sub-call with a short, checkable echo of its prompt."""
    return f"sub-answer to {len(request.last_user)} chars"


def code(*lines: str) -> str:
    """A root-model reply running the given code in one ```repl block."""
    return "```repl\n" + "\n".join(lines) + "\n```"


@dataclass
class FakeProvider:
    """The server. Use as a context manager or call start()/stop()."""

    root_script: RootScript = field(default_factory=list)
    sub_rule: SubRule = default_sub_rule
    root_marker: str = "persistent Python REPL"  # a system prompt holding this is a root turn
    latency: float = 0.0
    sub_latency: float | None = None
    overlap: int = 0  # sub-calls wait (30 s at most) until this many requests were in flight at once
    requests: list[Request] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    api: str = "openai"  # or "anthropic": the API this server speaks
    # Prompt tokens a request reports as read from the provider's prompt cache (None: no such field).
    prompt_cache: Callable[[Request], int] | None = None
    max_concurrent: int | None = None  # answer 429 at once to a request arriving above this many in flight

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self.arrived = threading.Condition(self._lock)  # notified as each request arrives
        self._in_flight = 0
        self.max_in_flight = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> FakeProvider:
        """Listen on an ephemeral port of 127.0.0.1."""
        handler = _make_handler(self)
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL to pass as --api-base (LiteLLM adds /v1/messages to an Anthropic base)."""
        assert self._server is not None, "start() the server first"
        root = f"http://127.0.0.1:{self._server.server_address[1]}"
        return root if self.api == "anthropic" else root + "/v1"

    def serves(self, path: str) -> bool:
        """Whether `path` is this server's chat route."""
        route = "/v1/messages" if self.api == "anthropic" else "/chat/completions"
        return path.split("?")[0].rstrip("/").endswith(route)

    # cues ----------------------------------------------------------------------------------
    def fail(self, kind: str = "status", **options: Any) -> Fault:
        """Queue a failure, e.g. fail(status=429, retry_after=1, times=3) or fail("reset")."""
        fault = Fault(kind=kind, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def root_requests(self) -> list[Request]:
        """Root-model turns (the system prompt teaches the REPL)."""
        return [r for r in self.requests if self.is_root(r)]

    def sub_requests(self) -> list[Request]:
        """Every other request: sub-calls."""
        return [r for r in self.requests if not self.is_root(r)]

    def is_root(self, request: Request) -> bool:
        """Whether a request is a root-model turn rather than a sub-call."""
        return self.root_marker in request.system

    # serving -------------------------------------------------------------------------------
    def _take_fault(self, model: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(model) and fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.matches(model) and (fault.times is None or fault.times > 0):
                    if fault.times is not None:
                        fault.times -= 1
                    return fault
        return None

    def _reply_for(self, request: Request) -> Reply:
        if self.is_root(request):
            script = self.root_script
            if callable(script):
                return script(request)
            if request.turn < len(script):
                return script[request.turn]
            return "The script has no more turns."
        return self.sub_rule(request)

    def _enter(self, body: dict[str, Any], path: str, headers: dict[str, str]) -> Request:
        messages = list(body.get("messages") or [])
        if self.api == "anthropic" and body.get("system"):
            messages.insert(0, {"role": "system", "content": body["system"]})
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            request = Request(
                model=str(body.get("model", "")),
                messages=messages,
                stream=bool(body.get("stream")),
                tools=body.get("tools"),
                started=time.monotonic(),
                in_flight=self._in_flight,
                body=body,
                path=path,
                headers={name.lower(): value for name, value in headers.items()},
            )
            self.requests.append(request)
            self.arrived.notify_all()
        return request

    def _leave(self, request: Request, status: int) -> None:
        with self._lock:
            self._in_flight -= 1
            request.finished = time.monotonic()
            request.status = status

    def _await_overlap(self, request: Request) -> None:
        """Hold a sub-call until `overlap` requests have been in flight together (once is enough),
        so a test of concurrency needs no latency that a loaded machine could outlast."""
        if self.overlap and not self.is_root(request):
            with self._lock:
                self.arrived.wait_for(lambda: self.max_in_flight >= self.overlap, timeout=30)

    def _latency_for(self, request: Request) -> float:
        if self.sub_latency is not None and not self.is_root(request):
            return self.sub_latency
        return self.latency


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a fan-out of hundreds opens its connections at once


def _make_handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                self._send_json(400, {"error": {"message": "bad JSON", "type": "invalid_request_error"}})
                return
            self._request: Request | None = provider._enter(body, self.path, dict(self.headers.items()))
            try:
                if not provider.serves(self.path):
                    self._send_json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                self._serve(self._request)
            finally:
                self._done(500)  # only if nothing was sent: the script itself failed

        def _done(self, status: int) -> None:
            """Record the outcome before the client can see it, so tests never race the record."""
            request = getattr(self, "_request", None)
            if request is not None and request.finished is None:
                provider._leave(request, status)

        def _serve(self, request: Request) -> None:
            if provider.max_concurrent is not None and request.in_flight > provider.max_concurrent:
                self._serve_fault(Fault("status", status=429, message="fake: too many requests in flight"))
                return
            provider._await_overlap(request)
            delay = provider._latency_for(request)
            if delay:
                time.sleep(delay)
            fault = provider._take_fault(request.model)
            if fault is not None:
                self._serve_fault(fault)
                return
            reply = provider._reply_for(request)
            message = _as_message(reply)
            usage = {
                "prompt_tokens": max(1, request.prompt_chars // 4),
                "completion_tokens": max(1, len(message.get("content") or "") // 4),
            }
            usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
            if provider.prompt_cache is not None:
                usage["cached_tokens"] = provider.prompt_cache(request)
            if provider.api == "anthropic":
                self._send_json(200, _anthropic_message(request.model, message, usage))
            elif request.stream:
                self._send_stream(request, message, usage)
            else:
                self._send_json(200, _completion(request.model, message, usage))

        def _serve_fault(self, fault: Fault) -> None:
            if fault.kind == "hang":
                time.sleep(fault.hang_s)
                self._reset()
                return
            if fault.kind == "reset":
                self._reset()
                return
            if fault.kind == "malformed":
                payload = b'{"id": "x", "choices": [ {"message": '
                self._send_raw(200, payload, "application/json")
                return
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            kinds = {429: "rate_limit_error", 401: "authentication_error", 400: "invalid_request_error"}
            text = fault.message if fault.message is not None else f"fake failure {fault.status}"
            error = {"error": {"message": text, "type": kinds.get(fault.status, "server_error")}}
            self._send_json(fault.status, error, headers)

        def _reset(self) -> None:
            self._done(0)
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True

        def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            self._send_raw(status, json.dumps(payload).encode(), "application/json", headers)

        def _send_raw(self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
            self._done(status)
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _send_stream(self, request: Request, message: dict[str, Any], usage: dict[str, int]) -> None:
            self._done(200)
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            for chunk in _stream_chunks(request.model, message, usage):
                self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


def _as_message(reply: Reply) -> dict[str, Any]:
    if isinstance(reply, str):
        return {"role": "assistant", "content": reply}
    return {"role": "assistant", "content": None, **reply}


def _openai_usage(usage: dict[str, int]) -> dict[str, Any]:
    """OpenAI's usage object: cached prompt tokens under prompt_tokens_details."""
    shown: dict[str, Any] = {name: value for name, value in usage.items() if name != "cached_tokens"}
    if "cached_tokens" in usage:
        shown["prompt_tokens_details"] = {"cached_tokens": usage["cached_tokens"]}
    return shown


def _completion(model: str, message: dict[str, Any], usage: dict[str, int]) -> dict[str, Any]:
    finish = "tool_calls" if message.get("tool_calls") else "stop"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": _openai_usage(usage),
    }


def _anthropic_message(model: str, message: dict[str, Any], usage: dict[str, int]) -> dict[str, Any]:
    """A reply in the shape of Anthropic's Messages API (text only)."""
    return {
        "id": f"msg_{uuid.uuid4().hex[:12]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": message.get("content") or ""}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": _anthropic_usage(usage),
    }


def _anthropic_usage(usage: dict[str, int]) -> dict[str, int]:
    """Anthropic's usage: input_tokens counts only what was neither read from nor written to the cache."""
    cached = usage.get("cached_tokens")
    if cached is None:
        return {"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"]}
    return {
        "input_tokens": usage["prompt_tokens"] - cached, "output_tokens": usage["completion_tokens"],
        "cache_read_input_tokens": cached, "cache_creation_input_tokens": 0,
    }


def _stream_chunks(model: str, message: dict[str, Any], usage: dict[str, int]) -> Iterator[dict[str, Any]]:
    base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
    content = message.get("content") or ""
    pieces = [content[i : i + 16] for i in range(0, len(content), 16)] or [""]
    for index, piece in enumerate(pieces):
        delta: dict[str, Any] = {"content": piece}
        if index == 0:
            delta["role"] = "assistant"
        yield {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}], "usage": _openai_usage(usage)}


def rule(pairs: list[tuple[str, Reply]], default: Reply = "no rule matched") -> SubRule:
    """A sub-call rule from (regex, reply) pairs tried in order against the prompt."""
    compiled = [(re.compile(pattern, re.S), reply) for pattern, reply in pairs]

    def answer(request: Request) -> Reply:
        for pattern, reply in compiled:
            if pattern.search(request.last_user):
                return reply
        return default

    return answer


LIMIT_MARKER = "The run must stop now"


def script(*turns: Reply, on_limit: Reply = "best answer under the limit", after: Reply | None = None) -> RootScript:
    """Root turns in order; `on_limit` answers the engine's last call when a budget stops a run.

    Past the last turn the model keeps working (`after`, by default a harmless cell), so a run
    only ends by its own answer or by a limit.
    """
    keep_working = after if after is not None else code("print('still working')")

    def reply(request: Request) -> Reply:
        if LIMIT_MARKER in request.last_user:
            return on_limit
        return turns[request.turn] if request.turn < len(turns) else keep_working

    return reply
