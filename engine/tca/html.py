"""A self-contained HTML execution report: inline SVG charts and the TCA tables, no
scripts and no external assets, so the file opens anywhere and can be archived.

Top down, as a person reads it: the run's audit digest, the comparison with the baseline
(label → formatted figure, whatever the caller compares), then the charts (schedule vs
actual cumulative fills, execution prices against the market mid and VWAP, venue split)
and the TCA per parent, its fill table folded away.

Every venue keeps one colour on every chart (``venue_colours``); the series that are not
venues (schedule, fills, mid, VWAP) are greys and black so they never read as one. Fault
windows (a venue down or degraded, from the trail's ``VenueStatusChanged``) are shaded
bands in the venue's colour on the time charts; faults that leave a venue up (rejecting
orders, dropping cancels) change no status and are not marked. The schedule line is
drawn dashed on top of the fills line, and the mid and VWAP on top of the execution
dots, so a schedule the fills track closely stays visible.

The input is plain data (``ReportData``: lists of points) so the scenario runner can
build it from anything; ``report_data_from_journal`` builds it from an audit trail (pass
the run's ``RunTCA`` when there is one: it is the costly part).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

from engine import messages as m
from engine.audit.trail import AuditTrail
from engine.clock import SECOND
from engine.prices import PRICE_SCALE
from engine.tca.from_trail import RunTCA, tca_from_journal
from engine.tca.metrics import ParentTCA, Shortfall, VenueBreakdown, to_currency
from engine.tca.portfolio import (
    PORTFOLIO_HEADERS,
    PortfolioTCA,
    bucket_cells,
    portfolio_sections,
    portfolio_tca,
)
from engine.tca.text import (
    FILL_HEADERS,
    fill_table_cells,
    format_bps,
    format_money,
    format_time,
    zone_label,
)

Point = tuple[int, int | Fraction]  # (ts ns, value)

_W, _H, _PAD_L, _PAD_R, _PAD_T, _PAD_B = 760, 280, 70, 20, 20, 40
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#17becf")
_SCHEDULE, _FILLED, _MID, _VWAP = "#000", "#9a9a9a", "#888", "#000"


@dataclass(frozen=True)
class FaultWindow:
    """A venue not up from ``start`` to ``end`` (ns): ``status`` is down or degraded."""

    venue: str
    status: str
    start: int
    end: int


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows. Prices are fixed-point units (``engine.prices``)."""

    title: str
    schedule: Sequence[Point] = ()  # cumulative quantity the schedule wanted by ts
    filled: Sequence[Point] = ()  # cumulative quantity filled by ts
    executions: Sequence[tuple[int, int, str]] = ()  # (ts, price units, venue)
    mid: Sequence[Point] = ()  # market mid (units)
    vwap: Sequence[Point] = ()  # running market VWAP (units)
    venue_split: Mapping[str, int] = field(default_factory=dict)  # venue → quantity
    parents: Sequence[ParentTCA] = ()
    notes: Sequence[str] = ()  # free lines, e.g. the scenario's description
    utc_offset_hours: int = 0  # times shown in the session's local time
    faults: Sequence[FaultWindow] = ()
    digest: str = ""  # the audit trail's digest
    comparison: Mapping[str, str] = field(default_factory=dict)  # label → formatted figure
    portfolio: PortfolioTCA | None = None  # many instruments: the roll-up, not each parent


def venue_colours(venues: Sequence[str]) -> dict[str, str]:
    """One colour per venue, by name order, the same on every chart of the page."""
    return {v: _COLOURS[i % len(_COLOURS)] for i, v in enumerate(sorted(set(venues)))}


# ------------------------------------------------------------------------------ charts


@dataclass(frozen=True)
class _Scale:
    x0: float
    x1: float
    y0: float
    y1: float

    def x(self, v: float) -> float:
        span = (self.x1 - self.x0) or 1.0
        return _PAD_L + (v - self.x0) / span * (_W - _PAD_L - _PAD_R)

    def y(self, v: float) -> float:
        span = (self.y1 - self.y0) or 1.0
        return _H - _PAD_B - (v - self.y0) / span * (_H - _PAD_T - _PAD_B)


def _scale(series: Sequence[Sequence[tuple[float, float]]], y_from_zero: bool) -> _Scale | None:
    pts = [p for s in series for p in s]
    if not pts:
        return None
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    lo, hi = (0.0 if y_from_zero else min(ys)), max(ys)
    margin = (hi - lo) * 0.05 or abs(hi) * 1e-4 or 1.0
    return _Scale(x0=min(xs), x1=max(xs), y0=lo if y_from_zero else lo - margin, y1=hi + margin)


_TICK_ANCHOR = ("start", "middle", "middle", "middle", "end")  # the ends stay inside


def _axes(sc: _Scale, y_label: str, y_fmt: str, utc_offset_hours: int = 0) -> list[str]:
    out = [
        f'<line x1="{_PAD_L}" y1="{_H - _PAD_B}" x2="{_W - _PAD_R}" y2="{_H - _PAD_B}" '
        'stroke="#444"/>',
        f'<line x1="{_PAD_L}" y1="{_PAD_T}" x2="{_PAD_L}" y2="{_H - _PAD_B}" stroke="#444"/>',
    ]
    tick_unit = SECOND if sc.x1 - sc.x0 > 60 * SECOND else 1  # no milliseconds on a day
    for i in range(5):
        yv = sc.y0 + (sc.y1 - sc.y0) * i / 4
        xv = sc.x0 + (sc.x1 - sc.x0) * i / 4
        yy, xx = sc.y(yv), sc.x(xv)
        out.append(
            f'<line x1="{_PAD_L}" y1="{yy:.1f}" x2="{_W - _PAD_R}" y2="{yy:.1f}" stroke="#eee"/>'
        )
        out.append(
            f'<text x="{_PAD_L - 6}" y="{yy + 4:.1f}" text-anchor="end">{format(yv, y_fmt)}</text>'
        )
        out.append(
            f'<text x="{xx:.1f}" y="{_H - _PAD_B + 16}" text-anchor="{_TICK_ANCHOR[i]}">'
            f"{format_time(int(xv) // tick_unit * tick_unit, utc_offset_hours)}</text>"
        )
    out.append(
        f'<text x="14" y="{_PAD_T + 8}" transform="rotate(-90 14 {_PAD_T + 8})" '
        f'text-anchor="end">{html.escape(y_label)}</text>'
    )
    return out


def _polyline(
    sc: _Scale,
    pts: Sequence[tuple[float, float]],
    colour: str,
    step: bool,
    style: str = 'stroke-width="1.6"',
) -> str:
    coords = []
    for i, (x, y) in enumerate(pts):
        if step and i:  # cumulative quantities are step functions
            coords.append(f"{sc.x(x):.1f},{sc.y(pts[i - 1][1]):.1f}")
        coords.append(f"{sc.x(x):.1f},{sc.y(y):.1f}")
    return f'<polyline fill="none" stroke="{colour}" {style} points="{" ".join(coords)}"/>'


def _fault_bands(
    sc: _Scale, faults: Sequence[FaultWindow], colours: Mapping[str, str], offset: int
) -> list[str]:
    """A shaded band in the venue's colour over each fault window within the chart."""
    out = []
    for f in faults:
        x0, x1 = max(sc.x(f.start), _PAD_L), min(sc.x(f.end), _W - _PAD_R)
        if x1 <= x0:
            continue
        what = f"{f.venue} {f.status} {format_time(f.start, offset)}–{format_time(f.end, offset)}"
        colour = colours.get(f.venue, "#d62728")
        out.append(
            f'<rect class="fault" x="{x0:.1f}" y="{_PAD_T}" width="{x1 - x0:.1f}" '
            f'height="{_H - _PAD_T - _PAD_B}" fill="{colour}" fill-opacity="0.15" '
            f'stroke="{colour}" stroke-dasharray="2 2"><title>{html.escape(what)}</title></rect>'
            f'<text x="{x0 + 3:.1f}" y="{_PAD_T + 12}" fill="{colour}">'
            f"{html.escape(f'{f.venue} {f.status}')}</text>"
        )
    return out


def _fault_keys(
    faults: Sequence[FaultWindow], colours: Mapping[str, str], offset: int
) -> list[tuple[str, str]]:
    return [
        (
            f"{f.venue} {f.status} {format_time(f.start, offset)}–{format_time(f.end, offset)}",
            colours.get(f.venue, "#d62728"),
        )
        for f in faults
    ]


def _legend(items: Sequence[tuple[str, str]]) -> str:
    spans = "".join(
        f'<span class="key"><i style="background:{c}"></i>{html.escape(n)}</span>' for n, c in items
    )
    return f'<div class="legend">{spans}</div>'


def _svg(body: Sequence[str], label: str) -> str:
    return (
        f'<svg viewBox="0 0 {_W} {_H}" width="{_W}" height="{_H}" role="img" '
        f'aria-label="{html.escape(label)}">' + "".join(body) + "</svg>"
    )


def _empty(title: str) -> str:
    return f"<h2>{html.escape(title)}</h2><p class='muted'>no data</p>"


_MAX_POINTS = 1500  # a day of ticks would make a multi-megabyte SVG; the eye needs less


def _floats(points: Sequence[Point], scale: int = 1) -> list[tuple[float, float]]:
    """Chart coordinates (floats are fine for drawing), thinned to ``_MAX_POINTS``."""
    step = max(1, -(-len(points) // _MAX_POINTS))
    kept = list(points[::step])
    if points and kept[-1] is not points[-1]:
        kept.append(points[-1])
    return [(float(t), float(v) / scale) for t, v in kept]


@dataclass(frozen=True)
class _Marks:
    """What every time chart shares: the venues' colours, the fault windows, the zone."""

    colours: Mapping[str, str] = field(default_factory=dict)
    faults: Sequence[FaultWindow] = ()
    utc_offset_hours: int = 0


def schedule_chart(
    schedule: Sequence[Point], filled: Sequence[Point], marks: _Marks | None = None
) -> str:
    """The fills as a wide grey line and the schedule dashed on top of it: where the fills
    track the schedule the schedule still shows."""
    title = "Schedule vs actual cumulative fills"
    marks = marks or _Marks()
    sched, done = _floats(schedule), _floats(filled)
    sc = _scale([sched, done], y_from_zero=True)
    if sc is None:
        return _empty(title)
    tz = marks.utc_offset_hours
    body = _axes(sc, "shares", ",.0f", tz) + _fault_bands(sc, marks.faults, marks.colours, tz)
    items = []
    if done:
        body.append(_polyline(sc, done, _FILLED, step=True, style='stroke-width="4"'))
        items.append(("filled", _FILLED))
    if sched:
        dashed = 'stroke-width="1.6" stroke-dasharray="6 4" class="schedule"'
        body.append(_polyline(sc, sched, _SCHEDULE, step=True, style=dashed))
        items.append(("schedule", _SCHEDULE))
    items += _fault_keys(marks.faults, marks.colours, tz)
    return f"<h2>{title}</h2>" + _svg(body, title) + _legend(items)


def price_chart(
    executions: Sequence[tuple[int, int, str]],
    mid: Sequence[Point],
    vwap: Sequence[Point],
    marks: _Marks | None = None,
) -> str:
    """Execution dots in their venue's colour, the mid and the market VWAP over them."""
    title = "Execution prices vs market mid and VWAP"
    marks = marks or _Marks()
    mids, vwaps = _floats(mid, PRICE_SCALE), _floats(vwap, PRICE_SCALE)
    execs = [(float(t), p / PRICE_SCALE, v) for t, p, v in executions]
    sc = _scale([mids, vwaps, [(t, p) for t, p, _ in execs]], y_from_zero=False)
    if sc is None:
        return _empty(title)
    tz = marks.utc_offset_hours
    body = _axes(sc, "price ($)", ".3f", tz) + _fault_bands(sc, marks.faults, marks.colours, tz)
    colour = {**venue_colours([v for _, _, v in execs]), **marks.colours}
    for t, p, v in execs:
        body.append(
            f'<circle cx="{sc.x(t):.1f}" cy="{sc.y(p):.1f}" r="2.5" fill="{colour[v]}" '
            f'fill-opacity="0.7"><title>{html.escape(v)} {p:.4f} at '
            f"{format_time(int(t), tz)}</title></circle>"
        )
    items = []
    if mids:
        body.append(_polyline(sc, mids, _MID, step=True))
        items.append(("mid", _MID))
    if vwaps:
        body.append(_polyline(sc, vwaps, _VWAP, step=False))
        items.append(("market VWAP", _VWAP))
    items += [(f"fill @ {v}", colour[v]) for v in sorted({v for _, _, v in execs})]
    items += _fault_keys(marks.faults, marks.colours, tz)
    return f"<h2>{title}</h2>" + _svg(body, title) + _legend(items)


def venue_chart(split: Mapping[str, int], colours: Mapping[str, str] | None = None) -> str:
    title = "Venue split"
    total = sum(split.values())
    if not total:
        return _empty(title)
    colour = {**venue_colours(list(split)), **(colours or {})}
    bar_h, width = 22, _W - 260
    body = []
    for i, (venue, qty) in enumerate(sorted(split.items(), key=lambda kv: (-kv[1], kv[0]))):
        y = 10 + i * (bar_h + 8)
        w = qty / total * width
        body.append(
            f'<text x="150" y="{y + 15}" text-anchor="end">{html.escape(venue)}</text>'
            f'<rect x="160" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour[venue]}"/>'
            f'<text x="{166 + w:.1f}" y="{y + 15}">{qty:,} ({qty / total:.1%})</text>'
        )
    height = 20 + len(split) * (bar_h + 8)
    return (
        f'<h2>{title}</h2><svg viewBox="0 0 {_W} {height}" width="{_W}" height="{height}" '
        f'role="img" aria-label="{title}">' + "".join(body) + "</svg>"
    )


# ------------------------------------------------------------------------------ tables


def _html_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], total: Sequence[str] | None = None
) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
    )
    foot = (
        ("<tfoot><tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in total) + "</tr></tfoot>")
        if total
        else ""
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>{foot}</table>"


def parent_section(p: ParentTCA, utc_offset_hours: int = 0) -> str:
    """One parent: summary measures, shortfall, venue breakdown, then its fill table
    (folded: thousands of rows on a day's order)."""
    side = "BUY" if p.side > 0 else "SELL"
    parts = [f"<h3>Parent {html.escape(p.parent_id)} — {side} {p.filled:,} / {p.target:,}</h3>"]
    parts.append(_summary_table(p))
    if p.shortfall is not None:
        parts.append(_shortfall_table(p.shortfall))
    if p.venues:
        parts.append(_venue_table(p.venues))
    if p.rows and p.total is not None:
        body, total = fill_table_cells(p.rows, p.total, utc_offset_hours=utc_offset_hours)
        parts.append(
            f"<details><summary>Fills of {html.escape(p.parent_id)} ({len(p.rows):,})</summary>"
            + _html_table(FILL_HEADERS, body, total)
            + "</details>"
        )
    return "".join(parts)


def _summary_table(p: ParentTCA) -> str:
    summary = [
        ("Average price", format_money(p.avg_price, 4)),
        ("Arrival price", format_money(p.arrival_price, 4)),
        ("Interval VWAP", format_money(p.interval_vwap, 4)),
        ("Slippage vs arrival (bps, + = cost)", format_bps(p.arrival_slippage_bps, 2)),
        ("Slippage vs interval VWAP (bps, + = cost)", format_bps(p.vwap_slippage_bps, 2)),
        ("Participation", "-" if p.participation is None else f"{p.participation:.1%}"),
        ("Internalised quantity", f"{p.internalised_quantity:,}"),
    ]
    summary += [
        (f"Markout +{h / 1e9:g}s (bps, − = adverse)", format_bps(v, 2))
        for h, v in p.markouts.items()
    ]
    return _html_table(("Measure", "Value"), summary)


def _shortfall_table(shortfall: Shortfall) -> str:
    money = shortfall.as_currency()
    comps = [
        ("delay", shortfall.delay),
        ("trading", shortfall.trading),
        ("opportunity", shortfall.opportunity),
        ("fees", shortfall.fees),
    ]
    return _html_table(
        ("Implementation shortfall", "$ (+ = cost)", "bps"),
        [[n, f"{money[n]:.2f}", format_bps(shortfall.bps(v), 2)] for n, v in comps],
        ["total", f"{money['total']:.2f}", format_bps(shortfall.bps(shortfall.total), 2)],
    )


def _venue_table(venues: Sequence[VenueBreakdown]) -> str:
    return _html_table(
        ("Venue", "Fills", "Quantity", "Share", "Avg price", "vs arrival (bps)", "Fees ($)"),
        [
            [
                v.venue,
                str(v.fills),
                f"{v.quantity:,}",
                f"{v.share:.1%}",
                format_money(v.avg_price, 4),
                format_bps(v.arrival_slippage_bps, 2),
                format_money(to_currency(v.fees), 2),
            ]
            for v in venues
        ],
    )


# ------------------------------------------------------------------------------- page

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:980px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}h3{font-size:15px;margin-top:22px}
svg{font-size:11px;background:#fff;border:1px solid #ddd}
table{border-collapse:collapse;margin:8px 0 14px}td,th{border:1px solid #ddd;padding:3px 8px}
th{background:#f4f4f4;text-align:left}td{text-align:right}td:first-child{text-align:left}
tfoot td{font-weight:600}.legend{margin:4px 0 10px}.key{margin-right:14px}
.key i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.muted{color:#888}
"""


def comparison_section(comparison: Mapping[str, str]) -> str:
    """The engine against the baseline, as the caller formatted it."""
    if not comparison:
        return ""
    rows = [[label, value] for label, value in comparison.items()]
    return "<h2>Engine vs baseline</h2>" + _html_table(("Measure", "Value"), rows)


def portfolio_section(pt: PortfolioTCA) -> str:
    """The portfolio roll-up: the total, then by side, strategy, venue and instrument
    (a parent's fills are in the fills CSV; ``smart-exec tca`` reads it)."""
    out = [
        "<h3>Portfolio</h3><p class='muted'>Cost in bps, notional-weighted over fills; "
        "+ = cost. Each parent's fills: the run's fills CSV.</p>",
        _html_table(PORTFOLIO_HEADERS, [bucket_cells(pt.total)]),
    ]
    total = bucket_cells(pt.total)
    for title, rows in portfolio_sections(pt):
        out.append(f"<h3>{html.escape(title)}</h3>")
        out.append(_html_table(PORTFOLIO_HEADERS, [bucket_cells(b) for b in rows], total))
    return "".join(out)


def _header(data: ReportData) -> str:
    zone = f"Times are session-local, {zone_label(data.utc_offset_hours)}."
    notes = "".join(f"<p class='muted'>{html.escape(n)}</p>" for n in [*data.notes, zone])
    digest = (
        f"<p class='digest'>audit-digest: <code>{html.escape(data.digest)}</code></p>"
        if data.digest
        else ""
    )
    return f"<h1>{html.escape(data.title)}</h1>{notes}{digest}"


def _all_venues(data: ReportData) -> list[str]:
    return [*data.venue_split, *(v for _, _, v in data.executions), *(f.venue for f in data.faults)]


def render_html(data: ReportData) -> str:
    tz = data.utc_offset_hours
    marks = _Marks(
        colours=venue_colours(_all_venues(data)), faults=data.faults, utc_offset_hours=tz
    )
    if data.portfolio is not None:
        parents = portfolio_section(data.portfolio)
    else:
        parents = "".join(parent_section(p, tz) for p in data.parents)
    conv = (
        "Performance = −side·(price − benchmark)/benchmark·1e4 (+ = better than the "
        "benchmark); slippage = its negative (+ = cost). Totals are quantity-weighted."
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(data.title)}</title><style>{_CSS}</style></head><body>"
        + _header(data)
        + comparison_section(data.comparison)
        + schedule_chart(data.schedule, data.filled, marks)
        + price_chart(data.executions, data.mid, data.vwap, marks)
        + venue_chart(data.venue_split, marks.colours)
        + f"<h2>Transaction cost analysis</h2><p class='muted'>{conv}</p>{parents}"
        + "</body></html>\n"
    )


def write_report(data: ReportData, directory: str | Path, name: str = "report.html") -> Path:
    """Write the report into ``directory`` (created if needed); returns the file path."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_text(render_html(data), encoding="utf-8")
    return path


# --------------------------------------------------------------------- from a journal


def report_data_from_journal(
    journal: AuditTrail,
    title: str,
    notes: Sequence[str] = (),
    utc_offset_hours: int = 0,
    tca: RunTCA | None = None,
) -> ReportData:
    """All parents together: Σ of each parent's latest scheduled quantity, Σ fills.
    ``tca``: the trail's TCA if the caller has it already (else computed here)."""
    run = tca if tca is not None else tca_from_journal(journal)
    scheduled: dict[str, int] = {}
    schedule: list[Point] = []
    for msg in journal.messages(m.ScheduleRecalibrated):
        assert isinstance(msg, m.ScheduleRecalibrated)
        scheduled[msg.parent_id] = msg.scheduled
        schedule.append((msg.ts, sum(scheduled.values())))
    fills = sorted((r.fill for p in run.parents for r in p.rows), key=lambda f: f.ts)
    filled: list[Point] = []
    split: dict[str, int] = {}
    cum = 0
    for f in fills:
        cum += f.quantity
        filled.append((f.ts, cum))
        split[f.venue] = split.get(f.venue, 0) + f.quantity
    ends = [run.tape.end_ts or 0, filled[-1][0] if filled else 0]
    if len(run.tapes) > 1:  # prices of many instruments do not share a chart
        return ReportData(
            title=title,
            schedule=schedule,
            filled=filled,
            venue_split=split,
            parents=run.parents,
            notes=notes,
            utc_offset_hours=utc_offset_hours,
            faults=fault_windows(journal, end=max(ends)),
            portfolio=portfolio_tca(run.parents),
        )
    return ReportData(
        title=title,
        schedule=schedule,
        filled=filled,
        executions=[(f.ts, f.price, f.venue) for f in fills],
        mid=run.tape.mid_points(),
        vwap=run.tape.vwap_points(),
        venue_split=split,
        parents=run.parents,
        notes=notes,
        utc_offset_hours=utc_offset_hours,
        faults=fault_windows(journal, end=max(ends)),
    )


def fault_windows(journal: AuditTrail, end: int) -> list[FaultWindow]:
    """Each stretch a venue was not up, from its ``VenueStatusChanged`` records; one
    still open at the end of the trail closes at ``end``."""
    opened: dict[str, tuple[str, int]] = {}  # venue → (status, since)
    out = []
    for msg in journal.messages(m.VenueStatusChanged):
        assert isinstance(msg, m.VenueStatusChanged)
        if msg.venue in opened:
            status, since = opened.pop(msg.venue)
            out.append(FaultWindow(msg.venue, status, since, msg.ts))
        if msg.status is not m.VenueStatus.UP:
            opened[msg.venue] = (msg.status.value, msg.ts)
    for venue, (status, since) in opened.items():
        out.append(FaultWindow(venue, status, since, max(end, since)))
    return sorted(out, key=lambda f: (f.start, f.venue))
