"""Duplicate publishing: the same content on related accounts within a few days.

Two accounts are related when they are on the same platform and their units share the top-level unit
under the root (a department and its offices) or the same parent (sibling departments, or a unit and
the communities under one street). A post of the window is a duplicate when a related account
published the same content (equal Post.content_hash, see registry.digest) within
duplicate_window_days of it. The re-editing burden this measures is what consolidation removes.

Candidate posts are found with numpy over the 12-character hash prefixes of the whole window (one
sort); only hashes seen more than once are looked at in Python.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from collections.abc import Iterable
from typing import Any

import numpy as np

from registry.digest import content_hash
from registry.scoring.metrics import DAY, Frame, Params, WindowPosts
from registry.scoring.periods import HASH_WIDTH

MAX_PARTNERS = 20  # related accounts named in a verdict's evidence

Tree = dict[int, tuple[int | None, str, int | None, str]]


def family_keys(tree: Tree, orgs: Iterable[int] | None = None) -> dict[int, tuple[int, int | None]]:
    """unit -> (its top-level unit under the root, or itself if it is a root or top-level; its parent), for
    the units `orgs` (None: every unit of the tree)."""
    keys: dict[int, tuple[int, int | None]] = {}

    def top(org: int) -> int:
        parent = tree[org][0]
        if parent is None or tree[parent][0] is None:
            return org
        if org not in keys:
            keys[org] = (top(parent), parent)
        return keys[org][0]

    for org in tree if orgs is None else orgs:
        if org not in keys:
            keys[org] = (top(org), tree[org][0])
    return keys


def _unhashed(rows: list[Any], frame: Frame) -> WindowPosts:
    """Posts of the window stored without a content hash: hash their title and text here."""
    ids, ts, hashes = [], [], []
    for account_id, published, title, text in rows:
        digest = content_hash(title, text)
        if digest:
            ids.append(account_id)
            ts.append(published)
            hashes.append(digest[:HASH_WIDTH].encode("ascii", "replace").ljust(HASH_WIDTH))
    return WindowPosts(
        row=frame.rows_of(np.array(ids, np.int64)),
        ts=np.array(ts, np.int64),
        hashes=np.array(hashes, dtype=f"S{HASH_WIDTH}"),
    )


def _candidates(posts: WindowPosts) -> np.ndarray:
    """Indices of the posts whose hash occurs more than once (one sort over 64-bit keys), those of equal
    hashes next to each other, each hash's in ascending order."""
    n = len(posts.hashes)
    if n < 2:
        return np.zeros(0, np.int64)
    padded = np.zeros((n, 16), np.uint8)  # two machine words per hash prefix
    padded[:, :HASH_WIDTH] = np.frombuffer(np.ascontiguousarray(posts.hashes).tobytes(), np.uint8).reshape(
        n, HASH_WIDTH
    )
    halves = padded.view(np.uint64)
    keys = halves[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ halves[:, 1]
    order = np.argsort(keys)
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]  # equal to the next key
    repeated = np.r_[same, False] | np.r_[False, same]
    found = np.sort(order[repeated])
    # Grouped by the hashes themselves (two hashes may share a key): a stable sort keeps each in order.
    return found[np.argsort(posts.hashes[found], kind="stable")]


def count_duplicates(frame: Frame, params: Params, unhashed: list[Any], tree: Tree) -> None:
    """Fill frame.duplicates and frame.duplicate_with for every account of the frame (`unhashed`: the
    window's posts stored without a content hash, as metrics.read_window gives them)."""
    parts = [p for p in (frame.window_posts, _unhashed(unhashed, frame) if unhashed else None) if p is not None]
    if not parts:
        return
    posts = (
        parts[0]
        if len(parts) == 1
        else WindowPosts(
            row=np.concatenate([p.row for p in parts]),
            ts=np.concatenate([p.ts for p in parts]),
            hashes=np.concatenate([p.hashes for p in parts]),
        )
    )
    found = _candidates(posts)
    if not len(found):
        return
    # The candidates' figures as Python lists, once (no numpy scalar per post in the loop below).
    hashes = posts.hashes[found]
    starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]]).tolist() + [len(found)]
    rows = posts.row[found]
    orgs = frame.org_id[rows].tolist()
    keys = family_keys(tree, set(orgs))
    families = ([keys[org][0] for org in orgs], [keys[org][1] for org in orgs])  # same top-level unit; parent
    platforms = frame.platform[rows].tolist()
    times, row_list, post_list = posts.ts[found].tolist(), rows.tolist(), found.tolist()
    window = params.duplicate_window_days * DAY
    duplicate: set[int] = set()
    partners: dict[int, set[int]] = defaultdict(set)
    for start, end in pairwise(starts):
        if len(set(row_list[start:end])) < 2:
            continue
        for family in families:
            buckets: dict[tuple[str, int], list[tuple[int, int, int]]] = defaultdict(list)
            for k in range(start, end):
                if (key := family[k]) is not None:
                    buckets[(platforms[k], key)].append((times[k], row_list[k], post_list[k]))
            for items in buckets.values():
                _pair_up(sorted(items), window, duplicate, partners)
    for post in duplicate:
        frame.duplicates[posts.row[post]] += 1
    for row, others in partners.items():
        frame.duplicate_with[row] = sorted(int(frame.account_id[o]) for o in others)[:MAX_PARTNERS]


def _pair_up(
    items: list[tuple[int, int, int]], window: np.ndarray, duplicate: set[int], partners: dict[int, set[int]]
) -> None:
    """Mark the posts (time-sorted) that another account published within the window of them."""
    for a, (ta, ra, pa) in enumerate(items):
        limit = window[ra]
        for tb, rb, pb in items[a + 1 :]:
            if tb - ta > limit:
                break
            if rb != ra:
                duplicate.update((pa, pb))
                partners[ra].add(rb)
                partners[rb].add(ra)
