"""Sizes: the token estimate rounds up, byte sizes are binary, a clip keeps head and tail."""

from __future__ import annotations

import pytest

from rlm_cli.units import CHARS_PER_TOKEN, clip, estimate_tokens, nbytes


def test_the_token_estimate_never_rounds_down() -> None:
    assert estimate_tokens(0) == 0
    assert estimate_tokens(1) == 1
    assert estimate_tokens(CHARS_PER_TOKEN * 1000) == 1000
    assert estimate_tokens(CHARS_PER_TOKEN * 1000 + 1) == 1001


@pytest.mark.parametrize(
    ("size", "shown"),
    [(0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"), (5 * 1024**2, "5.0 MiB"),
     (3 * 1024**3, "3.0 GiB"), (2048 * 1024**3, "2048.0 GiB")],
)
def test_byte_sizes_are_binary(size: int, shown: str) -> None:
    assert nbytes(size) == shown


def test_a_clip_keeps_the_limit_split_between_head_and_tail_and_states_the_true_size() -> None:
    text = "a" * 500 + "z" * 501
    clipped = clip(text, 100)
    head, marker, tail = clipped.partition("\n... [1,001 characters in all; 901 cut from the middle] ...\n")
    assert marker and (head, tail) == ("a" * 50, "z" * 50)
    assert clip(text, len(text)) == text
    assert clip(text, 0) == "\n... [1,001 characters in all; 1,001 cut from the middle] ...\n"
