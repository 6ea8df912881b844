"""The desk's outbox: every message with its destination, through the hosted contract
(``handle``, ``on_wake``, ``next_wake_ns``)."""

from engine.contract import JOURNAL
from engine.desk.desk import NEW_PARENT, DeskConfig, OrderDesk
from engine.messages import (
    BookLevel,
    CancelClientOrder,
    InternalCrossExecuted,
    MarketDataUpdated,
    ParentQuantityReleased,
    ParentState,
    ParentStateChanged,
    ReleaseParentQuantity,
    SubmitClientOrder,
    VenueKind,
    VenueStatus,
)
from tests.engine.desk.test_desk import BUY, INSTRUMENTS, NOW, REF, SELL, fill, new_desk, of, order


def test_every_message_goes_where_the_desk_addresses_it():
    """Reports to the reports endpoint (named at construction), a new parent to its
    starter, resizes and cancels to the parent, an internal cross to the journal only."""
    d = OrderDesk(INSTRUMENTS, DeskConfig(window_ns=1_000), reports="clients")
    d.set_mid("AAA", REF)

    def where(out):
        return [(dest, type(msg).__name__) for dest, msg in out]

    assert where(d.handle(SubmitClientOrder(order=order("b1", BUY, 300)), NOW)) == [
        ("clients", "ExecutionReport")
    ]
    assert d.next_wake_ns() == NOW + 1_000
    assert where(d.on_wake(NOW + 1_000)) == [(NEW_PARENT, "ParentOrderCreated")]
    assert d.next_wake_ns() is None
    d.handle(SubmitClientOrder(order=order("b2", BUY, 100)), NOW + 1)
    assert where(d.on_wake(NOW + 1_001)) == [("P1", "ResizeParentOrder")]
    assert where(d.handle(SubmitClientOrder(order=order("b2", BUY, 200)), NOW + 2)) == [
        ("clients", "ClientOrderRejected")
    ]
    cancel = CancelClientOrder(source="OMS", client_order_id="b2")
    assert where(d.handle(cancel, NOW + 3)) == [
        ("clients", "ExecutionReport"),
        ("P1", "ResizeParentOrder"),
    ]
    d.handle(SubmitClientOrder(order=order("s1", SELL, 100)), NOW + 4)
    # P1's unfilled part may cross s1 once P1 gives it back: s1 waits one more window
    assert where(d.on_wake(NOW + 1_004)) == [("P1", "ReleaseParentQuantity")]
    released = ParentQuantityReleased(
        ts=NOW + 1_005, parent_id="P1", release_id=1, quantity=100, target=200
    )
    assert d.handle(released, NOW + 1_005) == []  # held for the window's close
    assert where(d.on_wake(NOW + 2_004)) == [
        (JOURNAL, "InternalCrossExecuted"),
        ("clients", "ExecutionReport"),  # b1, from what P1 gave back (buys first)
        ("clients", "ExecutionReport"),  # s1
    ]
    assert where(d.handle(fill("P1", 300), NOW + 5)) == [
        ("clients", "ExecutionReport"),  # b1's last 200
        ("clients", "ExecutionReport"),  # 100 to the excess account
    ]
    done = ParentStateChanged(
        ts=NOW + 6, parent_id="P1", state=ParentState.EXPIRED, target=300, filled=300
    )
    assert d.handle(done, NOW + 6) == []  # nothing open any more in P1
    assert d.handle(fill("P9", 100), NOW + 7)[0][0] == "clients"  # excess, unknown parent


def test_market_data_moves_the_mid_and_crosses_working_parents():
    d = new_desk()
    d.submit(order("b1", BUY, 500), NOW)
    d.submit(order("s1", SELL, 300), NOW)
    d.close_window(NOW)  # no mid yet: two parents
    update = MarketDataUpdated(
        ts=NOW,
        venue="LIT1",
        instrument="AAA",
        kind=VenueKind.LIT,
        status=VenueStatus.UP,
        bids=[BookLevel(price=REF - 10_000, quantity=100)],
        asks=[BookLevel(price=REF + 10_000, quantity=100)],
    )
    asks = of(d.handle(update, NOW + 2), ReleaseParentQuantity)
    assert [(a.parent_id, a.quantity) for a in asks] == [("P1", 300), ("P2", 300)]
    for ask, target in zip(asks, (200, 0), strict=True):
        answer = ParentQuantityReleased(
            ts=NOW + 3, parent_id=ask.parent_id, release_id=1, quantity=300, target=target
        )
        out = d.handle(answer, NOW + 3)
    (cross,) = of(out, InternalCrossExecuted)
    assert cross.price == REF and cross.quantity == 300
    assert d.handle(update, NOW + 4) == []  # nothing opposing left
