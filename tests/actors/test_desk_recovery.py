"""A desk actor that crashes mid-run is restarted and rebuilt from the journal.

Real actors on the simulated clock (engine API: 1 lit + 1 dark venue, TWAP orders of
three clients aggregated into one parent, one of them joining while it works); the
fault is a test subclass of ``DeskActor`` that the engine starts in place of the real
one. Two ways to die on the Nth parent fill: before handling it (the fill is lost with
the inbox: only the parent's journal record knows it) and after handling it (its
allocation is journaled, then the handler raises).
"""

from __future__ import annotations

from collections import Counter

import pytest

from actors import api
from actors.api import DESK, Engine
from actors.desk_actor import DeskActor
from engine.clock import MINUTE
from engine.instruments import Instrument
from engine.messages import (
    ActorFailed,
    ActorRestarted,
    ClientOrder,
    ClientOrderRejected,
    ExecType,
    ExecutionReport,
    Mandate,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentState,
    ParentStateChanged,
    Side,
    StrategyName,
)
from engine.prices import to_price
from tests.actors.recovery_support import (
    CLIENTS,
    END,
    RUN_UNTIL,
    SESSION,
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

    crash: list[tuple[int, ParentOrderFilled]] = []
    recovered: list[int] = []  # generation of each recovered instance

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


def test_rebuild_reproduces_the_desk_state_window_queue_included():
    """Pure core: a desk driven directly, its outputs (stamped as the runtime would) and
    the parents' messages as the journal; a fresh desk rebuilt from them has the same
    orders, parents, allocated fills, counters and window queue."""
    from engine.desk.desk import DeskConfig, OrderDesk
    from engine.desk.recovery import rebuild
    from engine.messages import (
        AmendClientOrder,
        CancelClientOrder,
        Liquidity,
        SubmitClientOrder,
    )

    inst = Instrument(symbol="XYZ", ref_price=to_price("100"))
    live = OrderDesk([inst], DeskConfig(window_ns=50))
    journal: list = []
    seq = iter(range(1, 10**6))

    def stamp(msg, now):
        import msgspec

        return msgspec.structs.replace(msg, msg_id=next(seq), ts=msg.ts or now)

    def cmd(msg, now, out):
        journal.append(stamp(msg, now))
        journal.extend(stamp(m, now) for m in out)

    t = SESSION.open_ns
    mandate = Mandate(strategy=StrategyName.TWAP, start_ns=START, end_ns=END)
    for cid, qty in (("a", 300), ("b", 200)):
        order = ClientOrder(
            source="OMS",
            account="A",
            client_order_id=cid,
            instrument="XYZ",
            side=Side.BUY,
            quantity=qty,
            mandate=mandate,
        )
        cmd(SubmitClientOrder(order=order), t, live.submit(order, t))
    cmd(SubmitClientOrder(order=order), t, live.submit(order, t))  # duplicate: rejected
    journal.extend(stamp(m, t + 50) for m in live.close_window(t + 50))
    (created,) = [m for m in journal if isinstance(m, ParentOrderCreated)]
    pid = created.parent_id
    fills = [
        ParentOrderFilled(
            parent_id=pid,
            child_id=f"{pid}-C1",
            fill_id=f"F{i}",
            venue="LIT1",
            quantity=q,
            price=to_price("100.01"),
            liquidity=Liquidity.MAKER,
            ts=t + 100 + i,
        )
        for i, q in enumerate((100, 50, 70))
    ]
    for f in fills[:2]:  # allocated by the old desk
        journal.append(f)
        journal.extend(stamp(m, f.ts) for m in live.on_parent_fill(f))
    journal.append(fills[2])  # sent by the parent, lost with the crash
    cmd(
        AmendClientOrder(source="OMS", client_order_id="b", quantity=150),
        t + 200,
        live.amend("OMS", "b", t + 200, quantity=150),
    )
    late = ClientOrder(
        source="OMS",
        account="A",
        client_order_id="c",
        instrument="XYZ",
        side=Side.BUY,
        quantity=100,
        mandate=mandate,
    )
    cmd(SubmitClientOrder(order=late), t + 300, live.submit(late, t + 300))  # in the window
    journal.append(stamp(CancelClientOrder(source="OMS", client_order_id="a"), t + 301))

    fresh = OrderDesk([inst], DeskConfig(window_ns=50))
    rec = rebuild(fresh, journal)
    assert [type(m) for m in rec.inbox] == [ParentOrderFilled] and rec.inbox[0] == fills[2]
    assert [type(c) for c in rec.unanswered] == [CancelClientOrder]
    assert rec.queued == 1 and fresh.window_deadline() == live.window_deadline()

    def snapshot(desk):
        orders = {
            (o.source, o.client_order_id): (
                o.qty,
                o.limit,
                o.leaves,
                o.cum_qty,
                o.cum_notional,
                o.status,
                o.parent_id,
            )
            for o in desk.orders()
        }
        parents = {
            p.parent_id: (
                p.target,
                p.filled,
                p.filled_notional,
                p.open,
                p.state,
                [m.client_order_id for m in p.open_members()],
            )
            for p in desk.parents.values()
        }
        return orders, parents, desk._exec_ids.count, desk._parent_count, desk._seen_fills

    assert snapshot(fresh) == snapshot(live)
    # the lost fill, then the unanswered cancel: both desks answer alike
    assert fresh.on_parent_fill(fills[2]) == live.on_parent_fill(fills[2])
    assert fresh.on_parent_fill(fills[2]) == []  # exactly once
    assert fresh.cancel("OMS", "a", t + 301) == live.cancel("OMS", "a", t + 301)
    assert fresh.close_window(t + 350) == live.close_window(t + 350)
    assert snapshot(fresh) == snapshot(live)


def test_rebuild_lists_an_order_amended_away_and_back_once_in_its_parent():
    """An amend to another limit takes the order out of its parent; amended back, it
    rejoins it at the next window. Rebuilt, the parent lists it once (listed twice, the
    parent's open quantity was counted twice and the next fill allocated twice)."""
    import msgspec

    from engine.desk.desk import DeskConfig, OrderDesk
    from engine.desk.recovery import rebuild
    from engine.messages import AmendClientOrder, Liquidity, SubmitClientOrder

    inst = Instrument(symbol="XYZ", ref_price=to_price("100"))
    live = OrderDesk([inst], DeskConfig(window_ns=50))
    journal: list = []

    def record(msg, now, out=()):
        journal.extend(msgspec.structs.replace(m, ts=m.ts or now) for m in (msg, *out) if m)

    t, limit, away = SESSION.open_ns, to_price("100"), to_price("99")
    for cid in ("b1", "b2"):
        order = ClientOrder(
            source="OMS",
            account="A",
            client_order_id=cid,
            instrument="XYZ",
            side=Side.BUY,
            quantity=300,
            limit_price=limit,
        )
        record(SubmitClientOrder(order=order), t, live.submit(order, t))
    record(None, t + 50, live.close_window(t + 50))  # P1 = b1 + b2
    for k, price in enumerate((away, limit)):  # b1 leaves P1, then comes back
        now = t + 60 + k
        record(
            AmendClientOrder(source="OMS", client_order_id="b1", limit_price=price),
            now,
            live.amend("OMS", "b1", now, limit_price=price),
        )
    record(None, t + 120, live.close_window(t + 120))  # b1 rejoins P1
    fresh = OrderDesk([inst], DeskConfig(window_ns=50))
    rebuild(fresh, journal)

    def members(desk):
        p = desk.parent("P1")
        return p.open, sorted(m.client_order_id for m in p.members)

    assert members(fresh) == members(live) == (600, ["b1", "b2"])
    fill = ParentOrderFilled(
        parent_id="P1",
        child_id="P1-C1",
        fill_id="F1",
        venue="LIT1",
        quantity=400,
        price=limit,
        liquidity=Liquidity.MAKER,
        ts=t + 200,
    )
    assert fresh.on_parent_fill(fill) == live.on_parent_fill(fill)


def test_rebuild_after_working_parents_crossed_on_market_data():
    """net_working's cross (no command, no window: market data) is rebuilt from its
    journaled reports and parent messages like any other."""
    import msgspec

    from engine.desk.desk import DeskConfig, OrderDesk
    from engine.desk.recovery import rebuild
    from engine.messages import SubmitClientOrder

    inst = Instrument(symbol="XYZ", ref_price=to_price("100"))
    live = OrderDesk([inst], DeskConfig(window_ns=50))
    journal: list = []

    def record(msg, now, out=()):
        journal.extend(msgspec.structs.replace(m, ts=m.ts or now) for m in (msg, *out) if m)

    t = SESSION.open_ns
    for cid, side, qty in (("b", Side.BUY, 500), ("s", Side.SELL, 300)):
        order = ClientOrder(
            source="OMS",
            account="A",
            client_order_id=cid,
            instrument="XYZ",
            side=side,
            quantity=qty,
        )
        record(SubmitClientOrder(order=order), t, live.submit(order, t))
    record(None, t + 50, live.close_window(t + 50))  # no mid: two parents
    live.set_mid("XYZ", to_price("100"))
    crossed = live.net_working("XYZ", t + 60)
    assert crossed
    record(None, t + 60, crossed)
    fresh = OrderDesk([inst], DeskConfig(window_ns=50))
    rebuild(fresh, journal)

    def state(desk):
        return (
            {
                (o.client_order_id, o.leaves, o.cum_qty, o.cum_notional, o.parent_id)
                for o in desk.orders()
            },
            {p.parent_id: (p.target, p.open, p.filled) for p in desk.parents.values()},
            desk._exec_ids.count,
            desk._cross_count,
        )

    assert state(fresh) == state(live)
    fresh.set_mid("XYZ", to_price("100"))
    assert fresh.net_working("XYZ", t + 70) == live.net_working("XYZ", t + 70) == []
