import dataclasses
import re
from decimal import Decimal

from engine import messages as m
from engine.audit.journal import Journal
from engine.clock import SECOND
from engine.messages import Side
from engine.prices import to_price
from engine.tca.html import ReportData, render_html, report_data_from_journal, write_report
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
