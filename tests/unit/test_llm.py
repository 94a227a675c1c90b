"""The LiteLLM client: Retry-After parsing, backoff bounds, and the --timeout deadline."""

from __future__ import annotations

import time

import pytest

from rlm_cli.errors import ProviderError
from rlm_cli.llm import LLMClient, RetryPolicy, _retry_after, litellm_module
from tests.fakes.provider import FakeProvider


class WithHeaders(Exception):
    def __init__(self, value: str) -> None:
        super().__init__("rate limited")
        self.litellm_response_headers = {"retry-after": value}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2", 2.0), ("0.25", 0.25), ("-3", 0.0), ("garbage", None), ("", None)],
)
def test_retry_after_values(value: str, expected: float | None) -> None:
    assert _retry_after(WithHeaders(value)) == expected


def test_retry_after_as_an_http_date_is_seconds_from_now() -> None:
    soon = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= (_retry_after(WithHeaders(soon)) or 0) <= 31


def test_backoff_honours_retry_after_within_bounds() -> None:
    policy = RetryPolicy(base_delay=0.01, max_delay=5)
    assert policy.delay(0, retry_after=3.0) == 3.0
    assert policy.delay(0, retry_after=60.0) == 10.0  # never more than twice the longest backoff
    assert 0 <= policy.delay(3, retry_after=None) <= 0.08


def test_a_deadline_stops_retries(provider: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    provider.fail(status=503, retry_after=5, times=None)
    client = LLMClient(api_base=provider.url, retry=RetryPolicy(base_delay=0.01, max_retries=10))
    litellm_module()  # its import takes seconds on a busy machine: not part of the call
    started = time.monotonic()
    with pytest.raises(ProviderError, match="no time left"):
        client.complete("openai/sub", [{"role": "user", "content": "q"}], deadline=time.monotonic() + 1.5)
    assert time.monotonic() - started < 3  # not the 5 s Retry-After, nor ten retries
    with pytest.raises(ProviderError, match="no time left"):
        client.complete("openai/sub", [{"role": "user", "content": "q"}], deadline=time.monotonic() - 1)
