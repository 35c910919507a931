"""``train --plot``: the cost ``C_T`` per epoch, and a held-out figure, as a chart.

Drawn with the project's own SVG charts (:mod:`symbackprop.measure.chart`);
a ``.png`` is the same chart rendered by CairoSVG or by ``rsvg-convert``
(librsvg), whichever is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..errors import OutputPathError
from ..files import check_output_path, write_atomically, write_text
from ..measure.chart import Panel, Series, svg_chart

#: At most this many points per line: beyond, every k-th epoch and the last.
MAX_POINTS = 1_000


def check_plot_path(path: str | os.PathLike) -> Path:
    """A ``.svg`` or ``.png`` file that can be written, checked before training.

    >>> check_plot_path("cost.pdf")
    Traceback (most recent call last):
    ...
    symbackprop.errors.OutputPathError: cost.pdf: a chart is .svg (or .png with a renderer installed)
    """
    path = check_output_path(path, (".svg", ".png"), "a chart is .svg (or .png with a renderer installed)",
                             "cost.svg", OutputPathError)
    if path.suffix.lower() == ".png" and _renderer() is None:
        raise OutputPathError(
            f"{path}: a .png chart needs CairoSVG (pip install cairosvg) or rsvg-convert (librsvg); "
            "a .svg chart needs nothing"
        )
    return path


def _renderer() -> str | None:
    """``"cairosvg"`` or the path of ``rsvg-convert``, whichever is installed; None if neither."""
    try:
        import cairosvg  # noqa: F401

        return "cairosvg"
    except ImportError:
        return shutil.which("rsvg-convert")


def epochs_shown(count: int) -> list[int]:
    """The epochs 0..count−1 drawn: all of them up to :data:`MAX_POINTS`, else
    evenly spaced ones and the last.

    >>> len(epochs_shown(51)), len(epochs_shown(100_001)), epochs_shown(100_001)[-1]
    (51, 1001, 100000)
    """
    every = max(1, -(-(count - 1) // MAX_POINTS))
    shown = list(range(0, count, every))
    return shown if shown[-1] == count - 1 else shown + [count - 1]


def training_chart(history: Sequence[float], held_out: Sequence[float], held_out_label: str, title: str) -> str:
    """The SVG of a run: ``C_T`` after each epoch on a log scale (linear if it
    reached 0), and beside it ``held_out`` (accuracy or cost per epoch) if any.

    >>> import xml.etree.ElementTree as ET
    >>> svg = training_chart([4.0, 2.0, 1.0], [0.5, 0.75, 1.0], "held-out accuracy", "run")
    >>> len(ET.fromstring(svg).findall(".//{http://www.w3.org/2000/svg}g[@class='panel']"))
    2
    """
    shown = epochs_shown(len(history))
    cost = [(e, history[e]) for e in shown]
    panels = [Panel("Cost C_T", "epoch", "C_T", [Series("training set", cost)],
                    y_log=all(c > 0 for _, c in cost))]
    if held_out:
        points = [(e, held_out[e]) for e in shown]
        panels.append(Panel(held_out_label[0].upper() + held_out_label[1:], "epoch", held_out_label,
                            [Series("held-out examples", points)], y_log=False))
    return svg_chart(panels, title)


def write_chart(path: Path, svg: str) -> None:
    """Write the chart as SVG, or as PNG through the installed renderer."""
    if path.suffix.lower() != ".png":
        write_text(path, svg)
        return
    renderer = _renderer()
    if renderer == "cairosvg":
        import cairosvg

        png = cairosvg.svg2png(bytestring=svg.encode("utf-8"))
    else:
        done = subprocess.run([renderer, "--format", "png"], input=svg.encode("utf-8"), capture_output=True,
                              timeout=60, check=False)
        if done.returncode != 0:
            raise OutputPathError(f"{path}: rsvg-convert could not render the chart "
                                  f"({done.stderr.decode(errors='replace').strip()[:200]}); write a .svg instead")
        png = done.stdout
    write_atomically(path, lambda stream: stream.write(png))
