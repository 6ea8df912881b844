"""The router lets go of finished children: a child done with every venue order final is
dropped for a small ``FinishedChild``, and nothing it says changes because of that."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from test_router import DARK, LIT, VENUES, Driver, World, child, md

from engine.clock import MS
from engine.messages import (
    CancelChildOrder,
    CancelVenueOrder,
    ChildOrderDone,
    ChildOrderOverfilled,
    ChildOrderRejected,
    Liquidity,
    PlaceVenueOrder,
    RouteDecided,
    RoutingLogic,
    Tactic,
    VenueCancelRejected,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
)
from engine.routing import recovery
from engine.routing.config import DEFAULT_CONFIG
from engine.routing.orders import FinishedChild
from engine.routing.router import Router, RouterConfig

VENUE_EVENTS = (
    VenueOrderAccepted,
    VenueOrderRejected,
    VenueOrderFilled,
    VenueOrderCancelled,
    VenueCancelRejected,
)


class KeepAll(Router):
    """The reference: the router as it was, keeping every child for good."""

    def _let_go(self, child) -> None:
        pass


class RecordingDriver(Driver):
    """A ``Driver`` around any router class that remembers every venue event it fed."""

    def __init__(self, config=DEFAULT_CONFIG, router_cls=Router):
        self.events: list = []
        super().__init__(config)
        self.router = router_cls(VENUES, config)
        self.out = []
        for v in LIT + DARK:
            self.feed(md(v))

    def feed(self, msg, at=None):
        if isinstance(msg, VENUE_EVENTS):
            self.events.append(msg)
        return super().feed(msg, at)


def assert_holds_only_unfinished(router: Router, commands: int | None = None) -> None:
    held = router._children
    for c in held.values():
        assert not c.done or not all(o.final for o in c.orders.values()), c.cmd.child_id
    assert set(router._orders) == {oid for c in held.values() for oid in c.orders}
    owners = set(held) | set(router._orders)
    assert all(key[1] in owners for key in router._timers)
    assert len(router._heap) <= 2 * len(router._timers) + 65
    assert not set(held) & set(router._finished)
    if commands is not None:
        assert len(held) + router.finished == commands


def filled_child(d: Driver, cid="C1", qty=300):
    (o,) = d.placed(d.feed(child(cid, qty)))
    d.ack(o)
    fill = VenueOrderFilled(
        venue=o.venue,
        order_id=o.order_id,
        fill_id=f"{o.venue}-F1",
        quantity=qty,
        price=o.price,
        liquidity=Liquidity.MAKER,
        leaves=0,
    )
    d.fills[cid] += qty
    d.feed(fill)
    return o, fill


# ------------------------------------------------------------------ letting go


def test_a_filled_child_is_let_go_with_its_venue_orders_and_timers():
    d = Driver()
    _o, _ = filled_child(d)
    (done,) = d.to_parent(ChildOrderDone)
    assert done.reason == "filled"
    r = d.router
    assert list(r.children) == [] and r.open_children() == [] and r.finished == 1
    assert r._orders == {} and r._timers == {} and r.next_wake_ns() is None
    gone = r.children["C1"]  # still answers by id: how it ended
    assert isinstance(gone, FinishedChild) and gone.done and gone.filled == 300
    assert gone.orders == 1 and len(gone.fills) == 1
    d.check()


def test_an_open_child_and_one_with_an_order_still_unsettled_are_kept():
    d = Driver()
    (o,) = d.placed(d.feed(child("C1")))
    d.ack(o)
    d.fill(o, 100, 200)
    assert list(d.router.children) == ["C1"]
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
    d.feed(VenueOrderCancelled(venue=o.venue, order_id=o.order_id, cancelled=100))
    assert list(d.router.children) == ["C1"]  # 100 shares unaccounted: fills in flight
    d.fill(o, 100, 0)
    assert list(d.router.children) == [] and d.router.finished == 1
    d.check()


def test_an_invalid_child_is_rejected_and_let_go_at_once():
    d = Driver()
    out = d.feed(child("C1", qty=0))
    assert [type(m) for _, m in out] == [ChildOrderRejected, ChildOrderDone]
    assert d.router.finished == 1 and not d.router.children
    assert d.feed(child("C1", qty=0)) == []  # redelivered: ignored
    (clash,) = [m for _, m in d.feed(child("C1", qty=100))]
    assert isinstance(clash, ChildOrderRejected) and clash.reason == "duplicate_child_id"


# ------------------------------------------------------------------ commands again


def test_a_redelivered_command_for_a_finished_child_is_ignored_a_clash_refused():
    d = Driver()
    filled_child(d)
    cmd = d.commands["C1"]
    assert d.feed(cmd) == []
    out = d.feed(child("C1", qty=500))
    assert [(dest, type(m), m.reason) for dest, m in out] == [
        ("P1", ChildOrderRejected, "duplicate_child_id")
    ]
    assert d.feed(CancelChildOrder(parent_id="P1", child_id="C1")) == []
    assert d.router.finished == 1 and not d.router.children


# ------------------------------------------------------------------ venue messages late


def test_a_late_fill_for_a_finished_child_is_reported_as_excess_a_redelivery_is_not():
    d = Driver()
    o, fill = filled_child(d)
    assert d.feed(fill) == []  # the fill that finished it, redelivered
    late = VenueOrderFilled(
        venue=o.venue,
        order_id=o.order_id,
        fill_id=f"{o.venue}-F9",
        quantity=50,
        price=o.price,
        liquidity=Liquidity.TAKER,
        fee=7,
    )
    out = d.feed(late)
    assert out == [
        (
            "P1",
            ChildOrderOverfilled(
                parent_id="P1",
                child_id="C1",
                fill_id=late.fill_id,
                venue=o.venue,
                quantity=50,
                price=o.price,
                liquidity=Liquidity.TAKER,
                fee=7,
                reason="late_fill",
                ts=d.now,
            ),
        )
    ]
    assert (d.router.overfills, d.router.overfilled_shares) == (1, 50)
    assert d.feed(late) == []  # and that one redelivered too
    assert d.router.overfills == 1


def test_the_same_messages_as_for_a_child_kept_for_good():
    """Every stray message about a finished child's venue orders gets what it got before
    children were let go (a ``KeepAll`` router as reference)."""
    outs = []
    for cls in (Router, KeepAll):
        d = RecordingDriver(router_cls=cls)
        o, fill = filled_child(d)
        oid, v = o.order_id, o.venue
        strays = [
            fill,
            VenueOrderAccepted(venue=v, order_id=oid, leaves=300),
            VenueOrderCancelled(venue=v, order_id=oid, cancelled=300),
            VenueCancelRejected(venue=v, order_id=oid, reason="too_late"),
            VenueCancelRejected(venue=v, order_id=oid, reason="unknown_order"),
            VenueOrderRejected(venue=v, order_id=oid, reason="bad"),
            VenueOrderFilled(
                venue=v,
                order_id="C1-V7",
                fill_id="x",
                quantity=1,
                price=1,
                liquidity=Liquidity.MAKER,
            ),  # never sent: not ours
            VenueOrderFilled(
                venue=v,
                order_id=oid,
                fill_id=f"{v}-F2",
                quantity=10,
                price=o.price,
                liquidity=Liquidity.MAKER,
            ),
        ]
        outs.append([d.feed(m) for m in strays])
        assert d.router.overfills == 1
    assert outs[0] == outs[1]
    assert [len(o) for o in outs[0]] == [0, 0, 0, 0, 0, 0, 0, 1]


def test_a_late_ack_of_a_rejected_order_of_a_finished_child_is_pulled():
    d = Driver()
    (o,) = d.placed(d.feed(child("C1", logic=RoutingLogic.SEQUENTIAL)))
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))  # held until the ack...
    d.feed(VenueOrderRejected(venue=o.venue, order_id=o.order_id, reason="bad"))
    assert d.router.finished == 1
    out = d.feed(VenueOrderAccepted(venue=o.venue, order_id=o.order_id, leaves=300))
    assert out == [(o.venue, CancelVenueOrder(venue=o.venue, order_id=o.order_id, ts=d.now))]


def test_a_rejected_order_filled_in_full_after_all_is_no_longer_pulled():
    """A venue that rejected an order, then acked and filled it: while shares of it may be
    live a late ack is pulled; once fills cover every share, a late ack (older than the
    fills) is not, for a child let go as for one kept."""
    outs = []
    for cls in (Router, KeepAll):
        d = RecordingDriver(router_cls=cls)
        (o,) = d.placed(d.feed(child("C1", logic=RoutingLogic.SEQUENTIAL)))
        d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
        d.feed(VenueOrderRejected(venue=o.venue, order_id=o.order_id, reason="bad"))
        acks = []
        for fid, qty in (("F1", 200), ("F2", 100)):
            acks.append(d.cancels(d.ack(o)))
            d.feed(
                VenueOrderFilled(
                    venue=o.venue,
                    order_id=o.order_id,
                    fill_id=fid,
                    quantity=qty,
                    price=o.price,
                    liquidity=Liquidity.MAKER,
                )
            )
        acks.append(d.cancels(d.ack(o)))
        pull = CancelVenueOrder(venue=o.venue, order_id=o.order_id, ts=d.now)
        assert acks == [[pull], [pull], []]
        assert [m.quantity for m in d.to_parent(ChildOrderOverfilled)] == [200, 100]
        outs.append(d.out)
    assert outs[0] == outs[1]


def test_an_order_given_up_as_unknown_keeps_its_child_until_it_settles():
    cfg = RouterConfig(cancel_retry_ns=100 * MS)
    d = Driver(cfg)
    (o,) = d.placed(d.feed(child("C1")))
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))  # held: no ack yet
    (_cancel,) = d.cancels(d.tick(100 * MS))  # the ack never came: sent anyway
    d.feed(VenueCancelRejected(venue=o.venue, order_id=o.order_id, reason="unknown_order"))
    (done,) = d.to_parent(ChildOrderDone)
    assert done.reason == "cancelled"
    assert list(d.router.children) == ["C1"]  # the order may yet turn up at the venue
    out = d.feed(VenueOrderAccepted(venue=o.venue, order_id=o.order_id, leaves=300))
    assert d.cancels(out) == [CancelVenueOrder(venue=o.venue, order_id=o.order_id, ts=d.now)]
    out = d.fill(o, 300, 0)
    assert [type(m) for _, m in out] == [ChildOrderOverfilled]
    assert list(d.router.children) == [] and d.router.finished == 1  # settled: let go
    assert_holds_only_unfinished(d.router, commands=1)


def test_an_order_given_up_as_unknown_then_acked_is_pulled_and_let_go_once_cancelled():
    """A cancel refused as unknown_order, a late ack (the router pulls the order), then the
    venue cancels all of it: the child is let go, not held for good."""
    cfg = RouterConfig(cancel_retry_ns=100 * MS)
    d = Driver(cfg)
    (o,) = d.placed(d.feed(child("C1")))
    d.ack(o)
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
    d.tick(10 * MS)
    d.feed(VenueCancelRejected(venue=o.venue, order_id=o.order_id, reason="unknown_order"))
    (done,) = d.to_parent(ChildOrderDone)
    assert done.reason == "cancelled" and list(d.router.children) == ["C1"]
    out = d.ack(o)  # the venue has it after all: pulled, recorded, retried until answered
    pull = CancelVenueOrder(venue=o.venue, order_id=o.order_id, ts=d.now)
    assert [m for _, m in out if not isinstance(m, RouteDecided)] == [pull]
    (decided,) = [m for _, m in out if isinstance(m, RouteDecided)]
    assert "given up as unknown" in decided.reason and list(decided.scorecard) == [o.venue]
    assert d.ack(o) == []  # a repeated ack: the pull is on its way already
    assert d.router.next_wake_ns() == d.now + 100 * MS
    assert d.cancels(d.tick(100 * MS)) == [
        CancelVenueOrder(venue=o.venue, order_id=o.order_id, ts=d.now)
    ]  # no answer: again
    assert d.cancelled(o, 300) == []  # the venue's last word about it
    assert list(d.router.children) == [] and d.router.finished == 1
    assert d.router.next_wake_ns() is None
    assert_holds_only_unfinished(d.router, commands=1)
    d.check()
    for i in range(2, 5):  # no more piling up
        cid = f"C{i}"
        (q,) = d.placed(d.feed(child(cid)))
        d.ack(q)
        d.feed(CancelChildOrder(parent_id="P1", child_id=cid))
        d.feed(VenueCancelRejected(venue=q.venue, order_id=q.order_id, reason="unknown_order"))
        d.ack(q)
        d.cancelled(q, 300)
    assert (len(d.router.children), d.router.finished, d.router._timers) == (0, 4, {})


def test_a_pulled_order_the_venue_filled_meanwhile_stops_the_retries_and_is_let_go():
    d = Driver(RouterConfig(cancel_retry_ns=100 * MS))
    (o,) = d.placed(d.feed(child("C1")))
    d.ack(o)
    d.feed(CancelChildOrder(parent_id="P1", child_id="C1"))
    d.feed(VenueCancelRejected(venue=o.venue, order_id=o.order_id, reason="unknown_order"))
    d.ack(o)  # pulled
    d.fill(o, 100, 200)  # excess: the child is done
    d.feed(VenueCancelRejected(venue=o.venue, order_id=o.order_id, reason="too_late"))
    assert d.router.next_wake_ns() is None  # answered: no more retries
    assert list(d.router.children) == ["C1"]  # 200 shares' fills still on their way
    d.fill(o, 200, 0)
    assert list(d.router.children) == [] and d.router.finished == 1
    assert [m.quantity for m in d.to_parent(ChildOrderOverfilled)] == [100, 200]


# ------------------------------------------------------------------ restart


def _journal(d: RecordingDriver) -> list:
    """What the journal would hold: the parents' commands, the router's output and the
    venues' events (each journaled by its sender)."""
    return [*d.commands.values(), *(m for _, m in d.out), *d.events]


def test_a_restarted_router_lets_go_of_finished_children_and_answers_as_before():
    d = RecordingDriver(router_cls=Router)
    o1, fill1 = filled_child(d, "C1")
    (o2,) = d.placed(d.feed(child("C2", 300)))
    d.ack(o2)
    d.fill(o2, 100, 200)  # C2 still open at the restart
    before = d.router

    restarted = Router(VENUES, RouterConfig())
    out = recovery.recover(restarted, recovery.fold(_journal(d)), d.now)
    assert list(restarted.children) == ["C2"] and restarted.finished == 1
    assert restarted.children["C1"].filled == 300
    assert [type(m) for _, m in out].count(CancelVenueOrder) == 1  # reconcile C2's order
    assert_holds_only_unfinished(restarted, commands=2)

    late = VenueOrderFilled(
        venue=o1.venue,
        order_id=o1.order_id,
        fill_id="late",
        quantity=20,
        price=o1.price,
        liquidity=Liquidity.MAKER,
    )
    for msg in (d.commands["C1"], child("C1", qty=900), fill1, late, late):
        assert restarted.handle(msg, d.now) == before.handle(msg, d.now)
    assert restarted.overfills == before.overfills == 1


def test_restart_reports_a_fill_the_old_instance_never_forwarded_for_a_finished_child():
    d = RecordingDriver(router_cls=Router)
    o, _ = filled_child(d, "C1")
    # the venue journaled a late fill, the old router died before handling it
    d.events.append(
        VenueOrderFilled(
            venue=o.venue,
            order_id=o.order_id,
            fill_id="late",
            quantity=30,
            price=o.price,
            liquidity=Liquidity.MAKER,
        )
    )
    restarted = Router(VENUES, RouterConfig())
    out = recovery.recover(restarted, recovery.fold(_journal(d)), d.now)
    (over,) = [m for _, m in out if isinstance(m, ChildOrderOverfilled)]
    assert (over.child_id, over.quantity, over.reason) == ("C1", 30, "late_fill")
    assert restarted.finished == 1 and not restarted.children


# ------------------------------------------------------------------ property


class Twin:
    """Two worlds fed the same actions: a router that lets go, and ``KeepAll``."""

    def __init__(self, config):
        self.worlds = []
        for cls in (Router, KeepAll):
            w = World(config)
            w.d = RecordingDriver(config, cls)
            self.worlds.append(w)

    def act(self, action, k, q):
        for w in self.worlds:
            if action < 6:
                w.step(action, k, q)
            else:
                self.stray(w, k, q)
        a, b = (w.d for w in self.worlds)
        assert a.out == b.out
        assert_holds_only_unfinished(a.router, commands=len(a.commands))

    @staticmethod
    def stray(w, k, q):
        """A message the network or a venue should not have sent, but might."""
        d = w.d
        kind = k % 7
        if kind == 0 and d.events:  # a venue event delivered twice
            w.take(d.feed(d.events[k % len(d.events)]))
        elif kind == 1 and w.fills:  # a fill the venue should not have made
            oid = sorted(w.fills)[k % len(w.fills)]
            venue = next(
                m.venue for _, m in d.out if isinstance(m, PlaceVenueOrder) and m.order_id == oid
            )
            w.take(
                d.feed(
                    VenueOrderFilled(
                        venue=venue,
                        order_id=oid,
                        fill_id=f"stray{k}",
                        quantity=q or 1,
                        price=1,
                        liquidity=Liquidity.MAKER,
                    )
                )
            )
        elif kind == 2 and d.commands:  # a parent command delivered twice
            cids = sorted(d.commands)
            w.take(d.feed(d.commands[cids[k % len(cids)]]))
        elif kind == 3 and d.commands:  # a different command under a known child id
            cid = sorted(d.commands)[k % len(d.commands)]
            w.take(d.feed(child(cid, 100 * (k % 3 + 1), tactic=Tactic.AGGRESSIVE)))
        elif kind >= 4 and w.fills:  # a venue contradicting itself about an order it has:
            oid = sorted(w.fills)[k // 7 % len(w.fills)]
            placed = next(
                m for _, m in d.out if isinstance(m, PlaceVenueOrder) and m.order_id == oid
            )
            v = placed.venue
            if kind == 4:  # ... a cancel refused as unknown (the router gives it up)
                w.take(d.feed(VenueCancelRejected(venue=v, order_id=oid, reason="unknown_order")))
            elif kind == 5:  # ... then a (late, or repeated) ack: the router pulls it
                w.take(d.feed(VenueOrderAccepted(venue=v, order_id=oid, leaves=placed.quantity)))
            else:  # ... and it confirms a cancel: of every share, or of some
                cancelled = placed.quantity if q % 2 else q % (placed.quantity + 1)
                w.take(d.feed(VenueOrderCancelled(venue=v, order_id=oid, cancelled=cancelled)))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    children=st.lists(
        st.tuples(
            st.sampled_from(list(RoutingLogic)), st.sampled_from(list(Tactic)), st.integers(1, 8)
        ),
        min_size=1,
        max_size=4,
    ),
    actions=st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 50), st.integers(0, 400)), max_size=80
    ),
    overallocate=st.booleans(),
)
@example(  # a rejected order acked late, then filled in full: a later ack is not pulled
    children=[(RoutingLogic.SEQUENTIAL, Tactic.PASSIVE, 1)],
    actions=[(3, 42, 0), (0, 0, 0)],
    overallocate=False,
)
def test_letting_go_changes_no_message(children, actions, overallocate):
    twin = Twin(
        RouterConfig(
            overallocate=overallocate,
            sequential_timeout_ns=200 * MS,
            dark_timeout_ns=300 * MS,
            cancel_retry_ns=150 * MS,
            ck_iterations=100,
        )
    )
    for i, (logic, tactic, lots) in enumerate(children):
        for w in twin.worlds:
            w.take(w.d.feed(child(f"C{i}", lots * 100, logic, tactic)))
    for action, k, q in actions:
        twin.act(action, k, q)
    for w in twin.worlds:
        w.drain()
    a, b = (w.d for w in twin.worlds)
    assert a.out == b.out
    assert_holds_only_unfinished(a.router, commands=len(a.commands))
    assert not a.router.open_children()
    for k in range(49):  # every child is finished now: strays about let-go children
        twin.act(6, k, 30 + k % 2)
