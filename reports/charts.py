"""Inline SVG charts (no script, no external file): the trend of verdicts across runs, and stacked bars.

Every piece of text that reaches the SVG goes through markupsafe.escape; numbers are formatted here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from datetime import datetime

from markupsafe import Markup, escape

from registry.timeutil import to_local

# One colour per verdict, shared by the charts, the badges (report.css) and the legend.
STATUS_COLORS = {
    "active": "#2e7d32",
    "shell": "#8d6e63",
    "dormant": "#ef8f00",
    "zombie": "#c62828",
    "unreachable": "#6a1b9a",
    "unknown": "#9e9e9e",
}


def _nice_step(value: float) -> int:
    """The smallest of 1, 2, 5 × 10^n that is at least `value` (a tick step)."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if step * magnitude >= value:
                return step * magnitude
        magnitude *= 10


def _run_label(as_of: datetime) -> str:
    local = to_local(as_of)
    return local.strftime("%m-%d") if local else ""


def _axes(
    trend: Sequence[Mapping[str, Any]],
    title: str,
    cls: str,
    width: int,
    height: int,
    left: int,
    plot_w: int,
    ticks: Sequence[tuple[float, str]],
    x: Callable[[int], float],
    y: Callable[[float], float],
) -> list[str]:
    """The opening of a run chart: the SVG element, the grid with its value labels, the run dates below."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{escape(title)}</title>'
    ]
    for v, label in ticks:
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{label}</text>'
        )
    n = len(trend)
    step = max(1, n // 8)
    for i, run in enumerate(trend):
        if i % step == 0 or i == n - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{height - 12}" text-anchor="middle">{escape(_run_label(run["as_of"]))}</text>'
            )
    return parts


def trend_svg(
    trend: Sequence[Mapping[str, Any]],
    statuses: Sequence[str],
    label: Callable[[str], str],
    *,
    title: str,
    width: int = 760,
    height: int = 280,
) -> Markup:
    """Lines of status counts per run, oldest run on the left; one point per run."""
    left, right, top, bottom = 56, 150, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(trend)
    peak = max((run["counts"].get(s, 0) for run in trend for s in statuses), default=0)
    tick = _nice_step(peak / 4)
    ticks = -(-max(peak, 1) // tick)
    y_max = tick * ticks

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / y_max

    parts = _axes(
        trend,
        title,
        "chart",
        width,
        height,
        left,
        plot_w,
        [(tick * k, f"{tick * k:,}") for k in range(ticks + 1)],
        x,
        y,
    )
    for j, status in enumerate(statuses):
        color = STATUS_COLORS.get(status, "#555")
        points = [(x(i), y(run["counts"].get(status, 0)), run["counts"].get(status, 0)) for i, run in enumerate(trend)]
        if n > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for (px, py, v), run in zip(points, trend, strict=True):
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{color}"><title>'
                f"{escape(label(status))} {escape(_run_label(run['as_of']))}: {v:,}</title></circle>"
            )
        ly = top + 10 + j * 20
        last = trend[-1]["counts"].get(status, 0) if trend else 0
        parts.append(
            f'<rect x="{width - right + 12}" y="{ly - 9}" width="12" height="12" fill="{color}"/>'
            f'<text x="{width - right + 30}" y="{ly + 1}">{escape(label(status))} {last:,}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bars_svg(
    rows: Sequence[tuple[str, dict[str, int]]],
    statuses: Sequence[str],
    label: Callable[[str], str],
    *,
    title: str,
    width: int = 760,
) -> Markup:
    """One horizontal bar per row (e.g. a platform), split by status in proportion to the counts."""
    bar_h, gap, left, right = 22, 10, 120, 70
    legend_y = len(rows) * (bar_h + gap) + gap + 8
    height = legend_y + 16
    plot_w = width - left - right
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>{escape(title)}</title>'
    ]
    for i, (name, counts) in enumerate(rows):
        y0 = gap + i * (bar_h + gap)
        total = sum(counts.values())
        parts.append(f'<text x="{left - 8}" y="{y0 + bar_h - 6}" text-anchor="end">{escape(name)}</text>')
        x0 = float(left)
        for status in statuses:
            v = counts.get(status, 0)
            if not v or not total:
                continue
            w = plot_w * v / total
            parts.append(
                f'<rect x="{x0:.1f}" y="{y0}" width="{w:.1f}" height="{bar_h}" '
                f'fill="{STATUS_COLORS.get(status, "#555")}"><title>{escape(name)} · '
                f"{escape(label(status))}: {v:,}</title></rect>"
            )
            x0 += w
        parts.append(f'<text x="{left + plot_w + 6}" y="{y0 + bar_h - 6}">{total:,}</text>')
    x0 = float(left)
    for status in statuses:  # the legend, one swatch per verdict
        name = escape(label(status))
        parts.append(
            f'<rect x="{x0:.0f}" y="{legend_y - 10}" width="12" height="12" '
            f'fill="{STATUS_COLORS.get(status, "#555")}"/><text x="{x0 + 16:.0f}" y="{legend_y}">{name}</text>'
        )
        x0 += 28 + 13 * len(label(status))
    parts.append("</svg>")
    return Markup("".join(parts))


def rate_svg(trend: Sequence[Mapping[str, Any]], *, title: str, width: int = 760, height: int = 220) -> Markup:
    """The pass rate (passing / checked) per run on a 0–100% scale: the trend's main line."""
    left, right, top, bottom = 56, 150, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(trend)
    rates = []
    for run in trend:
        c = run["counts"]
        checked = sum(c.values()) - c.get("unknown", 0)
        rates.append((c.get("active", 0) + c.get("shell", 0)) / checked * 100 if checked else None)

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else plot_w * i / (n - 1))

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / 100

    parts = _axes(
        trend, title, "chart rate-chart", width, height, left, plot_w, [(v, f"{v}%") for v in range(0, 101, 25)], x, y
    )
    points = [(x(i), y(r), r) for i, r in enumerate(rates) if r is not None]
    color = STATUS_COLORS["active"]
    if len(points) > 1:
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _ in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="3"/>')
    for px, py, r in points:
        parts.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="{color}"><title>{r:.1f}%</title></circle>'
            f'<text x="{px:.1f}" y="{py - 8:.1f}" text-anchor="middle">{r:.1f}%</text>'
        )
    if points:
        parts.append(f'<text x="{width - right + 12}" y="{top + 12}">{escape(title)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
