"""The router as a pure state machine, driven by events in adversarial orders."""

from __future__ import annotations

from collections import Counter, defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.clock import MS, SECOND
from engine.config import VenueConfig
from engine.contract import JOURNAL
from engine.messages import (
    BookLevel,
    CancelChildOrder,
    CancelVenueOrder,
    ChildOrderAccepted,
    ChildOrderDone,
    ChildOrderFilled,
    ChildOrderOverfilled,
    Liquidity,
    MarketDataUpdated,
    PlaceChildOrder,
    PlaceVenueOrder,
    RouteDecided,
    RoutingLogic,
    Side,
    Tactic,
    TimeInForce,
    VenueCancelRejected,
    VenueKind,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueStatus,
    VenueStatusChanged,
)
from engine.routing.config import DEFAULT_CONFIG
from engine.routing.router import Router, RouterConfig

BID, ASK = 99_990_000, 100_010_000
LIT = ["LIT1", "LIT2", "LIT3"]
DARK = ["DARK1", "DARK2"]
VENUES = [VenueConfig(name=v) for v in LIT] + [
    VenueConfig(name=v, kind=VenueKind.DARK, maker_fee=1_000, taker_fee=1_000) for v in DARK
]


def md(venue, size=500, status=VenueStatus.UP, volume=0):
    kind = VenueKind.DARK if venue in DARK else VenueKind.LIT
    levels = (
        {"bids": [BookLevel(BID, size)], "asks": [BookLevel(ASK, size)]}
        if kind is VenueKind.LIT
        else {}
    )
    return MarketDataUpdated(
        venue=venue, instrument="XYZ", kind=kind, status=status, volume=volume, **levels
    )


def left_behind(venue):
    """The venue's bid moves up a tick past a resting buy at ``BID``."""
    return MarketDataUpdated(
        venue=venue,
        instrument="XYZ",
        kind=VenueKind.LIT,
        status=VenueStatus.UP,
        bids=[BookLevel(BID + 10_000, 500)],
        asks=[BookLevel(ASK, 500)],
    )


def child(cid="C1", qty=300, logic=RoutingLogic.SEQUENTIAL, tactic=Tactic.PASSIVE, **kw):
    return PlaceChildOrder(
        parent_id="P1",
        child_id=cid,
        instrument="XYZ",
        side=Side.BUY,
        quantity=qty,
        routing=logic,
        tactic=tactic,
        **kw,
    )


class Driver:
    """Feeds the router and keeps every output; checks the child-lifecycle invariants."""

    def __init__(self, config=DEFAULT_CONFIG):
        self.router = Router(VENUES, config)
        self.now = 0
        self.out: list = []
        self.fills: dict[str, int] = defaultdict(int)  # venue shares filled per child
        self.commands: dict[str, PlaceChildOrder] = {}  # first command per child id
        for v in LIT + DARK:
            self.feed(md(v))

    def feed(self, msg, at=None):
        self.now = self.now if at is None else at
        if isinstance(msg, PlaceChildOrder):
            self.commands.setdefault(msg.child_id, msg)
        out = self.router.handle(msg, self.now)
        self.out += out
        return out

    def tick(self, dt):
        self.now += dt
        out = self.router.on_wake(self.now)
        self.out += out
        return out

    def placed(self, out=None):
        return [m for _, m in (self.out if out is None else out) if isinstance(m, PlaceVenueOrder)]

    def cancels(self, out=None):
        return [m for _, m in (self.out if out is None else out) if isinstance(m, CancelVenueOrder)]

    def to_parent(self, kind):
        return [m for d, m in self.out if isinstance(m, kind) and d == m.parent_id]

    # venue side
    def ack(self, o):
        return self.feed(VenueOrderAccepted(venue=o.venue, order_id=o.order_id, leaves=o.quantity))

    def fill(self, o, qty, leaves, fid=None, price=None):
        self.fills[o.child_id] += qty
        return self.feed(
            VenueOrderFilled(
                venue=o.venue,
                order_id=o.order_id,
                fill_id=fid or f"{o.order_id}-F{leaves}",
                quantity=qty,
                price=price or o.price or ASK,
                liquidity=Liquidity.MAKER,
                leaves=leaves,
            )
        )

    def cancelled(self, o, qty):
        return self.feed(VenueOrderCancelled(venue=o.venue, order_id=o.order_id, cancelled=qty))

    def check(self, overallocate=False):
        done = Counter(m.child_id for m in self.to_parent(ChildOrderDone))
        filled, excess = defaultdict(int), defaultdict(int)
        for m in self.to_parent(ChildOrderFilled):
            filled[m.child_id] += m.quantity
        for m in self.to_parent(ChildOrderOverfilled):
            excess[m.child_id] += m.quantity
        for cid, cmd in self.commands.items():
            assert done[cid] == 1, f"{cid} done {done[cid]} times"
            assert filled[cid] <= cmd.quantity, f"{cid} overfilled"
            assert filled[cid] + excess[cid] == self.fills[cid], "a fill went missing"
            if not overallocate:
                assert excess[cid] == 0
        # a finished child is let go unless a venue order of it may still turn up
        for c in self.router.children.values():
            assert c.done and not c.live_orders() and not all(o.final for o in c.orders.values())
        dones = {m.child_id: m for m in self.to_parent(ChildOrderDone)}
        for cid, m in dones.items():
            assert m.filled == filled[cid] and m.filled + m.cancelled == self.commands[cid].quantity


# ------------------------------------------------------------------ basics


def test_accept_route_fill_done_with_deterministic_ids_and_a_decision():
    d = Driver()
    out = d.feed(child(), at=10)
    assert [type(m) for _, m in out] == [ChildOrderAccepted, PlaceVenueOrder, RouteDecided]
    (o,) = d.placed(out)
    assert o.order_id == "C1-V1" and o.price == BID and o.tif is TimeInForce.DAY
    assert o.ts == 10 and o.msg_id == 0 and out[1][0] == o.venue
    decision = out[2][1]
    assert out[2][0] == JOURNAL and decision.reason.startswith("sequential")
    assert set(decision.scorecard) == set(LIT) and "fill_prob" in decision.scorecard["LIT1"]
    d.ack(o)
    d.fill(o, 300, 0)
    (done,) = d.to_parent(ChildOrderDone)
    assert (done.filled, done.cancelled, done.reason) == (300, 0, "filled")
    d.check()


def test_every_decision_records_scorecard_values_cancels_and_waits_too():
    """The audit trail has each routing decision's reason and scorecard values, also for
    decisions the planner does not make: a timeout's cancel, a child's cancel, a wait."""
    d = Driver(RouterConfig(sequential_timeout_ns=SECOND))
    d.feed(child())
    (first,) = d.placed()
    d.ack(first)
    d.feed(left_behind(first.venue))
    d.tick(SECOND)  # resting timeout, left behind: cancel at that venue, re-route the rest
    d.cancelled(first, 300)
    (second,) = d.placed()[1:]
    d.ack(second)
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
    for v in LIT:  # nowhere to go: the next child waits
        d.feed(md(v, status=VenueStatus.DOWN))
    d.feed(child(cid="C2"))
    decisions = [m for _, m in d.out if isinstance(m, RouteDecided)]
    reasons = [m.reason.split(" ")[0].rstrip(":") for m in decisions]
    # the last cancel pulls the still-pending cancel's order from the venue that went down
    assert reasons == ["sequential", "cancel", "sequential", "cancel", "cancel", "wait"]
    for m in decisions:
        assert m.scorecard, m.reason
        assert all("fill_prob" in values for values in m.scorecard.values())
    timeout, child_cancel, venue_down, wait = decisions[1], *decisions[3:]
    assert set(timeout.scorecard) == {first.venue}
    assert set(child_cancel.scorecard) == set(venue_down.scorecard) == {second.venue}
    assert set(wait.scorecard) == set(LIT + DARK)


def test_sequential_timeout_keeps_an_order_at_the_touch_and_moves_one_left_behind():
    d = Driver(RouterConfig(sequential_timeout_ns=SECOND))
    d.feed(child())
    (first,) = d.placed()
    d.ack(first)
    d.fill(first, 100, 200)  # partial: the remainder is re-routed after the timeout ...
    assert d.router.next_wake_ns() == SECOND
    out = d.tick(SECOND)
    # ... unless it still rests at its venue's best bid: there it keeps its queue place
    assert not d.cancels(out) and not d.placed(out)
    assert d.router.next_wake_ns() == 2 * SECOND
    d.feed(left_behind(first.venue))
    out = d.tick(SECOND)
    assert [c.order_id for c in d.cancels(out)] == [first.order_id]
    out = d.cancelled(first, 200)
    (second,) = d.placed(out)
    # the market left it, not its venue: the cheapest venue again, at its new bid
    assert (second.venue, second.price, second.quantity) == (first.venue, BID + 10_000, 200)
    assert second.order_id == "C1-V2"
    d.ack(second)
    d.fill(second, 200, 0)
    d.check()


def test_resting_at_the_limit_behind_the_touch_keeps_its_place_until_the_market_returns():
    d = Driver(RouterConfig(sequential_timeout_ns=SECOND))
    d.feed(child(limit_price=BID - 10_000))  # the touch is better than the limit
    (o,) = d.placed()
    assert o.price == BID - 10_000
    d.ack(o)
    out = d.tick(SECOND) + d.tick(SECOND) + d.tick(SECOND)
    assert not d.cancels(out) and not d.placed(out), "moved the same price elsewhere"
    keep = [m for _, m in out if isinstance(m, RouteDecided)]
    assert len(keep) == 1 and keep[0].reason.startswith(f"keep {o.order_id} at {o.venue}")
    # the market comes back to the limit
    d.feed(
        MarketDataUpdated(
            venue=o.venue,
            instrument="XYZ",
            kind=VenueKind.LIT,
            status=VenueStatus.UP,
            bids=[BookLevel(BID - 10_000, 800)],
            asks=[BookLevel(ASK, 500)],
        )
    )
    for v in LIT:
        if v != o.venue:
            d.feed(
                MarketDataUpdated(
                    venue=v,
                    instrument="XYZ",
                    kind=VenueKind.LIT,
                    status=VenueStatus.UP,
                    bids=[BookLevel(BID - 10_000, 300)],
                    asks=[BookLevel(ASK, 500)],
                )
            )
    # at the touch now, it keeps its place there (the queue it waited in is its own)
    out = d.tick(SECOND)
    assert not d.cancels(out) and not d.placed(out)
    d.fill(o, 300, 0)
    d.check()


def test_aggressive_is_a_marketable_ioc_and_an_empty_round_waits_before_retrying():
    d = Driver()
    d.feed(child(tactic=Tactic.AGGRESSIVE))
    (o,) = d.placed()
    assert o.price == ASK and o.tif is TimeInForce.IOC
    d.ack(o)
    out = d.cancelled(o, 300)  # nothing filled: next venue at once (sequential cycle)
    (o2,) = d.placed(out)
    assert o2.venue != o.venue
    d.ack(o2)
    d.fill(o2, 100, 200)
    out = d.cancelled(o2, 200)
    assert d.placed(out)[0].quantity == 200  # the partial fill's remainder is re-routed


def test_limit_price_is_never_breached():
    d = Driver()
    d.feed(child(tactic=Tactic.AGGRESSIVE, limit_price=ASK - 10_000))
    (o,) = d.placed()
    assert o.price <= ASK - 10_000


def test_parallel_sweep_posts_at_once_where_the_limit_is_short_of_every_far_touch():
    d = Driver()
    d.feed(
        child(
            qty=900, logic=RoutingLogic.PARALLEL, tactic=Tactic.AGGRESSIVE, limit_price=ASK - 10_000
        )
    )
    orders = d.placed()
    assert len(orders) == 3 and sum(o.quantity for o in orders) == 900
    assert all(o.price == ASK - 10_000 and o.tif is TimeInForce.DAY for o in orders)
    # a sequential child probes the venues' live books with IOCs as before
    d.feed(child(cid="C2", tactic=Tactic.AGGRESSIVE, limit_price=ASK - 10_000))
    (o,) = d.placed()[3:]
    assert o.tif is TimeInForce.IOC and o.price == ASK - 10_000


def test_parallel_sweep_sizes_within_remaining_and_cancels_the_rest_once_filled():
    d = Driver()
    d.feed(child(qty=900, logic=RoutingLogic.PARALLEL, tactic=Tactic.AGGRESSIVE))
    orders = d.placed()
    assert len(orders) == 3 and sum(o.quantity for o in orders) == 900
    for o in orders:
        d.ack(o)
    d.fill(orders[0], orders[0].quantity, 0)
    d.fill(orders[1], orders[1].quantity, 0)
    d.fill(orders[2], orders[2].quantity, 0)
    d.check()


def test_rejected_venue_order_is_rerouted_elsewhere():
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    out = d.feed(VenueOrderRejected(venue=o.venue, order_id=o.order_id, reason="throttled"))
    (o2,) = d.placed(out)
    assert o2.venue != o.venue and o2.quantity == 300


def test_every_venue_rejecting_ends_the_child():
    d = Driver()
    d.feed(child())
    for _ in range(3):
        (o,) = d.placed()[-1:]
        d.feed(VenueOrderRejected(venue=o.venue, order_id=o.order_id, reason="bad"))
    (done,) = d.to_parent(ChildOrderDone)
    assert done.reason == "rejected" and done.cancelled == 300
    d.check()


def test_midpoint_goes_to_dark_pools_and_expiry_ends_the_child():
    d = Driver()
    d.feed(child(tactic=Tactic.MIDPOINT, expire_at=3 * SECOND))
    (o,) = d.placed()
    assert o.venue in DARK
    d.ack(o)
    d.tick(3 * SECOND)
    assert d.cancels() and not d.to_parent(ChildOrderDone)
    d.cancelled(o, 300)
    (done,) = d.to_parent(ChildOrderDone)
    assert done.reason == "expired"
    d.check()


def test_liquidity_seeking_probes_dark_then_splits_lit_by_cont_kukanov():
    d = Driver()
    d.feed(child(qty=1_000, logic=RoutingLogic.LIQUIDITY_SEEKING))
    darks = d.placed()
    assert {o.venue for o in darks} == set(DARK) and sum(o.quantity for o in darks) == 1_000
    for o in darks:
        d.ack(o)
    d.fill(darks[0], 200, darks[0].quantity - 200)
    d.tick(5 * SECOND)  # dark timeout
    before = len(d.placed())
    for o in darks:
        d.cancelled(o, o.quantity - (200 if o is darks[0] else 0))
    lit = d.placed()[before:]
    assert lit and all(o.venue in LIT for o in lit)
    assert sum(o.quantity for o in lit) == 800  # no over-allocation by default
    decision = [m for _, m in d.out if isinstance(m, RouteDecided)][-1]
    assert "Cont–Kukanov" in decision.reason and "cont_kukanov" in decision.scorecard


# ------------------------------------------------------------------ races


def test_fill_arriving_after_cancel_was_sent_is_reported_and_never_overfills():
    d = Driver(RouterConfig(sequential_timeout_ns=SECOND))
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    d.tick(SECOND)  # cancel sent
    d.fill(o, 120, 180)  # fill raced the cancel
    out = d.cancelled(o, 180)
    (o2,) = d.placed(out)
    assert o2.quantity == 180
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
    d.ack(o2)
    d.cancelled(o2, 180)
    (done,) = d.to_parent(ChildOrderDone)
    assert (done.filled, done.cancelled, done.reason) == (120, 180, "cancelled")
    d.check()


def test_cancel_rejected_too_late_waits_for_the_fill():
    d = Driver()
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
    d.feed(VenueCancelRejected(venue=o.venue, order_id=o.order_id, reason="too_late"))
    assert not d.to_parent(ChildOrderDone)  # the fill is in flight
    d.fill(o, 300, 0)
    (done,) = d.to_parent(ChildOrderDone)
    assert done.filled == 300
    d.check()


def test_cancelled_overtaking_its_fill_keeps_the_shares_at_risk():
    d = Driver(RouterConfig(sequential_timeout_ns=SECOND))
    d.feed(child())
    (o,) = d.placed()
    d.ack(o)
    d.tick(SECOND)
    out = d.cancelled(o, 200)  # venue filled 100 first, but that fill arrives later
    assert not d.placed(out), "re-routed shares that may still fill"
    out = d.fill(o, 100, 0)
    assert d.placed(out)[0].quantity == 200


def test_venue_down_mid_sweep_pulls_its_orders_and_avoids_it_until_up():
    d = Driver()
    # a take capped below the offers: posted at the limit on every venue at once
    d.feed(child(qty=900, logic=RoutingLogic.PARALLEL, tactic=Tactic.AGGRESSIVE, limit_price=BID))
    orders = d.placed()
    for o in orders:
        d.ack(o)
    down = orders[1].venue
    out = d.feed(VenueStatusChanged(venue=down, status=VenueStatus.DOWN))
    assert [c.order_id for c in d.cancels(out)] == [orders[1].order_id]
    out = d.feed(VenueCancelRejected(venue=down, order_id=orders[1].order_id, reason="venue_down"))
    assert not d.placed(out)  # still at risk: no re-route without over-allocation
    d.tick(SECOND)  # cancel retried while down
    d.fill(orders[0], orders[0].quantity, 0)
    d.fill(orders[2], orders[2].quantity, 0)
    out = d.feed(VenueStatusChanged(venue=down, status=VenueStatus.UP))
    assert [c.order_id for c in d.cancels(out)] == [orders[1].order_id]  # sent again
    out = d.cancelled(orders[1], orders[1].quantity)  # the round is settled: re-route
    rerouted = d.placed(out)
    assert sum(o.quantity for o in rerouted) == orders[1].quantity
    for o in rerouted:
        d.fill(o, o.quantity, 0)
    d.check()


def test_venue_down_with_overallocation_reroutes_stranded_shares_at_once():
    d = Driver(RouterConfig(overallocate=True, overallocation_factor=1.0))
    d.feed(child(qty=900, logic=RoutingLogic.PARALLEL))
    orders = d.placed()
    out = d.feed(VenueStatusChanged(venue=orders[0].venue, status=VenueStatus.DOWN))
    rerouted = d.placed(out)
    assert rerouted and orders[0].venue not in {o.venue for o in rerouted}


def test_down_venue_is_not_routed_to():
    d = Driver()
    d.feed(VenueStatusChanged(venue="LIT1", status=VenueStatus.DOWN))
    d.feed(VenueStatusChanged(venue="LIT2", status=VenueStatus.DOWN))
    d.feed(child())
    assert {o.venue for o in d.placed()} == {"LIT3"}


def test_overallocation_race_reports_the_excess_explicitly():
    d = Driver(RouterConfig(overallocate=True))
    d.feed(child(qty=300, logic=RoutingLogic.PARALLEL, tactic=Tactic.AGGRESSIVE))
    orders = d.placed()
    assert sum(o.quantity for o in orders) > 300  # over-allocated on purpose
    for o in orders:
        d.ack(o)
    for o in orders:  # every venue fills before our cancels land
        d.fill(o, o.quantity, 0)
    (done,) = d.to_parent(ChildOrderDone)
    assert done.filled == 300
    excess = d.to_parent(ChildOrderOverfilled)
    assert sum(m.quantity for m in excess) == sum(o.quantity for o in orders) - 300
    assert d.router.overfilled_shares == sum(m.quantity for m in excess)
    d.check(overallocate=True)


def test_overallocation_never_applies_to_resting_orders():
    """A resting order is exposed until cancelled, and one price move (or one contra
    block) fills it on every venue at once: only IOC takes are over-allocated."""
    d = Driver(RouterConfig(overallocate=True))
    d.feed(child(qty=900, logic=RoutingLogic.PARALLEL))  # passive: lit, resting
    d.feed(child(cid="C2", qty=900, logic=RoutingLogic.PARALLEL, tactic=Tactic.MIDPOINT))
    d.feed(child(cid="C3", qty=900, logic=RoutingLogic.LIQUIDITY_SEEKING, tactic=Tactic.MIDPOINT))
    sent = Counter()
    for o in d.placed():
        assert o.tif is TimeInForce.DAY
        sent[o.child_id] += o.quantity
    assert sent == {"C1": 900, "C2": 900, "C3": 900}


def test_waiting_child_routes_once_a_venue_comes_back():
    d = Driver()
    for v in LIT:
        d.feed(VenueStatusChanged(venue=v, status=VenueStatus.DOWN))
    d.feed(child())
    assert not d.placed()
    out = d.feed(md("LIT2"))
    assert [o.venue for o in d.placed(out)] == ["LIT2"]


# ------------------------------------------------------- random interleavings


class FakeVenue:
    """Just enough venue: acks, rests day orders, fills when told, cancels, goes down."""

    def __init__(self, name):
        self.name, self.up, self.leaves, self.known, self.seq = name, True, {}, set(), 0

    def on(self, msg, ioc_fill):
        if isinstance(msg, PlaceVenueOrder):
            if not self.up:
                return [
                    VenueOrderRejected(venue=self.name, order_id=msg.order_id, reason="venue_down")
                ]
            self.known.add(msg.order_id)
            out = [VenueOrderAccepted(venue=self.name, order_id=msg.order_id, leaves=msg.quantity)]
            self.leaves[msg.order_id] = msg.quantity
            if msg.tif is TimeInForce.IOC:
                q = min(ioc_fill, msg.quantity)
                if q:
                    out += self.fill(msg.order_id, q)
                if self.leaves.get(msg.order_id):
                    out.append(
                        VenueOrderCancelled(
                            venue=self.name,
                            order_id=msg.order_id,
                            cancelled=self.leaves.pop(msg.order_id),
                        )
                    )
            return out
        if not self.up:
            return [
                VenueCancelRejected(venue=self.name, order_id=msg.order_id, reason="venue_down")
            ]
        if msg.order_id in self.leaves:
            return [
                VenueOrderCancelled(
                    venue=self.name, order_id=msg.order_id, cancelled=self.leaves.pop(msg.order_id)
                )
            ]
        reason = "too_late" if msg.order_id in self.known else "unknown_order"
        return [VenueCancelRejected(venue=self.name, order_id=msg.order_id, reason=reason)]

    def fill(self, oid, q):
        self.leaves[oid] -= q
        left = self.leaves[oid]
        if not left:
            del self.leaves[oid]
        self.seq += 1
        return [
            VenueOrderFilled(
                venue=self.name,
                order_id=oid,
                fill_id=f"{self.name}-F{self.seq}",
                quantity=q,
                price=BID,
                liquidity=Liquidity.MAKER,
                leaves=left,
            )
        ]


class World:
    """Router + fake venues + a network whose deliveries hypothesis reorders."""

    def __init__(self, config):
        self.d = Driver(config)
        self.venues = {v: FakeVenue(v) for v in LIT + DARK}
        self.to_venues: list = []  # commands in flight, FIFO per order (a cancel never overtakes)
        self.to_router: list = []  # venue events in flight, any order
        self.fills: dict[str, str] = {}  # venue order id → child id

    def take(self, out):
        for dest, m in out:
            if isinstance(m, PlaceVenueOrder):
                self.fills[m.order_id] = m.child_id
            if dest in self.venues:
                self.to_venues.append(m)

    def step(self, action, k, q):
        d = self.d
        if action == 0 and self.to_venues:
            m = self.to_venues.pop(0 if k % 2 else min(k, len(self.to_venues) - 1))
            first = [x for x in self.to_venues if x.order_id == m.order_id]
            if isinstance(m, CancelVenueOrder) and first and isinstance(first[0], PlaceVenueOrder):
                self.to_venues.remove(first[0])
                self.to_venues.insert(0, m)
                m = first[0]
            self.to_router += self.venues[m.venue].on(m, q)
        elif action == 1 and self.to_router:
            m = self.to_router.pop(k % len(self.to_router))
            if isinstance(m, VenueOrderFilled):
                d.fills[self.fills[m.order_id]] += m.quantity
            self.take(d.feed(m))
        elif action == 2:  # the market trades against a resting order
            resting = sorted((v, oid) for v, fv in self.venues.items() for oid in fv.leaves)
            if resting and q:
                v, oid = resting[k % len(resting)]
                self.to_router += self.venues[v].fill(oid, min(q, self.venues[v].leaves[oid]))
        elif action == 3:  # a venue flips up/down
            fv = self.venues[sorted(self.venues)[k % len(self.venues)]]
            fv.up = not fv.up
            status = VenueStatus.UP if fv.up else VenueStatus.DOWN
            self.take(d.feed(VenueStatusChanged(venue=fv.name, status=status)))
        elif action == 4:
            self.take(d.tick(q * 10 * MS))
        elif action == 5:
            cids = sorted(d.commands)  # finished ones too: a cancel of one is ignored
            if cids:
                self.take(d.feed(CancelChildOrder(parent_id="P1", child_id=cids[k % len(cids)])))

    def drain(self):
        d = self.d
        for fv in self.venues.values():
            if not fv.up:
                fv.up = True
                self.take(d.feed(VenueStatusChanged(venue=fv.name, status=VenueStatus.UP)))
        for cid in sorted(d.commands):
            self.take(d.feed(CancelChildOrder(parent_id="P1", child_id=cid)))
        for _ in range(10_000):
            if self.to_venues:
                self.step(0, 1, 0)
            elif self.to_router:
                self.step(1, 0, 0)
            elif d.router.next_wake_ns() is not None:
                self.take(d.tick(max(0, d.router.next_wake_ns() - d.now)))
            else:
                return


LOGICS = st.sampled_from(list(RoutingLogic))
TACTICS = st.sampled_from(list(Tactic))
ACTIONS = st.lists(
    st.tuples(st.integers(0, 5), st.integers(0, 50), st.integers(0, 400)), max_size=80
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    children=st.lists(st.tuples(LOGICS, TACTICS, st.integers(1, 12)), min_size=1, max_size=3),
    actions=ACTIONS,
    overallocate=st.booleans(),
)
def test_random_interleavings_keep_every_invariant(children, actions, overallocate):
    w = World(
        RouterConfig(
            overallocate=overallocate,
            sequential_timeout_ns=200 * MS,
            dark_timeout_ns=300 * MS,
            ck_iterations=200,
        )
    )
    for i, (logic, tactic, lots) in enumerate(children):
        w.take(w.d.feed(child(f"C{i}", lots * 100, logic, tactic)))
    for action, k, q in actions:
        w.step(action, k, q)
    w.drain()
    assert not w.to_router and not w.to_venues
    w.d.check(overallocate=overallocate)


def test_same_inputs_same_outputs():
    def run():
        w = World(RouterConfig(ck_iterations=200))
        w.take(w.d.feed(child("C0", 1_000, RoutingLogic.LIQUIDITY_SEEKING)))
        w.take(w.d.feed(child("C1", 700, RoutingLogic.PARALLEL, Tactic.AGGRESSIVE)))
        for i in range(60):
            w.step(i % 5, i * 7, (i * 37) % 300)
        w.drain()
        return [(dest, m) for dest, m in w.d.out]

    assert run() == run()


def test_scorecard_summaries_shared_until_a_summary_changes():
    """The scorecard values a decision records are one object reused between decisions
    while nothing in them changed, and a fresh one (with the new values) after a change."""
    from engine.messages import Liquidity, PlaceVenueOrder, Side, VenueOrderFilled
    from engine.routing.scorecard import Scorecard

    card = Scorecard()
    venues = ["B", "A"]
    first = card.summaries(venues, "XYZ")
    assert list(first) == ["A", "B"]
    assert card.summaries(venues, "XYZ") is first
    assert card.summaries(["A"], "XYZ") == {"A": first["A"]}
    card.record(
        PlaceVenueOrder(
            venue="A",
            order_id="o1",
            parent_id="P",
            child_id="C",
            instrument="XYZ",
            side=Side.BUY,
            quantity=100,
            price=10,
        ),
        0,
    )
    assert card.summaries(venues, "XYZ") is first  # an order sent changes no summary
    card.record(
        VenueOrderFilled(
            venue="A",
            order_id="o1",
            fill_id="f1",
            quantity=100,
            price=10,
            liquidity=Liquidity.MAKER,
            leaves=0,
        ),
        1,
    )
    second = card.summaries(venues, "XYZ")
    assert second is not first and second["A"] != first["A"] and second["B"] == first["B"]
    assert second == {v: card.stats(v, "XYZ").summary(card.reported(v, "XYZ")) for v in ["A", "B"]}
