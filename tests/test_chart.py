"""The SVG chart: well-formed, log scales where promised, and clear errors for bad data."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from symbackprop.errors import DataError, SymbackpropError
from symbackprop.measure.chart import Panel, Series, svg_chart

NS = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def by_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [el for el in root.iter() if el.get("class") == cls]


def centre(el: ET.Element) -> tuple[float, float]:
    x, y = re.fullmatch(r"translate\(([-\d.]+),([-\d.]+)\)", el.get("transform")).groups()
    return float(x), float(y)


def plot_areas(root: ET.Element) -> list[tuple[float, float, float, float]]:
    """(left, top, right, bottom) of each panel's plot area, in document coordinates."""
    areas = []
    for panel in by_class(root, "panel"):
        dx, dy = centre(panel)
        (rect,) = by_class(panel, "plot-area")
        x, y = float(rect.get("x")) + dx, float(rect.get("y")) + dy
        areas.append((x, y, x + float(rect.get("width")), y + float(rect.get("height"))))
    return areas


def chart(*series: Series, x_log: bool = False, title: str = "T") -> ET.Element:
    return parse(svg_chart([Panel("panel", "x", "y", list(series), x_log=x_log)], title))


def texts(root: ET.Element, cls: str) -> list[str]:
    return [t.text for g in by_class(root, cls) for t in g.iter(f"{NS}text")]


def test_document_is_namespaced_svg_with_size_viewbox_and_white_background():
    root = chart(Series("a", [(1, 1), (2, 10)]))
    assert root.tag == f"{NS}svg"
    width, height = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox").split() == ["0", "0", root.get("width"), root.get("height")]
    assert 400 <= width <= 520 and 280 <= height <= 460
    background = root.find(f"{NS}rect")
    assert background.get("fill").lower() in ("#fff", "#ffffff", "white")
    assert not list(root.iter(f"{NS}script"))


def test_panels_sit_side_by_side():
    panel = Panel("p", "x", "y", [Series("a", [(1, 1), (2, 3)])])
    root = parse(svg_chart([panel, panel, panel], "three"))
    areas = plot_areas(root)
    assert len(areas) == 3
    assert len({top for _, top, _, _ in areas}) == 1
    assert areas[0][2] < areas[1][0] and areas[1][2] < areas[2][0]
    assert float(root.get("width")) >= areas[2][2]


def test_y_axis_is_logarithmic_and_upwards():
    root = chart(Series("a", [(1, 1), (2, 10), (3, 100)]))
    ys = [centre(m)[1] for m in by_class(root, "marker")]
    assert ys[0] > ys[1] > ys[2]  # SVG y grows downwards
    assert ys[0] - ys[1] == pytest.approx(ys[1] - ys[2], abs=0.15)


def test_x_log_axis_spaces_decades_equally():
    root = chart(Series("a", [(1, 5), (10, 6), (100, 7)]), x_log=True)
    xs = [centre(m)[0] for m in by_class(root, "marker")]
    assert xs[0] < xs[1] < xs[2]
    assert xs[1] - xs[0] == pytest.approx(xs[2] - xs[1], abs=0.15)


def test_linear_x_axis_has_integer_ticks_for_integer_x():
    root = chart(Series("a", [(x, x) for x in range(1, 9)]))
    labels = texts(root, "x-ticks")
    assert labels == [str(x) for x in range(1, 9)]
    root = chart(Series("a", [(x, x + 1) for x in range(0, 1001, 50)]))
    labels = texts(root, "x-ticks")
    assert 2 <= len(labels) <= 11 and all(label.isdigit() for label in labels)


def test_decade_labels_cover_the_data_and_the_fit():
    root = chart(Series("a", [(1, 0.002), (2, 3.0)], fitted=[(1, 0.002), (5, 30.0)]))
    assert texts(root, "y-ticks") == ["10⁻³", "10⁻²", "10⁻¹", "10⁰", "10¹", "10²"]


def test_data_inside_one_decade_still_gets_two_decade_labels():
    assert texts(chart(Series("a", [(1, 2.0), (2, 4.5)])), "y-ticks") == ["10⁰", "10¹"]
    assert texts(chart(Series("a", [(1, 100.0)])), "y-ticks") == ["10²", "10³"]


def test_fitted_law_is_a_dashed_line_in_the_series_colour_without_markers():
    root = chart(Series("a", [(1, 1), (2, 3)], fitted=[(1, 1), (2, 3), (3, 9)], fit_label="∝ 3^depth"))
    (fit,) = by_class(root, "fit")
    assert fit.get("stroke-dasharray")
    assert len(fit.get("points").split()) == 3
    (series,) = by_class(root, "series")
    assert fit in list(series) and fit.get("stroke") in (None, series.get("stroke"))
    assert len(by_class(root, "marker")) == 2
    assert "a ∝ 3^depth" in texts(root, "legend")


def test_over_cap_marks_sit_on_the_top_edge_and_appear_in_the_legend():
    root = chart(Series("a", [(1, 1), (2, 10)], over_cap=[3, 4]))
    (left, top, right, _), = plot_areas(root)
    panel_dy = centre(by_class(root, "panel")[0])[1]
    caps = by_class(root, "over-cap")
    assert len(caps) == 2
    for cap in caps:
        x, y = centre(cap)
        assert y + panel_dy == pytest.approx(top)
        assert left <= x <= right
        assert cap.get("fill") in ("#ffffff", "white", "none")  # open, not filled
    assert "over the time cap" in texts(root, "legend")


def test_over_cap_legend_entry_only_when_something_went_over():
    root = chart(Series("a", [(1, 1), (2, 10)]))
    assert not by_class(root, "over-cap")
    assert "over the time cap" not in texts(root, "legend")


def test_panel_with_only_over_cap_marks_is_drawn():
    root = chart(Series("a", [], over_cap=[1, 2]), Series("b", [], over_cap=[2]))
    caps = [centre(c) for c in by_class(root, "over-cap")]
    assert len(caps) == 3
    assert len(set(caps)) == 3  # two routes over the cap at x = 2 do not hide each other


def test_series_keep_their_colour_across_panels_and_colours_differ():
    series = [Series(f"s{i}", [(1, i + 1), (2, i + 2)]) for i in range(6)]
    first = Panel("one", "x", "y", series)
    second = Panel("two", "x", "y", [Series(s.label, [(1, 5), (3, 7)]) for s in series])
    root = parse(svg_chart([first, second], "T"))
    groups = by_class(root, "series")
    colours = [g.get("stroke") for g in groups]
    assert colours[:6] == colours[6:]
    assert len(set(colours[:6])) == 6


def test_special_characters_round_trip_through_the_xml_parser():
    label = 'δ<w> & "∝" \x07'
    panel = Panel(f"t {label}", f"x {label}", f"y {label}", [Series(label, [(1, 1), (2, 2)], fit_label="∝ n²")])
    root = parse(svg_chart([panel], f"title {label}", subtitle=f"sub {label}"))
    all_text = [t.text for t in root.iter(f"{NS}text")]
    clean = 'δ<w> & "∝" '
    for expected in (f"title {clean}", f"sub {clean}", f"t {clean}", f"x {clean}", f"y {clean}", f"{clean} ∝ n²"):
        assert expected in all_text
    assert root.find(f"{NS}title").text == f"title {clean}"


def test_output_is_deterministic():
    panel = Panel("p", "x", "y", [Series("a", [(1, 0.1234567), (2, 3.3)], fitted=[(1, 0.1), (2, 3)])])
    assert svg_chart([panel], "T") == svg_chart([panel], "T")
    # Coordinates are rounded, so the file stays small.
    numbers = re.findall(r"\d+\.\d+", svg_chart([panel], "T"))
    assert all(len(n.split(".")[1]) <= 1 for n in numbers)


@pytest.mark.parametrize(
    "panels, words",
    [
        ([], ["at least one panel"]),
        ([Panel("Time", "x", "y", [Series("direct", [(1, 0.5), (2, 0)])])], ["'Time'", "'direct'", "y = 0", "positive"]),
        ([Panel("Time", "x", "y", [Series("direct", [(1, -2.0)])])], ["'direct'", "log scale"]),
        ([Panel("Time", "x", "y", [Series("direct", [(1, math.nan)])])], ["'direct'", "nan", "finite"]),
        ([Panel("Time", "x", "y", [Series("direct", [(1, math.inf)])])], ["'direct'", "inf"]),
        ([Panel("Time", "x", "y", [Series("fit", [(1, 1)], fitted=[(2, 0.0)])])], ["'fit'", "fitted"]),
        ([Panel("Time", "x", "y", [Series("direct", [(math.nan, 1)])])], ["'direct'", "finite"]),
        ([Panel("Size", "width", "y", [Series("array", [(0, 1)])], x_log=True)], ["'array'", "x_log", "x = 0"]),
        ([Panel("Size", "width", "y", [Series("array", [(1, 1)], over_cap=[-1])], x_log=True)], ["over_cap", "x_log"]),
        ([Panel("Size", "w", "y", [Series("a", []), Series("b", [], fitted=[(1, 1)])])], ["'Size'", "nothing to draw", "'a'", "'b'"]),
        ([Panel("Empty", "w", "y", [])], ["'Empty'", "nothing to draw"]),
        ([Panel("Time", "x", "y", [Series("direct", [(1, 2, 3)])])], ["'direct'", "(x, y) pair"]),
    ],
)
def test_bad_input_raises_data_error_saying_what_to_fix(panels, words):
    with pytest.raises(DataError) as info:
        svg_chart(panels, "T")
    assert isinstance(info.value, SymbackpropError)
    for word in words:
        assert word in str(info.value)


finite_positive = st.floats(min_value=1e-30, max_value=1e30, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(
        st.lists(st.tuples(st.integers(1, 10_000), finite_positive), min_size=1, max_size=8),
        min_size=1,
        max_size=4,
    ),
    x_log=st.booleans(),
    caps=st.lists(st.integers(1, 10_000), max_size=3),
)
def test_every_marker_lies_inside_the_plot_area(data, x_log, caps):
    series = [Series(f"s{i}", points, over_cap=caps if i == 0 else ()) for i, points in enumerate(data)]
    root = parse(svg_chart([Panel("p", "x", "y", series, x_log=x_log)], "T"))
    (left, top, right, bottom), = plot_areas(root)
    panel_dx, panel_dy = centre(by_class(root, "panel")[0])
    marks = by_class(root, "marker") + by_class(root, "over-cap")
    assert len(marks) == sum(len(points) for points in data) + len(set(caps))
    for mark in marks:
        x, y = centre(mark)
        assert left - 0.05 <= x + panel_dx <= right + 0.05
        assert top - 0.05 <= y + panel_dy <= bottom + 0.05
