"""The content hash keeps the letters and digits of a post, whatever the spacing, punctuation, width
and case: the patrol and the scorer must hash the same news alike."""

from __future__ import annotations

import hashlib
import sys
import unicodedata

from registry.digest import _NOT_LETTER_OR_DIGIT, content_hash


def test_the_pattern_drops_exactly_what_is_not_a_letter_or_a_digit() -> None:
    # Every code point (but surrogates): the regular expression and the Unicode categories agree.
    wrong = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF
        and (_NOT_LETTER_OR_DIGIT.fullmatch(chr(code)) is None) != (unicodedata.category(chr(code))[0] in "LN")
    ]
    assert wrong == []


def test_the_same_news_with_other_spacing_punctuation_width_and_case_hashes_alike() -> None:
    expected = hashlib.sha1("区政府召开会议2024abc\x1f全文".encode()).hexdigest()
    assert content_hash("区政府 召开会议（２０２４）ABC！", "全文……") == expected
    assert content_hash("区政府召开会议2024abc", " 全 文 ") == expected
    assert content_hash("区政府召开会议2024abc", "全文_") == expected  # the underscore is punctuation too


def test_a_post_without_letters_or_digits_has_no_hash() -> None:
    assert content_hash(None, None) is None
    assert content_hash("……", "！ 。") is None
