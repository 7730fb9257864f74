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
