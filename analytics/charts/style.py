"""The look shared by every figure: palette, font, layout and axis defaults, per-variant colours."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from analytics.report.types import VariantResult

PALETTE = ("#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2", "#65a30d", "#dc2626")
CONTROL_COLOR = "#6b7280"
FONT = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13, "color": "#1f2937"}
ZERO_LINE = {"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 0, "y1": 0, "line": {"dash": "dot"}}


def layout(title: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        "font": FONT,
        "margin": {"l": 64, "r": 24, "t": 56, "b": 48},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        # Below the plot, clear of the x-axis title (plotly grows the bottom margin to fit it).
        "legend": {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.24, "yanchor": "top"},
        "height": 380,
    }
    base.update(extra)
    return base


def axis(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "gridcolor": "#e5e7eb", "zerolinecolor": "#9ca3af", "automargin": True, **extra}


def rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def error_bars(values: Sequence[float | None], lows: Sequence[float | None], highs: Sequence[float | None]) -> dict:
    """Asymmetric error bars from each value to its interval's ends (none where either is unknown)."""
    return {
        "type": "data",
        "symmetric": False,
        "array": [None if hi is None or v is None else hi - v for v, hi in zip(values, highs, strict=True)],
        "arrayminus": [None if lo is None or v is None else v - lo for v, lo in zip(values, lows, strict=True)],
    }


def hover_name(text: str) -> str:
    """A user-supplied name inside a hover template's <extra> tag, where plotly reads HTML."""
    return text.replace("<", "&lt;")


def variant_colors(variants: Sequence[VariantResult]) -> dict[str, str]:
    colors, index = {}, 0
    for variant in variants:
        if variant.is_control:
            colors[variant.key] = CONTROL_COLOR
        else:
            colors[variant.key] = PALETTE[index % len(PALETTE)]
            index += 1
    return colors
