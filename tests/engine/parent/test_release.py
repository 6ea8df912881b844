"""A parent gives back to the desk only quantity no child holds (for an internal cross)."""

from __future__ import annotations

from engine.messages import (
    CancelChildOrder,
    ParentQuantityReleased,
    ParentState,
    ReleaseParentQuantity,
    ResizeParentOrder,
)
from engine.parent.release import desk_target, releasable, release
from tests.engine.parent.parent_harness import T0, Harness, make_parent


def ask(parent_id: str, quantity: int, release_id: int = 1) -> ReleaseParentQuantity:
    return ReleaseParentQuantity(parent_id=parent_id, release_id=release_id, quantity=quantity)


def test_a_working_parent_releases_its_unplaced_part_and_keeps_its_children():
    h = Harness(make_parent(qty=10_000, minutes=30), passive_fill=0.0)
    h.run(until=T0 + 1)
    p = h.parent
    live = p.open_qty
    assert 0 < live < 10_000
    answer = release(p, ask(p.parent_id, 20_000), h.now)
    assert answer.quantity == 10_000 - p.filled - live == releasable(p) + answer.quantity
    assert answer.target == p.target == p.filled + live
    assert p.strategy.quantity == p.target  # the schedule shrank with it
    assert p.open_qty == live  # no child cancelled: its fills still have clients


def test_a_release_is_bounded_by_the_ask_and_in_whole_lots():
    h = Harness(make_parent(qty=10_000, minutes=30), passive_fill=0.0)
    h.run(until=T0 + 1)
    p = h.parent
    answer = release(p, ask(p.parent_id, 250), h.now)
    assert answer.quantity == 200 and p.target == 9_800


def test_nothing_is_released_that_is_live_or_by_a_parent_not_working():
    h = Harness(make_parent(qty=10_000, minutes=30), passive_fill=0.0)
    h.run(until=T0 + 1)
    p = h.parent
    release(p, ask(p.parent_id, 20_000), h.now)
    again = release(p, ask(p.parent_id, 20_000, release_id=2), h.now)
    assert again.quantity == 0 and again.release_id == 2  # all that is left is live
    pending = make_parent(qty=1_000)
    assert pending.state is ParentState.PENDING
    assert release(pending, ask(pending.parent_id, 1_000), T0).quantity == 0


def test_a_released_parent_then_resized_back_works_it_again():
    h = Harness(make_parent(qty=10_000, minutes=30), passive_fill=0.0)
    h.run(until=T0 + 1)
    p = h.parent
    answer = release(p, ask(p.parent_id, 5_000), h.now)
    out = p.resize(answer.target + 5_000, h.now, h.market, "released quantity not crossed")
    assert p.target == 10_000 and not any(isinstance(m, CancelChildOrder) for m in out)
    assert p.state is ParentState.WORKING and p.filled + p.open_qty <= p.target


def test_a_resize_sent_before_the_desk_heard_the_answer_does_not_undo_the_release():
    h = Harness(make_parent(qty=10_000, minutes=30), passive_fill=0.0)
    h.run(until=T0 + 1)
    p = h.parent
    answer = release(p, ask(p.parent_id, 3_000), h.now)
    assert answer.quantity == 3_000
    assert desk_target(p, 9_000, after_release=0) == 6_000  # a client cancel of 1,000
    assert desk_target(p, 7_000, after_release=1) == 7_000  # after the desk heard it


def test_a_replayed_parent_gets_the_same_target_whatever_the_order_of_its_records():
    resize = ResizeParentOrder(parent_id="P1", quantity=9_000, after_release=0)
    answer = ParentQuantityReleased(parent_id="P1", release_id=1, quantity=3_000, target=7_000)
    targets = []
    for records in ([resize, answer], [answer, resize]):
        p = make_parent(qty=10_000)
        for msg in records:
            p.apply(msg)
        p.restore(T0)
        targets.append(p.target)
    assert targets == [6_000, 6_000]
