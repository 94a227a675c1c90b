"""The response cache: model replies kept on disk, keyed by everything that decides them.

`CachedModel` wraps a ChatModel: a call asked before (same model, messages, tools, output cap,
options and API base) is answered from the cache, any other is made and its reply kept unless it
is empty or was cut at the output cap (failures raise, so they are never kept). The store is
diskcache (SQLite: safe with several runs at once, a size cap, least-recently-used eviction),
imported only when a run first uses it. Must not import litellm.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlm_cli.budget import Quote
from rlm_cli.chat import ChatModel, Completion, Message, OnRetry, Stop, ToolSchema

KEY_VERSION = 1  # bumped when what a key covers changes: older entries are then never hit
RESPONSES = "responses"  # the cache's folder under the cache directory
# What else decides a model's reply besides the messages: options, where it is sent (never the key).
Identity = Callable[[str], Mapping[str, Any]]


def cache_key(model: str, messages: list[Message], tools: list[ToolSchema] | None, max_output: int | None, identity: Mapping[str, Any]) -> str:
    """The SHA-256 of one call's canonical JSON: the same call gives the same key in any process."""
    payload = {"v": KEY_VERSION, "model": model, "messages": messages, "tools": tools, "max_output": max_output, **identity}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def keepable(completion: Completion) -> bool:
    """Whether a reply may answer the same call later: not empty, not cut at the output cap."""
    has_reply = bool(completion.text.strip() or completion.tool_calls)
    return has_reply and completion.finish_reason != "length"


@dataclass(frozen=True)
class CacheInfo:
    """What `rlm cache info` shows."""

    path: str
    entries: int
    size: int  # bytes on disk
    cap: int  # bytes at most

    def to_json_dict(self) -> dict[str, Any]:
        """The `--json` form."""
        return dataclasses.asdict(self)


class ResponseCache:
    """Model replies on disk under `directory`, at most `size_limit` bytes (thread- and process-safe).

    A cache that cannot be opened or read (a full disk, a broken database) is a miss, never a
    failed run; `error` says why it was turned off.
    """

    def __init__(self, directory: Path, size_limit: int) -> None:
        self.directory = directory
        self.size_limit = size_limit
        self.error: str | None = None
        self._store: Any = None
        self._errors: tuple[type[BaseException], ...] = (OSError, sqlite3.Error)
        self._lock = threading.Lock()

    def open(self) -> Any:
        """The diskcache store, opened on first use; None when it cannot be (see `error`)."""
        with self._lock:
            if self._store is None and self.error is None:
                import diskcache

                self._errors = (OSError, sqlite3.Error, diskcache.Timeout)
                try:
                    self._store = diskcache.Cache(
                        str(self.directory), size_limit=self.size_limit, eviction_policy="least-recently-used",
                    )
                except (OSError, sqlite3.Error) as error:
                    self.error = str(error)
            return self._store

    def get(self, key: str) -> Completion | None:
        """The reply kept under `key`, marked as answered from the cache; None when there is none."""
        store = self.open()
        if store is None:
            return None
        try:
            stored = store.get(key)
        except self._errors as error:
            self.error = str(error)
            return None
        if not isinstance(stored, dict):
            return None
        fields = {f.name for f in dataclasses.fields(Completion)} & stored.keys()
        return Completion(**{name: stored[name] for name in fields}, latency_s=0.0, from_cache=True)

    def put(self, key: str, completion: Completion) -> None:
        """Keep a reply under `key` (the least recently used ones go once the cap is reached)."""
        store = self.open()
        if store is None:
            return
        kept = {k: v for k, v in dataclasses.asdict(completion).items() if k not in ("latency_s", "from_cache")}
        try:
            store.set(key, kept)
        except self._errors as error:
            self.error = str(error)

    def info(self) -> CacheInfo:
        """Its path, entries, bytes on disk and cap."""
        store = self.open()
        if store is None:
            return CacheInfo(str(self.directory), 0, 0, self.size_limit)
        return CacheInfo(str(self.directory), len(store), int(store.volume()), self.size_limit)

    def clear(self) -> int:
        """Remove every entry; returns how many there were."""
        store = self.open()
        return 0 if store is None else int(store.clear())

    def close(self) -> None:
        """Close the database (it opens again on the next use)."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None


def response_cache(root: Path, size_limit: int) -> ResponseCache:
    """The response cache under a cache directory (settings.cache_dir)."""
    return ResponseCache(root / RESPONSES, size_limit)


class CachedModel:
    """A ChatModel whose repeated calls are answered from a ResponseCache.

    With `read` False it only keeps replies (a run's root calls, so that a replay of the run can
    be answered from the cache) and always calls the model.
    """

    def __init__(self, model: ChatModel, cache: ResponseCache, identity: Identity, *, read: bool = True) -> None:
        self.model = model
        self.cache = cache
        self.identity = identity
        self.read = read

    def quote(self, model: str, messages: list[Message], tools: list[ToolSchema] | None = None) -> Quote:
        """The wrapped model's quote (a call answered from the cache is settled at no cost)."""
        return self.model.quote(model, messages, tools)

    def complete(
        self,
        model: str,
        messages: list[Message],
        *,
        tools: list[ToolSchema] | None = None,
        deadline: float | None = None,
        max_output: int | None = None,
        on_retry: OnRetry | None = None,
        stop: Stop | None = None,
    ) -> Completion:
        """The cached reply to this exact call, else the wrapped model's (kept when keepable)."""
        key = cache_key(model, messages, tools, max_output, self.identity(model))
        hit = self.cache.get(key) if self.read else None
        if hit is not None:
            return hit
        completion = self.model.complete(
            model, messages, tools=tools, deadline=deadline, max_output=max_output, on_retry=on_retry, stop=stop,
        )
        if keepable(completion):
            self.cache.put(key, completion)
        return completion
