"""A router actor that crashes mid-run is restarted, rebuilt from the journal, and
reconciles its venue orders before it acts.

Real actors on the simulated clock (engine API: 2 lit + 1 dark venue, a TWAP order); the
fault is a test subclass of ``RouterActor`` that the engine starts in place of the real
one. Two ways to die on the Nth venue fill: before handling it and after journaling a
decision about it (a bug in the routing logic). Either way the venue journaled the fill
when it sent it, as it journaled every event dead-lettered while the router was down or
still in flight at the restart: recovery applies them all, so no share is unaccounted.
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

import pytest

from actors import api
from actors.api import ROUTER, Engine
from actors.router_actor import RouterActor
from engine.messages import (
    ActorFailed,
    ActorRestarted,
    CancelVenueOrder,
    ChildOrderDone,
    ChildOrderFilled,
    ChildOrderOverfilled,
    ExecType,
    ExecutionReport,
    Mandate,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentState,
    ParentStateChanged,
    PlaceChildOrder,
    PlaceVenueOrder,
    RouteDecided,
    RoutingLogic,
    StrategyName,
    Urgency,
    VenueCancelRejected,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
)
from tests.actors.recovery_support import (
    CLIENTS,
    END,
    RUN_UNTIL,
    START,
    EngineFactory,
    assert_escalated_by_the_engine,
    assert_restart_is_deterministic,
    journal_of,
    run_to_escalation,
)

CRASH_ON_FILL = 17  # mid-run, with venue orders live


class CrashBeforeJournal(RouterActor):
    """Generation 0 dies on its Nth venue fill before handling it: that fill, and the rest
    of the wave addressed to the router, never reach it (dead letters). The venues
    journaled all of them."""

    crash: ClassVar[list[VenueOrderFilled]] = []  # the fill it died on

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fills_seen = 0

    def receive(self, msg, sender):
        if isinstance(msg, VenueOrderFilled) and self.generation == 0:
            self.fills_seen += 1
            if self.fills_seen == CRASH_ON_FILL:
                type(self).crash.append(msg)
                raise RuntimeError("injected router fault")
        super().receive(msg, sender)


class CrashAfterJournal(CrashBeforeJournal):
    """Generation 0 dies handling its Nth venue fill after journaling a routing decision
    about it (a bug in the routing logic): no ChildOrderFilled was sent for it."""

    def receive(self, msg, sender):
        if isinstance(msg, VenueOrderFilled) and self.generation == 0:
            self.fills_seen += 1
            if self.fills_seen == CRASH_ON_FILL:
                self.journal(
                    RouteDecided(
                        parent_id="?",
                        child_id="?",
                        logic=RoutingLogic.PARALLEL,
                        placements=[],
                        reason=f"about to handle {msg.fill_id}",
                    )
                )
                type(self).crash.append(msg)
                raise RuntimeError("injected router fault")
        RouterActor.receive(self, msg, sender)


class CrashOnEveryFill(RouterActor):
    def receive(self, msg, sender):
        if isinstance(msg, VenueOrderFilled):
            raise RuntimeError("injected persistent router fault")
        super().receive(msg, sender)


@pytest.fixture
def engine_with(monkeypatch):
    mandate = Mandate(
        strategy=StrategyName.TWAP,
        start_ns=START,
        end_ns=END,
        urgency=Urgency.HIGH,
        routing=RoutingLogic.PARALLEL,
    )
    build = EngineFactory(monkeypatch, api, "RouterActor", ("LIT1", "LIT2"), mandate)
    CrashBeforeJournal.crash, CrashAfterJournal.crash = [], []
    yield build
    build.close()


def _router(engine: Engine) -> RouterActor:
    return engine.runtime.ref(ROUTER).actor  # inline runtime: the live actor object


def _unsettled_at_restart(engine: Engine) -> set[str]:
    """Venue orders of open children that the journal, up to the router's restart, shows
    neither rejected nor fully filled or cancelled."""
    placed: dict[str, PlaceVenueOrder] = {}
    settled: Counter[str] = Counter()
    rejected, done_children = set(), set()
    for msg in engine.journal.replay():
        if isinstance(msg, ActorRestarted) and msg.name == ROUTER:
            break
        if isinstance(msg, PlaceVenueOrder):
            placed[msg.order_id] = msg
        elif isinstance(msg, VenueOrderFilled):
            settled[msg.order_id] += msg.quantity
        elif isinstance(msg, VenueOrderCancelled):
            settled[msg.order_id] += msg.cancelled
        elif isinstance(msg, VenueOrderRejected):
            rejected.add(msg.order_id)
        elif isinstance(msg, ChildOrderDone):
            done_children.add(msg.child_id)
    return {
        oid
        for oid, o in placed.items()
        if oid not in rejected and settled[oid] < o.quantity and o.child_id not in done_children
    }


def _dead_lettered_to_router(engine: Engine) -> list:
    return [msg for dest, _, msg in engine.runtime.dead_letters if dest == ROUTER]


@pytest.mark.parametrize("router_class", [CrashBeforeJournal, CrashAfterJournal])
def test_restarted_router_reconciles_and_every_child_settles(engine_with, router_class):
    engine = engine_with(router_class)
    engine.run_until(RUN_UNTIL)
    (crash,) = router_class.crash

    failed = [m for m in journal_of(engine, ActorFailed) if m.name == ROUTER]
    restarted = [m for m in journal_of(engine, ActorRestarted) if m.name == ROUTER]
    assert len(failed) == 1 and "injected router fault" in failed[0].error
    assert len(restarted) == 1 and engine.supervisor.restarts[ROUTER] == 1
    assert engine.runtime.stats["routers_recovered"] == 1

    # Reconcile before acting: on restart the router cancels exactly the venue orders the
    # journal leaves unsettled: every venue event sent before the restart is in it.
    reconciled = {
        c.order_id for c in journal_of(engine, CancelVenueOrder) if c.ts == restarted[0].ts
    }
    assert reconciled == _unsettled_at_restart(engine)

    # Every child reaches exactly one ChildOrderDone; reported fills never exceed it.
    children = {c.child_id: c for c in journal_of(engine, PlaceChildOrder)}
    done = Counter(d.child_id for d in journal_of(engine, ChildOrderDone))
    assert set(done) == set(children) and set(done.values()) == {1}
    reported = Counter()
    for f in journal_of(engine, ChildOrderFilled):
        reported[f.child_id] += f.quantity
    assert all(reported[cid] <= cmd.quantity for cid, cmd in children.items())

    # The venue journaled the fill the router died on and those dead-lettered to it;
    # each venue fill (journaled exactly once) was reported to its parent exactly once.
    venue_fills = journal_of(engine, VenueOrderFilled)
    assert len({f.msg_id for f in venue_fills}) == len(venue_fills)
    assert crash in venue_fills
    lost = _dead_lettered_to_router(engine)
    assert {m.msg_id for m in lost if isinstance(m, VenueOrderFilled)} <= {
        f.msg_id for f in venue_fills
    }
    fill_ids = [f.fill_id for f in journal_of(engine, ChildOrderFilled)]
    overfill_ids = [f.fill_id for f in journal_of(engine, ChildOrderOverfilled)]
    assert len(fill_ids) == len(set(fill_ids))
    assert crash.fill_id in fill_ids
    assert {f.fill_id for f in venue_fills} == set(fill_ids) | set(overfill_ids)

    # Nothing was genuinely lost, so nothing is unaccounted for.
    assert _router(engine).obj.router.unaccounted_shares == 0
    assert not any("unaccounted" in d.reason for d in journal_of(engine, RouteDecided))

    # The parent completes; allocations add up; no client over its quantity.
    (created,) = journal_of(engine, ParentOrderCreated)
    states = [s for s in journal_of(engine, ParentStateChanged) if s.parent_id == created.parent_id]
    assert states[-1].state is ParentState.COMPLETED
    parent_total = sum(f.quantity for f in journal_of(engine, ParentOrderFilled))
    assert parent_total == sum(CLIENTS.values())
    by_client: Counter[str] = Counter()
    for r in engine.reports:
        if isinstance(r, ExecutionReport) and r.exec_type is ExecType.TRADE:
            by_client[r.client_order_id] += r.last_qty
    assert sum(by_client.values()) == parent_total
    assert dict(by_client) == CLIENTS


def test_reconcile_answers_settle_the_orders_live_at_the_crash(engine_with):
    """Each reconciled order gets the venue's terminal answer (cancelled, too late or
    unknown) and nothing about it stays live."""
    engine = engine_with(CrashBeforeJournal)
    engine.run_until(RUN_UNTIL)
    (restarted,) = [m for m in journal_of(engine, ActorRestarted) if m.name == ROUTER]
    reconciled = {c.order_id for c in journal_of(engine, CancelVenueOrder) if c.ts == restarted.ts}
    answered = {m.order_id for m in journal_of(engine, VenueOrderCancelled)} | {
        m.order_id for m in journal_of(engine, VenueCancelRejected)
    }
    assert reconciled <= answered
    router = _router(engine).obj.router
    assert not router.open_children()
    assert all(not vo.live for c in router.children.values() for vo in c.orders.values())
    # children finished before or after the restart are let go like any other: only one
    # with a venue order that may still turn up is kept
    assert router.finished > 0
    assert all(not all(vo.final for vo in c.orders.values()) for c in router.children.values())


def test_a_router_restart_keeps_the_run_deterministic(engine_with):
    assert_restart_is_deterministic(engine_with, CrashBeforeJournal)


def test_persistent_router_failure_exceeds_the_restart_intensity_and_escalates(engine_with):
    assert_escalated_by_the_engine(run_to_escalation(engine_with, CrashOnEveryFill), ROUTER)
