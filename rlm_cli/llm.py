"""Model calls through LiteLLM: key checks, retries with backoff, worst-case quotes, usage and cost.

The only module that imports litellm, and only lazily (it costs seconds to import).
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import CancelledError, Future, InvalidStateError
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import tenacity

from rlm_cli.budget import Quote
from rlm_cli.chat import Completion, Message, OnRetry, Retry, Stop, ToolSchema
from rlm_cli.concurrency import throttled
from rlm_cli.connections import Connections
from rlm_cli.errors import ConfigError, ProviderError, RlmError
from rlm_cli.providers import provider_name, unknown_model_error
from rlm_cli.units import estimate_tokens

if TYPE_CHECKING:
    from rlm_cli.settings import Settings

__all__ = ["Completion", "LLMClient", "Retry", "RetryPolicy", "litellm_module", "quiet_litellm"]

# Every call states its output cap, so its worst-case cost is known before it is sent.
DEFAULT_MAX_OUTPUT_TOKENS = 8192  # as Settings.max_output_tokens
ERROR_CHARS = 200  # provider error text shown to the user, at most
_RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 529}
_MARKED_CACHE_PROVIDERS = {"anthropic", "bedrock", "bedrock_converse", "vertex_ai-anthropic_models"}
_LOGGERS = ("LiteLLM", "LiteLLM Router", "LiteLLM Proxy", "litellm")
_COST_MAP_VARIABLE = "LITELLM_LOCAL_MODEL_COST_MAP"
_setup_lock = threading.Lock()  # held while LiteLLM is imported
_scope_lock = threading.Lock()  # guards the three below
_litellm: Any = None
_users = 0  # quiet_litellm() scopes open now, in any thread
_restore: Callable[[], None] | None = None  # undoes our settings, while any scope is open
_skips_mcp = False  # whether completion() accepts _skip_mcp_handler


def litellm_module() -> Any:
    """Import litellm once, from its local price map (no network fetch); its settings are left alone."""
    global _litellm, _skips_mcp, _restore
    with _setup_lock:
        if _litellm is None:
            added = _COST_MAP_VARIABLE not in os.environ
            os.environ.setdefault(_COST_MAP_VARIABLE, "True")  # read once, by the import
            try:
                import inspect

                import litellm
            finally:
                if added:
                    os.environ.pop(_COST_MAP_VARIABLE, None)
            # Some releases route every call that has tools through an MCP handler that needs the
            # optional `mcp` package; our tools are plain functions, so skip it where possible.
            _skips_mcp = "_skip_mcp_handler" in inspect.unwrap(litellm.completion).__code__.co_consts
            with _scope_lock:
                _litellm = litellm
                if _users:
                    _restore = _quiet(litellm)
    return _litellm


@contextlib.contextmanager
def quiet_litellm() -> Iterator[None]:
    """While inside, LiteLLM prints nothing on stdout and logs only errors, to stderr.

    Its switches are process-wide: they are set when the first scope (of any thread) opens, or
    when LiteLLM is imported inside one, and put back as they were when the last one closes, so a
    program that embeds rlm keeps its own LiteLLM and logging settings.
    """
    global _users, _restore
    with _scope_lock:
        _users += 1
        if _users == 1 and _litellm is not None:
            _restore = _quiet(_litellm)
    try:
        yield
    finally:
        with _scope_lock:
            _users -= 1
            if _users == 0 and _restore is not None:
                _restore()
                _restore = None


def _quiet(litellm: Any) -> Callable[[], None]:
    """Set LiteLLM's switches our way; returns what sets them back."""
    flag = litellm.suppress_debug_info
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    saved = [(logger.handlers, logger.level, logger.propagate) for logger in loggers]
    litellm.suppress_debug_info = True  # else its errors print a banner on stdout
    for logger in loggers:
        logger.handlers = [logging.StreamHandler(sys.stderr)]  # its own handler writes to stdout
        logger.setLevel(logging.ERROR)
        logger.propagate = False

    def restore() -> None:
        litellm.suppress_debug_info = flag
        for logger, (handlers, level, propagate) in zip(loggers, saved, strict=True):
            logger.handlers, logger.propagate = handlers, propagate
            logger.setLevel(level)

    return restore


@dataclass
class RetryPolicy:
    """Exponential backoff with full jitter, bounded in count; Retry-After is honoured."""

    max_retries: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
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
        max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        """`connections` says how each model is reached; without it, `api_base` serves every model.
        `options` (temperature, reasoning_effort...) go with every call, as the provider names them."""
        self.connections = connections or Connections.shared(api_base)
        self.request_timeout = request_timeout  # one call at most, its retries included
        self.retry = retry or RetryPolicy()
        self.max_output_tokens = max_output_tokens
        self.options = dict(options or {})
        self._info: dict[str, dict[str, Any] | None] = {}
        self._info_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMClient:
        """The client a run's settings describe. An int `max_tokens` model option is the output cap.

        With deployments (`--router`), the models they list go through LiteLLM's Router.
        """
        options = dict(settings.options)
        cap = options.pop("max_tokens") if isinstance(options.get("max_tokens"), int) else settings.max_output_tokens
        arguments: dict[str, Any] = {
            "connections": Connections.from_settings(settings), "request_timeout": settings.request_timeout,
            "retry": RetryPolicy(max_retries=settings.max_retries, base_delay=settings.retry_base_delay),
            "max_output_tokens": cap, "options": options,
        }
        if settings.router is not None:
            from rlm_cli.deployments import RoutedClient, RouterConfig

            return RoutedClient(RouterConfig.load(settings.router), **arguments)
        return cls(**arguments)

    def check_keys(self, models: list[str]) -> None:
        """Raise ConfigError naming the missing variable (or the unknown provider), before any call.

        The usual providers are checked without LiteLLM; it is imported only for the others.
        """
        self.connections.check(models, unknown=_check_with_litellm)

    # what a model is, from LiteLLM's model map ------------------------------------------------
    def model_info(self, model: str) -> dict[str, Any] | None:
        """LiteLLM's facts about a model (window, output cap, prices), or None when it has none."""
        with self._info_lock:
            if model not in self._info:
                self._info[model] = _model_info(model)
            return self._info[model]

    def context_window(self, model: str, fallback: int) -> int:
        """Input tokens the model accepts, from LiteLLM's model map, else `fallback`."""
        info = self.model_info(model) or {}
        return int(info.get("max_input_tokens") or info.get("max_tokens") or fallback)

    def max_output(self, model: str) -> int:
        """The output cap sent with every call: ours, or the model's own when that is lower."""
        own = (self.model_info(model) or {}).get("max_output_tokens")
        return min(self.max_output_tokens, int(own)) if own else self.max_output_tokens

    def call_identity(self, model: str) -> dict[str, Any]:
        """What besides the messages decides a call's reply (for the response cache's key): the
        model options and the API base it is sent to, never the key."""
        return {"options": self.options, "api_base": self.connections.get(model).api_base}

    def caches_prompts(self, model: str) -> bool:
        """Whether the model's provider caches a prompt prefix only where it is marked with
        `cache_control` (Anthropic's Claude, also on Bedrock and Vertex AI). OpenAI, DeepSeek and
        Gemini cache on their own; their cached tokens are read from the usage all the same."""
        if provider_name(model) == "anthropic":
            return True
        provider = (self.model_info(model) or {}).get("litellm_provider")
        return provider in _MARKED_CACHE_PROVIDERS and "claude" in model

    def price(self, model: str) -> tuple[float, float] | None:
        """USD per prompt token and per completion token, or None when LiteLLM knows no price."""
        info = self.model_info(model)
        if info is None:
            return None
        prompt, completion = info.get("input_cost_per_token"), info.get("output_cost_per_token")
        if prompt is None or completion is None:
            return None
        return float(prompt), float(completion)

    def count_tokens(self, model: str, text: str) -> int | None:
        """Tokens of `text` by LiteLLM's tokenizer for a model it knows; None for any other model."""
        if self.model_info(model) is None:
            return None
        with quiet_litellm():
            return int(litellm_module().token_counter(model=model, text=text))

    def quote(self, model: str, messages: list[Message], tools: list[ToolSchema] | None = None) -> Quote:
        """The worst case of one call: its prompt (estimated) and output cap, at the model's price."""
        chars = sum(len(str(m.get("content") or "")) + len(str(m.get("tool_calls") or "")) for m in messages)
        chars += len(json.dumps(tools)) if tools else 0
        price = self.price(model)
        return Quote(
            prompt_tokens=estimate_tokens(chars), max_output=self.max_output(model),
            prompt_price=price[0] if price else None, output_price=price[1] if price else None,
        )

    # calls -------------------------------------------------------------------------------------
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
        """One chat completion, retried on transient failures; ProviderError when they persist.

        The call, retries included, ends within `request_timeout` and before `deadline` (a
        time.monotonic() value); each attempt's own timeout is the time left. Only transport and
        HTTP-status errors are retried: anything else is a bug and is raised as it is. Once `stop`
        is set, no attempt is made, a pause between attempts ends and a request in flight is
        abandoned: ProviderError(reason="cancelled").
        """
        with quiet_litellm():
            return self._complete(model, messages, tools, deadline, max_output, on_retry, stop)

    def _complete(
        self, model: str, messages: list[Message], tools: list[ToolSchema] | None, deadline: float | None,
        max_output: int | None, on_retry: OnRetry | None, stop: Stop | None,
    ) -> Completion:
        litellm = litellm_module()
        kwargs: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "max_retries": 0,  # retries are ours: backoff, jitter, Retry-After and events
            "max_tokens": max_output or self.max_output(model),
            "drop_params": True,  # a parameter the model does not take is left out, not an error
            **self.options,  # -o KEY VALUE: the provider's own vocabulary
        }
        kwargs.update(self._call_options(model))
        if tools:
            kwargs["tools"] = tools
            if _skips_mcp:
                kwargs["_skip_mcp_handler"] = True
        started = time.monotonic()
        ends = started + self.request_timeout if deadline is None else min(deadline, started + self.request_timeout)
        timed_by_run = deadline is not None and deadline <= started + self.request_timeout

        def send() -> Any:
            left = ends - time.monotonic()
            if left <= 0:
                why = "no time left before --timeout" if timed_by_run else "no time left for the call"
                raise ProviderError(f"{model}: {why}", reason="no_time")
            if stop is None:
                return self._send(litellm, {**kwargs, "timeout": left})
            return _unless_stopped(lambda: self._send(litellm, {**kwargs, "timeout": left}), stop, model)

        def attempt() -> Any:
            return throttled(send, lambda error: _is_provider_failure(error) and _status(error) == 429)

        def announce(state: tenacity.RetryCallState) -> None:
            error = _outcome(state)
            if on_retry is not None and error is not None:
                on_retry(Retry(model, _reason(error), state.attempt_number, self.retry.max_retries,
                               state.upcoming_sleep, error_text(error)))

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(lambda error: _transient(litellm, error)),
            wait=lambda state: self._pause(model, _outcome(state), state.attempt_number - 1),
            # No pause that would end past the call's time: the next attempt would have none left.
            stop=tenacity.stop_after_attempt(self.retry.max_retries + 1) | tenacity.stop_before_delay(ends - started),
            before_sleep=announce,
            sleep=self.retry.sleep if stop is None else _waiter(stop),
            reraise=True,
        )
        try:
            response = retrying(attempt)
        except RlmError:
            raise
        except Exception as error:
            if not _is_provider_failure(error):
                raise  # a bug (ours or LiteLLM's): retrying would only hide it
            fatal = _non_retryable(litellm, error, model)
            if fatal is not None:
                raise fatal from None
            attempts = retrying.statistics.get("attempt_number", 1)
            if attempts > self.retry.max_retries:
                why = f"gave up after {attempts} attempts"
            elif timed_by_run:
                why = "no time left before --timeout"
            else:
                why = f"no time left within request_timeout ({self.request_timeout:g} s)"
            raise ProviderError(f"{model}: {error_text(error)} ({why})", reason=_reason(error)) from None
        return _to_completion(litellm, response, time.monotonic() - started, self._answered_by(response))

    # how one attempt is sent: a routed client (deployments.py) changes these -------------------
    def _call_options(self, model: str) -> dict[str, Any]:
        """The arguments that carry the model's connection (API base and key)."""
        return self.connections.get(model).call_options()

    def _send(self, litellm: Any, kwargs: dict[str, Any]) -> Any:
        """One attempt; its response, or the provider's error."""
        return litellm.completion(**kwargs)

    def _pause(self, model: str, error: BaseException | None, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (0-based)."""
        return self.retry.delay(attempt, _retry_after(error))

    def _answered_by(self, response: Any) -> str | None:
        """The deployment that answered, when the model has several."""
        return None


def _waiter(stop: Stop) -> Callable[[float], None]:
    """A pause between attempts that ends early when `stop` is set."""

    def pause(seconds: float) -> None:
        stop.wait(seconds)

    return pause


def _unless_stopped(send: Callable[[], Any], stop: Stop, model: str) -> Any:
    """`send()`'s result, or ProviderError(reason="cancelled") as soon as `stop` is set.

    The request runs in a daemon thread: one abandoned in flight ends with the process, unread.
    """
    if stop.is_set():
        raise ProviderError(f"{model}: the run has ended; the call was not sent", reason="cancelled")
    result: Future[Any] = Future()

    def run() -> None:
        try:
            result.set_result(send())
        except InvalidStateError:  # abandoned: nobody reads it
            pass
        except BaseException as error:
            with contextlib.suppress(InvalidStateError):
                result.set_exception(error)

    threading.Thread(target=run, name="rlm-request", daemon=True).start()
    forget = stop.on_set(result.cancel)
    try:
        return result.result()
    except CancelledError:
        raise ProviderError(f"{model}: the run has ended; the call was abandoned", reason="cancelled") from None
    finally:
        forget()


def _model_info(model: str) -> dict[str, Any] | None:
    with quiet_litellm():
        try:
            return dict(litellm_module().get_model_info(model))
        except Exception:  # LiteLLM raises for any model missing from its map
            return None


def _check_with_litellm(model: str, api_base: str | None) -> None:
    """The key check for a provider rlm does not know by itself: LiteLLM's own."""
    with quiet_litellm():
        _check_provider(litellm_module(), model, api_base)


def _check_provider(litellm: Any, model: str, api_base: str | None) -> None:
    try:
        litellm.get_llm_provider(model)
    except Exception:
        raise unknown_model_error(model, api_base, [getattr(p, "value", str(p)) for p in litellm.provider_list]) from None
    report = litellm.validate_environment(model=model, api_base=api_base)
    missing = [key for key in report.get("missing_keys", []) if not key.endswith("_API_BASE")]
    if missing and not api_base:
        raise ConfigError(f"missing API key for {model}: set {' or '.join(missing)}", hint=f"export {missing[0]}=...")


def _to_completion(litellm: Any, response: Any, latency: float, deployment: str | None = None) -> Completion:
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
        finish_reason=getattr(choice, "finish_reason", None),
        deployment=deployment,
        cached_input_tokens=_cached_input_tokens(usage),
    )


def _cached_input_tokens(usage: Any) -> int:
    """Prompt tokens read from the provider's prompt cache: OpenAI's (and LiteLLM's normalised)
    prompt_tokens_details.cached_tokens, else Anthropic's cache_read_input_tokens."""
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) or getattr(usage, "cache_read_input_tokens", None)
    return int(cached) if isinstance(cached, int | float) else 0


def _cost(litellm: Any, response: Any) -> float | None:
    """USD for the call, or None where LiteLLM knows no price (never a made-up 0; a real $0 is 0).

    LiteLLM prices each reply as it comes (`_hidden_params["response_cost"]`): read that rather
    than pay for pricing it a second time on every call.
    """
    hidden = getattr(response, "_hidden_params", None)
    if isinstance(hidden, dict) and "response_cost" in hidden:
        cost = hidden["response_cost"]
        return None if cost is None else float(cost)
    try:
        cost = litellm.completion_cost(completion_response=response)
    except Exception:
        return None
    return None if cost is None else float(cost)


def _is_provider_failure(error: BaseException) -> bool:
    """A failure of the provider or the network, as opposed to a bug in the calling code."""
    import httpx
    import openai

    return isinstance(error, openai.APIError | httpx.HTTPError | ConnectionError | TimeoutError)


def _status(error: BaseException) -> int | None:
    status = getattr(error, "status_code", None)
    return status if isinstance(status, int) else None


def _transient(litellm: Any, error: BaseException) -> bool:
    """Worth another attempt: a timeout, a dropped connection, 429 or a 5xx."""
    if not _is_provider_failure(error):
        return False
    if isinstance(error, litellm.exceptions.ContextWindowExceededError):
        return False
    status = _status(error)
    return status is None or status in _RETRYABLE_STATUS or status >= 500


def _reason(error: BaseException) -> str:
    """How an attempt failed, in a word or a status code."""
    import openai

    if isinstance(error, openai.APITimeoutError | TimeoutError):
        return "timeout"
    status = _status(error)
    if status is not None:
        return str(status)
    return "connection error"


def _non_retryable(litellm: Any, error: Exception, model: str) -> RlmError | None:
    """The error to raise at once, or None when the failure is worth retrying."""
    text = error_text(error)
    status = _status(error)
    if isinstance(error, litellm.exceptions.ContextWindowExceededError):
        return ProviderError(f"{model}: the prompt is longer than the model's context window ({text})", reason="context_window")
    if status in (401, 403):
        return ConfigError(f"{model}: the provider refused the API key ({text})", hint="check the key's value and that it belongs to this provider", reason="auth")
    if status == 404:
        return ConfigError(f"{model}: unknown model or endpoint ({text})", hint="check the model name and --api-base", reason="not_found")
    if _transient(litellm, error):
        return None
    if "api_key" in text.lower() or "api key" in text.lower():
        return ConfigError(f"{model}: {text}", reason="auth")
    return ProviderError(f"{model}: the provider rejected the request ({text})", reason="bad_request")


def _outcome(state: tenacity.RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome is not None else None


def _retry_after(error: BaseException | None) -> float | None:
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


def error_text(error: BaseException | None) -> str:
    """A provider's error as one short line: no traceback, no repeated class names."""
    if error is None:
        return "unknown error"
    text = str(error).split("Traceback (most recent call last)")[0]
    text = " ".join(text.split())
    name = type(error).__name__
    for prefix in (f"litellm.{name}: ", f"{name}: "):  # LiteLLM repeats the class name, twice
        text = text.removeprefix(prefix)
    text = text.rstrip(" .:-") or name
    return text if len(text) <= ERROR_CHARS else text[: ERROR_CHARS - 1] + "…"
