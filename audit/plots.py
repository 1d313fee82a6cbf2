"""Inline SVG figures for the report (no scripts, no outside files): heatmaps, bar charts, histograms."""

from __future__ import annotations

from html import escape


def _colour(value: float, scale: float) -> str:
    """Diverging blue (negative) - white - red (positive)."""
    t = max(-1.0, min(1.0, value / scale)) if scale else 0.0
    fade = int(255 * (1 - abs(t)))
    return f"rgb(255,{fade},{fade})" if t >= 0 else f"rgb({fade},{fade},255)"


def heatmap(rows: list[str], cols: list[str], grid: list[list[float]], cell: int = 14) -> str:
    scale = max((abs(v) for row in grid for v in row), default=0.0) or 1.0
    left, top = 36, 18
    width, height = left + cell * len(cols) + 70, top + cell * len(rows) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for c, name in enumerate(cols):
        parts.append(f'<text x="{left + c * cell + cell / 2}" y="12" font-size="9" text-anchor="middle">{escape(name)}</text>')
    for r, name in enumerate(rows):
        y = top + r * cell
        parts.append(f'<text x="{left - 4}" y="{y + cell - 3}" font-size="9" text-anchor="end">{escape(name)}</text>')
        for c, value in enumerate(grid[r]):
            parts.append(f'<rect x="{left + c * cell}" y="{y}" width="{cell}" height="{cell}" fill="{_colour(value, scale)}">'
                         f'<title>{escape(name)} {escape(cols[c])}: {value:.4f}</title></rect>')
    x = left + cell * len(cols) + 8
    parts.append(f'<text x="{x}" y="{top + 10}" font-size="9">max {scale:.3g}</text>'
                 f'<rect x="{x}" y="{top + 14}" width="12" height="12" fill="{_colour(scale, scale)}"/>'
                 f'<rect x="{x}" y="{top + 28}" width="12" height="12" fill="{_colour(-scale, scale)}"/>'
                 f'<text x="{x + 16}" y="{top + 24}" font-size="9">+</text><text x="{x + 16}" y="{top + 38}" font-size="9">-</text>')
    return "".join(parts) + "</svg>"


def bars(labels: list[str], values: list[float], width: int = 420) -> str:
    scale = max((abs(v) for v in values), default=0.0) or 1.0
    left, row, mid = 90, 16, (width - 90) / 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width + 50}" height="{row * len(labels) + 6}" role="img">']
    for i, (label, value) in enumerate(zip(labels, values)):
        y, length = i * row + 2, abs(value) / scale * mid
        x = left + mid if value >= 0 else left + mid - length
        parts.append(f'<text x="{left - 4}" y="{y + 11}" font-size="10" text-anchor="end">{escape(label)}</text>'
                     f'<rect x="{x:.1f}" y="{y}" width="{max(length, 0.5):.1f}" height="{row - 4}" '
                     f'fill="{"#c0392b" if value >= 0 else "#2c5aa0"}"><title>{escape(label)}: {value:.4f}</title></rect>'
                     f'<text x="{left + 2 * mid + 4}" y="{y + 11}" font-size="10">{value:+.3f}</text>')
    parts.append(f'<line x1="{left + mid}" y1="0" x2="{left + mid}" y2="{row * len(labels) + 4}" stroke="#555"/>')
    return "".join(parts) + "</svg>"


def histogram(values: list[float], bins: int = 10, width: int = 320, height: int = 90,
              bounds: tuple[float, float] | None = None) -> str:
    """`bounds`: a fixed axis (e.g. 0..1 for scores) that holds every value; else the values' own range."""
    low, high = min(values, default=0.0), max(values, default=1.0)
    if bounds and bounds[0] <= low and high <= bounds[1]:
        low, high = bounds
    elif high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int((v - low) / (high - low) * bins))] += 1
    peak, step = max(counts) or 1, width / bins
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 16}" role="img">']
    for i, count in enumerate(counts):
        h = count / peak * height
        parts.append(f'<rect x="{i * step + 1:.1f}" y="{height - h:.1f}" width="{step - 2:.1f}" height="{h:.1f}" fill="#4a7bb7">'
                     f'<title>{low + i * (high - low) / bins:.3f}..{low + (i + 1) * (high - low) / bins:.3f}: {count}</title></rect>')
    parts.append(f'<text x="0" y="{height + 12}" font-size="9">{low:.2f}</text>'
                 f'<text x="{width}" y="{height + 12}" font-size="9" text-anchor="end">{high:.2f}</text>')
    return "".join(parts) + "</svg>"


def render(plot) -> str:
    """The SVG of a runlog.Plot."""
    if plot.kind == "heatmap":
        return heatmap(plot.rows, plot.cols, plot.grid)
    if plot.kind == "bars":
        return bars(plot.labels, plot.values)
    return histogram(plot.values)
