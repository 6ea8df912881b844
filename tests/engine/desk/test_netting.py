"""Internal crosses of working parents: only quantity a parent has released (nothing of
it live at a venue) crosses, so no fill of a live child ever lands in the excess account."""

from __future__ import annotations

from engine.messages import (
    CancelParentOrder,
    ExecutionReport,
    InternalCrossExecuted,
    ParentOrderCreated,
    ParentQuantityReleased,
    ReleaseParentQuantity,
    ResizeParentOrder,
)
from tests.engine.desk.test_desk import BUY, NOW, REF, SELL, fill, new_desk, of, order


def answer(d, ask: ReleaseParentQuantity, released: int, target: int, now: int):
    """The parent's answer: ``released`` given back, its target now ``target``."""
    msg = ParentQuantityReleased(
        ts=now, parent_id=ask.parent_id, release_id=ask.release_id, quantity=released, target=target
    )
    return d.on_parent_released(msg, now)


def test_new_order_waits_while_the_working_parent_releases_then_crosses_it():
    d = new_desk()
    d.set_mid("AAA", REF)
    d.submit(order("b1", BUY, 500), NOW)
    d.close_window(NOW)  # P1 buys 500
    d.on_parent_fill(fill("P1", 100))
    d.submit(order("s1", SELL, 300), NOW + 10)
    out = d.close_window(NOW + 10)
    (ask,) = of(out, ReleaseParentQuantity)
    assert (ask.parent_id, ask.quantity) == ("P1", 300)
    assert not of(out, InternalCrossExecuted) and not of(out, ParentOrderCreated)
    assert d.window_deadline() == NOW + 10 + 1_000  # s1 waits one more window
    # P1 has 200 live at a venue: it gives back only its unplaced 200 of the 400 asked
    assert answer(d, ask, 200, 300, NOW + 11) == []  # the window's close crosses it
    out = d.close_window(NOW + 1_010)
    (cross,) = of(out, InternalCrossExecuted)
    assert (cross.quantity, cross.buy_parent_id) == (200, "P1")
    assert not of(out, ResizeParentOrder)  # P1's target already excludes what crossed
    (created,) = of(out, ParentOrderCreated)  # the rest of s1 goes to market
    assert (created.side, created.quantity) == (SELL, 100)
    b1, s1 = d.order("OMS", "b1"), d.order("OMS", "s1")
    assert (b1.cum_qty, b1.leaves, s1.cum_qty) == (300, 200, 200)
    assert d.parent("P1").target == d.parent("P1").filled + d.parent("P1").open == 300


def test_a_cross_never_takes_live_quantity_so_a_late_child_fill_is_a_client_fill():
    """The race that booked excess: a working parent's child is live at a venue when an
    opposing order crosses the parent; the child then fills."""
    d = new_desk()
    d.set_mid("AAA", REF)
    d.submit(order("b1", BUY, 500), NOW)
    d.close_window(NOW)  # P1: one child of 500 live at a venue (nothing unplaced)
    d.submit(order("s1", SELL, 500), NOW + 10)
    (ask,) = of(d.close_window(NOW + 10), ReleaseParentQuantity)
    assert answer(d, ask, 0, 500, NOW + 11) == []  # all of it is live: nothing released
    out = d.close_window(NOW + 1_010)
    assert not of(out, InternalCrossExecuted)
    assert of(out, ParentOrderCreated)[0].quantity == 500  # s1 goes to market
    out = d.on_parent_fill(fill("P1", 500))  # the live child fills
    assert [(r.client_order_id, r.last_qty) for r in of(out, ExecutionReport)] == [("b1", 500)]
    assert d.excess() == {}


def test_opposing_working_parents_cross_what_both_released():
    d = new_desk()
    d.submit(order("b1", BUY, 500), NOW)
    d.submit(order("s1", SELL, 300), NOW)
    out = d.close_window(NOW)
    assert not of(out, InternalCrossExecuted) and len(of(out, ParentOrderCreated)) == 2
    assert d.net_working("AAA", NOW + 1) == []  # no mid yet
    d.set_mid("AAA", REF)
    asks = of(d.net_working("AAA", NOW + 2), ReleaseParentQuantity)
    assert [(a.parent_id, a.quantity) for a in asks] == [("P1", 300), ("P2", 300)]
    assert d.net_working("AAA", NOW + 3) == []  # one request per parent at a time
    assert answer(d, asks[0], 300, 200, NOW + 4) == []  # P1 gave 300: held for P2's answer
    out = answer(d, asks[1], 100, 200, NOW + 5)  # P2 has 200 live: gives 100
    (cross,) = of(out, InternalCrossExecuted)
    assert (cross.quantity, cross.buy_parent_id, cross.sell_parent_id) == (100, "P1", "P2")
    (resize,) = of(out, ResizeParentOrder)  # P1 works again what did not cross
    assert (resize.parent_id, resize.quantity) == ("P1", 400)
    assert not of(out, CancelParentOrder)  # P2 still carries its live 200
    assert d.parent("P2").open == 200 and d.excess() == {}


def test_a_parent_whose_whole_open_part_crossed_is_cancelled():
    d = new_desk()
    d.submit(order("b1", BUY, 500), NOW)
    d.submit(order("s1", SELL, 300), NOW)
    d.close_window(NOW)
    d.set_mid("AAA", REF)
    p1, p2 = of(d.net_working("AAA", NOW + 2), ReleaseParentQuantity)
    answer(d, p1, 300, 200, NOW + 3)
    out = answer(d, p2, 300, 0, NOW + 4)
    assert of(out, InternalCrossExecuted)[0].quantity == 300
    (cancel,) = of(out, CancelParentOrder)
    assert cancel.parent_id == "P2" and not of(out, ResizeParentOrder)


def test_a_resize_during_a_release_names_the_last_answer_so_it_does_not_undo_it():
    """Targets are absolute: the parent takes off what it released after the release
    the resize names (``after_release``), so the two commute."""
    d = new_desk()
    d.submit(order("b1", BUY, 500), NOW)
    d.submit(order("b2", BUY, 500), NOW)
    d.submit(order("s1", SELL, 300), NOW)
    d.close_window(NOW)
    d.set_mid("AAA", REF)
    p1, p2 = of(d.net_working("AAA", NOW + 2), ReleaseParentQuantity)
    (resize,) = of(d.cancel("OMS", "b2", NOW + 3), ResizeParentOrder)
    assert (resize.quantity, resize.after_release) == (500, 0)  # P1 takes off release 1
    answer(d, p2, 0, 300, NOW + 4)  # P2 gives nothing: its 300 is live
    out = answer(d, p1, 300, 200, NOW + 5)  # 500 - the 300 of release 1
    assert not of(out, InternalCrossExecuted)
    (back,) = of(out, ResizeParentOrder)  # b1's 500 worked again, all of it
    assert (back.quantity, back.after_release) == (500, 1)


def test_an_answer_to_no_request_changes_nothing():
    d = new_desk()
    d.submit(order("b1", BUY, 500), NOW)
    d.submit(order("s1", SELL, 300), NOW)
    d.close_window(NOW)
    d.set_mid("AAA", REF)
    p1, _ = of(d.net_working("AAA", NOW + 2), ReleaseParentQuantity)
    answer(d, p1, 300, 200, NOW + 3)
    assert answer(d, p1, 300, 200, NOW + 4) == []  # redelivered
    assert d.parent("P1").held == 300


def test_net_working_leaves_an_open_window_to_its_close():
    d = new_desk()
    d.submit(order("b1", BUY, 500), NOW)
    d.submit(order("s1", SELL, 300), NOW)
    d.close_window(NOW)
    d.set_mid("AAA", REF)
    d.submit(order("b2", BUY, 100), NOW + 5)  # a window opens for AAA
    assert d.net_working("AAA", NOW + 6) == []
    asks = of(d.close_window(NOW + 10), ReleaseParentQuantity)
    assert sorted(a.parent_id for a in asks) == ["P1", "P2"]


def test_a_cross_fills_no_member_whose_cancel_waits_for_its_parent_to_shrink():
    """A member's pending cancel took its open part out of the parent's target: what the
    parent releases for a cross is the other members', and only they cross."""
    d = new_desk()
    d.set_mid("AAA", REF)
    d.submit(order("a", BUY, 300), NOW)
    d.submit(order("b", BUY, 300), NOW)
    d.close_window(NOW)  # P1 buys 600
    d.cancel("OMS", "a", NOW + 1)  # pending: P1 shrinks to b's 300
    d.submit(order("s", SELL, 300), NOW + 10)
    (ask,) = of(d.close_window(NOW + 10), ReleaseParentQuantity)
    assert (ask.parent_id, ask.quantity) == ("P1", 300)
    answer(d, ask, 300, 0, NOW + 11)
    out = d.close_window(NOW + 1_010)
    (cross,) = of(out, InternalCrossExecuted)
    assert cross.quantity == 300
    fills = sorted((r.client_order_id, r.last_qty) for r in of(out, ExecutionReport) if r.last_qty)
    assert fills == [("b", 300), ("s", 300)]
    a = d.order("OMS", "a")
    assert (a.cum_qty, a.leaves, a.cancel_pending) == (0, 300, True)
