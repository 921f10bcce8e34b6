"""Writing a run: verdict and plan rows prepared column by column, in the form the database stores
(100,000 verdicts per run: no ORM objects, no per-row type processing), for registry.bulk.insert_many."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from registry.scoring.history import Previous, change, flag_changes, is_transition
from registry.scoring.metrics import nullable
from registry.scoring.rules import BY_CODE, flag_codes

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


def columns(a: Analysis) -> dict[str, list[Any]]:
    """The figures of a run as Python lists, converted once each rather than value by value."""
    f, j = a.frame, a.judgement
    reason: list[str | None] = [None] * len(f)
    http_status: list[int | None] = [None] * len(f)
    for i, outcomes in f.history.items():
        reason[i], http_status[i] = outcomes[0][2], outcomes[0][3]
    return {
        "id": f.account_id.tolist(),
        "window_days": a.params.window_days.tolist(),
        "posts": f.posts.tolist(),
        "originals": f.originals.tolist(),
        "engaged": f.engaged_posts.tolist(),
        "duplicates": f.duplicates.tolist(),
        "longest_gap": nullable(f.longest_gap, 1),
        "median": nullable(f.median_engagement, 1),
        "followers": nullable(f.followers),
        "gone": j.facts.consecutive_gone.tolist(),
        "days": nullable(j.facts.days_silent),
        "index": nullable(a.index, 1),
        "outcome": f.outcome.tolist(),
        "fetched_at": iso_times(f.fetched_ts),
        "reason": reason,
        "http_status": http_status,
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


def _values(a: Analysis, cols: dict[str, list[Any]]) -> list[Any]:
    """The measured value of the rule that set each account's status."""
    j = a.judgement
    return [
        cols["days"][i] if code not in j.values else plain(j.values[code][i]) for i, code in enumerate(j.rule.tolist())
    ]


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


def verdict_rows(
    a: Analysis,
    run_id: int,
    as_of: datetime,
    previous: Previous,
    dialect: str,
) -> tuple[Counter[str], Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]]:
    """The changes since the previous verdicts, counted, and one row per account in VERDICT_COLUMNS order,
    in batches (built as they are written: a run's rows are never all in memory at once): each batch as
    (every row: the latest verdicts; the rows that are transitions: the history)."""
    f, j = a.frame, a.judgement
    cols = columns(a)
    texts: dict[tuple[str, str], tuple[str, str, str]] = {}
    for key in set(zip(j.rule.tolist(), f.platform.tolist(), strict=True)):
        texts[key] = BY_CODE[key[0]].text(a.params.policy.for_platform(key[1]))
    masks = a.flag_masks.tolist()
    flag_json = {mask: dumps(flag_codes(mask)) for mask in set(masks)}  # few distinct sets of flags
    flags_text = [flag_json[mask] for mask in masks]
    changes: list[tuple[Any, ...]] = []  # (previous status, change, flagged since) per account
    moves: list[bool] = []  # whether each verdict is a transition (history.is_transition)
    extras: dict[int, dict[str, Any]] = {}
    now = stored_time(as_of, dialect)
    for i, (account_id, status, rule, registry) in enumerate(
        zip(cols["id"], j.status.tolist(), j.rule.tolist(), f.registry_status.tolist(), strict=True)
    ):
        before = previous.get(account_id)
        what, since = change(status, before, now)
        changes.append((before[0] if before else None, what, since))
        moves.append(is_transition(status, flags_text[i], rule, registry, before))
        if before is not None:
            moved = flag_changes(masks[i], flags_text[i], before)
            if moved:
                extras[i] = moved
    cols = {**cols, "value": _values(a, cols)}
    for i, others in a.frame.duplicate_with.items():
        extras.setdefault(i, {})["duplicate_with"] = others
    extras_by_batch: dict[int, dict[int, dict[str, Any]]] = {}
    for i, more in extras.items():
        extras_by_batch.setdefault(i // BATCH, {})[i % BATCH] = more
    columns_out = (
        cols["id"],
        j.status.tolist(),
        f.registry_status.tolist(),
        flags_text,
        j.rule.tolist(),
        f.platform.tolist(),
        cols["index"],
        a.basis.tolist(),
        stored_times(f.last_post_ts, dialect),
        cols["days"],
        changes,
    )

    def batches() -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
        for start in range(0, len(f), BATCH):
            part = slice(start, start + BATCH)
            found = evidence_json({k: v[part] for k, v in cols.items()}, extras_by_batch.get(start // BATCH, {}))
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
                    *(c[part] for c in columns_out), found, strict=True
                )
            ]
            yield rows, [row for row, moved in zip(rows, moves[part], strict=True) if moved]

    return Counter(what for _, what, _ in changes), batches()


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
