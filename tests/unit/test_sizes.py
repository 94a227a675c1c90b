"""Byte sizes written with binary units, both ways."""

from __future__ import annotations

import pytest

from rlm_cli.units import format_size, parse_size


@pytest.mark.parametrize(
    ("text", "size"),
    [("50M", 50 * 1024**2), ("2G", 2 * 1024**3), ("512K", 512 * 1024), ("512k", 512 * 1024),
     ("1.5G", 3 * 1024**3 // 2), ("4MiB", 4 * 1024**2), ("100", 100), (" 3 M ", 3 * 1024**2)],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "-1M", "50X", "fifty", "1e3"])
def test_parse_size_refuses_what_is_not_a_size(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(
    ("size", "text"),
    [(50 * 1024**2, "50M"), (64 * 1024**3, "64G"), (1024**4, "1T"), (65536, "64K"), (1536, "1536"), (0, "0")],
)
def test_format_size_is_the_shortest_exact_spelling(size: int, text: str) -> None:
    assert format_size(size) == text
    assert parse_size(text) == size
