"""The end of the session ends every run, whatever state the venues are in.

Each run is guarded by a wall-clock watchdog so that a regression (a venue spinning
inside a handler) fails the test instead of hanging the suite; a passing run never
sees it, and the runs themselves stay deterministic on the simulated clock.
"""

from __future__ import annotations

import signal
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import pytest

from actors import Engine, MarketConfig
from engine import messages as m
from engine.clock import MINUTE, SECOND
from engine.config import SessionConfig, VenueConfig
from engine.faults import VENUE_FAULTS
from engine.instruments import Instrument
from engine.parent.config import ParentConfig
from engine.prices import to_price
from engine.routing.orders import EXPIRED_AT_CLOSE

OPEN = SessionConfig().open_ns
SESSION = SessionConfig(open_ns=OPEN, close_ns=OPEN + 15 * MINUTE)
MARKET = MarketConfig(
    instrument=Instrument(symbol="XYZ", ref_price=to_price("100"), lot=100),
    venues=[
        VenueConfig(name="LIT1"),
        VenueConfig(name="LIT2"),
        VenueConfig(name="DARK1", kind=m.VenueKind.DARK),
    ],
    session=SESSION,
)
GRACE = 5 * MINUTE
FAULT_AT = SESSION.close_ns - 2 * MINUTE
WATCHDOG_S = 120  # wall time; a run of this market takes a second or two
DEFAULT_MANDATE = m.Mandate()
FINAL = {m.OrdStatus.FILLED, m.OrdStatus.CANCELED, m.OrdStatus.REJECTED, m.OrdStatus.EXPIRED}


class Hung(BaseException):
    """The watchdog's bark. A BaseException, so that the runtime halts the run rather
    than restarting the actor it interrupts."""


@contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    def bark(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"the run was still going after {seconds} s of wall time")

    previous = signal.signal(signal.SIGALRM, bark)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def client_orders() -> list[m.ClientOrder]:
    """A buy that trades to the close, a passive sell priced away (it rests at the venues
    until the close) and a best-effort buy that may end with leaves."""

    def order(
        cid: str,
        side: m.Side,
        qty: int,
        limit_price: int | None = None,
        mandate: m.Mandate = DEFAULT_MANDATE,
    ) -> m.ClientOrder:
        return m.ClientOrder(
            source="OMS",
            account="A1",
            client_order_id=cid,
            instrument="XYZ",
            side=side,
            quantity=qty,
            limit_price=limit_price,
            mandate=mandate,
        )

    return [
        order("to_close", m.Side.BUY, 30_000),
        order(
            "resting",
            m.Side.SELL,
            10_000,
            limit_price=to_price("103.00"),
            mandate=m.Mandate(urgency=m.Urgency.LOW),
        ),
        order("best_effort", m.Side.BUY, 20_000, mandate=m.Mandate(must_complete=False)),
    ]


def run_with_fault(venue: str, fault: m.FaultKind, duration_ns: int | None) -> Engine:
    """A run with ``fault`` on ``venue`` from shortly before the close; returns the
    engine after ``run()`` returned (closed)."""
    engine = Engine(MARKET, seed=3)
    with engine, watchdog(WATCHDOG_S):
        for order in client_orders():
            engine.submit(order, at_ns=OPEN + SECOND)
        engine.inject_fault(venue, fault, at_ns=FAULT_AT, duration_ns=duration_ns)
        engine.run(grace_ns=GRACE)
        assert engine.now == SESSION.close_ns + GRACE  # the run ended at the session's end
    return engine


def live_at(engine: Engine, venue: str, t_ns: int) -> set[str]:
    """Our orders working at ``venue`` at ``t_ns``, from the audit trail."""
    assert engine.journal is not None
    live: set[str] = set()
    events = (m.VenueOrderAccepted, m.VenueOrderFilled, m.VenueOrderCancelled)
    for event in engine.journal.messages(*events):
        assert isinstance(event, events)
        if event.venue != venue or event.ts > t_ns:
            continue
        if isinstance(event, m.VenueOrderAccepted):
            live.add(event.order_id)
        elif isinstance(event, m.VenueOrderCancelled) or not event.leaves:
            live.discard(event.order_id)
    return live


def unfinished(engine: Engine) -> dict[str, str]:
    """The client orders whose last report is not final, with their status ("none":
    never reported). Fills beyond every client (the firm's excess account) are no
    client order's and are left out."""
    last: dict[str, str] = {order.client_order_id: "none" for order in client_orders()}
    for report in engine.reports:
        if report.source != "OMS":
            continue
        if isinstance(report, m.ExecutionReport):
            status = report.ord_status
        else:  # rejected on arrival
            status = m.OrdStatus.REJECTED
        last[report.client_order_id] = "final" if status in FINAL else str(status)
    return {cid: status for cid, status in last.items() if status != "final"}


def test_a_venue_down_at_the_close_with_orders_working_there_ends_the_run():
    engine = run_with_fault("LIT1", m.FaultKind.DOWN, None)

    assert live_at(engine, "LIT1", FAULT_AT), "no order was working at the venue it took down"
    assert unfinished(engine) == {}


@pytest.mark.parametrize("duration_ns", [None, 4 * MINUTE], ids=["no_end", "ends_after_close"])
@pytest.mark.parametrize("venue", ["LIT1", "DARK1"])
@pytest.mark.parametrize("fault", sorted(VENUE_FAULTS), ids=str)  # a venue's own faults
def test_a_fault_spanning_the_close_ends_with_a_final_report_per_order(fault, venue, duration_ns):
    engine = run_with_fault(venue, fault, duration_ns)

    assert unfinished(engine) == {}


def test_orders_at_a_venue_down_at_the_close_expire_there_and_it_is_asked_once_back_up():
    """DAY orders die at their venue's close: what a venue down then still holds of ours
    is booked as expired at the close, unconfirmed, once the settle wait is over (the
    run does not wait for the venue); when it says it is back up, it is asked about each
    of them once."""
    back = SESSION.close_ns + 2 * MINUTE
    engine = Engine(MARKET, seed=3)
    with engine, watchdog(WATCHDOG_S):
        for order in client_orders():
            engine.submit(order, at_ns=OPEN + SECOND)
        engine.inject_fault("LIT1", m.FaultKind.DOWN, at_ns=FAULT_AT)
        engine.inject_fault("LIT1", m.FaultKind.UP, at_ns=back)
        engine.run(grace_ns=GRACE)
    assert engine.journal is not None
    settle_by = SESSION.close_ns + ParentConfig().settle_wait_ns
    expired = [
        c
        for c in engine.journal.messages(m.VenueOrderCancelled)
        if isinstance(c, m.VenueOrderCancelled) and c.reason == EXPIRED_AT_CLOSE
    ]
    assert expired and all(c.venue == "LIT1" and c.ts == settle_by for c in expired)
    asked = Counter(
        c.order_id
        for c in engine.journal.messages(m.CancelVenueOrder)
        if isinstance(c, m.CancelVenueOrder) and c.ts >= back
    )
    assert set(asked) == {c.order_id for c in expired} and set(asked.values()) == {1}
    assert not live_at(engine, "LIT1", engine.now) and unfinished(engine) == {}
