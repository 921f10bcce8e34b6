"""Counts as numbers or text (docs/parsing.md, Counts): the lower bound, the raw text when approximate."""

from __future__ import annotations

import pytest

from crawlers.parsing import parse_count


@pytest.mark.parametrize(
    ("value", "number", "raw"),
    [
        (0, 0, None),
        (12345, 12345, None),
        ("12345", 12345, None),
        (" 12345 ", 12345, None),
        ("1,234", 1234, None),
        ("1,234,567", 1234567, None),
        ("１２３", 123, None),  # full-width digits
        (12.0, 12, None),
        (12.7, 12, "12.7"),
        ("1.2万", 12000, "1.2万"),
        ("1.2万+", 12000, "1.2万+"),  # weibo-crawler turned this into "1.20000" and failed
        ("90.5万", 905000, "90.5万"),
        ("128.6万", 1286000, "128.6万"),
        ("100万+", 1000000, "100万+"),
        ("10万+", 100000, "10万+"),
        ("3亿", 300000000, "3亿"),
        ("1.25亿", 125000000, "1.25亿"),
        ("2.3w", 23000, "2.3w"),
        ("999+", 999, "999+"),
        ("1.5k", 1500, "1.5k"),
    ],
)
def test_numbers_and_chinese_approximations(value: object, number: int, raw: str | None) -> None:
    assert parse_count(value) == (number, raw, [])


@pytest.mark.parametrize("value", [None, "", "  "])
def test_missing_is_none_without_a_flag(value: object) -> None:
    assert parse_count(value) == (None, None, [])


@pytest.mark.parametrize(
    "value",
    [
        -1,
        "-5",
        -0.5,
        "abc",
        "1.2.3万",
        "万",
        "12 345 67x",
        True,
        False,
        [1],
        {"n": 1},
        10**13,
        "20000亿+",
        "2e15",
        float("inf"),
        float("nan"),
        "1" * 60,
    ],
)
def test_negative_non_numeric_and_absurd_counts_are_flagged(value: object) -> None:
    assert parse_count(value) == (None, None, ["bad_count"])


def test_raw_text_is_size_limited() -> None:
    number, raw, flags = parse_count("1.2万" + " " * 100)
    assert (number, raw, flags) == (12000, "1.2万", [])
