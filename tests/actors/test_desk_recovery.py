"""A desk actor that crashes mid-run is restarted and rebuilt from the journal.

Real actors on the simulated clock (engine API: 1 lit + 1 dark venue, TWAP orders of
three clients aggregated into one parent, one of them joining while it works); the
fault is a test subclass of ``DeskActor`` that the engine starts in place of the real
one. Two ways to die on the Nth parent fill: before handling it (the fill is lost with
the inbox: only the parent's journal record knows it) and after handling it (its
allocation is journaled, then the handler raises). The pure core's rebuild, from every
state, is tested in ``tests/engine/desk/test_recovery.py``.
"""

from __future__ import annotations

from collections import Counter
from typing import ClassVar

import pytest

from actors import api
from actors.api import DESK, Engine
from actors.desk_actor import DeskActor
from engine.clock import MINUTE
from engine.messages import (
    ActorFailed,
    ActorRestarted,
    ClientOrderRejected,
    ExecType,
    ExecutionReport,
    Mandate,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentState,
    ParentStateChanged,
    StrategyName,
)
from tests.actors.recovery_support import (
    CLIENTS,
    END,
    RUN_UNTIL,
    START,
    EngineFactory,
    assert_escalated_by_the_engine,
    assert_restart_is_deterministic,
    buy,
    journal_of,
    run_to_escalation,
)

JOINER = ("c3", 1_500, START + 2 * MINUTE)  # joins the working parent
CANCEL_AT = START + 6 * MINUTE  # c2 cancels what is left of it, after the restart
CRASH_ON_FILL = 4
MANDATE = Mandate(strategy=StrategyName.TWAP, start_ns=START, end_ns=END)


class CrashBeforeHandling(DeskActor):
    """Generation 0 dies on its Nth parent fill before allocating it."""

    crash: ClassVar[list[tuple[int, ParentOrderFilled]]] = []
    recovered: ClassVar[list[int]] = []  # generation of each recovered instance

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fills_seen = 0

    def started(self):
        super().started()
        if self.generation:
            type(self).recovered.append(self.generation)

    def receive(self, msg, sender):
        if isinstance(msg, ParentOrderFilled) and self.generation == 0:
            self.fills_seen += 1
            if self.fills_seen == CRASH_ON_FILL:
                type(self).crash.append((self.now, msg))
                raise RuntimeError("injected desk fault")
        super().receive(msg, sender)


class CrashAfterHandling(CrashBeforeHandling):
    """Generation 0 allocates its Nth parent fill (reports journaled and sent), then dies."""

    def receive(self, msg, sender):
        DeskActor.receive(self, msg, sender)
        if isinstance(msg, ParentOrderFilled) and self.generation == 0:
            self.fills_seen += 1
            if self.fills_seen == CRASH_ON_FILL:
                type(self).crash.append((self.now, msg))
                raise RuntimeError("injected desk fault")


class CrashOnEveryFill(DeskActor):
    def receive(self, msg, sender):
        if isinstance(msg, ParentOrderFilled):
            raise RuntimeError("injected persistent desk fault")
        super().receive(msg, sender)


@pytest.fixture
def engine_with(monkeypatch):
    def join_then_cancel(engine: Engine) -> None:
        cid, qty, at = JOINER
        engine.submit(buy(cid, qty, MANDATE), at_ns=at)
        engine.cancel("OMS", "c2", at_ns=CANCEL_AT)

    build = EngineFactory(monkeypatch, api, "DeskActor", ("LIT1",), MANDATE, join_then_cancel)
    CrashBeforeHandling.crash, CrashBeforeHandling.recovered = [], []
    CrashAfterHandling.crash, CrashAfterHandling.recovered = [], []
    yield build
    build.close()


def _trades(engine: Engine) -> list[ExecutionReport]:
    return [
        r
        for r in engine.reports
        if isinstance(r, ExecutionReport) and r.exec_type is ExecType.TRADE
    ]


@pytest.mark.parametrize("desk_class", [CrashBeforeHandling, CrashAfterHandling])
def test_restarted_desk_rebuilds_and_every_fill_is_allocated_once(engine_with, desk_class):
    engine = engine_with(desk_class)
    engine.run_until(RUN_UNTIL)
    ((crash_ns, crash_fill),) = desk_class.crash
    assert START < crash_ns < CANCEL_AT

    failed = [m for m in journal_of(engine, ActorFailed) if m.name == DESK]
    restarted = [m for m in journal_of(engine, ActorRestarted) if m.name == DESK]
    assert len(failed) == 1 and "injected desk fault" in failed[0].error
    assert len(restarted) == 1 and engine.supervisor.restarts[DESK] == 1
    assert desk_class.recovered == [1] and engine.runtime.stats["desks_recovered"] == 1

    # One parent for the three clients (the joiner joined it); it completes.
    (created,) = journal_of(engine, ParentOrderCreated)
    pid = created.parent_id
    states = [s for s in journal_of(engine, ParentStateChanged) if s.parent_id == pid]
    assert states[-1].state is ParentState.COMPLETED

    # Every parent fill allocated exactly once, the crashed one included: Σ client
    # allocations = Σ parent fills, nothing to the excess account, no client over.
    parent_fills = [f for f in journal_of(engine, ParentOrderFilled) if f.parent_id == pid]
    parent_total = sum(f.quantity for f in parent_fills)
    assert crash_fill.fill_id in {f.fill_id for f in parent_fills}
    by_client: Counter[str] = Counter()
    for r in _trades(engine):
        assert r.source != "EXCESS"
        by_client[r.client_order_id] += r.last_qty
    assert sum(by_client.values()) == parent_total
    assert by_client["c1"] == CLIENTS["c1"] and by_client["c3"] == JOINER[1]
    assert 0 < by_client["c2"] < CLIENTS["c2"]

    # Exec ids never repeat; each client's last report agrees with its fills.
    exec_ids = [r.exec_id for r in engine.reports if isinstance(r, ExecutionReport)]
    assert len(exec_ids) == len(set(exec_ids))
    last = {r.client_order_id: r for r in engine.reports if isinstance(r, ExecutionReport)}
    assert last["c1"].cum_qty == CLIENTS["c1"] and last["c3"].cum_qty == JOINER[1]
    assert last["c2"].cum_qty == by_client["c2"]

    # The cancel after the restart found the order: CANCELED, not "unknown_order".
    assert not [r for r in engine.reports if isinstance(r, ClientOrderRejected)]
    (canceled,) = [
        r
        for r in engine.reports
        if isinstance(r, ExecutionReport) and r.exec_type is ExecType.CANCELED
    ]
    assert canceled.client_order_id == "c2" and canceled.ts == CANCEL_AT


def test_a_desk_restart_keeps_the_run_deterministic(engine_with):
    assert_restart_is_deterministic(engine_with, CrashBeforeHandling)


def test_persistent_desk_failure_exceeds_the_restart_intensity_and_escalates(engine_with):
    assert_escalated_by_the_engine(run_to_escalation(engine_with, CrashOnEveryFill), DESK)


def test_a_new_parent_starts_with_the_desk_s_journaled_record(engine_with):
    """The desk's one job besides hosting: a new parent is journaled, then its actor is
    started with that record (stamped, as the trail holds it)."""
    engine = engine_with(DeskActor)
    engine.run_until(START)
    (created,) = journal_of(engine, ParentOrderCreated)
    assert created.msg_id
    parent = engine.runtime.ref(created.parent_id)
    assert parent is not None and parent.actor.order == created
