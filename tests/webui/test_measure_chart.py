"""The measures chart (webui/measure_chart.py and templates/clients/_measures.html), rendered from
histories built by hand: one point per value, signed filled and drafts hollow by class, the
table under it holding the same numbers, and 0, 1 and many sessions."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import date, timedelta

from jinja2 import Environment, FileSystemLoader, select_autoescape

from appliance.notes.measure_history import (
    PHQ_9,
    LeftOut,
    MeasureHistory,
    Reason,
    SessionMeasures,
    shown,
)
from webui.measure_chart import LABEL_WIDTH, build_chart, labelled
from webui.pages import TEMPLATES_DIR

_environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"])
)


def session(
    day: date, signed: bool, values: Mapping[str, float], *left_out: LeftOut
) -> SessionMeasures:
    return SessionMeasures(f"{day:%Y%m%d}" + "0" * 24, day, signed, dict(values), left_out)


def render(history: MeasureHistory) -> str:
    template = _environment.get_template("clients/_measures.html")
    return template.render(measures=history, chart=build_chart(history), shown=shown)


# ElementTree reads the template's own output here, never outside input (ruff's S314): the
# chart and the table are well-formed XML on purpose, so a test can walk them.


def svg_of(html: str) -> ET.Element:
    found = re.search(r"<figure class=\"measure-chart\">\s*(<svg.*?</svg>)", html, re.DOTALL)
    assert found, "no chart"
    return ET.fromstring(found.group(1))  # noqa: S314


def table_of(html: str) -> ET.Element:
    found = re.search(r"<table class=\"measures\">.*?</table>", html, re.DOTALL)
    assert found, "no table"
    return ET.fromstring(found.group(0))  # noqa: S314


DAY = date(2026, 9, 1)
THREE = MeasureHistory(
    (
        session(DAY, True, {"phq_9": 18, "gad_7": 15, "sud_start": 8, "sud_end": 4}),
        session(DAY + timedelta(7), True, {"phq_9": 14, "sud_start": 7, "sud_end": 2.5}),
        session(DAY + timedelta(14), False, {"phq_9": 11, "gad_7": 9, "sud_start": 5}),
    )
)


def test_it_draws_one_point_per_value_filled_when_signed_and_hollow_when_a_draft() -> None:
    svg = svg_of(render(THREE))
    circles = svg.findall(".//circle")
    assert len(circles) == sum(len(s.values) for s in THREE.sessions) == 10
    classes = [set(c.attrib["class"].split()) for c in circles]
    assert sum("signed" in c for c in classes) == 7
    assert sum("draft" in c for c in classes) == 3
    assert all(("signed" in c) != ("draft" in c) for c in classes)
    titles = {c.findtext("title") for c in circles}
    assert "PHQ-9 11, 2026-09-15, draft, not signed" in titles
    assert "SUD at end 2.5, 2026-09-08, signed" in titles


def test_the_table_under_the_chart_holds_the_same_numbers() -> None:
    html = render(THREE)
    plotted = set()
    for circle in svg_of(html).findall(".//circle"):
        title = circle.findtext("title") or ""
        found = re.fullmatch(r"(.+) ([\d.]+), (\d{4}-\d\d-\d\d), .*", title)
        assert found, title
        plotted.add((found.group(3), found.group(1), found.group(2)))
    table = table_of(html)
    heads = [th.text for th in table.findall("./thead/tr/th")]
    assert heads == ["Session", "PHQ-9", "GAD-7", "SUD at start", "SUD at end", "Note"]
    listed = set()
    for row in table.findall("./tbody/tr"):
        day = row.findtext("th")
        cells = [td for td in row.findall("td")]
        for label, cell in zip(heads[1:-1], cells, strict=False):
            if cell.text:
                listed.add((day, label, cell.text))
        assert cells[-1].findtext("a") in ("Signed", "Draft, not signed")
    assert listed == plotted
    assert len(listed) == 10


def test_each_value_sits_on_its_panels_scale() -> None:
    chart = build_chart(
        MeasureHistory(
            (session(DAY, True, {"phq_9": 27}), session(DAY + timedelta(7), True, {"phq_9": 0}))
        )
    )
    assert chart is not None
    (panel,) = chart.panels  # no GAD-7 or SUD: their panels are left out
    assert panel.title == "PHQ-9 (0 to 27)"
    assert [p.y for p in panel.points] == [panel.top, panel.bottom]
    assert [t.label for t in panel.ticks] == ["0", "5", "10", "15", "20", "27"]


def test_a_session_without_a_value_leaves_a_gap_the_line_steps_over() -> None:
    history = MeasureHistory(
        (
            session(DAY, True, {"phq_9": 12, "gad_7": 10}),
            session(DAY + timedelta(7), True, {"gad_7": 8}),
            session(DAY + timedelta(14), True, {"phq_9": 9, "gad_7": 7}),
        )
    )
    chart = build_chart(history)
    assert chart is not None
    phq, gad = chart.panels
    assert [len(line.points.split()) for line in phq.lines] == [2]
    assert [len(line.points.split()) for line in gad.lines] == [3]
    # The PHQ-9 line joins the first and third columns.
    assert [p.x for p in phq.points] == [chart.columns[0], chart.columns[2]]
    table = table_of(render(history))
    middle = table.findall("./tbody/tr")[1]
    assert [td.findtext("span") for td in middle.findall("td")[:2]] == ["—", None]


def test_one_session_is_a_point_in_the_middle_without_a_line() -> None:
    chart = build_chart(MeasureHistory((session(DAY, False, {"phq_9": 7}),)))
    assert chart is not None
    (panel,) = chart.panels
    assert panel.lines == ()
    assert len(panel.points) == 1
    assert float(panel.points[0].x) == (chart.left + chart.right) / 2
    svg = svg_of(render(MeasureHistory((session(DAY, False, {"phq_9": 7}),))))
    assert svg.findtext("title") == "PHQ-9 over 1 session"


def test_no_sessions_show_a_sentence_instead_of_a_chart() -> None:
    html = render(MeasureHistory(()))
    assert build_chart(MeasureHistory(())) is None
    assert "<svg" not in html
    assert "No PHQ-9, GAD-7 or SUD values in this client's notes yet." in html


def test_values_left_out_are_listed_with_the_reason_even_without_a_chart() -> None:
    history = MeasureHistory((session(DAY, True, {}, LeftOut(PHQ_9, "31", Reason.OUT_OF_RANGE)),))
    html = render(history)
    assert build_chart(history) is None
    assert "<svg" not in html
    assert "2026-09-01 (signed): PHQ-9 “31”, outside the scale (0 to 27)." in html


def test_many_sessions_label_as_many_dates_as_fit_first_and_last_included() -> None:
    sessions = tuple(session(DAY + timedelta(7 * i), True, {"phq_9": i % 28}) for i in range(60))
    chart = build_chart(MeasureHistory(sessions))
    assert chart is not None
    assert len(chart.panels[0].points) == 60
    xs = [float(d.x) for d in chart.dates]
    assert xs[0] == float(chart.columns[0]) and xs[-1] == float(chart.columns[-1])
    assert 2 < len(xs) < 60
    assert min(b - a for a, b in itertools.pairwise(xs)) >= LABEL_WIDTH * 0.6
    # The year is written under the first label and wherever it changes.
    assert [d.year for d in chart.dates if d.year] == ["2026", "2027"]


def test_labelled_keeps_every_date_while_they_fit() -> None:
    assert labelled(1) == [0]
    assert labelled(5) == [0, 1, 2, 3, 4]


def test_the_chart_is_an_image_named_by_its_title_and_description_without_script_or_style() -> None:
    html = render(THREE)
    svg = svg_of(html)
    assert svg.attrib["role"] == "img"
    named = svg.attrib["aria-labelledby"].split()
    assert [getattr(svg.find(f".//*[@id='{i}']"), "tag", None) for i in named] == [
        "title",
        "desc",
    ]
    assert svg.findtext("title") == "PHQ-9, GAD-7, SUD at start, SUD at end over 3 sessions"
    # The CSP forbids inline style and script: the chart is drawn by classes alone.
    assert not re.search(r"<script|style=|on\w+=", html)
    assert "Draft, not signed yet" in html and "SUD at the start of the session" in html
