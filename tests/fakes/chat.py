"""An in-process ChatModel for engine and broker tests: scripted replies, recorded requests, no HTTP.

Scripts and rules are the fake provider's (`script`, `code`, `default_sub_rule`) and see the same
`Request` records, so a test reads alike against either. A model name ending in "root" is the
root model; any other is a sub-model.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from rlm_cli.budget import Quote
from rlm_cli.chat import Completion, Message, OnRetry, Stop, ToolSchema
from rlm_cli.errors import ProviderError
from rlm_cli.units import estimate_tokens
from tests.fakes.provider import Reply, Request, RootScript, SubRule, code, default_sub_rule, script


class ScriptedModel:
    """Answers root turns from `root` (a script or a list) and sub-calls by `sub`; thread-safe.

    `fail(error)` makes calls raise; `hold()` keeps sub-calls waiting until `release()` or until
    their run's stop signal is set, as a request in flight would.
    """

    def __init__(
        self, root: RootScript | None = None, sub: SubRule = default_sub_rule, *,
        price: tuple[float, float] | None = (1e-6, 2e-6), max_output: int = 4096,
    ) -> None:
        self.root_script: RootScript = root or script(code("print('hi')"), code("FINAL('done')"))
        self.sub_rule = sub
        self.price = price
        self.max_output = max_output
        self.requests: list[Request] = []
        self.max_in_flight = 0
        self.changed = threading.Condition()  # notified on every request and reply
        self._in_flight = 0
        self._faults: list[tuple[BaseException, int | None, str]] = []
        self._held = False
        self._waiters: list[threading.Event] = []

    # scripting ---------------------------------------------------------------------------------
    def fail(self, error: BaseException, *, times: int | None = 1, models: str = "") -> None:
        """Raise `error` from the next `times` calls (None: all) to models ending in `models`."""
        self._faults.append((error, times, models))

    def hold(self) -> None:
        """Keep sub-calls waiting, as if in flight, until released or stopped."""
        with self.changed:
            self._held = True

    def release(self) -> None:
        """Let held sub-calls answer."""
        with self.changed:
            self._held = False
            waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.set()

    def wait_for(self, predicate: Any, timeout: float = 10.0) -> bool:
        """Wait until `predicate(self)` holds (checked on every request and reply)."""
        with self.changed:
            return self.changed.wait_for(lambda: predicate(self), timeout)

    @property
    def in_flight(self) -> int:
        """Calls sent and not answered yet."""
        return self._in_flight

    def root_requests(self) -> list[Request]:
        """Root-model turns."""
        return [r for r in self.requests if r.model.endswith("root")]

    def sub_requests(self) -> list[Request]:
        """Sub-calls."""
        return [r for r in self.requests if not r.model.endswith("root")]

    # the ChatModel protocol ----------------------------------------------------------------------
    def quote(self, model: str, messages: list[Message], tools: list[ToolSchema] | None = None) -> Quote:
        """The worst case, priced at `price` per token."""
        chars = sum(len(str(m.get("content") or "")) for m in messages)
        return Quote(
            estimate_tokens(chars), self.max_output,
            self.price[0] if self.price else None, self.price[1] if self.price else None,
        )

    def complete(
        self, model: str, messages: list[Message], *, tools: list[ToolSchema] | None = None,
        deadline: float | None = None, max_output: int | None = None, on_retry: OnRetry | None = None,
        stop: Stop | None = None,
    ) -> Completion:
        """The scripted reply; what a real client does when stopped: nothing sent, or abandoned."""
        if stop is not None and stop.is_set():
            raise ProviderError(f"{model}: the run has ended; the call was not sent", reason="cancelled")
        request = self._record(model, messages, tools)
        try:
            fault = self._take_fault(model)
            if fault is not None:
                raise fault
            if not model.endswith("root"):
                self._wait_released(model, stop)
            reply = self._reply(request)
        finally:
            with self.changed:
                self._in_flight -= 1
                request.finished = time.monotonic()
                self.changed.notify_all()
        return _completion(reply, request, self.price)

    # internals -----------------------------------------------------------------------------------
    def _record(self, model: str, messages: list[Message], tools: list[ToolSchema] | None) -> Request:
        with self.changed:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
            request = Request(model=model, messages=[dict(m) for m in messages], stream=False, tools=tools,
                              started=time.monotonic(), in_flight=self._in_flight, body={})
            self.requests.append(request)
            self.changed.notify_all()
        return request

    def _take_fault(self, model: str) -> BaseException | None:
        with self.changed:
            for number, (error, times, models) in enumerate(self._faults):
                if model.endswith(models):
                    if times is not None:
                        self._faults[number] = (error, times - 1, models)
                        if times - 1 == 0:
                            del self._faults[number]
                    return error
        return None

    def _wait_released(self, model: str, stop: Stop | None) -> None:
        woken = threading.Event()
        with self.changed:
            if not self._held:
                return
            self._waiters.append(woken)
        forget = stop.on_set(woken.set) if stop is not None else (lambda: None)
        woken.wait()
        forget()
        if stop is not None and stop.is_set():
            raise ProviderError(f"{model}: the run has ended; the call was abandoned", reason="cancelled")

    def _reply(self, request: Request) -> Reply:
        if not request.model.endswith("root"):
            return self.sub_rule(request)
        if callable(self.root_script):
            return self.root_script(request)
        return self.root_script[request.turn] if request.turn < len(self.root_script) else code("print('more')")


def _completion(reply: Reply, request: Request, price: tuple[float, float] | None) -> Completion:
    body: dict[str, Any] = {"content": reply} if isinstance(reply, str) else reply
    text = str(body.get("content") or "")
    calls = [
        {"id": call["id"], "name": call["function"]["name"], "arguments": call["function"]["arguments"]}
        for call in body.get("tool_calls") or []
    ]
    prompt_tokens = estimate_tokens(request.prompt_chars)
    completion_tokens = estimate_tokens(len(text)) + 1
    cost = prompt_tokens * price[0] + completion_tokens * price[1] if price else None
    return Completion(text, prompt_tokens, completion_tokens, cost, 0.0, calls, body.get("finish_reason", "stop"))
