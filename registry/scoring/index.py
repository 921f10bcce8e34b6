"""The liveness index, 0–100: how alive and how heard an account is, comparable within a platform.

Counts are log-scaled as in the published WCI (WeChat) and BCI (Weibo) formulas, each against the
platform's reference value from the policy (the value that earns full marks), so that an index means
the same on every run and in every unit:

    F = min(1, ln(1 + posts in window) / ln(1 + index_posts_ref))          frequency
    R = max(0, 1 − days_silent / zombie_days)                               recency
    G = max(0, 1 − longest_gap / window_days)                               regularity
    activity = 0.4·F + 0.3·R + 0.3·G
    E = min(1, ln(1 + median engagement) / ln(1 + index_engagement_ref))    engagement
    S = min(1, ln(1 + followers) / ln(1 + index_followers_ref))             following
    reach = 0.6·E + 0.4·S   (E alone when followers are unknown)
    index = 100 · (0.6·activity + 0.4·reach)       basis "full"
    index = 100 · activity                          basis "activity_only" (engagement unknown)

No index for unreachable or unknown accounts: there is nothing fresh to measure.
"""

from __future__ import annotations

import numpy as np

from registry.scoring.rules import Judgement, isin


def _log_share(value: np.ndarray, ref: np.ndarray) -> np.ndarray:
    return np.minimum(1.0, np.log1p(np.maximum(value, 0)) / np.log1p(ref))


def liveness_index(j: Judgement) -> tuple[np.ndarray, np.ndarray]:
    """(index 0–100 with NaN where not measured, basis per account: "full", "activity_only" or None)."""
    x = j.facts
    f, p = x.f, x.p
    frequency = _log_share(f.posts.astype(float), p.index_posts_ref)
    recency = np.where(np.isnan(x.days_silent), 0.0, np.clip(1 - x.days_silent / p.zombie_days, 0, 1))
    regularity = np.clip(1 - f.longest_gap / p.window_days, 0, 1)
    activity = 0.4 * frequency + 0.3 * recency + 0.3 * regularity
    engagement = _log_share(f.median_engagement, p.index_engagement_ref)
    following = _log_share(f.followers, p.index_followers_ref)
    reach = np.where(np.isnan(following), engagement, 0.6 * engagement + 0.4 * following)
    known = ~np.isnan(f.median_engagement)
    index = 100 * np.where(known, 0.6 * activity + 0.4 * reach, activity)
    basis = np.where(known, "full", "activity_only").astype(object)
    unmeasured = isin(j.status, ("unreachable", "unknown"))
    index[unmeasured] = np.nan
    basis[unmeasured] = None
    return np.round(index, 1), basis
