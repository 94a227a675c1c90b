"""Model calls through LiteLLM: key checks, retries with backoff, usage and cost.

The only module that imports litellm, and only lazily (it costs seconds to import).
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rlm_cli.connections import Connections
from rlm_cli.errors import ConfigError, ProviderError
from rlm_cli.providers import unknown_model_error

_RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}
_setup_lock = threading.Lock()
_litellm: Any = None
_skips_mcp = False  # whether completion() accepts _skip_mcp_handler


def litellm_module() -> Any:
    """Import and configure litellm once: no network price fetch, nothing on stdout."""
    global _litellm, _skips_mcp
    with _setup_lock:
        if _litellm is None:
            os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
            import inspect

            import litellm

            # Some releases route every call that has tools through an MCP handler that needs the
            # optional `mcp` package; our tools are plain functions, so skip it where possible.
            _skips_mcp = "_skip_mcp_handler" in inspect.unwrap(litellm.completion).__code__.co_consts

            litellm.suppress_debug_info = True
            litellm.telemetry = False
            litellm.drop_params = True
            for name in ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm"):
                logger = logging.getLogger(name)
                logger.handlers = [logging.StreamHandler(sys.stderr)]
                logger.setLevel(logging.ERROR)
                logger.propagate = False
            _litellm = litellm
    return _litellm


@dataclass(frozen=True)
class Completion:
    """One model reply with its accounting."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_s: float
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in count and in total waiting time."""

    max_retries: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_total_wait: float = 180.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before retry number `attempt` (0-based)."""
        backoff = random.uniform(0, min(self.max_delay, self.base_delay * 2**attempt))
        if retry_after is not None:
            return min(max(retry_after, backoff), self.max_delay * 2)
        return backoff


class LLMClient:
    """Calls models; shared by the root loop and every sub-call of a run (thread-safe)."""

    def __init__(
        self,
        *,
        api_base: str | None = None,
        connections: Connections | None = None,
        request_timeout: float = 600.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        """`connections` says how each model is reached; without it, `api_base` serves every model."""
        self.connections = connections or Connections.shared(api_base)
        self.request_timeout = request_timeout
        self.retry = retry or RetryPolicy()

    @classmethod
    def from_settings(cls, settings: Any) -> LLMClient:
        """The client a run's settings describe."""
        return cls(
            connections=Connections.from_settings(settings), request_timeout=settings.request_timeout,
            retry=RetryPolicy(max_retries=settings.max_retries, base_delay=settings.retry_base_delay),
        )

    def check_keys(self, models: list[str]) -> None:
        """Raise ConfigError naming the missing variable (or the unknown provider), before any call.

        The usual providers are checked without LiteLLM; it is imported only for the others.
        """
        self.connections.check(models, unknown=_check_with_litellm)

    def context_window(self, model: str, fallback: int) -> int:
        """Input tokens the model accepts, from LiteLLM's model map, else `fallback`."""
        try:
            info = litellm_module().get_model_info(model)
        except Exception:
            return fallback
        return int(info.get("max_input_tokens") or info.get("max_tokens") or fallback)

    def complete(
        self,
        model: str,
        messages: list[dict[str, Any]],
        *,
        tools: list[dict[str, Any]] | None = None,
        deadline: float | None = None,
    ) -> Completion:
        """One chat completion, retried on transient failures; ProviderError when they persist.

        `deadline` (a time.monotonic() value) bounds the request and its retries.
        """
        litellm = litellm_module()
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "max_retries": 0,  # retries are ours: backoff, jitter and Retry-After
        }
        kwargs.update(self.connections.get(model).call_options())
        if tools:
            kwargs["tools"] = tools
            if _skips_mcp:
                kwargs["_skip_mcp_handler"] = True
        waited = 0.0
        attempt = 0
        while True:
            started = time.monotonic()
            left = None if deadline is None else deadline - started
            if left is not None and left <= 0:
                raise ProviderError(f"{model}: no time left for the call (--timeout)")
            kwargs["timeout"] = self.request_timeout if left is None else min(self.request_timeout, left)
            try:
                response = litellm.completion(**kwargs)
                return _to_completion(litellm, response, time.monotonic() - started)
            except Exception as error:
                fatal = _non_retryable(litellm, error, model)
                if fatal is not None:
                    raise fatal from None
                if attempt >= self.retry.max_retries:
                    raise ProviderError(
                        f"{model}: {_describe(error)} (gave up after {attempt + 1} attempts)"
                    ) from None
                pause = self.retry.delay(attempt, _retry_after(error))
                past_deadline = deadline is not None and time.monotonic() + pause >= deadline
                if waited + pause > self.retry.max_total_wait or past_deadline:
                    why = "no time left before --timeout" if past_deadline else f"retries would exceed {self.retry.max_total_wait:.0f} s"
                    raise ProviderError(f"{model}: {_describe(error)} ({why})") from None
                self.retry.sleep(pause)
                waited += pause
                attempt += 1


def _check_with_litellm(model: str, api_base: str | None) -> None:
    """The key check for a provider rlm does not know by itself: LiteLLM's own."""
    litellm = litellm_module()
    try:
        litellm.get_llm_provider(model)
    except Exception:
        raise unknown_model_error(model, api_base, [getattr(p, "value", str(p)) for p in litellm.provider_list]) from None
    report = litellm.validate_environment(model=model, api_base=api_base)
    missing = [key for key in report.get("missing_keys", []) if not key.endswith("_API_BASE")]
    if missing and not api_base:
        raise ConfigError(f"missing API key for {model}: set {' or '.join(missing)}", hint=f"export {missing[0]}=...")


def _to_completion(litellm: Any, response: Any, latency: float) -> Completion:
    choice = response.choices[0]
    message = choice.message
    usage = getattr(response, "usage", None)
    prompt_tokens = int(getattr(usage, "prompt_tokens", 0) or 0)
    completion_tokens = int(getattr(usage, "completion_tokens", 0) or 0)
    tool_calls = [
        {"id": call.id, "name": call.function.name, "arguments": call.function.arguments}
        for call in (getattr(message, "tool_calls", None) or [])
    ]
    return Completion(
        text=message.content or "",
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_usd=_cost(litellm, response),
        latency_s=latency,
        tool_calls=tool_calls,
    )


def _cost(litellm: Any, response: Any) -> float | None:
    """USD for the call, or None where LiteLLM knows no price (never a made-up 0; a real $0 is 0)."""
    try:
        cost = litellm.completion_cost(completion_response=response)
    except Exception:
        return None
    return None if cost is None else float(cost)


def _non_retryable(litellm: Any, error: Exception, model: str) -> Exception | None:
    """The error to raise at once, or None when the failure is worth retrying."""
    exceptions = litellm.exceptions
    text = _describe(error)
    if isinstance(error, exceptions.AuthenticationError):
        return ConfigError(f"{model}: the provider refused the API key ({text})", hint="check the key's value")
    if isinstance(error, exceptions.NotFoundError):
        return ConfigError(f"{model}: unknown model or endpoint ({text})")
    if isinstance(error, exceptions.ContextWindowExceededError):
        return ProviderError(f"{model}: the prompt is longer than the model's context window ({text})")
    if isinstance(error, exceptions.BadRequestError | exceptions.PermissionDeniedError):
        if "api_key" in text.lower() or "api key" in text.lower():
            return ConfigError(f"{model}: {text}")
        return ProviderError(f"{model}: the provider rejected the request ({text})")
    status = getattr(error, "status_code", None)
    if isinstance(status, int) and status < 500 and status not in _RETRYABLE_STATUS:
        return ProviderError(f"{model}: {text}")
    return None


def _retry_after(error: Exception) -> float | None:
    """Seconds from a Retry-After header (seconds or an HTTP date), if the error carries one."""
    headers: Any = getattr(error, "litellm_response_headers", None)
    response = getattr(error, "response", None)
    if not headers and response is not None:
        headers = getattr(response, "headers", None)
    if not headers:
        return None
    value = headers.get("retry-after") or headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):  # neither seconds nor a date: ignore it
        return None
    return max(0.0, parsed.timestamp() - time.time())


def _describe(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text[:300] if text else type(error).__name__
