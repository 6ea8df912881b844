"""A parent rebuilt from its audit trail (``HostedParent.recover``), from every state.

A ``Run`` hosts one parent as its actor would, answers it as a router would, and journals
what the actor host would (everything the parent says, everything it is told). A
recovery builds a new parent from that trail, as a restarted actor does.
"""

from __future__ import annotations

import dataclasses
import itertools

import msgspec
import pytest

from engine.audit.journal import Journal
from engine.clock import MINUTE, SECOND
from engine.config import SessionConfig
from engine.contract import JOURNAL, Outbox
from engine.instruments import Instrument
from engine.messages import (
    BookLevel,
    CancelChildOrder,
    CancelParentOrder,
    ChildOrderAccepted,
    ChildOrderDone,
    ChildOrderFilled,
    ChildOrderOverfilled,
    Liquidity,
    Mandate,
    MarketDataUpdated,
    Message,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentResizeSettled,
    ParentState,
    ParentStateChanged,
    PlaceChildOrder,
    ResizeParentOrder,
    ScheduleRecalibrated,
    Side,
    StrategyName,
    Tactic,
    Urgency,
    VenueKind,
    VenueStatus,
)
from engine.parent.config import ParentConfig
from engine.parent.hosted import HostedParent
from engine.parent.order import ParentOrder
from engine.parent.recovery import replay

SESSION = SessionConfig()
T0 = SESSION.open_ns + 60 * MINUTE
CENT = 10_000
XYZ = Instrument(symbol="XYZ", tick=CENT, lot=100, ref_price=100 * 1_000_000)
BID, ASK = 100 * 1_000_000, 100 * 1_000_000 + 2 * CENT
CONFIG = ParentConfig()
ROUTER, DESK = "router", "desk"


def market_data(now_ns: int, *, quotes: bool = True, volume: int = 0) -> MarketDataUpdated:
    return MarketDataUpdated(
        ts=now_ns,
        venue="LIT1",
        instrument="XYZ",
        kind=VenueKind.LIT,
        status=VenueStatus.UP,
        bids=[BookLevel(BID, 1_000)] if quotes else [],
        asks=[BookLevel(ASK, 1_000)] if quotes else [],
        volume=volume,
    )


class Run:
    """One parent, hosted; a router that accepts every child, fills a crossing child at
    once (unless not ``cross``) and ``passive_fill`` of a resting child's leaves on every wake, and confirms
    every cancel. ``check`` runs after every message the parent is told."""

    def __init__(
        self,
        *,
        quantity: int = 10_000,
        minutes: int = 30,
        passive_fill: float = 0.5,
        cross: bool = True,
        quotes: bool = True,
        volume_before: int = 0,
        **mandate,
    ) -> None:
        mandate.setdefault("end_ns", T0 + minutes * MINUTE)
        self.order = ParentOrderCreated(
            parent_id="P1",
            instrument="XYZ",
            side=Side.BUY,
            quantity=quantity,
            limit_price=None,
            mandate=Mandate(**mandate),
        )
        self.passive_fill, self.cross = passive_fill, cross
        self.trail = Journal(":memory:")
        self.ids = itertools.count(1)
        self.fill_ids = itertools.count(1)
        self.now = T0
        self.volume = volume_before  # the market's, ours included
        self.said: list[tuple[str, Message]] = []
        self.working: dict[str, int] = {}  # child id -> leaves, as the router has them
        self.tactics: dict[str, Tactic] = {}
        self.check = lambda: None
        self._routed = 0  # how many of ``said`` the router has answered
        self.hosted = HostedParent(self.new_parent(), router=ROUTER, desk=DESK)
        self.tell(market_data(self.now, quotes=quotes, volume=self.volume))
        self.take(self.hosted.start(self.now))
        self.route()

    @property
    def parent(self) -> ParentOrder:
        return self.hosted.parent

    def new_parent(self) -> ParentOrder:
        return ParentOrder(self.order, XYZ, SESSION, CONFIG)

    def recover(self) -> tuple[HostedParent, Outbox]:
        """What a restart now would rebuild, and what it would say first."""
        return HostedParent.recover(
            self.new_parent(), self.trail, self.now, router=ROUTER, desk=DESK
        )

    # ------------------------------------------------------------ the trail

    def record(self, msg: Message) -> Message:
        """Stamped and journaled, as the runtime does when a message is sent."""
        msg = msgspec.structs.replace(msg, msg_id=next(self.ids), ts=msg.ts or self.now)
        self.trail.append(msg)
        return msg

    def take(self, out: Outbox) -> None:
        for dest, msg in out:
            self.said.append((dest, self.record(msg)))

    def tell(self, msg: Message, *, handled: bool = True) -> Message:
        """``msg`` sent to the parent (journaled by its sender); ``handled=False``: lost
        from the inbox with a crash, so only the trail knows it."""
        msg = self.record(msg)
        if handled:
            self.take(self.hosted.handle(msg, self.now))
            self.check()
        return msg

    # ----------------------------------------------------------- the router

    def route(self) -> None:
        """Answer every child command the parent has said and not yet been answered."""
        while self._routed < len(self.said):
            dest, msg = self.said[self._routed]
            self._routed += 1
            if dest != ROUTER:
                continue
            if isinstance(msg, PlaceChildOrder):
                self.working[msg.child_id] = msg.quantity
                self.tactics[msg.child_id] = msg.tactic
                self.tell(ChildOrderAccepted(parent_id="P1", child_id=msg.child_id))
                if msg.tactic is Tactic.AGGRESSIVE and self.cross:
                    self.fill(msg.child_id, msg.quantity)
            elif isinstance(msg, CancelChildOrder) and msg.child_id in self.working:
                self.done(msg.child_id)

    def fill(self, child_id: str, quantity: int, *, handled: bool = True) -> ChildOrderFilled:
        self.working[child_id] -= quantity
        self.volume += quantity
        fill = self.tell(
            ChildOrderFilled(
                parent_id="P1",
                child_id=child_id,
                fill_id=f"F{next(self.fill_ids)}",
                venue="LIT1",
                quantity=quantity,
                price=ASK,
                liquidity=Liquidity.TAKER,
                leaves=self.working[child_id],
            ),
            handled=handled,
        )
        if handled and self.working[child_id] == 0:
            self.done(child_id)
        assert isinstance(fill, ChildOrderFilled)
        return fill

    def done(self, child_id: str) -> None:
        leaves = self.working.pop(child_id)
        self.tell(ChildOrderDone(parent_id="P1", child_id=child_id, filled=0, cancelled=leaves))

    def wake(self) -> None:
        wake = self.hosted.next_wake_ns()
        assert wake is not None and wake >= self.now
        self.volume += 50 * (wake - self.now) // SECOND
        self.now = wake
        self.tell(market_data(self.now, volume=self.volume))
        self.take(self.hosted.on_wake(self.now))
        self.check()
        self.route()
        for child_id, leaves in list(self.working.items()):
            if self.tactics[child_id] is not Tactic.AGGRESSIVE and self.passive_fill > 0:
                qty = int(leaves * self.passive_fill) // 100 * 100 or leaves
                self.fill(child_id, qty)
        self.route()

    def run(self, until_ns: int | None = None) -> Run:
        while self.hosted.next_wake_ns() is not None and (until_ns is None or self.now < until_ns):
            self.wake()
        return self

    def said_to(self, dest: str) -> list[Message]:
        return [msg for d, msg in self.said if d == dest]


def snapshot(parent: ParentOrder) -> dict:
    """What a parent is: its state, quantities, schedule and children (all of them, and
    the open ones in order), and the fills it has counted."""
    return {
        "state": parent.state,
        "target": parent.target,
        "filled": parent.filled,
        "start_ns": parent.start_ns,
        "strategy": parent.strategy,
        "children": {cid: dataclasses.astuple(c) for cid, c in parent.children.items()},
        "open": [c.child_id for c in parent.open_children()],
        "fill_ids": sorted(parent.book.fill_ids),
    }


def states(out: Outbox) -> list[ParentState]:
    return [msg.state for _, msg in out if isinstance(msg, ParentStateChanged)]


# ---------------------------------------------------------------- at every point of a run


@pytest.mark.parametrize(
    "mandate",
    [
        {"strategy": StrategyName.TWAP},
        {"strategy": StrategyName.VWAP, "urgency": Urgency.HIGH},
        {"strategy": StrategyName.IS, "urgency": Urgency.LOW, "must_complete": False},
        {"strategy": StrategyName.POV},
        {"strategy": StrategyName.TWAP, "max_participation": 0.2},
    ],
)
def test_a_parent_recovered_at_any_point_of_its_run_is_the_parent_it_was(mandate):
    recovered_in: set[ParentState] = set()
    run = Run(minutes=8, passive_fill=0.3, **mandate)

    def check():
        parent, (hosted, _) = run.parent, run.recover()
        assert snapshot(hosted.parent) == snapshot(parent)
        recovered_in.add(parent.state)

    run.check = check
    run.run(until_ns=T0 + 2 * MINUTE)
    run.tell(ResizeParentOrder(parent_id="P1", quantity=12_000, reason="a client joined"))
    run.route()
    run.run(until_ns=T0 + 4 * MINUTE)
    run.tell(ResizeParentOrder(parent_id="P1", quantity=9_000, reason="a client left"))
    run.route()
    run.run()
    assert recovered_in >= {ParentState.WORKING, run.parent.state}
    assert run.parent.is_terminal


def test_a_parent_resized_below_what_filled_recovers_completed_at_its_filled_quantity():
    run = Run().run(until_ns=T0 + 3 * MINUTE)
    filled = run.parent.filled
    run.tell(ResizeParentOrder(parent_id="P1", quantity=100, reason="client cancel"))
    assert run.parent.state is ParentState.COMPLETED and run.parent.target == filled > 100

    hosted, out = run.recover()
    assert out == [] and snapshot(hosted.parent) == snapshot(run.parent)
    assert hosted.parent.next_wake_ns is None


def test_a_recovered_working_parent_waits_for_prices_then_carries_on_where_it_was():
    run = Run().run(until_ns=T0 + 5 * MINUTE)
    live = run.parent
    assert live.state is ParentState.WORKING and 0 < live.filled < live.target
    placed = [m.child_id for m in run.said_to(ROUTER) if isinstance(m, PlaceChildOrder)]

    run.now += 2 * MINUTE  # restarted a while later: the schedule wants more by now
    hosted, out = run.recover()
    assert out == []  # nothing to say before it knows the market
    assert hosted.next_wake_ns() == run.now + CONFIG.decision_interval_ns  # the fallback
    # the first quote decides at once: the target replayed, a new child, never a reused id
    decided = hosted.handle(market_data(run.now, volume=run.volume), run.now)
    assert isinstance(decided[0][1], ScheduleRecalibrated) and decided[0][0] == JOURNAL
    new = [m for _, m in decided if isinstance(m, PlaceChildOrder)]
    assert new and all(m.child_id not in placed for m in new)
    assert hosted.handle(market_data(run.now, volume=run.volume), run.now) == []  # once


def test_a_desk_command_handled_before_the_crash_is_not_handled_again():
    run = Run().run(until_ns=T0 + 2 * MINUTE)
    resize = run.tell(ResizeParentOrder(parent_id="P1", quantity=12_000, reason="join"))
    assert run.hosted.handle(resize, run.now) == []  # the live parent de-duplicates it...
    hosted, _ = run.recover()
    assert hosted.handle(resize, run.now) == []  # ...and so does the recovered one
    again = ResizeParentOrder(msg_id=10_001, parent_id="P1", quantity=12_000, reason="join")
    assert hosted.handle(again, run.now) != []  # a new command is handled


def test_replay_takes_only_its_own_records_from_a_whole_trail():
    run = Run().run(until_ns=T0 + 3 * MINUTE)
    other = ChildOrderFilled(
        parent_id="P2",
        child_id="P1-C1",  # the same child id, under another parent
        fill_id="F-other",
        venue="LIT1",
        quantity=100,
        price=ASK,
        liquidity=Liquidity.TAKER,
    )
    run.record(other)
    parent = run.new_parent()
    replay(parent, run.trail.replay())
    parent.restore(run.now)
    assert snapshot(parent) == snapshot(run.parent)


def test_a_recovered_pov_parent_counts_the_market_volume_from_when_it_began():
    """The volume before the start is read back from the tape in the trail: the recovered
    parent schedules what the live one does."""
    run = Run(strategy=StrategyName.POV, volume_before=40_000).run(until_ns=T0 + 3 * MINUTE)
    hosted, _ = run.recover()
    md = market_data(run.now, volume=run.volume + 3_000)
    run.hosted.handle(md, run.now)
    (live,) = [m for _, m in run.hosted.on_wake(run.now) if isinstance(m, ScheduleRecalibrated)]
    (recovered,) = [m for _, m in hosted.handle(md, run.now) if isinstance(m, ScheduleRecalibrated)]
    assert recovered.scheduled == live.scheduled > 0


def test_a_recovered_pending_parent_begins_at_its_start_time_as_the_live_one_would():
    run = Run(start_ns=T0 + 10 * MINUTE)
    assert run.parent.state is ParentState.PENDING
    hosted, out = run.recover()
    assert out == [] and hosted.parent.state is ParentState.PENDING
    assert hosted.next_wake_ns() == run.hosted.next_wake_ns() == T0 + 10 * MINUTE

    run.now = T0 + 10 * MINUTE
    md = market_data(run.now)
    for h in (hosted, run.hosted):
        h.handle(md, run.now)
    began_live, began_recovered = run.hosted.on_wake(run.now), hosted.on_wake(run.now)
    assert began_recovered == began_live
    assert states(began_live) == [ParentState.WORKING]


def test_a_parent_paused_for_want_of_quotes_resumes_on_its_own_after_recovery():
    run = Run(quotes=False)
    assert run.parent.state is ParentState.PAUSED
    hosted, out = run.recover()
    assert out == [] and hosted.parent.state is ParentState.PAUSED
    now = hosted.next_wake_ns()
    assert now is not None
    hosted.handle(market_data(now), now)  # prices back: the target is replayed (paused)
    resumed = hosted.on_wake(now)
    assert states(resumed) == [ParentState.WORKING]
    assert any(isinstance(m, PlaceChildOrder) for _, m in resumed)


# ------------------------------------------------------------------------- terminal states


def test_a_completed_parent_recovers_completed_and_forwards_only_the_fill_it_never_did():
    run = Run(minutes=10).run()
    assert run.parent.state is ParentState.COMPLETED
    # a fill of a child done long ago (a venue correction, say) reached the trail, and
    # the crash lost it from the inbox
    last = next(m for m in reversed(run.said_to(ROUTER)) if isinstance(m, PlaceChildOrder))
    run.working[last.child_id] = 100
    late = run.fill(last.child_id, 100, handled=False)

    hosted, out = run.recover()
    assert hosted.parent.state is ParentState.COMPLETED and hosted.next_wake_ns() is None
    assert [(d, m.fill_id) for d, m in out if isinstance(m, ParentOrderFilled)] == [
        (DESK, late.fill_id)
    ]
    assert len(out) == 1  # no cancel, no state change: it was already done
    assert hosted.handle(late, run.now) == []  # its redelivery counts once
    resize = ResizeParentOrder(msg_id=10_001, parent_id="P1", quantity=20_000)
    assert hosted.handle(resize, run.now) == []  # too late


def test_a_parent_cancelled_while_working_recovers_cancelled_and_ignores_the_cancel_again():
    run = Run().run(until_ns=T0 + 3 * MINUTE)
    cancel = run.tell(CancelParentOrder(parent_id="P1", reason="client"))
    run.route()
    assert run.parent.state is ParentState.CANCELED

    hosted, out = run.recover()
    assert out == []
    assert hosted.parent.state is ParentState.CANCELED and hosted.next_wake_ns() is None
    assert hosted.parent.filled == run.parent.filled > 0
    assert hosted.handle(cancel, run.now) == []  # redelivered: handled already


def test_a_cancel_the_crash_lost_is_carried_out_by_the_recovery():
    run = Run(passive_fill=0.0).run(until_ns=T0 + 3 * MINUTE)
    open_children = {c.child_id for c in run.parent.open_children()}
    assert open_children
    cancel = run.tell(CancelParentOrder(parent_id="P1", reason="client"), handled=False)

    hosted, out = run.recover()
    cancels = {m.child_id for d, m in out if isinstance(m, CancelChildOrder) and d == ROUTER}
    assert cancels == open_children
    assert states(out) == []  # cancelled once its children are done at the venues
    ends = [
        hosted.handle(ChildOrderDone(parent_id="P1", child_id=c, filled=0, cancelled=q), run.now)
        for c, q in sorted(run.working.items())
    ]
    assert [states(o) for o in ends] == [[]] * (len(ends) - 1) + [[ParentState.CANCELED]]
    assert hosted.next_wake_ns() is None
    assert hosted.handle(cancel, run.now) == []  # its late delivery changes nothing


def test_a_parent_cancelled_before_it_began_recovers_cancelled_without_starting():
    run = Run(start_ns=T0 + 10 * MINUTE)
    run.tell(ResizeParentOrder(parent_id="P1", quantity=0, reason="client cancel"))
    assert run.parent.state is ParentState.CANCELED

    hosted, out = run.recover()
    assert out == [] and hosted.parent.state is ParentState.CANCELED
    assert hosted.parent.strategy is None and hosted.parent.next_wake_ns is None


def test_a_fill_and_a_resize_the_crash_lost_complete_the_recovered_parent():
    """The client shrank the order to what had filled, and the fill that got it there was
    lost with the crash too: recovery forwards the fill, pulls the other children and
    completes the parent once every child is done."""
    run = Run(passive_fill=0.0).run(until_ns=T0 + 3 * MINUTE)
    assert run.parent.state is ParentState.WORKING
    child, *others = run.parent.open_children()
    lost = run.fill(child.child_id, child.leaves, handled=False)
    run.tell(ResizeParentOrder(parent_id="P1", quantity=0, reason="client"), handled=False)

    hosted, out = run.recover()
    assert out[0][0] == DESK
    assert isinstance(out[0][1], ParentOrderFilled) and out[0][1].fill_id == lost.fill_id
    assert {m.child_id for d, m in out if isinstance(m, CancelChildOrder)} == {
        c.child_id for c in others
    }
    assert states(out) == [] and hosted.parent.is_ending  # its children are not done yet
    assert hosted.parent.target == hosted.parent.filled == run.parent.filled + lost.quantity
    ends: list[ParentState] = []
    for c in [child, *others]:
        done = ChildOrderDone(parent_id="P1", child_id=c.child_id, filled=0, cancelled=0)
        assert ends == []  # not before the last one
        ends += states(hosted.handle(done, run.now))
    assert ends == [ParentState.COMPLETED] and hosted.next_wake_ns() is None


def test_an_expired_parent_recovers_expired():
    run = Run(minutes=5, passive_fill=0.0, cross=False, must_complete=False).run()
    assert run.parent.state is ParentState.EXPIRED
    assert run.parent.filled < run.parent.target

    hosted, out = run.recover()
    assert out == [] and hosted.parent.state is ParentState.EXPIRED
    assert hosted.parent.next_wake_ns is None
    assert snapshot(hosted.parent) == snapshot(run.parent)


def test_a_parent_that_expired_before_it_began_recovers_expired():
    run = Run(start_ns=T0 + 10 * MINUTE, minutes=5)  # its end comes before its start
    assert run.parent.state is ParentState.EXPIRED

    hosted, out = run.recover()
    assert out == [] and hosted.parent.state is ParentState.EXPIRED
    assert hosted.parent.strategy is None and hosted.parent.next_wake_ns is None


def test_an_overfill_forwarded_before_the_crash_is_not_forwarded_again():
    run = Run().run(until_ns=T0 + 3 * MINUTE)
    child = next(iter(run.parent.children))
    over = run.tell(
        ChildOrderOverfilled(
            parent_id="P1",
            child_id=child,
            fill_id="F-over",
            venue="LIT1",
            quantity=100,
            price=ASK,
            liquidity=Liquidity.TAKER,
        )
    )
    assert [m.fill_id for m in run.said_to(DESK) if isinstance(m, ParentOrderFilled)][-1] == (
        "F-over/excess"
    )
    hosted, out = run.recover()
    assert out == []
    assert hosted.handle(over, run.now) == []


def test_the_hosted_parent_addresses_what_it_says():
    """Child commands and, once it has ended, its unsubscription to the router, fills and
    state changes to the desk, decisions to the journal only."""
    run = Run(minutes=10).run()
    where = {(type(m).__name__, d) for d, m in run.said}
    assert where == {
        ("PlaceChildOrder", ROUTER),
        ("CancelChildOrder", ROUTER),
        ("UnsubscribeMarketData", ROUTER),
        ("ParentOrderFilled", DESK),
        ("ParentStateChanged", DESK),
        ("ScheduleRecalibrated", JOURNAL),
    }


@pytest.mark.parametrize("crash", [False, True])
def test_a_shrink_the_desk_waits_on_is_answered_once_no_open_child_exceeds_the_remaining(crash):
    """A member's cancel shrinks the parent (a resize with a settle number): the parent
    trims its open children and answers ``ParentResizeSettled`` only once none of them
    is left beyond the new remaining quantity (until then their fills may still come);
    a parent restarted in between still owes the answer."""
    run = Run(passive_fill=0, cross=False).run(until_ns=T0 + 2 * MINUTE)
    parent = run.parent
    assert parent.open_qty >= 200 and parent.state is ParentState.WORKING
    target = parent.filled + parent.open_qty // 200 * 100  # half of what is out
    run.tell(ResizeParentOrder(parent_id="P1", quantity=target, reason="client cancel", settle=1))
    cancels = [m for m in run.said_to(ROUTER) if isinstance(m, CancelChildOrder)]
    assert cancels and parent.open_qty > parent.leaves  # cancels out, not done yet
    assert not [m for m in run.said_to(DESK) if isinstance(m, ParentResizeSettled)]
    if crash:
        run.hosted, _ = run.recover()
    run.route()  # the router confirms the cancels
    (answer,) = [m for m in run.said_to(DESK) if isinstance(m, ParentResizeSettled)]
    assert (answer.settle, answer.target) == (1, target)
    assert run.parent.open_qty <= run.parent.leaves
    run.run(until_ns=T0 + 4 * MINUTE)  # answered once
    assert len([m for m in run.said_to(DESK) if isinstance(m, ParentResizeSettled)]) == 1
