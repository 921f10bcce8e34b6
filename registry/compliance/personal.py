"""Personal data in a post: mainland ID numbers with a valid check digit, mobile numbers, bank cards that
pass the Luhn check. Masked forms (430***********1234) never match, and a number-like run inside a longer
run of digits or letters (an order or document number) is not read as a phone number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# A run of characters that belong to one number: digits, letters (order numbers such as DD2024...) and the
# masks people use. A phone-like part of a longer run is not a phone number.
_RUN = re.compile(r"[0-9A-Za-z*＊×]+")
# A card number written in groups of four (6222 0212 3456 7890 123).
_GROUPED_CARD = re.compile(r"(?<![0-9A-Za-z*＊×])[0-9]{4}(?:[ \-][0-9]{4}){3}(?:[ \-][0-9]{1,3})?(?![0-9A-Za-z*＊×])")
_MASKS = frozenset("*＊×")
_MOBILE = re.compile(r"(?:86)?(1[3-9][0-9]{9})")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# Issuer prefixes of the cards a post may show: UnionPay (62), Visa (4), Mastercard (5), Amex and JCB (3).
_CARD_PREFIXES = ("3", "4", "5", "62")


@dataclass(frozen=True)
class PersonalHit:
    kind: str  # id_number | mobile | bank_card
    start: int
    end: int  # exclusive
    value: str  # the digits as written


def id_number_valid(value: str) -> bool:
    """An 18-character resident ID: a plausible birth date and the GB 11643 check character."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not (1900 <= born.year <= 2100):
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17].upper()


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def find_personal(text: str) -> list[PersonalHit]:
    hits: list[PersonalHit] = []
    for m in _RUN.finditer(text):
        run = m.group()
        if not any(ch.isdigit() for ch in run) or len(run) < 11:
            continue
        if any(ch in _MASKS for ch in run):  # masked: shown the way it should be
            continue
        if len(run) == 18 and id_number_valid(run):
            hits.append(PersonalHit("id_number", m.start(), m.end(), run))
        elif _card(run):
            hits.append(PersonalHit("bank_card", m.start(), m.end(), run))
        elif run.isdigit() and _MOBILE.fullmatch(run):
            hits.append(PersonalHit("mobile", m.start(), m.end(), run))
    for m in _GROUPED_CARD.finditer(text):
        if _card(m.group().replace(" ", "").replace("-", "")):
            hits.append(PersonalHit("bank_card", m.start(), m.end(), m.group()))
    return sorted(hits, key=lambda h: h.start)


def _card(digits: str) -> bool:
    return digits.isdigit() and 16 <= len(digits) <= 19 and digits.startswith(_CARD_PREFIXES) and luhn_valid(digits)


def mask(value: str) -> str:
    """The value as it may be shown: the first three and last four characters, the rest starred."""
    keep = [i for i, ch in enumerate(value) if ch.isalnum()]
    if len(keep) <= 7:
        return "*" * len(value)
    hidden = set(keep[3:-4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(value))
