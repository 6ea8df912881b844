"""No orphan: a venue that swallows cancels at the close. Cancels are sent again with
backoff, the orders are journaled unsettled past a bound, and a parent (with its client
orders) is not reported done while a venue order of it may still be live. At the end of
the session (the close plus the settle wait) what a venue never answered is booked as
expired at its close, unconfirmed, and the client's final report says unsettled, never a
plain cancel."""

from __future__ import annotations

from collections import Counter

import pytest
from test_session_end import FINAL, GRACE, SESSION, run_with_fault, unfinished

from actors import Engine
from engine import messages as m
from engine.clock import MINUTE, SECOND
from engine.parent.config import ParentConfig
from engine.routing.config import RouterConfig
from engine.routing.orders import EXPIRED_AT_CLOSE

UNSETTLED = m.ExpiryReason.UNSETTLED_AT_VENUE.value
VENUE = "LIT1"


def live_orders(engine: Engine, parent_id: str | None, t_ns: int) -> set[str]:
    """Venue orders of ``parent_id`` (None: of any parent) that may still trade at
    ``t_ns``: placed, and neither rejected, cancelled nor filled to the last share by
    then (audit trail)."""
    assert engine.journal is not None
    live: set[str] = set()
    kinds = (m.PlaceVenueOrder, m.VenueOrderRejected, m.VenueOrderCancelled, m.VenueOrderFilled)
    for msg in engine.journal.messages(*kinds):
        if not isinstance(msg, kinds) or msg.ts > t_ns:
            continue
        if isinstance(msg, m.PlaceVenueOrder):
            if parent_id is None or msg.parent_id == parent_id:
                live.add(msg.order_id)
        elif not isinstance(msg, m.VenueOrderFilled) or not msg.leaves:
            live.discard(msg.order_id)
    return live


def final_reports(engine: Engine) -> dict[str, tuple[m.ExecutionReport, str]]:
    """The final report of each client order and the parent that worked it, by client
    order id (the parent is named in the order's fill reports)."""
    parents: dict[str, str] = {}
    final: dict[str, m.ExecutionReport] = {}
    for report in engine.reports:
        if not isinstance(report, m.ExecutionReport):
            continue
        if report.parent_id is not None:
            parents.setdefault(report.client_order_id, report.parent_id)
        if report.ord_status in FINAL:
            final.setdefault(report.client_order_id, report)
    return {cid: (report, parents[cid]) for cid, report in final.items()}


def decisions(engine: Engine, prefix: str) -> list[m.RouteDecided]:
    assert engine.journal is not None
    return [
        d
        for d in engine.journal.messages(m.RouteDecided)
        if isinstance(d, m.RouteDecided) and d.reason.startswith(prefix)
    ]


def cancels_per_order(engine: Engine) -> Counter[str]:
    assert engine.journal is not None
    cancels = engine.journal.messages(m.CancelVenueOrder)
    return Counter(c.order_id for c in cancels if isinstance(c, m.CancelVenueOrder))


def expired_at_close(engine: Engine) -> list[m.VenueOrderCancelled]:
    """Venue orders the router booked as expired at their venue's close, unconfirmed."""
    assert engine.journal is not None
    return [
        c
        for c in engine.journal.messages(m.VenueOrderCancelled)
        if isinstance(c, m.VenueOrderCancelled) and c.reason == EXPIRED_AT_CLOSE
    ]


def test_cancels_swallowed_through_the_end_of_the_session():
    engine = run_with_fault(VENUE, m.FaultKind.DROP_CANCELS, None)  # the run still ends

    sends = cancels_per_order(engine)
    assert sends and max(sends.values()) <= 10  # backoff: a flat 1 s retry sent ~420
    settle_by = SESSION.close_ns + ParentConfig().settle_wait_ns
    expired = expired_at_close(engine)  # the venue never answered: booked at its close
    assert expired and {c.venue for c in expired} == {VENUE}
    # the venue is up: asked where each order stands first, booked one retry later
    retry = RouterConfig().cancel_retry_ns
    assert all(c.ts == settle_by + retry and c.cancelled > 0 for c in expired)
    asked = decisions(engine, "venues closed: ask")
    closed = [d for d in decisions(engine, "venues closed") if d not in asked]
    assert asked and all(d.ts == settle_by for d in asked)
    assert closed and all(f"{VENUE} suspect" in d.reason for d in closed)

    assert unfinished(engine) == {}  # every client order has its final report
    unconfirmed = {c.order_id.split("-")[0] for c in expired}  # their parents
    for cid, (report, parent_id) in final_reports(engine).items():
        # never reported done while a venue order of its parent was live
        assert not live_orders(engine, parent_id, report.ts), cid
        if parent_id in unconfirmed:  # said so, and only once the venues are closed
            assert report.ord_status is m.OrdStatus.EXPIRED, cid
            assert report.reason == UNSETTLED and "unsettled" in report.text, cid
            assert report.ts >= settle_by, cid
        else:
            assert report.reason != UNSETTLED, cid
    assert "resting" in {c for c, (_, p) in final_reports(engine).items() if p in unconfirmed}
    assert not live_orders(engine, None, engine.now)  # no orphan


@pytest.mark.parametrize(
    "duration_ns", [MINUTE, 125 * SECOND], ids=["ends_before_close", "ends_after_close"]
)
def test_cancels_answered_late_settle_and_the_final_report_is_ordinary(duration_ns):
    engine = run_with_fault(VENUE, m.FaultKind.DROP_CANCELS, duration_ns)

    unsettled = {d.reason.split()[1] for d in decisions(engine, "unsettled")}
    settled = {d.reason.split()[1] for d in decisions(engine, "settled")}
    assert unsettled and unsettled == settled  # each answered once the venue heard it

    assert unfinished(engine) == {}
    reports = final_reports(engine)
    for cid, (report, parent_id) in reports.items():
        assert report.reason != UNSETTLED, cid
        assert not live_orders(engine, parent_id, report.ts), cid
    # the resting sell's last orders were settled only after the close: its parent
    # waited for them (pending cancel) before its ordinary end-time report
    resting = reports["resting"][0]
    assert resting.reason == m.ExpiryReason.END_TIME
    if duration_ns > 2 * MINUTE:
        assert SESSION.close_ns < resting.ts < SESSION.close_ns + GRACE
    else:
        assert resting.ts == SESSION.close_ns
    assert engine.now == SESSION.close_ns + GRACE
