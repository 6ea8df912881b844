"""A parent actor that crashes mid-run is restarted and rebuilt from the journal.

Real actors on the simulated clock (engine API: 1 lit + 1 dark venue, a TWAP order);
the fault is a test subclass of ``ParentActor`` that the desk starts under the parents
supervisor in place of the real one.
"""

from __future__ import annotations

from typing import ClassVar

import pytest

from actors import desk_actor
from actors.api import Engine
from actors.parent_actor import ParentActor
from engine.clock import MINUTE, SECOND
from engine.messages import (
    ActorFailed,
    ActorRestarted,
    ChildOrderFilled,
    ExecType,
    ExecutionReport,
    Mandate,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentState,
    ParentStateChanged,
    ResizeParentOrder,
    StrategyName,
    SupervisorEscalated,
)
from tests.actors.recovery_support import (
    CLIENTS,
    END,
    RUN_UNTIL,
    START,
    EngineFactory,
    assert_restart_is_deterministic,
    run_to_escalation,
)


class CrashOnThirdFill(ParentActor):
    """Generation 0 raises on its third fill, before handling it: the fill is lost with
    the inbox and only the journal knows it. Later generations run normally."""

    recovered: ClassVar[list[tuple[int, int, int]]] = []  # (generation, filled, journaled)
    dropped: ClassVar[list[str]] = []  # fill ids lost with the crash

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fills_seen = 0

    def started(self):
        super().started()
        if self.generation:
            journaled = sum(
                f.quantity
                for f in _journal_of(self.runtime, ChildOrderFilled)
                if f.parent_id == self.name
            )
            CrashOnThirdFill.recovered.append((self.generation, self.obj.parent.filled, journaled))

    def receive(self, msg, sender):
        if isinstance(msg, ChildOrderFilled) and self.generation == 0:
            self.fills_seen += 1
            if self.fills_seen == 3:
                CrashOnThirdFill.dropped.append(msg.fill_id)
                raise RuntimeError("injected parent fault")
        super().receive(msg, sender)


class CrashAfterTwoResizes(ParentActor):
    """Generation 0 works ``resizes`` resizes (down, a member's open part joining again
    once that shrink settled, back up), then crashes on its next fill; the schedule it
    was working and the one its successor rebuilds (from the started target, resized
    once) are recorded."""

    live: ClassVar[list] = []
    restored: ClassVar[list] = []
    resizes: ClassVar[int] = 3

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.resizes_seen = 0

    def started(self):
        super().started()
        if self.generation:
            CrashAfterTwoResizes.restored.append(self.obj.parent.strategy)

    def receive(self, msg, sender):
        if self.generation == 0:
            if isinstance(msg, ResizeParentOrder):
                self.resizes_seen += 1
            elif isinstance(msg, ChildOrderFilled) and self.resizes_seen == self.resizes:
                CrashAfterTwoResizes.live.append(self.obj.parent.strategy)
                raise RuntimeError("injected parent fault")
        super().receive(msg, sender)


class CrashOnEveryFill(ParentActor):
    def receive(self, msg, sender):
        if isinstance(msg, ChildOrderFilled):
            raise RuntimeError("injected persistent fault")
        super().receive(msg, sender)


class RecordsRecovery(ParentActor):
    """Records what each restarted generation recovered: its state and next wake."""

    recovered: ClassVar[list[tuple[int, ParentState, int | None]]] = []

    def started(self):
        super().started()
        if self.generation:
            hosted = self.obj
            RecordsRecovery.recovered.append(
                (self.generation, hosted.parent.state, hosted.next_wake_ns())
            )


def _journal_of(runtime, cls):
    return list(runtime.journal_sink.messages(cls))


@pytest.fixture
def engine_with(monkeypatch):
    build = EngineFactory(
        monkeypatch,
        desk_actor,
        "ParentActor",
        ("LIT1",),
        Mandate(strategy=StrategyName.TWAP, start_ns=START, end_ns=END),
    )
    CrashOnThirdFill.recovered, CrashOnThirdFill.dropped = [], []
    yield build
    build.close()


def _parent_id(engine: Engine) -> str:
    (created,) = _journal_of(engine.runtime, ParentOrderCreated)  # c1 and c2 aggregate
    return created.parent_id


def test_restarted_parent_resumes_from_the_journal_and_completes(engine_with):
    engine = engine_with(CrashOnThirdFill)
    engine.run_until(RUN_UNTIL)
    rt, pid = engine.runtime, _parent_id(engine)

    failed = [m for m in _journal_of(rt, ActorFailed) if m.name == pid]
    restarted = [m for m in _journal_of(rt, ActorRestarted) if m.name == pid]
    assert len(failed) == 1 and "injected parent fault" in failed[0].error
    assert len(restarted) == 1 and engine.parents.restarts[pid] == 1

    # Same filled quantity as the journal at the restart, including the fill the crash
    # dropped from the inbox.
    ((generation, filled, journaled),) = CrashOnThirdFill.recovered
    assert generation == 1 and filled == journaled > 0

    states = [m for m in _journal_of(rt, ParentStateChanged) if m.parent_id == pid]
    assert states[-1].state is ParentState.COMPLETED

    # Every fill forwarded to the desk exactly once; the desk allocated all of it.
    child_fills = [m for m in _journal_of(rt, ChildOrderFilled) if m.parent_id == pid]
    parent_fills = [m for m in _journal_of(rt, ParentOrderFilled) if m.parent_id == pid]
    assert sorted(f.fill_id for f in parent_fills) == sorted(f.fill_id for f in child_fills)
    assert CrashOnThirdFill.dropped[0] in {f.fill_id for f in parent_fills}  # by recovery
    parent_total = sum(f.quantity for f in parent_fills)
    assert parent_total == sum(CLIENTS.values())

    trades = [
        r
        for r in engine.reports
        if isinstance(r, ExecutionReport) and r.exec_type is ExecType.TRADE
    ]
    by_client: dict[str, int] = {}
    for r in trades:
        by_client[r.client_order_id] = by_client.get(r.client_order_id, 0) + r.last_qty
    assert sum(by_client.values()) == parent_total  # nothing to the excess account
    assert by_client == CLIENTS  # each client filled, none over its quantity


def test_a_restart_does_not_change_what_the_run_trades(engine_with):
    """Same seed with and without the crash: the recovered parent still buys the same
    total, and the run is deterministic (same journal digest twice)."""
    assert_restart_is_deterministic(engine_with, CrashOnThirdFill)


def test_persistent_parent_failure_exceeds_the_restart_intensity_and_escalates(engine_with):
    engine = run_to_escalation(engine_with, CrashOnEveryFill)
    rt, pid = engine.runtime, _parent_id(engine)
    escalated = [m.name for m in _journal_of(rt, SupervisorEscalated)]
    assert escalated[0] == "parents"  # the parents supervisor gave up first...
    assert escalated[-1] == "engine"  # ...and the engine after restarting the subtree
    assert engine.parents.failures[pid] >= 3
    assert rt.stats["escalations"] >= 2


def test_a_recovered_parent_works_the_schedule_the_live_one_had_after_resizes(engine_with):
    """Resizes must not re-round already rounded targets, else a parent resized up and
    back works another schedule than the one recovery rebuilds."""
    CrashAfterTwoResizes.live, CrashAfterTwoResizes.restored = [], []
    engine = engine_with(CrashAfterTwoResizes)
    # 5,000 → 2,000 (c1's amend is pending while the parent shrinks) → 2,001 (its open
    # part joins again once the shrink settled) ...
    engine.amend("OMS", "c1", quantity=1, at_ns=START + 1 * SECOND)
    engine.amend("OMS", "c1", quantity=CLIENTS["c1"], at_ns=START + 2 * SECOND)  # → 5,000
    engine.run_until(RUN_UNTIL)
    (live,), (restored,) = CrashAfterTwoResizes.live, CrashAfterTwoResizes.restored
    assert live.schedule.cumulative == tuple(range(0, 5_001, 500))  # TWAP's shape kept
    assert restored == live


@pytest.mark.parametrize(
    ("clients_cancel", "final"),
    [(False, ParentState.COMPLETED), (True, ParentState.CANCELED)],
)
def test_a_parent_restarted_after_it_finished_stays_finished_and_says_nothing_again(
    engine_with, clients_cancel, final
):
    RecordsRecovery.recovered = []
    engine = engine_with(RecordsRecovery)
    if clients_cancel:
        for cid in CLIENTS:
            engine.cancel("OMS", cid, at_ns=START + 2 * SECOND)
    engine.inject_crash("P1", at_ns=END + 1 * MINUTE)
    engine.run_until(RUN_UNTIL)
    rt, pid = engine.runtime, _parent_id(engine)
    assert pid == "P1" and engine.parents.restarts[pid] == 1

    assert RecordsRecovery.recovered == [(1, final, None)]  # no timer either
    states = [m.state for m in _journal_of(rt, ParentStateChanged) if m.parent_id == pid]
    assert states[-1] is final and states.count(final) == 1
    parent_fills = [m.fill_id for m in _journal_of(rt, ParentOrderFilled) if m.parent_id == pid]
    child_fills = [m.fill_id for m in _journal_of(rt, ChildOrderFilled) if m.parent_id == pid]
    assert sorted(parent_fills) == sorted(child_fills)  # each forwarded once, none again
