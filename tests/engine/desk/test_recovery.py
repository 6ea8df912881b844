"""Rebuilding a desk from its audit trail (``engine.desk.recovery``), from every state.

A desk is driven directly and its trail written as its actor would write it: client
commands on receipt, everything the desk sends (stamped), the parents' messages when the
parent sends them (a message the desk never handled is in the trail too: it was lost with
the crash). A fresh desk rebuilt from that trail must be in the same state, and then act
exactly as the original does on the same input.
"""

from __future__ import annotations

from itertools import count

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.desk.desk import NEW_PARENT, DeskConfig, OrderDesk
from engine.desk.recovery import Recovered, rebuild
from engine.instruments import Instrument
from engine.messages import (
    AmendClientOrder,
    CancelClientOrder,
    ClientOrder,
    ClientOrderRejected,
    ExecType,
    ExecutionReport,
    InternalCrossExecuted,
    Liquidity,
    Mandate,
    Message,
    OrdStatus,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentQuantityReleased,
    ParentResizeSettled,
    ParentState,
    ParentStateChanged,
    ReleaseParentQuantity,
    ResizeParentOrder,
    Side,
    SubmitClientOrder,
)
from engine.prices import to_price

T = 1_000_000_000_000
WINDOW = 50
REF = to_price("100")
INSTRUMENT = Instrument(symbol="XYZ", ref_price=REF)


def order(cid: str, qty: int, side: Side = Side.BUY, limit: int | None = None) -> ClientOrder:
    return ClientOrder(
        source="OMS",
        account="A",
        client_order_id=cid,
        instrument="XYZ",
        side=side,
        quantity=qty,
        limit_price=limit,
        mandate=Mandate(),
    )


class Run:
    """A desk and the trail its actor would have written."""

    def __init__(self, window_ns: int = WINDOW) -> None:
        self.desk = OrderDesk([INSTRUMENT], DeskConfig(window_ns=window_ns))
        self.trail: list[Message] = []
        self._ids = count(1)
        self._fills = count(1)
        self.mid: int | None = None

    def record(self, msg: Message, now: int) -> Message:
        msg = msgspec.structs.replace(msg, msg_id=next(self._ids), ts=msg.ts or now)
        self.trail.append(msg)
        return msg

    def _sent(self, out: list[tuple[str, Message]], now: int) -> list[Message]:
        return [self.record(msg, now) for _, msg in out]

    def submit(self, o: ClientOrder, now: int) -> list[Message]:
        return self.command(SubmitClientOrder(order=o), now)

    def command(self, cmd: Message, now: int) -> list[Message]:
        return self._sent(self.desk.handle(self.record(cmd, now), now), now)

    def close(self, now: int) -> list[Message]:
        return self._sent(self.desk.on_wake(now), now)

    def parents(self) -> list[str]:
        return [m.parent_id for m in self.trail if isinstance(m, ParentOrderCreated)]

    def from_parent(self, msg: Message, delivered: bool = True) -> list[Message]:
        """The parent journals what it sends; the desk handles it unless it was lost."""
        msg = self.record(msg, msg.ts)
        return self._sent(self.desk.handle(msg, msg.ts), msg.ts) if delivered else []

    def fill(self, pid: str, qty: int, now: int, delivered: bool = True) -> list[Message]:
        fill = ParentOrderFilled(
            ts=now,
            parent_id=pid,
            child_id=f"{pid}-C1",
            fill_id=f"F{next(self._fills)}",
            venue="LIT1",
            quantity=qty,
            price=REF,
            liquidity=Liquidity.MAKER,
        )
        return self.from_parent(fill, delivered)

    def state(
        self, pid: str, state: ParentState, now: int, delivered: bool = True
    ) -> list[Message]:
        parent = self.desk.parent(pid)
        assert parent is not None
        change = ParentStateChanged(
            ts=now, parent_id=pid, state=state, target=parent.target, filled=parent.filled
        )
        return self.from_parent(change, delivered)

    def answer(self, pid: str, qty: int, now: int, delivered: bool = True) -> list[Message]:
        """``pid`` answers the desk's last release request to it, if one is out."""
        asks = [
            m for m in self.trail if isinstance(m, ReleaseParentQuantity) and m.parent_id == pid
        ]
        done = {
            m.release_id
            for m in self.trail
            if isinstance(m, ParentQuantityReleased) and m.parent_id == pid
        }
        parent = self.desk.parent(pid)
        if not asks or asks[-1].release_id in done or parent is None:
            return []
        released = min(qty, asks[-1].quantity, max(0, parent.target - parent.filled))
        answer = ParentQuantityReleased(
            ts=now,
            parent_id=pid,
            release_id=asks[-1].release_id,
            quantity=released,
            target=parent.target - released,
        )
        return self.from_parent(answer, delivered)

    def settle(self, pid: str, now: int, delivered: bool = True) -> list[Message]:
        """``pid`` answers the desk's last shrink that waits on it (a member's change)."""
        asked = [m.settle for m in self.trail if isinstance(m, ResizeParentOrder) and m.settle]
        parent = self.desk.parent(pid)
        assert asked and parent is not None
        answer = ParentResizeSettled(ts=now, parent_id=pid, settle=asked[-1], target=parent.target)
        return self.from_parent(answer, delivered)

    def rebuilt(self) -> tuple[OrderDesk, Recovered]:
        fresh = OrderDesk([INSTRUMENT], DeskConfig(window_ns=self.desk.config.window_ns))
        return fresh, rebuild(fresh, self.trail)


def snapshot(desk: OrderDesk) -> tuple:
    """The desk's state as its public interface shows it."""
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
            p.held,
            p.asking,
            p.answered,
            p.state,
            [m.client_order_id for m in p.open_members()],
        )
        for p in desk.parents.values()
    }
    return orders, parents, desk.excess(), desk.window_deadline(), desk.exec_count, desk.cross_count


def same_from_now_on(live: OrderDesk, fresh: OrderDesk, run: Run, now: int) -> None:
    """Both desks answer the same input alike: a fill to every parent, a new order, the
    window's close, a cancel of every order (answered or rejected as done)."""
    assert snapshot(fresh) == snapshot(live)
    for n, pid in enumerate(run.parents()):
        fill = ParentOrderFilled(
            ts=now,
            parent_id=pid,
            child_id="later",
            fill_id=f"later{n}",
            venue="LIT1",
            quantity=100,
            price=REF,
            liquidity=Liquidity.TAKER,
        )
        assert fresh.handle(fill, now) == live.handle(fill, now)
    later = SubmitClientOrder(order=order("later", 300))
    assert fresh.handle(later, now) == live.handle(later, now)
    assert fresh.on_wake(now + WINDOW) == live.on_wake(now + WINDOW)
    for o in list(live.orders()):
        cancel = CancelClientOrder(source=o.source, client_order_id=o.client_order_id)
        assert fresh.handle(cancel, now + WINDOW) == live.handle(cancel, now + WINDOW)
    assert snapshot(fresh) == snapshot(live)


def reports(msgs: list[Message], exec_type: ExecType) -> list[ExecutionReport]:
    return [m for m in msgs if isinstance(m, ExecutionReport) and m.exec_type is exec_type]


# ------------------------------------------------------------ client order states


def test_rebuild_of_filled_client_orders_of_a_completed_parent():
    run = Run()
    run.submit(order("a", 300), T)
    run.submit(order("b", 200), T)
    run.close(T + WINDOW)
    (pid,) = run.parents()
    run.fill(pid, 200, T + 100)
    run.fill(pid, 300, T + 200)
    run.state(pid, ParentState.COMPLETED, T + 300)
    assert {o.status for o in run.desk.orders()} == {OrdStatus.FILLED}

    fresh, rec = run.rebuilt()
    assert rec.inbox == [] and rec.unanswered == [] and rec.queued == 0
    assert rec.allocated_fills == 2
    assert fresh.parent(pid).state is ParentState.COMPLETED  # type: ignore[union-attr]
    same_from_now_on(run.desk, fresh, run, T + 400)


def test_rebuild_of_canceled_client_orders_queued_and_carried():
    run = Run()
    run.submit(order("a", 300), T)
    run.submit(order("b", 200), T)
    run.close(T + WINDOW)
    run.submit(order("queued", 100), T + 60)
    run.command(CancelClientOrder(source="OMS", client_order_id="a"), T + 70)
    run.settle("P1", T + 75)  # a was a member: its cancel waited for the parent to shrink
    run.command(CancelClientOrder(source="OMS", client_order_id="queued"), T + 80)
    # the window closes empty (a rebuilt desk cannot tell when an emptied window opened)
    assert run.close(T + 60 + WINDOW) == []
    statuses = {o.client_order_id: o.status for o in run.desk.orders()}
    assert statuses == {"a": OrdStatus.CANCELED, "b": OrdStatus.NEW, "queued": OrdStatus.CANCELED}

    fresh, rec = run.rebuilt()
    assert rec.unanswered == [] and rec.queued == 0
    assert fresh.window_deadline() is None
    same_from_now_on(run.desk, fresh, run, T + 400)


@pytest.mark.parametrize("delivered", [True, False])
def test_rebuild_with_a_member_cancel_waiting_for_its_parent_to_shrink(delivered):
    """A member's cancel is pending until its parent answers the shrink: rebuilt before
    the answer, the member still takes the parent's overflow; an answer journaled but
    lost with the crash is applied again (once) after the rebuild."""
    run = Run()
    run.submit(order("a", 300), T)
    run.submit(order("b", 200), T)
    run.close(T + WINDOW)
    (pid,) = run.parents()
    out = run.command(CancelClientOrder(source="OMS", client_order_id="a"), T + 70)
    assert [r.exec_type for r in reports(out, ExecType.PENDING_CANCEL)] == [ExecType.PENDING_CANCEL]
    run.fill(pid, 300, T + 80)  # b's 200, and 100 a child filled before it was pulled
    if delivered:
        run.settle(pid, T + 90, delivered=False)

    fresh, rec = run.rebuilt()
    assert fresh.parent(pid).pending == run.desk.parent(pid).pending == 200  # type: ignore[union-attr]
    assert fresh.parent(pid).open == run.desk.parent(pid).open == 0  # type: ignore[union-attr]
    assert fresh.order("OMS", "a").cancel_pending  # type: ignore[union-attr]
    assert [type(m).__name__ for m in rec.inbox] == (["ParentResizeSettled"] if delivered else [])
    for msg in rec.inbox:  # as the desk actor does after a rebuild
        (done,) = [m for _, m in fresh.handle(msg, T + 100)]
        assert (done.exec_type, done.cum_qty) == (ExecType.CANCELED, 100)
        assert fresh.handle(msg, T + 100) == []
    if not delivered:
        same_from_now_on(run.desk, fresh, run, T + 400)


def test_rebuild_after_the_last_member_canceled_cancels_no_parent_twice():
    run = Run()
    run.submit(order("a", 300), T)
    run.close(T + WINDOW)
    (pid,) = run.parents()
    out = run.command(CancelClientOrder(source="OMS", client_order_id="a"), T + 70)
    assert [type(m).__name__ for m in out] == ["ExecutionReport", "CancelParentOrder"]

    fresh, _ = run.rebuilt()
    # retired: the next order gets a new parent, not a join of the canceled one
    same_from_now_on(run.desk, fresh, run, T + 400)
    # pending cancel: its open part stays until the parent settles, in both desks
    assert fresh.parent(pid).open == run.desk.parent(pid).open > 0  # type: ignore[union-attr]
    assert fresh.order("OMS", "a").cancel_pending  # type: ignore[union-attr]


@pytest.mark.parametrize("state", [ParentState.EXPIRED, ParentState.CANCELED])
def test_rebuild_of_client_orders_expired_with_their_parent(state):
    run = Run()
    run.submit(order("a", 300), T)
    run.submit(order("b", 200), T)
    run.close(T + WINDOW)
    (pid,) = run.parents()
    run.fill(pid, 100, T + 100)
    expired = run.state(pid, state, T + 200)
    assert len(reports(expired, ExecType.EXPIRED)) == 2

    fresh, rec = run.rebuilt()
    # the parent's end is applied again after the rebuild: nothing left to expire
    assert rec.inbox == [expired_change(run)]
    assert {o.status for o in fresh.orders()} == {OrdStatus.EXPIRED}
    assert fresh.handle(rec.inbox[0], T + 300) == []
    assert fresh.parent(pid).state is state  # type: ignore[union-attr]
    same_from_now_on(run.desk, fresh, run, T + 400)


def expired_change(run: Run) -> ParentStateChanged:
    (change,) = [m for m in run.trail if isinstance(m, ParentStateChanged)]
    return change


def test_rebuild_of_rejected_commands_answers_none_of_them_again():
    run = Run()
    run.submit(order("a", 300), T)
    run.submit(order("a", 100), T)  # duplicate id
    run.submit(order("bad", 150), T)  # accepted: lot 1
    run.submit(order("odd", 0), T)  # bad quantity
    run.command(CancelClientOrder(source="OMS", client_order_id="nobody"), T)
    run.command(AmendClientOrder(source="OMS", client_order_id="a", quantity=-5), T)
    rejected = [m for m in run.trail if isinstance(m, ClientOrderRejected)]
    assert len(rejected) == 4

    fresh, rec = run.rebuilt()
    assert rec.unanswered == []
    assert {o.client_order_id for o in fresh.orders()} == {"a", "bad"}
    same_from_now_on(run.desk, fresh, run, T + 400)


def test_rebuild_of_amended_orders_in_the_window_and_in_a_parent():
    run = Run()
    run.submit(order("a", 300), T)
    run.submit(order("b", 300), T)
    run.close(T + WINDOW)
    run.command(AmendClientOrder(source="OMS", client_order_id="a", quantity=500), T + 60)
    run.command(AmendClientOrder(source="OMS", client_order_id="b", limit_price=REF), T + 70)
    run.settle("P1", T + 75)  # b was a member: its amend waited for the parent to shrink
    run.submit(order("c", 100), T + 80)
    run.command(AmendClientOrder(source="OMS", client_order_id="c", limit_price=REF), T + 90)

    fresh, rec = run.rebuilt()
    assert rec.queued == 2  # b (a new limit: out of its parent) and c
    assert fresh.window_deadline() == run.desk.window_deadline()
    same_from_now_on(run.desk, fresh, run, T + 400)


# ----------------------------------------------------------------- parent states


def test_rebuild_of_a_completed_parent_puts_its_raced_join_back_in_the_window():
    """A join raced the completion: the joined orders wait for the next window."""
    run = Run()
    run.submit(order("a", 300), T)
    run.close(T + WINDOW)
    (pid,) = run.parents()
    run.submit(order("late", 200), T + 60)
    run.close(T + 60 + WINDOW)  # joins the working parent
    run.fill(pid, 300, T + 200)  # the parent completes at its old target
    run.state(pid, ParentState.COMPLETED, T + 210)
    assert run.desk.window_deadline() == T + 210 + WINDOW

    fresh, rec = run.rebuilt()
    assert rec.queued == 2 and rec.inbox == []  # both partly filled, both put back
    assert fresh.window_deadline() == run.desk.window_deadline()
    assert {o.parent_id for o in fresh.orders()} == {None}
    same_from_now_on(run.desk, fresh, run, T + 400)
    assert len(fresh.parents) == 2  # they got a new parent


def test_rebuild_of_a_working_parent_with_a_state_change():
    run = Run()
    run.submit(order("a", 300), T)
    run.close(T + WINDOW)
    (pid,) = run.parents()
    run.state(pid, ParentState.WORKING, T + 60)
    run.fill(pid, 100, T + 100)

    fresh, rec = run.rebuilt()
    assert rec.inbox == []
    assert fresh.parent(pid).state is ParentState.WORKING  # type: ignore[union-attr]
    same_from_now_on(run.desk, fresh, run, T + 400)


@pytest.mark.parametrize(
    "state", [ParentState.EXPIRED, ParentState.CANCELED, ParentState.COMPLETED]
)
def test_a_parent_end_lost_with_the_crash_is_applied_after_the_rebuild(state):
    run = Run()
    run.submit(order("a", 300), T)
    run.close(T + WINDOW)
    (pid,) = run.parents()
    run.fill(pid, 100, T + 100)
    lost_fill = run.fill(pid, 100, T + 150, delivered=False)
    lost_end = run.state(pid, state, T + 200, delivered=False)
    assert lost_fill == lost_end == []

    fresh, rec = run.rebuilt()
    assert [type(m) for m in rec.inbox] == [ParentOrderFilled, ParentStateChanged]
    assert rec.allocated_fills == 1
    for msg in rec.inbox:  # the live desk gets them late as well
        assert fresh.handle(msg, msg.ts) == run.desk.handle(msg, msg.ts)
    assert fresh.parent(pid).state is state  # type: ignore[union-attr]
    same_from_now_on(run.desk, fresh, run, T + 400)


def test_rebuild_keeps_the_excess_account_and_counts_each_fill_once():
    run = Run()
    run.submit(order("a", 300), T)
    run.close(T + WINDOW)
    (pid,) = run.parents()
    run.fill(pid, 500, T + 100)  # 200 beyond the client's order
    assert run.desk.excess() == {pid: (200, 200 * REF)}

    fresh, rec = run.rebuilt()
    assert fresh.excess() == run.desk.excess() and rec.allocated_fills == 1
    fill = next(m for m in run.trail if isinstance(m, ParentOrderFilled))
    assert fresh.fill_seen(pid, fill.fill_id)
    assert fresh.handle(fill, T + 300) == []  # a late redelivery: a duplicate
    same_from_now_on(run.desk, fresh, run, T + 400)


def test_rebuild_with_no_window_sends_each_new_parent_at_once():
    run = Run(window_ns=0)
    out = run.desk.handle(SubmitClientOrder(order=order("a", 300)), T)
    assert [dest for dest, _ in out] == [run.desk.reports, NEW_PARENT]
    run.trail.append(SubmitClientOrder(order=order("a", 300), ts=T))
    run.trail.extend(msgspec.structs.replace(m, ts=T) for _, m in out)
    fresh, rec = run.rebuilt()
    assert rec.queued == 0 and fresh.window_deadline() is None
    assert snapshot(fresh) == snapshot(run.desk)


# ------------------------------------------------------------- what is left to do


def test_rebuild_hands_back_a_lost_fill_and_an_unanswered_command_window_queue_included():
    run = Run()
    run.submit(order("a", 300), T)
    run.submit(order("b", 200), T)
    run.submit(order("b", 200), T)  # duplicate: rejected
    run.close(T + WINDOW)
    (pid,) = run.parents()
    run.fill(pid, 100, T + 100)
    run.fill(pid, 50, T + 101)
    lost = run.from_parent(
        ParentOrderFilled(
            ts=T + 102,
            parent_id=pid,
            child_id=f"{pid}-C1",
            fill_id="lost",
            venue="LIT1",
            quantity=70,
            price=REF,
            liquidity=Liquidity.MAKER,
        ),
        delivered=False,
    )
    assert lost == []
    run.command(AmendClientOrder(source="OMS", client_order_id="b", quantity=150), T + 200)
    run.submit(order("c", 100), T + 300)  # in the window
    cancel = run.record(CancelClientOrder(source="OMS", client_order_id="a"), T + 301)

    fresh, rec = run.rebuilt()
    assert [m.fill_id for m in rec.inbox] == ["lost"]  # type: ignore[union-attr]
    assert rec.unanswered == [cancel]
    assert rec.queued == 1 and rec.allocated_fills == 2
    assert snapshot(fresh) == snapshot(run.desk)
    for msg in [*rec.inbox, *rec.unanswered]:
        assert fresh.handle(msg, T + 301) == run.desk.handle(msg, T + 301)
    assert fresh.handle(rec.inbox[0], T + 302) == []  # exactly once
    same_from_now_on(run.desk, fresh, run, T + 400)


def test_rebuild_lists_an_order_amended_away_and_back_once_in_its_parent():
    """An amend to another limit takes the order out of its parent; amended back, it
    rejoins it at the next window. Rebuilt, the parent lists it once (listed twice, the
    parent's open quantity was counted twice and the next fill allocated twice)."""
    run = Run()
    limit, away = REF, to_price("99")
    run.submit(order("b1", 300, limit=limit), T)
    run.submit(order("b2", 300, limit=limit), T)
    run.close(T + WINDOW)  # P1 = b1 + b2
    for k, price in enumerate((away, limit)):  # b1 leaves P1, then comes back
        amend = AmendClientOrder(source="OMS", client_order_id="b1", limit_price=price)
        run.command(amend, T + 60 + 2 * k)
        if not k:
            run.settle("P1", T + 61)  # its leaving waited for P1 to shrink
    run.close(T + 120)  # b1 rejoins P1
    fresh, _ = run.rebuilt()

    def members(desk: OrderDesk) -> tuple[int, list[str]]:
        p = desk.parent("P1")
        assert p is not None
        return p.open, sorted(m.client_order_id for m in p.members)

    assert members(fresh) == members(run.desk) == (600, ["b1", "b2"])
    same_from_now_on(run.desk, fresh, run, T + 400)


def test_rebuild_after_working_parents_crossed_on_market_data():
    """A cross of working parents (no command, no window: market data) is rebuilt from
    its journaled reports and parent messages like any other."""
    run = Run()
    run.submit(order("b", 500, Side.BUY), T)
    run.submit(order("s", 300, Side.SELL), T)
    run.close(T + WINDOW)  # no mid: two parents
    run.desk.set_mid("XYZ", REF)
    asks = run._sent(run.desk.net_working("XYZ", T + 60), T + 60)
    assert [m.parent_id for m in asks] == ["P1", "P2"]
    run.answer("P1", 300, T + 61)
    assert any(isinstance(m, InternalCrossExecuted) for m in run.answer("P2", 300, T + 62))
    fresh, _ = run.rebuilt()
    assert snapshot(fresh) == snapshot(run.desk) and fresh.cross_count == 1
    fresh.set_mid("XYZ", REF)
    assert fresh.net_working("XYZ", T + 70) == run.desk.net_working("XYZ", T + 70) == []
    same_from_now_on(run.desk, fresh, run, T + 400)


# ------------------------------------------------------------- any state at all

_sizes = st.integers(1, 6).map(lambda n: 100 * n)
_ops = st.one_of(
    st.tuples(st.just("submit"), st.sampled_from([Side.BUY, Side.SELL]), _sizes, st.booleans()),
    st.tuples(st.just("cancel"), st.integers(0, 50)),
    st.tuples(st.just("amend"), st.integers(0, 50), st.integers(0, 4), st.booleans()),
    st.tuples(st.just("close")),
    st.tuples(st.just("mid"), st.sampled_from([None, REF])),
    st.tuples(st.just("fill"), st.integers(0, 9), _sizes),
    st.tuples(st.just("state"), st.integers(0, 9), st.sampled_from(list(ParentState))),
    st.tuples(st.just("answer"), st.integers(0, 9), _sizes),
)
_lost = st.lists(
    st.tuples(st.sampled_from(["fill", "state"]), st.integers(0, 9), _sizes, st.booleans()),
    max_size=4,
)


def _step(run: Run, i: int, now: int, kind: str, args: tuple) -> None:
    desk, orders, parents = run.desk, list(run.desk.orders()), run.parents()
    if kind == "submit":
        side, qty, limited = args
        run.submit(order(f"c{i}", qty, side, REF if limited else None), now)
    elif kind == "close":
        run.close(now)
    elif kind == "mid":
        run.mid = args[0]
        desk.set_mid("XYZ", run.mid)
        run._sent(desk.net_working("XYZ", now), now)
    elif kind in ("cancel", "amend") and orders:
        o = orders[args[0] % len(orders)]
        if kind == "cancel":
            cmd: Message = CancelClientOrder(source="OMS", client_order_id=o.client_order_id)
        else:
            limit = (REF if o.limit is None else None) if args[2] else o.limit
            quantity = o.cum_qty + 100 * args[1] if args[1] else None
            cmd = AmendClientOrder(
                source="OMS",
                client_order_id=o.client_order_id,
                quantity=quantity,
                limit_price=limit,
            )
        run.command(cmd, now)
    elif kind == "fill" and parents:
        run.fill(parents[args[0] % len(parents)], args[1], now)
    elif kind == "state" and parents:
        run.state(parents[args[0] % len(parents)], args[1], now)
    elif kind == "answer" and parents:
        run.answer(parents[args[0] % len(parents)], args[1], now)


@settings(max_examples=150)
@given(st.lists(_ops, min_size=5, max_size=60), _lost, st.booleans())
def test_a_desk_rebuilt_from_any_trail_acts_as_the_one_that_crashed(ops, lost, unanswered):
    run = Run()
    now = T
    for i, (kind, *args) in enumerate(ops):
        now += 7
        _step(run, i, now, kind, tuple(args))
    now += WINDOW
    run.close(now)  # see the known limit of an emptied window (docs/desk.md)
    parents = run.parents()
    late: list[Message] = []  # the crash: the parents' last messages never handled
    for kind, k, qty, terminal in lost if parents else []:
        now += 1
        pid = parents[k % len(parents)]
        if kind == "fill":
            run.fill(pid, qty, now, delivered=False)
        else:
            state = ParentState.EXPIRED if terminal else ParentState.WORKING
            run.state(pid, state, now, delivered=False)
        late.append(run.trail[-1])
    if unanswered:  # a command journaled, never answered
        late.append(run.record(SubmitClientOrder(order=order("last", 200)), now))

    fresh, rec = run.rebuilt()
    # handed back: every lost fill (a parent's progress that makes no message may be
    # applied in the rebuild itself), and the unanswered command
    assert rec.unanswered == (late[-1:] if unanswered else [])
    assert all(m in rec.inbox for m in late if isinstance(m, ParentOrderFilled))
    fresh.set_mid("XYZ", run.mid)  # market data is not the desk's to journal: it comes again
    live = [m for msg in late for m in run.desk.handle(msg, msg.ts)]
    rebuilt = [m for msg in [*rec.inbox, *rec.unanswered] for m in fresh.handle(msg, msg.ts)]
    assert rebuilt == live
    same_from_now_on(run.desk, fresh, run, now + 1)
