"""Small inline SVG charts (no JavaScript, no CDN): bars and a share strip."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

PALETTE = ("#3b6ea5", "#e07b39", "#4f9d69", "#c44e52", "#8172b2", "#937860", "#da8bc3")
STATUS_COLOURS = {"final": "#4f9d69", "pending": "#e0a339", "invalid": "#c44e52"}


def bars(
    points: Sequence[tuple[str, float]],
    title: str,
    colours: Sequence[str] | None = None,
    width: int = 640,
    height: int = 120,
) -> Markup:
    """A bar chart of ``(label, value)`` points; each bar has a ``<title>`` tooltip.

    Args:
        points: labels and values, left to right.
        title: the chart's accessible name.
        colours: one colour per bar (default: the first palette colour).
        width: SVG width in px.
        height: SVG height in px.
    """
    if not points:
        return Markup('<p class="muted">no data yet</p>')
    top = max(v for _, v in points) or 1.0
    n = len(points)
    bw = width / n
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" '
        f'height="{height + 16}" viewBox="0 0 {width} {height + 16}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, v) in enumerate(points):
        h = max(1.0, v / top * height) if v else 0.0
        c = colours[i] if colours else PALETTE[0]
        parts.append(
            f'<rect x="{i * bw + 1:.1f}" y="{height - h:.1f}" width="{max(1.0, bw - 2):.1f}" '
            f'height="{h:.1f}" fill="{c}"><title>{escape(label)}: {v:g}</title></rect>'
        )
    parts.append(
        f'<text x="0" y="{height + 13}" class="axis">{escape(points[0][0])}</text>'
        f'<text x="{width}" y="{height + 13}" text-anchor="end" class="axis">'
        f"{escape(points[-1][0])} (max {top:g})</text></svg>"
    )
    return Markup("".join(parts))


def shares(parts: Sequence[tuple[str, float]], title: str, width: int = 640) -> Markup:
    """A horizontal strip split in proportion to ``(label, share)`` (shares sum to 1)."""
    if not parts:
        return Markup('<p class="muted">no data yet</p>')
    out = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="28" '
        f'viewBox="0 0 {width} 28"><title>{escape(title)}</title>'
    ]
    x = 0.0
    for i, (label, s) in enumerate(parts):
        w = s * width
        out.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="28" '
            f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)}: {s:.1%}</title></rect>'
        )
        x += w
    out.append("</svg>")
    return Markup("".join(out))


def timeline(
    segments: Sequence[tuple[float, float, str]],
    marks: Sequence[tuple[float, str]],
    title: str,
    width: int = 640,
) -> Markup:
    """Who held a role over time: ``(start, end, holder)`` segments, one colour per holder,
    and ``(time, label)`` marks (e.g. slashes) as red ticks; times in seconds."""
    if not segments:
        return Markup('<p class="muted">no rotation yet</p>')
    t0 = min(s for s, _, _ in segments)
    t1 = max(max(e for _, e, _ in segments), max((t for t, _ in marks), default=t0)) or t0 + 1
    span = max(1.0, t1 - t0)
    colour: dict[str, str] = {}
    out = [
        f'<svg class="chart" role="img" aria-label="{escape(title)}" width="{width}" height="44" '
        f'viewBox="0 0 {width} 44"><title>{escape(title)}</title>'
    ]
    for start, end, who in segments:
        c = colour.setdefault(who, PALETTE[len(colour) % len(PALETTE)])
        x, w = (start - t0) / span * width, max(1.0, (end - start) / span * width)
        out.append(
            f'<rect x="{x:.1f}" y="4" width="{w:.1f}" height="22" fill="{c}">'
            f"<title>{escape(who)}: {end - start:.0f} s</title></rect>"
        )
    for t, label in marks:
        x = (t - t0) / span * width
        out.append(
            f'<rect x="{max(0.0, x - 1):.1f}" y="0" width="3" height="30" fill="#c44e52">'
            f"<title>{escape(label)}</title></rect>"
        )
    out.append(
        f'<text x="0" y="41" class="axis">L1 time →</text>'
        f'<text x="{width}" y="41" text-anchor="end" class="axis">{span:.0f} s</text></svg>'
    )
    return Markup("".join(out))
