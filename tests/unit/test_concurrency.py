"""The adaptive limit on sub-call requests in flight (AIMD), without HTTP."""

from __future__ import annotations

import pytest

from rlm_cli.concurrency import BACKOFF, AdaptiveLimit, throttled


class RateLimited(Exception):
    pass


def test_a_429_lowers_the_limit_once_per_burst_and_replies_raise_it_back_to_the_maximum() -> None:
    changes: list[tuple[int, str]] = []
    limit = AdaptiveLimit(10, on_change=lambda value, why: changes.append((value, why)))
    burst = [limit.acquire() for _ in range(10)]
    assert limit.in_flight == 10 and limit.limit == 10

    assert limit.release(burst[0], throttled=True)  # sent under 10, now 7: may go again at once
    assert limit.limit == int(10 * BACKOFF) == 7
    for epoch in burst[1:4]:  # the rest of the burst was sent under the old limit: no further cut
        assert limit.release(epoch, throttled=True)
    assert limit.limit == 7 and limit.trace().backoffs == 1

    for epoch in burst[4:]:
        limit.release(epoch)
    assert limit.limit == 7  # replies while the limit was not in use do not raise it
    while limit.limit < 10:
        held = [limit.acquire() for _ in range(limit.limit)]
        for epoch in held:
            limit.release(epoch)
    for _ in range(50):
        limit.release(limit.acquire())
    trace = limit.trace()
    assert (trace.limit_max, trace.limit_min, trace.limit_final, trace.backoffs, trace.max_in_flight) == (10, 7, 10, 1, 10)
    assert changes[0] == (7, "backoff") and changes[-1] == (10, "recovered")
    assert [value for value, _ in changes] == [7, 8, 9, 10]


def test_the_limit_never_falls_below_one() -> None:
    limit = AdaptiveLimit(4)
    for _ in range(20):
        limit.release(limit.acquire(), throttled=True)
    assert limit.limit == 1
    assert not limit.release(limit.acquire(), throttled=True)  # nothing left to lower: a real retry


def test_a_rate_limited_request_goes_again_within_the_lowered_limit_without_raising() -> None:
    limit = AdaptiveLimit(8)
    sent: list[int] = []

    def send() -> str:
        sent.append(limit.in_flight)
        if len(sent) < 3:
            raise RateLimited
        return "ok"

    with limit.slot():
        assert throttled(send, lambda error: isinstance(error, RateLimited)) == "ok"
    assert sent == [1, 1, 1]
    trace = limit.trace()
    assert trace.backoffs == 2 and trace.limit_min == int(8 * BACKOFF * BACKOFF) == 3
    assert limit.limit == 3  # one call in flight does not fill a limit of 3: it stays
    assert limit.in_flight == 0


def test_other_errors_and_a_429_at_the_floor_are_raised_to_the_retry_policy() -> None:
    limit = AdaptiveLimit(1)

    def boom() -> str:
        raise RateLimited

    with limit.slot():
        with pytest.raises(RateLimited):
            throttled(boom, lambda error: isinstance(error, RateLimited))
        assert limit.in_flight == 0  # handed back while the retry waits
        assert throttled(lambda: "again", lambda error: False) == "again"  # taken again for the retry
        assert limit.in_flight == 1
        with pytest.raises(ValueError):
            throttled(lambda: int("x"), lambda error: isinstance(error, RateLimited))
    assert limit.in_flight == 0


def test_without_a_slot_the_request_is_sent_as_it_is() -> None:
    assert throttled(lambda: 42, lambda error: True) == 42
