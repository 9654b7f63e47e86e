"""The client page's chart of PHQ-9, GAD-7 and SUD over sessions: coordinates for an inline SVG.

Drawn by hand on purpose: a charting library would bring JavaScript (forbidden to inline under
the Content-Security-Policy, and a page that needs a script to show a record is worse off
without one) or a heavy dependency for some circles and polylines. The template
(templates/clients/_measures.html) writes only elements and geometry attributes; colours, dashes
and fonts come from classes in app.css, since the CSP forbids style attributes.

One panel per instrument, each on its own scale (PHQ-9 0-27, GAD-7 0-21, SUD 0-10) with ticks at
the severity cut-offs, stacked over one session axis: a shared y axis would either squash the
SUD or misstate the others. Sessions are evenly spaced in date order, one column each, so two
sessions a week apart and two a month apart are equally readable; the dates label the columns.
A session without a value has no point, and the line joins the points there are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from appliance.notes.measure_history import (
    GAD_7,
    PHQ_9,
    SERIES,
    SUD_END,
    SUD_START,
    MeasureHistory,
    Series,
    SessionMeasures,
    shown,
)

WIDTH = 720
LEFT = 44  # room for the y labels
RIGHT = 24
TOP = 8
PANEL_TITLE = 22  # above each plot
PLOT_HEIGHT = 110
PANEL_GAP = 18
DATES = 38  # the date labels under the last panel
INSET = 22  # the first and last columns keep off the axes, their date labels inside the box
LABEL_WIDTH = 64  # room one date label needs ("12 Nov"), in the viewBox's units


@dataclass(frozen=True)
class _PanelSpec:
    title: str
    low: int
    high: int
    ticks: tuple[int, ...]
    series: tuple[Series, ...]


# Ticks at the instruments' severity cut-offs (5, 10, 15, 20: mild, moderate, moderately
# severe, severe), so a reader sees the band without a legend of its own.
PANELS = (
    _PanelSpec("PHQ-9", 0, 27, (0, 5, 10, 15, 20, 27), (PHQ_9,)),
    _PanelSpec("GAD-7", 0, 21, (0, 5, 10, 15, 21), (GAD_7,)),
    _PanelSpec("SUD", 0, 10, (0, 2, 4, 6, 8, 10), (SUD_START, SUD_END)),
)


@dataclass(frozen=True)
class Point:
    x: str
    y: str
    series: str
    signed: bool
    title: str  # the point's tooltip: "PHQ-9 11, 2026-11-20, signed"


@dataclass(frozen=True)
class Line:
    series: str
    points: str  # the polyline's "x,y x,y ..."


@dataclass(frozen=True)
class Tick:
    y: str
    label: str


@dataclass(frozen=True)
class Panel:
    title: str
    title_y: str
    top: str
    bottom: str
    ticks: tuple[Tick, ...]
    lines: tuple[Line, ...]
    points: tuple[Point, ...]


@dataclass(frozen=True)
class DateLabel:
    x: str
    day: str  # "20 Nov"
    year: str | None  # under the first label and wherever the year changes


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    panels: tuple[Panel, ...]
    dates: tuple[DateLabel, ...]
    dates_top: str  # the tick marks under the last panel run from here to dates_tick
    dates_tick: str
    dates_y: str
    years_y: str
    columns: tuple[str, ...]  # each session's x
    # The sessions plotted, oldest first, and the series that have a value: the table under
    # the chart lists exactly these.
    rows: tuple[SessionMeasures, ...]
    series: tuple[Series, ...]

    @property
    def first(self) -> date:
        return self.rows[0].session_date

    @property
    def last(self) -> date:
        return self.rows[-1].session_date

    @property
    def has_sud(self) -> bool:
        return SUD_START in self.series or SUD_END in self.series


def _at(value: float) -> str:
    return f"{value:.1f}"


def columns(count: int) -> list[float]:
    """The x of each of `count` sessions: evenly spread, one alone in the middle."""
    inner_left, inner_right = LEFT + INSET, WIDTH - RIGHT - INSET
    if count == 1:
        return [(inner_left + inner_right) / 2]
    step = (inner_right - inner_left) / (count - 1)
    return [inner_left + i * step for i in range(count)]


def labelled(count: int) -> list[int]:
    """Which columns get a date: as many as fit, evenly, always the first and the last."""
    fits = max(2, int((WIDTH - LEFT - RIGHT) // LABEL_WIDTH))
    if count <= fits:
        return list(range(count))
    step = math.ceil((count - 1) / (fits - 1))
    chosen = list(range(0, count, step))
    if chosen[-1] != count - 1:
        # The last session's date matters most: it takes the place of a label too close to it.
        if count - 1 - chosen[-1] < step:
            chosen[-1] = count - 1
        else:
            chosen.append(count - 1)
    return chosen


def _dates(days: Sequence[date], xs: Sequence[float]) -> tuple[DateLabel, ...]:
    labels: list[DateLabel] = []
    year: int | None = None
    for i in labelled(len(days)):
        day = days[i]
        labels.append(
            DateLabel(
                _at(xs[i]), f"{day.day} {day:%b}", str(day.year) if day.year != year else None
            )
        )
        year = day.year
    return tuple(labels)


def _panel(spec: _PanelSpec, history: MeasureHistory, xs: Sequence[float], top: float) -> Panel:
    plot_top = top + PANEL_TITLE
    bottom = plot_top + PLOT_HEIGHT

    def y(value: float) -> float:
        return bottom - (value - spec.low) / (spec.high - spec.low) * PLOT_HEIGHT

    lines: list[Line] = []
    points: list[Point] = []
    for series in spec.series:
        measured = [
            (x, session, session.values[series.key])
            for x, session in zip(xs, history.sessions, strict=True)
            if series.key in session.values
        ]
        if len(measured) > 1:
            joined = " ".join(f"{_at(x)},{_at(y(value))}" for x, _, value in measured)
            lines.append(Line(series.key, joined))
        for x, session, value in measured:
            state = "signed" if session.signed else "draft, not signed"
            title = f"{series.label} {shown(value)}, {session.session_date.isoformat()}, {state}"
            points.append(Point(_at(x), _at(y(value)), series.key, session.signed, title))
    ticks = tuple(Tick(_at(y(t)), str(t)) for t in spec.ticks)
    return Panel(
        title=f"{spec.title} ({spec.low} to {spec.high})",
        title_y=_at(top + PANEL_TITLE - 8),
        top=_at(plot_top),
        bottom=_at(bottom),
        ticks=ticks,
        lines=tuple(lines),
        points=tuple(points),
    )


def build_chart(history: MeasureHistory) -> Chart | None:
    """The chart of these sessions; None when no session has a value to plot."""
    sessions = [s for s in history.sessions if s.values]
    if not sessions:
        return None
    plotted = MeasureHistory(tuple(sessions))
    xs = columns(len(sessions))
    shown_panels = [
        spec for spec in PANELS if any(plotted.values_of(series) for series in spec.series)
    ]
    panels: list[Panel] = []
    top = float(TOP)
    for spec in shown_panels:
        panels.append(_panel(spec, plotted, xs, top))
        top += PANEL_TITLE + PLOT_HEIGHT + PANEL_GAP
    last_bottom = top - PANEL_GAP
    return Chart(
        width=WIDTH,
        height=math.ceil(last_bottom + DATES),
        left=LEFT,
        right=WIDTH - RIGHT,
        panels=tuple(panels),
        dates=_dates([s.session_date for s in sessions], xs),
        dates_top=_at(last_bottom),
        dates_tick=_at(last_bottom + 4),
        dates_y=_at(last_bottom + 16),
        years_y=_at(last_bottom + 30),
        columns=tuple(_at(x) for x in xs),
        rows=plotted.sessions,
        series=tuple(series for series in SERIES if plotted.values_of(series)),
    )
