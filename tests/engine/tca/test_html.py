import dataclasses
import re
from decimal import Decimal

from engine import messages as m
from engine.audit.journal import Journal
from engine.clock import SECOND
from engine.messages import Side
from engine.prices import to_price
from engine.tca import html as html_module
from engine.tca.from_trail import RunTCA
from engine.tca.html import (
    FaultWindow,
    ReportData,
    fault_windows,
    render_html,
    report_data_from_journal,
    write_report,
)
from engine.tca.metrics import Fill, MarketTape, ParentInfo, parent_tca

P = to_price


def small_report(title="Run <1> & co") -> ReportData:
    fills = [
        Fill("C1", SECOND, "LIT1", "Limit", Side.BUY, 100, P("100.01")),
        Fill("C2", 2 * SECOND, "DARK1", "Limit (Mid-Point)", Side.BUY, 50, P("100.00")),
    ]
    tape = MarketTape([(0, P("100.00"), 0, 0), (3 * SECOND, P("100.02"), 1000, 1000 * P("100.01"))])
    parent = parent_tca(ParentInfo("P1", Side.BUY, 200, 0, 3 * SECOND), fills, tape)
    return ReportData(
        title=title,
        schedule=[(0, 0), (SECOND, 100), (3 * SECOND, 200)],
        filled=[(SECOND, 100), (2 * SECOND, 150)],
        executions=[(f.ts, f.price, f.venue) for f in fills],
        mid=tape.mid_points(),
        vwap=tape.vwap_points(),
        venue_split={"LIT1": 100, "DARK1": 50},
        parents=[parent],
        notes=["audit-digest: abc"],
    )


def test_report_is_self_contained_with_three_charts_and_tca_tables():
    page = render_html(small_report())
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert page.count("<svg") == 3
    assert "Schedule vs actual cumulative fills" in page and "Venue split" in page
    assert "Run &lt;1&gt; &amp; co" in page  # escaped
    assert "Performance (bps)" in page and "Implementation shortfall" in page
    assert "100 (66.7%)" in page and "audit-digest: abc" in page
    assert re.search(r"<circle[^>]*fill=", page)  # executions plotted


def test_empty_data_still_renders(tmp_path):
    path = write_report(ReportData(title="empty"), tmp_path / "out")
    page = path.read_text()
    assert path.name == "report.html" and page.count("no data") == 3


def test_report_from_a_journal():
    j = Journal(":memory:")
    md = m.MarketDataUpdated(
        venue="LIT1",
        instrument="XYZ",
        kind=m.VenueKind.LIT,
        status=m.VenueStatus.UP,
        bids=[m.BookLevel(P("99.99"), 100)],
        asks=[m.BookLevel(P("100.01"), 100)],
        volume=500,
        notional=500 * P("100"),
        ts=0,
    )
    j.extend(
        [
            md,
            m.ParentOrderCreated(
                parent_id="P1",
                instrument="XYZ",
                side=Side.BUY,
                quantity=100,
                limit_price=None,
                mandate=m.Mandate(),
                arrival_mid=P("100"),
                ts=0,
            ),
            m.ScheduleRecalibrated(
                parent_id="P1",
                scheduled=50,
                filled=0,
                deviation=-50,
                tactic=m.Tactic.PASSIVE,
                next_quantity=50,
                next_at=SECOND,
                ts=0,
            ),
            m.ParentOrderFilled(
                parent_id="P1",
                child_id="C1",
                fill_id="F1",
                venue="LIT1",
                quantity=60,
                price=P("100.01"),
                liquidity=m.Liquidity.TAKER,
                ts=SECOND,
            ),
        ]
    )
    data = report_data_from_journal(j, "day")
    assert data.schedule == [(0, 50)] and data.filled == [(SECOND, 60)]
    assert data.venue_split == {"LIT1": 60}
    assert data.parents[0].avg_price == Decimal("100.01")
    assert "<svg" in render_html(data)


def test_the_page_names_the_session_zone_its_times_are_in():
    assert "Times are session-local, UTC+00:00." in render_html(small_report())
    new_york = dataclasses.replace(small_report(), utc_offset_hours=-5)
    assert "Times are session-local, UTC-05:00." in render_html(new_york)


def colour_of_dots(page: str) -> dict[str, set[str]]:
    """venue → the fill colours of its execution dots on the price chart."""
    out: dict[str, set[str]] = {}
    for colour, venue in re.findall(r'<circle [^>]*fill="([^"]+)"[^>]*><title>(\S+) ', page):
        out.setdefault(venue, set()).add(colour)
    return out


def colour_of_bars(page: str) -> dict[str, str]:
    """venue → its bar's colour on the venue-split chart."""
    found = re.findall(r'text-anchor="end">([^<]+)</text><rect [^>]*fill="([^"]+)"/>', page)
    return dict(found)


def test_each_venue_keeps_one_colour_across_the_charts():
    """The venue split orders bars by quantity, the price chart its legend by name: the
    colour follows the venue, not the position."""
    page = render_html(small_report())
    dots, bars = colour_of_dots(page), colour_of_bars(page)
    assert set(bars) == {"LIT1", "DARK1"} == set(dots)
    assert {v: {c} for v, c in bars.items()} == dots
    assert bars["LIT1"] != bars["DARK1"]


def test_fault_windows_are_shaded_in_the_venue_colour_on_both_time_charts():
    outage = FaultWindow("LIT1", "down", SECOND + SECOND // 2, 2 * SECOND + SECOND // 2)
    page = render_html(dataclasses.replace(small_report(), faults=[outage]))
    bands = re.findall(r'<rect class="fault"[^>]*fill="([^"]+)"[^>]*><title>([^<]*)<', page)
    assert bands == [(colour_of_bars(page)["LIT1"], "LIT1 down 00:00:01.500–00:00:02.500")] * 2
    assert page.count("LIT1 down 00:00:01.500–00:00:02.500</span>") == 2  # in both legends


def test_a_fault_outside_the_charted_time_draws_no_band():
    late = FaultWindow("LIT1", "down", 10 * SECOND, 20 * SECOND)
    assert 'class="fault"' not in render_html(dataclasses.replace(small_report(), faults=[late]))


def test_the_schedule_is_drawn_over_the_fills():
    chart = render_html(small_report()).split("<svg")[1]
    schedule = chart.index('class="schedule"')
    filled = chart.index(f'stroke="{html_module._FILLED}"')
    assert filled < schedule  # later in SVG = on top


def test_the_comparison_and_the_digest_come_before_the_charts():
    data = dataclasses.replace(
        small_report(),
        digest="d1g35t",
        comparison={"Engine cost (bps)": "+1.5", "Baseline <naive> cost (bps)": "+9.0"},
    )
    page = render_html(data)
    first_chart = page.index("<svg")
    assert page.index("audit-digest: <code>d1g35t</code>") < first_chart
    section = page[page.index("<h2>Engine vs baseline</h2>") : first_chart]
    assert "<td>Engine cost (bps)</td><td>+1.5</td>" in section
    assert "<td>Baseline &lt;naive&gt; cost (bps)</td><td>+9.0</td>" in section
    assert "Engine vs baseline" not in render_html(small_report())  # no comparison, no section


def test_the_fill_table_is_folded_below_the_parent_summary():
    page = render_html(small_report())
    folded = page[page.index("<details>") : page.index("</details>")]
    assert "<summary>Fills of P1 (2)</summary>" in folded and "Performance (bps)" in folded
    assert page.index("Implementation shortfall") < page.index("<details>")


def status(venue, state, ts):
    return m.VenueStatusChanged(venue=venue, status=state, reason="test", ts=ts)


def test_fault_windows_come_from_the_trail_status_changes():
    j = Journal(":memory:")
    j.extend(
        [
            status("LIT1", m.VenueStatus.DOWN, 10),
            status("LIT2", m.VenueStatus.DEGRADED, 15),
            status("LIT1", m.VenueStatus.UP, 20),
            status("LIT2", m.VenueStatus.DOWN, 30),
        ]
    )
    assert fault_windows(j, end=50) == [
        FaultWindow("LIT1", "down", 10, 20),
        FaultWindow("LIT2", "degraded", 15, 30),
        FaultWindow("LIT2", "down", 30, 50),  # still down when the trail ends
    ]


def test_report_data_reuses_the_run_tca_it_is_given():
    j = Journal(":memory:")
    j.extend([status("LIT1", m.VenueStatus.DOWN, 0)])
    given = RunTCA(parents=small_report().parents, tape=MarketTape([(0, P("100"), 0, 0)]))
    data = report_data_from_journal(j, "day", tca=given)
    assert data.parents == given.parents and data.filled == [(SECOND, 100), (2 * SECOND, 150)]
    assert data.faults == [FaultWindow("LIT1", "down", 0, 2 * SECOND)]
