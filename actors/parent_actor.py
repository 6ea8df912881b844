"""The parent order actor: one per parent, hosting ``engine.parent.order.ParentOrder``.

It reads the market from the router's relay, places and cancels children through the
router, wakes on the parent's own timer, and reports fills and state changes to the
desk. Every decision it makes is journaled.

After a crash the supervisor starts it again (generation > 0) and ``started()`` rebuilds
the parent from the journal (``engine.parent.recovery``) before it acts. Reconciliation
policy for children still open at the crash: **keep them**. The router (not the parent)
owns them and is unaffected by the parent's restart, their events are addressed to the
parent's stable name, and the journal gives their leaves exactly as the router reported
them. Cancelling and re-placing would add a cancel/fill race for every open child, lose
queue priority, and leave a window where the re-placed child plus the not-yet-cancelled
one exceed the remaining quantity. Kept children count as open quantity in every later
sizing decision, so "open ≤ remaining" holds; an open excess (a resize the old instance
never handled) is trimmed by the resize the restart replays.
"""

from __future__ import annotations

from collections.abc import Iterable

from actors.actor import EngineActor
from actors.runtime import Runtime
from engine.config import SessionConfig
from engine.instruments import Instrument
from engine.market_view import MarketView
from engine.messages import (
    CancelChildOrder,
    CancelParentOrder,
    ChildOrderAccepted,
    ChildOrderDone,
    ChildOrderFilled,
    ChildOrderOverfilled,
    ChildOrderRejected,
    MarketDataUpdated,
    Message,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentState,
    ParentStateChanged,
    PlaceChildOrder,
    ResizeParentOrder,
    SubscribeMarketData,
)
from engine.parent.order import ParentConfig, ParentOrder
from engine.parent.recovery import (
    ParentHistory,
    excess_fill_id,
    fold,
    needs_volume,
    restore,
    volume_before,
)

_WAKE = "decide"


class ParentActor(EngineActor):
    def __init__(
        self,
        runtime: Runtime,
        name: str,
        generation: int = 0,
        *,
        order: ParentOrderCreated,
        instrument: Instrument,
        session: SessionConfig,
        config: ParentConfig = ParentConfig(),
        router: str = "router",
        desk: str = "desk",
    ) -> None:
        super().__init__(runtime, name, generation)
        self.order = order
        self.instrument = instrument
        self.session = session
        self.config = config
        self.router = router
        self.desk = desk
        self._commands_seen: set[int] = set()  # desk commands handled (msg ids)
        self._resume_on_market = False  # restarted: decide once the market is known

    def started(self) -> None:
        self.market = MarketView(self.instrument.symbol)
        self.send(
            self.router,
            SubscribeMarketData(subscriber=self.name, instrument=self.instrument.symbol),
        )
        if self.generation == 0:
            self.parent = ParentOrder(self.order, self.instrument, self.session, self.config)
            self._emit(self.parent.start(self.now, self.market))
            return
        self._recover()

    # --------------------------------------------------------------- recovery

    def _recover(self) -> None:
        """Rebuild from the journal, then reconcile before acting. In simulation the
        records of the wave that crashed are already in the journal: the runtime writes a
        wave's records before it lets the supervisor restart anyone."""
        records = self._journal_records()
        history = fold(self.name, records)
        self.parent = restore(
            self.order,
            self.instrument,
            self.session,
            self.config,
            history,
            now_ns=self.now,
            volume_at_start=self._volume_at_start(history, records),
        )
        self._commands_seen = set(history.commands)
        self.runtime.stats["parents_recovered"] += 1
        if self.parent.state is ParentState.PENDING:
            self._emit(self.parent.start(self.now, self.market))  # never began: start afresh
            return
        self._emit(self._reconcile(history))

    def _journal_records(self) -> list[Message]:
        sink = self.runtime.journal_sink
        if sink is None:
            raise RuntimeError(f"parent {self.name} restarted without a journal to recover from")
        by_parent = getattr(sink, "by_parent", None)
        if by_parent is not None:
            return [record.message for record in by_parent(self.name)]
        return [msg for msg in sink if getattr(msg, "parent_id", None) == self.name]  # type: ignore[attr-defined]

    def _volume_at_start(self, history: ParentHistory, records: Iterable[Message]) -> int:
        started = history.started
        if started is None or not needs_volume(self.order):
            return 0
        sink = self.runtime.journal_sink
        query = getattr(sink, "query", None)
        tape = (
            (r.message for r in query(types="MarketDataUpdated", until=started.ts))
            if query is not None
            else sink
        )  # type: ignore[assignment]
        return volume_before(tape, self.instrument.symbol, started.ts)  # type: ignore[arg-type]

    def _reconcile(self, history: ParentHistory) -> list[Message]:
        """Fills the desk never heard of go to it first (allocation must add up); then a
        client cancel the old instance never handled; then, if the journaled fills already
        reach the target, completion. Anything that needs prices waits for market data."""
        parent, now = self.parent, self.now
        out: list[Message] = list(history.unforwarded(now))
        if parent.is_terminal:
            return out
        if history.cancel is not None:
            return out + parent.cancel(now, history.cancel.reason or "cancelled")
        if parent.filled >= parent.target:
            return out + self._replay_target()
        self._resume_on_market = True
        return out

    def _replay_target(self) -> list[Message]:
        """Re-apply the current target through ``resize``: it completes a filled parent,
        trims open children above the remaining quantity and recalibrates if working.
        Idempotent: the target is already the journaled one."""
        return self.parent.resize(
            self.parent.target, self.now, self.market, "recovered after restart"
        )

    # --------------------------------------------------------------- handlers

    def receive(self, msg: Message, sender: str) -> None:
        parent, now, market = self.parent, self.now, self.market
        wake = parent.next_wake_ns
        if isinstance(msg, MarketDataUpdated):
            market.update(msg)
            if self._resume_on_market and market.mid() is not None:
                self._resume_on_market = False
                self._emit(self._replay_target())
            elif parent.on_market_data(msg, now, market):
                self.set_timer(_WAKE, parent.next_wake_ns)  # type: ignore[arg-type]
            return
        if isinstance(msg, ChildOrderFilled):
            out = parent.on_child_filled(msg, now, market)
        elif isinstance(msg, ChildOrderDone):
            out = parent.on_child_done(msg, now, market)
        elif isinstance(msg, ChildOrderAccepted):
            out = parent.on_child_accepted(msg, now, market)
        elif isinstance(msg, ChildOrderRejected):
            out = parent.on_child_rejected(msg, now, market)
        elif isinstance(msg, ChildOrderOverfilled):
            out = self._forward_overfill(msg)
        elif isinstance(msg, (ResizeParentOrder, CancelParentOrder)):
            out = self._on_command(msg)
        else:
            return
        if out or parent.next_wake_ns != wake:
            self._emit(out)  # else bookkeeping only (an ack, a used-up child's done)

    def _forward_overfill(self, msg: ChildOrderOverfilled) -> list[Message]:
        """Shares beyond the child: the desk books them to the excess account. (The router
        journaled the overfill when it sent it; journaling it here again would count the
        fill twice in the audit trail.)"""
        fill_id = excess_fill_id(msg.fill_id)
        if fill_id in self.parent._fill_ids:
            return []
        self.parent._fill_ids.add(fill_id)
        return [
            ParentOrderFilled(
                parent_id=msg.parent_id,
                child_id=msg.child_id,
                fill_id=fill_id,
                venue=msg.venue,
                quantity=msg.quantity,
                price=msg.price,
                liquidity=msg.liquidity,
                fee=msg.fee,
                ts=self.now,
            )
        ]

    def _on_command(self, msg: ResizeParentOrder | CancelParentOrder) -> list[Message]:
        if msg.msg_id in self._commands_seen:
            return []  # recovered from the journal already, or redelivered
        self._commands_seen.add(msg.msg_id)
        if isinstance(msg, ResizeParentOrder):
            return self.parent.resize(msg.quantity, self.now, self.market, msg.reason)
        return self.parent.cancel(self.now, msg.reason or "cancelled")

    def on_timer(self, key: str) -> None:
        self._emit(self.parent.on_timer(self.now, self.market))

    def _emit(self, out: list[Message]) -> None:
        for msg in out:
            if isinstance(msg, (PlaceChildOrder, CancelChildOrder)):
                self.journal(self.send(self.router, msg))
            elif isinstance(msg, (ParentOrderFilled, ParentStateChanged)):
                self.journal(self.send(self.desk, msg))
            else:
                self.journal(msg)  # ScheduleRecalibrated and other decisions
        wake = self.parent.next_wake_ns
        if wake is not None and not self.parent.is_terminal:
            self.set_timer(_WAKE, wake)
        else:
            self.cancel_timer(_WAKE)
