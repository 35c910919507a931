"""Log-scale line charts as plain SVG, for the growth measurements of ``compare``.

Quantities such as derivation time and expression size grow geometrically
with depth, so they are drawn on a log10 y axis where ``∝ c^depth`` is a
straight line and a polynomial ``∝ n^k`` bends over. Each :class:`Panel` is
one chart; :func:`svg_chart` puts panels side by side in one self-contained
SVG (no scripts, no external fonts or style sheets), so the file shows the
same in a browser and as an image in a README.

>>> import xml.etree.ElementTree as ET
>>> times = Series("δ recurrence", [(1, 0.002), (2, 0.004), (3, 0.008)])
>>> svg = svg_chart([Panel("Time", "depth", "seconds", [times])], "Scaling")
>>> ET.fromstring(svg).tag
'{http://www.w3.org/2000/svg}svg'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import DataError

__all__ = ["Panel", "Series", "svg_chart"]

# Okabe–Ito, reordered so the first colours have the most contrast on white;
# the pale yellow comes last.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")

# Filled marker shapes centred on (0, 0). Shape and colour both change from
# series to series, so the legend still reads in greyscale. The up-pointing
# triangle is kept for "over the time cap".
MARKERS = (
    "M-3.5,0a3.5,3.5 0 1,0 7,0a3.5,3.5 0 1,0 -7,0Z",
    "M-3.2,-3.2h6.4v6.4h-6.4Z",
    "M0,-4.5L4.5,0L0,4.5L-4.5,0Z",
    "M-4.2,-2.6H4.2L0,4.6Z",
)
CAP_MARKER = "M0,-5.5L5,3.2H-5Z"
CAP_COLOUR = "#555555"

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")

# Panel geometry in px, relative to the panel's top-left corner.
PANEL_WIDTH = 460
PLOT_LEFT, PLOT_RIGHT = 64, 444
PLOT_TOP, PLOT_BOTTOM = 34, 230
LEGEND_TOP = 288
LEGEND_ROW = 17
CAP_STACK = 11  # px between over-cap marks of different series at the same x
MIN_LABEL_GAP = 15  # px between y tick labels before every other decade is labelled


@dataclass(frozen=True)
class Series:
    """One measured quantity: markers joined by a solid line, optionally a fitted law.

    ``points`` are measured ``(x, y)`` with ``y > 0``; ``fitted`` is drawn dashed
    in the same colour; ``over_cap`` are the x where the measurement ran past
    the time cap, marked by an open triangle at the top of the plot.

    >>> s = Series("direct", [(1, 0.1), (2, 0.9)], fitted=[(1, 0.1), (3, 8.1)],
    ...            over_cap=[3], fit_label="∝ 9.0^depth")
    >>> s.label, len(s.points), s.over_cap
    ('direct', 2, [3])
    """

    label: str
    points: Sequence[tuple[float, float]]
    fitted: Sequence[tuple[float, float]] = ()
    over_cap: Sequence[float] = ()
    fit_label: str = ""


@dataclass(frozen=True)
class Panel:
    """One chart: a title, axis labels and its series; y is on a log scale
    unless ``y_log`` is False (for a share such as an accuracy, which may be 0).

    >>> p = Panel("Expression size", "width", "nodes", [Series("array form", [(2, 40), (4, 80)])],
    ...           x_log=True)
    >>> p.x_log, p.series[0].label
    (True, 'array form')
    """

    title: str
    x_label: str
    y_label: str
    series: Sequence[Series]
    x_log: bool = False
    y_log: bool = True


def svg_chart(panels: Sequence[Panel], title: str, subtitle: str = "") -> str:
    """The panels side by side in one SVG document (a string).

    Series ``i`` has the same colour and marker in every panel. Raises
    :class:`~symbackprop.errors.DataError` for values a log axis cannot show
    and for panels with nothing to draw.

    >>> svg = svg_chart([Panel("Time", "depth", "s", [Series("a", [(1, 1e-3), (4, 2.0)])])], "T")
    >>> svg.startswith("<?xml") and "10⁻³" in svg and "10¹" in svg
    True
    >>> svg_chart([], "T")
    Traceback (most recent call last):
    ...
    symbackprop.errors.DataError: svg_chart needs at least one panel; pass a list of Panel objects
    """
    if not panels:
        raise DataError("svg_chart needs at least one panel; pass a list of Panel objects")
    for panel in panels:
        _check(panel)

    header = 62 if subtitle else 44
    legend_rows = max(_legend_layout(panel)[1] for panel in panels)
    panel_height = LEGEND_TOP + legend_rows * LEGEND_ROW + 8
    width, height = PANEL_WIDTH * len(panels), header + panel_height

    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="{_attr(FONT)}" role="img" '
        f'aria-label="{_attr(title)}">',
        f"<title>{_text(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        _label(20, 28, title, 17, width - 40, anchor="start", extra=' font-weight="600" fill="#111"'),
    ]
    if subtitle:
        out.append(_label(20, 48, subtitle, 12.5, width - 40, anchor="start", extra=' fill="#555"'))
    for i, panel in enumerate(panels):
        out.append(f'<g class="panel" transform="translate({PANEL_WIDTH * i},{header})">')
        out.extend(_panel(panel))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- validation


def _check(panel: Panel) -> None:
    where = f"panel {panel.title!r}"
    for s in panel.series:
        at = f"{where}, series {s.label!r}"
        for noun, pairs in (("point", s.points), ("fitted point", s.fitted)):
            for pair in pairs:
                try:
                    x, y = (float(v) for v in pair)
                except (TypeError, ValueError, OverflowError):
                    raise DataError(f"{at}: the {noun} {pair!r} is not an (x, y) pair of numbers") from None
                _check_x(x, panel.x_log, f"{at}: the {noun} {pair!r}")
                if not panel.y_log and not math.isfinite(y):
                    raise DataError(f"{at}: the {noun} at x = {x:g} has y = {y!r}; every y must be a finite number")
                if panel.y_log and not (math.isfinite(y) and y > 0):
                    raise DataError(
                        f"{at}: the {noun} at x = {x:g} has y = {y!r}, which a log scale cannot show; "
                        "give positive, finite values (leave the point out, or list its x in over_cap)"
                    )
        for x in s.over_cap:
            try:
                x = float(x)
            except (TypeError, ValueError, OverflowError):
                raise DataError(f"{at}: the over_cap position {x!r} is not a number") from None
            _check_x(x, panel.x_log, f"{at}: the over_cap position")
    if not any(s.points or s.over_cap for s in panel.series):
        names = ", ".join(repr(s.label) for s in panel.series) or "it has no series"
        raise DataError(
            f"{where} has nothing to draw: none of its series ({names}) has points or over_cap "
            "positions; give it measurements or leave the panel out"
        )


def _check_x(x: float, x_log: bool, at: str) -> None:
    if not math.isfinite(x):
        raise DataError(f"{at} has x = {x!r}; every x must be a finite number")
    if x_log and x <= 0:
        raise DataError(f"{at} has x = {x:g}, which the log x axis (x_log=True) cannot show; "
                        "use positive x or x_log=False")


# ------------------------------------------------------------------- scales


class _Axis:
    """Maps data values to px along one axis, linearly in the value or in its log10."""

    def __init__(self, lo: float, hi: float, px_lo: float, px_hi: float, log: bool) -> None:
        self.lo, self.hi, self.px_lo, self.px_hi, self.log = lo, hi, px_lo, px_hi, log

    def __call__(self, v: float) -> float:
        t = math.log10(v) if self.log else v
        return self.px_lo + (t - self.lo) / (self.hi - self.lo) * (self.px_hi - self.px_lo)


def _y_axis(values: list[float]) -> _Axis:
    # Whole decades, so the top and bottom gridlines are labelled and even
    # data inside one decade gets two labelled ticks.
    if values:
        lo = math.floor(math.log10(min(values)))
        hi = math.ceil(math.log10(max(values)))
    else:  # only over-cap marks: any decade will do
        lo, hi = 0, 1
    if hi == lo:
        hi = lo + 1
    return _Axis(lo, hi, PLOT_BOTTOM, PLOT_TOP, log=True)


def _linear_y_axis(values: list[float]) -> _Axis:
    lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    pad = 0.04 * (hi - lo)
    return _Axis(lo - pad, hi + pad, PLOT_BOTTOM, PLOT_TOP, log=False)


def _x_axis(values: list[float], log: bool) -> tuple[_Axis, list[tuple[float, str]]]:
    ts = [math.log10(v) for v in values] if log else values
    lo, hi = min(ts), max(ts)
    if lo == hi:
        lo, hi = lo - (0.5 if log else 1), hi + (0.5 if log else 1)
    # A little room so end markers do not sit on the frame.
    pad = 0.04 * (hi - lo)
    axis = _Axis(lo - pad, hi + pad, PLOT_LEFT, PLOT_RIGHT, log)
    ticks = _log_ticks(axis.lo, axis.hi) if log else _linear_ticks(axis.lo, axis.hi, values)
    return axis, ticks


def _linear_ticks(lo: float, hi: float, values: list[float]) -> list[tuple[float, str]]:
    raw = (hi - lo) / 9  # at most about ten ticks
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw * (1 - 1e-9))
    if all(float(v).is_integer() for v in values):
        step = max(step, 1)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    for k in range(first, math.floor(hi / step + 1e-9) + 1):
        v = round(k * step, 10)
        ticks.append((v, f"{v:g}"))
    return ticks


def _log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    # The densest of "every digit", 1-2-5, 1-3 and whole decades that stays
    # readable; for very wide ranges, every n-th decade.
    for mantissas in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 5), (1, 3), (1,)):
        ticks = [
            (m * 10.0**k, k, m)
            for k in range(math.floor(lo), math.ceil(hi) + 1)
            for m in mantissas
            if lo <= k + math.log10(m) <= hi
        ]
        if len(ticks) <= 8:
            break
    every = max(1, math.ceil(len(ticks) / 8))
    ticks = [t for t in ticks if t[1] % every == 0] if len(ticks) > 8 else ticks
    return [(v, _log_label(k, m)) for v, k, m in ticks]


def _log_label(k: int, m: int) -> str:
    if -3 <= k <= 4:
        return f"{m * 10.0**k:g}"
    return _decade(k) if m == 1 else f"{m}·{_decade(k)}"


def _decade(k: int) -> str:
    return "10" + str(k).translate(SUPERSCRIPTS)


# -------------------------------------------------------------------- panel


def _panel(panel: Panel) -> list[str]:
    ys = [float(y) for s in panel.series for _, y in (*s.points, *s.fitted)]
    xs = [float(x) for s in panel.series for x, _ in (*s.points, *s.fitted)]
    xs += [float(x) for s in panel.series for x in s.over_cap]
    y_axis = _y_axis(ys) if panel.y_log else _linear_y_axis(ys)
    x_axis, x_ticks = _x_axis(xs, panel.x_log)
    mid = (PLOT_LEFT + PLOT_RIGHT) / 2
    out = [
        _label(mid, 18, panel.title, 14, PANEL_WIDTH - 16, extra=' font-weight="600" fill="#222"'),
        f'<rect class="plot-area" x="{PLOT_LEFT}" y="{PLOT_TOP}" width="{PLOT_RIGHT - PLOT_LEFT}" '
        f'height="{PLOT_BOTTOM - PLOT_TOP}" fill="#fcfcfc" stroke="#bbbbbb"/>',
    ]
    out += _y_grid(y_axis) if panel.y_log else _linear_y_grid(y_axis, ys)
    out.append('<g class="x-ticks" font-size="11" fill="#444" text-anchor="middle">')
    for v, text in x_ticks:
        x = _num(x_axis(v))
        out.append(f'<line x1="{x}" y1="{PLOT_BOTTOM}" x2="{x}" y2="{PLOT_BOTTOM + 4}" stroke="#999"/>')
        out.append(f'<text x="{x}" y="{PLOT_BOTTOM + 17}">{_text(text)}</text>')
    out.append("</g>")
    out.append(_label(mid, PLOT_BOTTOM + 36, panel.x_label, 12, PLOT_RIGHT - PLOT_LEFT, extra=' fill="#333"'))
    y_mid = (PLOT_TOP + PLOT_BOTTOM) / 2
    out.append(
        _label(0, 0, panel.y_label, 12, PLOT_BOTTOM - PLOT_TOP,
               extra=f' fill="#333" transform="translate(15,{_num(y_mid)}) rotate(-90)"')
    )
    caps_at: dict[float, int] = {}
    for i, s in enumerate(panel.series):
        out += _series(i, s, x_axis, y_axis, caps_at)
    out += _legend(panel)
    return out


def _y_grid(axis: _Axis) -> list[str]:
    decades = range(int(axis.lo), int(axis.hi) + 1)
    px_per_decade = (PLOT_BOTTOM - PLOT_TOP) / (axis.hi - axis.lo)
    every = next(n for n in (1, 2, 3, 5, 10, 20, 50, 100) if n * px_per_decade >= MIN_LABEL_GAP)
    out = ['<g class="y-grid" stroke="#e3e3e3">']
    # Over very many decades a line per decade turns into a grey wash; keep
    # only the labelled ones then.
    grid_every = 1 if px_per_decade >= 8 else every
    for k in decades:
        if k % grid_every == 0:
            y = _num(axis(10.0**k))
            out.append(f'<line x1="{PLOT_LEFT}" y1="{y}" x2="{PLOT_RIGHT}" y2="{y}"/>')
    # Minor ticks at 2..9 × 10^k help reading values once decades are tall enough.
    if px_per_decade >= 40:
        for k in decades[:-1]:
            for m in range(2, 10):
                y = _num(axis(m * 10.0**k))
                out.append(f'<line x1="{PLOT_LEFT}" y1="{y}" x2="{PLOT_LEFT + 4}" y2="{y}" stroke="#999"/>')
    out.append("</g>")
    out.append('<g class="y-ticks" font-size="11" fill="#444" text-anchor="end">')
    for k in decades:
        if k % every == 0:
            out.append(f'<text x="{PLOT_LEFT - 6}" y="{_num(axis(10.0**k) + 4)}">{_decade(k)}</text>')
    out.append("</g>")
    return out


def _linear_y_grid(axis: _Axis, values: list[float]) -> list[str]:
    ticks = _linear_ticks(axis.lo, axis.hi, values or [0.0])
    out = ['<g class="y-grid" stroke="#e3e3e3">']
    for v, _ in ticks:
        out.append(f'<line x1="{PLOT_LEFT}" y1="{_num(axis(v))}" x2="{PLOT_RIGHT}" y2="{_num(axis(v))}"/>')
    out.append("</g>")
    out.append('<g class="y-ticks" font-size="11" fill="#444" text-anchor="end">')
    for v, text in ticks:
        out.append(f'<text x="{PLOT_LEFT - 6}" y="{_num(axis(v) + 4)}">{_text(text)}</text>')
    out.append("</g>")
    return out


def _series(i: int, s: Series, x_axis: _Axis, y_axis: _Axis, caps_at: dict[float, int]) -> list[str]:
    """The SVG of series ``i``; ``caps_at`` counts the over-cap marks already drawn at each x."""
    colour = PALETTE[i % len(PALETTE)]
    out = [f'<g class="series" fill="{colour}" stroke="{colour}">']
    if s.fitted:
        out.append(f'<polyline class="fit" points="{_polyline(s.fitted, x_axis, y_axis)}" fill="none" '
                   'stroke-width="1.5" stroke-dasharray="6 4"/>')
    if len(s.points) > 1:
        out.append(f'<polyline class="measured" points="{_polyline(s.points, x_axis, y_axis)}" '
                   'fill="none" stroke-width="2" stroke-linejoin="round"/>')
    for x, y in sorted((float(x), float(y)) for x, y in s.points):
        out.append(_marker(MARKERS[i % len(MARKERS)], x_axis(x), y_axis(y), "marker",
                           ' stroke="#ffffff" stroke-width="0.8"'))
    for x in sorted({float(x) for x in s.over_cap}):
        # Several routes often time out at the same x: stack their marks
        # downwards from the top edge instead of hiding one under another.
        below = caps_at.get(x, 0)
        caps_at[x] = below + 1
        out.append(_marker(CAP_MARKER, x_axis(x), PLOT_TOP + CAP_STACK * below, "over-cap",
                           ' fill="#ffffff" stroke-width="1.6"'))
    out.append("</g>")
    return out


def _polyline(pairs: Sequence[tuple[float, float]], x_axis: _Axis, y_axis: _Axis) -> str:
    # Sorted by x: a sweep is drawn left to right whatever order it was measured in.
    pts = sorted((float(x), float(y)) for x, y in pairs)
    return " ".join(f"{_num(x_axis(x))},{_num(y_axis(y))}" for x, y in pts)


def _marker(shape: str, x: float, y: float, cls: str, extra: str) -> str:
    return f'<path class="{cls}" transform="translate({_num(x)},{_num(y)})" d="{shape}"{extra}/>'


# ------------------------------------------------------------------- legend


def _legend_entries(panel: Panel) -> list[tuple[str, str, str]]:
    """(kind, colour/marker index, text) for each legend row, in order."""
    entries = [("series", str(i), f"{s.label} {s.fit_label}".strip()) for i, s in enumerate(panel.series)]
    if any(s.fitted for s in panel.series):
        entries.append(("fit", "", "fitted growth law"))
    if any(s.over_cap for s in panel.series):
        entries.append(("cap", "", "over the time cap"))
    return entries


def _legend_layout(panel: Panel) -> tuple[int, int]:
    """(columns, rows): two columns when every entry fits in half the width."""
    entries = _legend_entries(panel)
    half = (PLOT_RIGHT - PLOT_LEFT) / 2
    columns = 2 if all(30 + _text_width(text, 12) <= half - 8 for *_, text in entries) else 1
    return columns, math.ceil(len(entries) / columns)


def _legend(panel: Panel) -> list[str]:
    columns, rows = _legend_layout(panel)
    col_width = (PLOT_RIGHT - PLOT_LEFT) / columns
    out = ['<g class="legend" font-size="12" fill="#222">']
    for n, (kind, index, text) in enumerate(_legend_entries(panel)):
        # Fill column by column, like reading a list.
        x = PLOT_LEFT + (n // rows) * col_width
        y = LEGEND_TOP + (n % rows) * LEGEND_ROW
        if kind == "series":
            i = int(index)
            colour = PALETTE[i % len(PALETTE)]
            out.append(f'<line x1="{_num(x)}" y1="{y}" x2="{_num(x + 24)}" y2="{y}" stroke="{colour}" '
                       'stroke-width="2"/>')
            out.append(_marker(MARKERS[i % len(MARKERS)], x + 12, y, "legend-marker",
                               f' fill="{colour}" stroke="#ffffff" stroke-width="0.8"'))
        elif kind == "fit":
            out.append(f'<line x1="{_num(x)}" y1="{y}" x2="{_num(x + 24)}" y2="{y}" stroke="{CAP_COLOUR}" '
                       'stroke-width="1.5" stroke-dasharray="6 4"/>')
        else:
            out.append(_marker(CAP_MARKER, x + 12, y, "legend-marker",
                               f' fill="#ffffff" stroke="{CAP_COLOUR}" stroke-width="1.6"'))
        out.append(_label(x + 30, y + 4, text, 12, col_width - 34, anchor="start"))
    out.append("</g>")
    return out


# --------------------------------------------------------------------- text


def _label(x: float, y: float, text: str, size: float, room: float, anchor: str = "middle",
           extra: str = "") -> str:
    # No text measurement in plain SVG: estimate the width and shrink the font
    # so a long label stays inside its room instead of running into a neighbour.
    size = min(size, max(8.0, size * room / max(_text_width(text, size), 1)))
    return (f'<text x="{_num(x)}" y="{_num(y)}" font-size="{_num(size)}" text-anchor="{anchor}"{extra}>'
            f"{_text(text)}</text>")


def _text_width(text: str, size: float) -> float:
    # Average sans-serif advance is a little over half the font size.
    return 0.58 * size * len(text)


def _text(s: str) -> str:
    # Control characters other than tab and newlines are not allowed in XML at all.
    s = "".join(c for c in s if c >= " " or c in "\t\n\r")
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(s: str) -> str:
    return _text(s).replace('"', "&quot;")


def _num(v: float) -> str:
    s = f"{v:.1f}".rstrip("0").rstrip(".")
    return "0" if s == "-0" else s
