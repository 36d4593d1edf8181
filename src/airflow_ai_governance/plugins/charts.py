"""Small SVG charts drawn on the server: no JavaScript library, no CDN, readable in both themes.

Colours are CSS classes (``series-0`` ...), styled by the page for light and dark mode; every bar
and point carries a ``<title>`` with its exact figure for people who hover or use a screen reader.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 40


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** len(str(int(value))) / 10
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 10 or value == int(value) else f"{value:.2g}"


def _frame(title: str, y_max: float, y_label: str) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{_fmt(y_max * i / 4)}</text>'
        )
    parts.append(
        f'<text class="axis" x="12" y="{TOP + plot_h / 2:.1f}" transform="rotate(-90 12 {TOP + plot_h / 2:.1f})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    return parts


def _legend(labels: Sequence[str]) -> list[str]:
    parts, x = [], LEFT
    for i, label in enumerate(labels):
        parts.append(f'<rect class="series-{i % 8}" x="{x}" y="{HEIGHT - 14}" width="10" height="10"/>')
        parts.append(f'<text class="legend" x="{x + 14}" y="{HEIGHT - 5}">{escape(label)}</text>')
        x += 24 + 7 * len(label)
    return parts


def stacked_bars(
    title: str, categories: Sequence[str], series: Mapping[str, Sequence[float]], y_label: str = "count"
) -> str:
    """One bar per category (e.g. a day), stacked by series (e.g. gate outcome)."""
    if not categories:
        return ""
    totals = [sum(values[i] for values in series.values()) for i in range(len(categories))]
    y_max = _nice_max(max(totals or [0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(categories)
    bar = max(2.0, slot * 0.7)
    parts = _frame(title, y_max, y_label)
    for i, category in enumerate(categories):
        x = LEFT + i * slot + (slot - bar) / 2
        base: float = TOP + plot_h
        for k, (name, values) in enumerate(series.items()):
            value = values[i]
            if value <= 0:
                continue
            h = plot_h * value / y_max
            base -= h
            parts.append(
                f'<rect class="series-{k % 8}" x="{x:.1f}" y="{base:.1f}" width="{bar:.1f}" height="{h:.1f}">'
                f"<title>{escape(category)}: {escape(name)} {_fmt(value)}</title></rect>"
            )
        if len(categories) <= 16 or i % max(1, len(categories) // 8) == 0:
            parts.append(
                f'<text class="axis" x="{x + bar / 2:.1f}" y="{TOP + plot_h + 14}" text-anchor="middle">'
                f"{escape(category[-5:])}</text>"
            )
    parts += _legend(list(series))
    parts.append("</svg>")
    return "".join(parts)


def time_series(
    title: str,
    series: Mapping[str, Sequence[tuple[datetime, float]]],
    *,
    threshold: float | None = None,
    y_label: str = "value",
) -> str:
    """Lines over time (one per series), with an optional threshold line."""
    points = [p for values in series.values() for p in values]
    if not points:
        return ""
    t0 = min(t for t, _ in points).timestamp()
    t1 = max(t for t, _ in points).timestamp()
    span = (t1 - t0) or 1.0
    y_max = _nice_max(max([v for _, v in points] + ([threshold] if threshold is not None else [])))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(t: datetime, v: float) -> tuple[float, float]:
        return LEFT + plot_w * (t.timestamp() - t0) / span, TOP + plot_h - plot_h * min(v, y_max) / y_max

    parts = _frame(title, y_max, y_label)
    if threshold is not None:
        _, y = xy(datetime.fromtimestamp(t0, UTC), threshold)
        parts.append(
            f'<line class="threshold" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}">'
            f"<title>threshold {_fmt(threshold)}</title></line>"
        )
    for k, (name, values) in enumerate(series.items()):
        ordered = sorted(values)
        coords = [xy(t, v) for t, v in ordered]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(f'<polyline class="line series-{k % 8}" points="{path}"/>')
        for (t, v), (x, y) in zip(ordered, coords, strict=True):
            parts.append(
                f'<circle class="series-{k % 8}" cx="{x:.1f}" cy="{y:.1f}" r="3">'
                f"<title>{escape(name)} {t:%Y-%m-%d %H:%M} UTC: {_fmt(v)}</title></circle>"
            )
    first, last = datetime.fromtimestamp(t0, UTC), datetime.fromtimestamp(t1, UTC)
    parts.append(f'<text class="axis" x="{LEFT}" y="{TOP + plot_h + 14}">{first:%Y-%m-%d}</text>')
    parts.append(
        f'<text class="axis" x="{WIDTH - RIGHT}" y="{TOP + plot_h + 14}" text-anchor="end">{last:%Y-%m-%d}</text>'
    )
    parts += _legend(list(series))
    parts.append("</svg>")
    return "".join(parts)
