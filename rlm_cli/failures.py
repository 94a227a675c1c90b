"""When failed or empty model replies end a run: the failure policy of one run tree.

Shared by a run's engine and broker and by its child runs; thread-safe. Imports `errors` only.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from rlm_cli.errors import ProviderError

EMPTY_REPLIES_LIMIT = 3  # empty replies in a row from one model that end the run

_EMPTY_CAUSES = {
    "length": "its output cap (max_output_tokens) was used up, perhaps all by reasoning",
    "": "the provider prefix or --api-base may be wrong (an ollama/ model pointed at an "
    "OpenAI-compatible server wants openai/, a chat model on Ollama wants ollama_chat/)",
}


class Failures:
    """Records the failure that ends the run, if any; watches for empty replies."""

    def __init__(self, empty_limit: int = EMPTY_REPLIES_LIMIT) -> None:
        self.empty_limit = empty_limit
        self._lock = threading.Lock()
        self._failure: BaseException | None = None
        self._empty: dict[str, int] = {}

    @property
    def failure(self) -> BaseException | None:
        """What ends the run: set once, by the first failure that must stop it."""
        return self._failure

    def stop(self, error: BaseException) -> None:
        """End the run with `error` (the first one recorded wins)."""
        with self._lock:
            self._failure = self._failure or error

    def after_calls(self, errors: Sequence[BaseException | None]) -> None:
        """A batch (or one call) is done: when every call failed, and the same way, stop the run.

        An error is whatever a call raised once retries were over: a provider that refuses the key,
        a model that does not exist, a server still failing. The model cannot fix those by
        rewriting its code, and each further turn would only spend time and money on them.
        """
        failed = [error for error in errors if error is not None]
        if failed and len(failed) == len(errors) and len({_kind(error) for error in failed}) == 1:
            self.stop(failed[0])

    def reply(self, model: str, *, empty: bool, finish_reason: str | None) -> str | None:
        """Count one reply. The first empty one in a row gets a notice (returned); the limit's
        raises ProviderError and stops the run."""
        with self._lock:
            count = self._empty[model] = self._empty.get(model, 0) + 1 if empty else 0
        cause = _EMPTY_CAUSES.get(finish_reason or "", _EMPTY_CAUSES[""])
        if count >= self.empty_limit:
            error = ProviderError(f"{model} returned {count} empty replies in a row: {cause}", reason="empty_reply")
            self.stop(error)
            raise error
        return f"{model} returned an empty reply: {cause}" if count == 1 else None


def _kind(error: BaseException) -> tuple[str, str | None]:
    """Failures are the same when they have the same class and reason (status)."""
    return type(error).__name__, getattr(error, "reason", None)
