"""Writing a run: verdict and plan rows prepared column by column, in the form the database stores
(100,000 verdicts per run: no ORM objects, no per-row type processing), for registry.bulk.insert_many."""

from __future__ import annotations

import json
from collections import Counter
from hashlib import blake2b
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from registry.scoring.history import FIGURES, Previous, flag_changes, object_array
from registry.scoring.metrics import nullable
from registry.scoring.rules import BY_CODE, FLAGGED, flag_codes, isin

if TYPE_CHECKING:
    from registry.scoring.run import Analysis

BATCH = 5000  # verdict rows built and written at a time
_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps(value: Any) -> str:
    return _json(value)


def iso_times(ts: np.ndarray) -> list[str | None]:
    """Epoch seconds as ISO 8601 UTC text (vectorised), NaN as None."""
    text = np.datetime_as_string(ts.astype("datetime64[s]"), unit="s")
    return [None if t == "NaT" else f"{t}+00:00" for t in text.tolist()]


def stored_times(ts: np.ndarray, dialect: str) -> list[Any]:
    """Epoch seconds as TZDateTime stores them (it is bypassed here): on SQLite, UTC text in SQLAlchemy's
    format "YYYY-MM-DD HH:MM:SS.ffffff"; on PostgreSQL, aware datetimes."""
    if dialect == "sqlite":
        text = np.datetime_as_string((ts * 1_000_000).astype("datetime64[us]"), unit="us")
        return [None if t == "NaT" else t.replace("T", " ") for t in text.tolist()]
    return [None if t != t else datetime.fromtimestamp(t, UTC) for t in ts.tolist()]


def stored_time(value: datetime | None, dialect: str) -> Any:
    if value is None or dialect != "sqlite":
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def columns(a: Analysis, rows: np.ndarray | None = None) -> dict[str, list[Any]]:
    """The figures of a run (of the accounts at positions `rows`; None: all) as Python lists, converted
    once each rather than value by value."""
    f, j = a.frame, a.judgement

    def take(values: np.ndarray) -> np.ndarray:
        return values if rows is None else values[rows]

    at = range(len(f)) if rows is None else rows.tolist()
    first = {i: outcomes[0] for i, outcomes in f.history.items()}
    return {
        "id": take(f.account_id).tolist(),
        "window_days": take(a.params.window_days).tolist(),
        "posts": take(f.posts).tolist(),
        "originals": take(f.originals).tolist(),
        "engaged": take(f.engaged_posts).tolist(),
        "duplicates": take(f.duplicates).tolist(),
        "longest_gap": nullable(take(f.longest_gap)),  # (whole days)
        "median": nullable(take(f.median_engagement), 1),
        "followers": nullable(take(f.followers)),
        "gone": take(j.facts.consecutive_gone).tolist(),
        "days": nullable(take(j.facts.days_silent)),
        "index": nullable(take(a.index), 1),
        "outcome": take(f.outcome).tolist(),
        "fetched_at": iso_times(take(f.fetched_ts)),
        "reason": [first[i][2] if i in first else None for i in at],
        "http_status": [first[i][3] if i in first else None for i in at],
    }


def plain(value: Any) -> Any:
    """One measured value (a numpy scalar, NaN, a tuple) as a JSON-friendly Python value."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if value != value else (int(value) if value.is_integer() else round(value, 2))
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return value


# Evidence keys (as reports read them), the column each comes from and its kind, in order.
EVIDENCE = (
    ("window_days", "window_days", int),
    ("posts", "posts", int),
    ("originals", "originals", int),
    ("longest_gap_days", "longest_gap", float),
    ("median_engagement", "median", float),
    ("engaged_posts", "engaged", int),
    ("followers", "followers", float),
    ("outcome", "outcome", str),
    ("fetched_at", "fetched_at", str),
    ("outcome_reason", "reason", str),
    ("http_status", "http_status", float),
    ("consecutive_gone", "gone", int),
    ("duplicates", "duplicates", int),
    ("value", "value", object),
)
_TEMPLATE = "{" + ",".join(f'"{key}":%s' for key, _, _ in EVIDENCE) + "%s}"


def _values(a: Analysis, cols: dict[str, list[Any]], rows: np.ndarray | None = None) -> list[Any]:
    """The measured value of the rule that set each account's status (of the accounts at `rows`, whose
    columns `cols` are)."""
    j = a.judgement
    at = range(len(j.rule)) if rows is None else rows.tolist()
    codes = j.rule.tolist() if rows is None else j.rule[rows].tolist()
    return [
        cols["days"][k] if code not in j.values else plain(j.values[code][i])
        for k, (i, code) in enumerate(zip(at, codes, strict=True))
    ]


def _value_bits(a: Analysis) -> np.ndarray:
    """A code of each account's measured value (_values) from the arrays: the bits of the number as
    stored (rounded as plain() rounds it), else of its repr."""
    j = a.judgement
    out = np.zeros(len(j.rule), np.uint64)
    for code in set(j.rule.tolist()):
        mask = j.rule == code
        values = j.values.get(code, j.facts.days_silent)
        values = np.asarray(values)[mask] if np.ndim(values) else np.full(int(mask.sum()), values, dtype=object)
        if values.dtype.kind in "fiub" and values.ndim == 1:
            out[mask] = _bits(values.astype(float), 2)
        else:
            out[mask] = value_codes([plain(v) for v in values.tolist()])
    return out


def evidence(a: Analysis, cols: dict[str, list[Any]], i: int) -> dict[str, Any]:
    """What one verdict rests on, in numbers a unit can check."""
    found = {key: cols[col][i] for key, col, _ in EVIDENCE[:-1]}
    found["value"] = _values(a, cols)[i]
    if i in a.frame.duplicate_with:
        found["duplicate_with"] = a.frame.duplicate_with[i]
    return found


def _json_column(values: list[Any], kind: type) -> list[str]:
    """A column of values as JSON text: counts as they are, numbers or null, texts (few distinct) encoded
    once each, anything else encoded value by value."""
    if kind is int:
        return list(map(str, values))
    if kind is float:
        return ["null" if v is None else str(v) for v in values]
    if kind is str:
        seen: dict[str | None, str] = {}
        return [seen[v] if v in seen else seen.setdefault(v, dumps(v)) for v in values]
    return [("null" if v is None else str(v)) if type(v) in (int, float) or v is None else dumps(v) for v in values]


def evidence_json(cols: dict[str, list[Any]], extras: dict[int, dict[str, Any]]) -> list[str]:
    """Evidence as JSON text, built column by column (the same content as evidence()): `cols` holds
    every EVIDENCE column, `extras` further keys by position."""
    tails = [""] * len(cols["id"])
    for i, more in extras.items():
        tails[i] = "," + dumps(more)[1:-1]
    return [
        _TEMPLATE % row
        for row in zip(*[_json_column(cols[col], kind) for _, col, kind in EVIDENCE], tails, strict=True)
    ]


VERDICT_COLUMNS = (
    "run_id",
    "account_id",
    "status",
    "registry_status",
    "flags",
    "rule",
    "rule_zh",
    "rule_en",
    "threshold",
    "liveness_index",
    "index_basis",
    "last_post_at",
    "days_silent",
    "evidence",
    "previous_status",
    "change",
    "flagged_since",
)

# Where columns() holds each of history.FIGURES (the keys of the evidence, as EVIDENCE maps them).
FIGURE_COLUMNS = {column: next(col for k, col, _ in EVIDENCE if k == key) for column, key, _whole in FIGURES}
# A latest verdict's columns as written: VERDICT_COLUMNS, the figures, the digest.
LATEST_COLUMNS = (*VERDICT_COLUMNS, *(column for column, _key, _whole in FIGURES), "digest")


_K = np.uint64(0x9E3779B97F4A7C15)  # splitmix64's constants: every input bit reaches every output bit
_K1, _K2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _h64(text: str) -> int:
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "big")


def value_codes(values: list[Any]) -> np.ndarray:
    """A stable 64-bit code of each value (of its type and repr; few distinct values, each hashed once)."""
    seen: dict[Any, int] = {}

    def code(key: Any) -> int:
        found = seen[key] = _h64(repr(key))
        return found

    kinds = set(map(type, values))
    if len(kinds) == 1 or kinds <= {str, type(None)}:  # no two of them equal across types: keyed by value
        try:
            table = {v: _h64(repr((v.__class__, v))) for v in set(values)}  # (the first seen of equal values)
            return np.fromiter(map(table.__getitem__, values), np.uint64, len(values))
        except TypeError:
            pass
    try:
        keys = [(v.__class__, v) for v in values]
        return np.array([seen[k] if k in seen else code(k) for k in keys], np.uint64)
    except TypeError:  # a value that is not hashable (a list): by its repr
        return np.array([_h64(repr(v)) for v in values], np.uint64)


def _bits(values: np.ndarray, digits: int | None = None) -> np.ndarray:
    """A float column's bits as stored (rounded to `digits`; one NaN, no negative zero)."""
    x = np.asarray(values, float)
    if digits is not None:
        x = np.round(x, digits)
    return np.where(np.isnan(x), np.nan, x + 0.0).view(np.uint64)


def _mix(h: np.ndarray, v: np.ndarray) -> np.ndarray:
    h = (h ^ v) * _K
    h = (h ^ (h >> np.uint64(30))) * _K1
    h = (h ^ (h >> np.uint64(27))) * _K2
    return h ^ (h >> np.uint64(31))


def digests(parts: list[np.ndarray]) -> np.ndarray:
    """One 64-bit digest per account of the columns `parts` (uint64 each), vectorised."""
    h = np.zeros(len(parts[0]), np.uint64)
    with np.errstate(over="ignore"):
        for part in parts:
            h = _mix(h, part)
    return h.view(np.int64)


def _content(
    a: Analysis,
    flags: np.ndarray,
    texts: dict[tuple[str, str], tuple[str, str, str]],
    changes: list[tuple[Any, ...]],
    extras: dict[int, dict[str, Any]],
) -> np.ndarray:
    """The digest of each account's latest verdict as this run would write it, but for the run: every
    column and every figure of the evidence, from the arrays (no row is built for it)."""
    f, j = a.frame, a.judgement
    text_codes = {key: _h64(repr(value)) for key, value in texts.items()}
    more = np.zeros(len(f), np.uint64)
    for i, found in extras.items():
        more[i] = _h64(dumps(found))
    for i, outcomes in f.history.items():
        more[i] ^= _h64(repr(outcomes[0][2:4]))
    return digests(
        [
            f.account_id.astype(np.uint64),
            a.status_codes,
            a.registry_codes,
            flags.astype(np.uint64),
            np.array([text_codes[k] for k in zip(j.rule.tolist(), f.platform.tolist(), strict=True)], np.uint64),
            _bits(a.index, 1),
            value_codes(a.basis.tolist()),
            _bits(f.last_post_ts),
            _bits(j.facts.days_silent),
            _bits(a.params.window_days),
            _bits(f.posts),
            _bits(f.originals),
            _bits(f.engaged_posts),
            _bits(f.duplicates),
            _bits(f.longest_gap, 1),
            _bits(f.median_engagement, 1),
            _bits(f.followers),
            _bits(j.facts.consecutive_gone),
            value_codes(f.outcome.tolist()),
            _bits(np.floor(f.fetched_ts)),
            _value_bits(a),
            value_codes(changes),
            more,
        ]
    )


def verdict_rows(
    a: Analysis,
    run_id: int,
    as_of: datetime,
    previous: Previous,
    dialect: str,
) -> tuple[Counter[str], Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]]:
    """The changes since the previous verdicts, counted, and the rows to write in VERDICT_COLUMNS order,
    in batches (built as they are written: a run's rows are never all in memory at once): each batch as
    (the latest verdicts whose digest differs from the stored one, each with its digest last; the rows
    that are transitions: the history). Rows are built only for those accounts: a run that works out the
    same verdicts as stored builds none."""
    f, j = a.frame, a.judgement
    texts: dict[tuple[str, str], tuple[str, str, str]] = {}
    for key in set(zip(j.rule.tolist(), f.platform.tolist(), strict=True)):
        texts[key] = BY_CODE[key[0]].text(a.params.policy.for_platform(key[1]))
    masks = a.flag_masks.tolist()
    flag_json = {mask: dumps(flag_codes(mask)) for mask in set(masks)}  # few distinct sets of flags
    flags_text = [flag_json[mask] for mask in masks]
    now = stored_time(as_of, dialect)
    status = j.status
    rules, registries = j.rule.tolist(), f.registry_status.tolist()
    # The previous verdict of each account, column by column (None where there is none).
    known, before = previous.aligned(f.account_id)
    what, since = changes_of(status, known, before[0], before[2], now)
    changes: list[tuple[Any, ...]] = list(zip(before[0].tolist(), what, since, strict=True))
    # Transitions (history.is_transition): the first verdict, or another status, flags, rule or registry
    # status than the previous one.
    other_flags = known & (object_array(flags_text) != before[1])
    moved = ~known | other_flags | (status != before[0]) | (j.rule != before[3]) | (f.registry_status != before[4])
    moves = moved.tolist()
    extras: dict[int, dict[str, Any]] = {}
    for i in np.flatnonzero(other_flags).tolist():
        if flags_moved := flag_changes(masks[i], before[1][i]):
            extras[i] = flags_moved
    for i, others in a.frame.duplicate_with.items():
        extras.setdefault(i, {})["duplicate_with"] = others
    digest = _content(a, a.flag_masks, texts, changes, extras)
    stored = np.where(before[5] == None, 0, before[5]).astype(np.int64)  # noqa: E711  (none, or not stored)
    written = np.flatnonzero(~known | (digest != stored) | moved)
    every = (status.tolist(), registries, flags_text, rules, f.platform.tolist())

    def batches() -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        for start in range(0, len(written), BATCH):
            part = written[start : start + BATCH]
            at = part.tolist()
            cols = columns(a, part)
            cols["value"] = _values(a, cols, part)
            found = evidence_json(cols, {k: extras[i] for k, i in enumerate(at) if i in extras})
            rows = [
                (
                    run_id,
                    account_id,
                    status,
                    registry,
                    flag_text,
                    code,
                    *texts[(code, platform)],
                    index,
                    basis,
                    last,
                    days,
                    ev,
                    *moved,
                )
                for account_id, status, registry, flag_text, code, platform, index, basis, last, days, moved, ev in zip(
                    cols["id"],
                    *([c[i] for i in at] for c in every),
                    cols["index"],
                    a.basis[part].tolist(),
                    stored_times(f.last_post_ts[part], dialect),
                    cols["days"],
                    [changes[i] for i in at],
                    found,
                    strict=True,
                )
            ]
            # The latest verdicts also hold the evidence's figures as columns (history.FIGURES).
            figures = zip(*(cols[FIGURE_COLUMNS[column]] for column, _key, _whole in FIGURES), strict=True)
            yield (
                [(*row, *more, int(digest[i])) for row, more, i in zip(rows, figures, at, strict=True)],
                [row for row, i in zip(rows, at, strict=True) if moves[i]],
            )

    return Counter(what), batches()


def changes_of(
    status: np.ndarray, known: np.ndarray, before: list[Any] | np.ndarray, since: list[Any] | np.ndarray, now: Any
) -> tuple[list[str], list[Any]]:
    """history.change() for every account at once (`before`, `since`: each account's previous status and
    flagged_since, None where there is none): (change, flagged_since) per account."""
    was, since_before = object_array(before), object_array(since)
    flagged = isin(status, FLAGGED)
    unknown = status == "unknown"
    had_since = since_before != None  # noqa: E711  (element-wise on an object array)
    what = np.select(
        [
            ~known,
            flagged & ~had_since,
            flagged & ((was == status) | (was == "unknown")),
            flagged,
            unknown & (was == "unknown"),
            unknown,
            had_since,
        ],
        ["new", "newly_flagged", "still_flagged", "changed", "unchanged", "no_data", "recovered"],
        "unchanged",
    )
    stamped = np.empty(len(status), object)
    stamped[:] = None
    stamped[flagged & (~known | ~had_since)] = now
    keep = known & (flagged & had_since | unknown)
    stamped[keep] = since_before[keep]
    return what.tolist(), stamped.tolist()


PLAN_COLUMNS = ("run_id", "account_id", "org_id", "action", "target_account_id", "reason_zh", "reason_en", "numbers")


def plan_rows(a: Analysis, run_id: int) -> list[tuple[Any, ...]]:
    ids, orgs = a.frame.account_id.tolist(), a.frame.org_id.tolist()
    return [
        (
            run_id,
            ids[it.row],
            orgs[it.row],
            it.action,
            None if it.target is None else ids[it.target],
            it.reason_zh,
            it.reason_en,
            dumps(it.numbers),
        )
        for it in a.plan
    ]
