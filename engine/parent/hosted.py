"""The parent order as its actor hosts it (``engine.contract.Hosted``).

``ParentOrder`` is the decision logic; this adds what it needs around it to live in an
actor: the market view it reads (from the router's relay), the addresses of what it says
(child commands to the router, fills and state changes to the desk, decisions to the
journal only; once ended, an unsubscription from the router's relay), de-duplication of
desk commands by message id, and the restart.

Restart policy for children still open at the crash: **keep them**. The router (not the
parent) owns them and is unaffected by the parent's restart, their events are addressed
to the parent's stable name, and the journal gives their leaves exactly as the router
reported them. Cancelling and re-placing would add a cancel/fill race for every open
child, lose queue priority, and leave a window where the re-placed child plus the
not-yet-cancelled one exceed the remaining quantity. Kept children count as open
quantity in every later sizing decision, so "open ≤ remaining" holds; an open excess (a
resize the old instance never handled) is trimmed by the resize the restart replays.
"""

from __future__ import annotations

from engine.audit.trail import AuditTrail
from engine.contract import JOURNAL, Outbox
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
    ParentOrderFilled,
    ParentQuantityReleased,
    ParentResizeSettled,
    ParentState,
    ParentStateChanged,
    PlaceChildOrder,
    ReleaseParentQuantity,
    ResizeParentOrder,
    UnsubscribeMarketData,
)
from engine.parent.lifecycle import TERMINAL
from engine.parent.order import ParentOrder
from engine.parent.recovery import ParentHistory, replay, volume_at_start
from engine.parent.release import desk_target, release


class HostedParent:
    def __init__(self, parent: ParentOrder, *, router: str, desk: str) -> None:
        self.parent = parent
        self.router, self.desk = router, desk
        self.market = MarketView(parent.instrument.symbol)
        # where each kind of message the parent says goes; anything else is a decision,
        # journaled only (messages are final classes: the exact class is the key)
        self._destinations: dict[type[Message], str] = {
            PlaceChildOrder: router,
            CancelChildOrder: router,
            ParentOrderFilled: desk,
            ParentStateChanged: desk,
            ParentQuantityReleased: desk,
            ParentResizeSettled: desk,
        }
        self._commands_seen: set[int] = set()  # desk commands handled (msg ids)
        self._releases_answered: set[int] = set()  # the desk's release ids
        self._resume_on_market = False  # restarted: decide once the market is known
        self._settle_owed = 0  # a shrink the desk waits on (its settle number), not answered

    # ------------------------------------------------------------ construction

    def start(self, now_ns: int) -> Outbox:
        """A first start: work now, or wait until the mandate's start time."""
        return self._address(self.parent.start(now_ns, self.market))

    @classmethod
    def recover(
        cls, parent: ParentOrder, trail: AuditTrail, now_ns: int, *, router: str, desk: str
    ) -> tuple[HostedParent, Outbox]:
        """``parent`` (new) rebuilt from the audit trail, and what it must say before it
        acts. In simulation the records of the wave that crashed are already in the
        trail: the runtime writes a wave's records before it lets anyone restart."""
        records = [record.message for record in trail.by_parent(parent.parent_id)]
        history = replay(parent, records)
        parent.restore(now_ns, volume_at_start(trail, parent, history))
        hosted = cls(parent, router=router, desk=desk)
        hosted._commands_seen = set(history.commands)
        hosted._releases_answered = set(history.releases_answered)
        if history.settle_asked > history.settle_answered:
            hosted._settle_owed = history.settle_asked
        if parent.state is ParentState.PENDING:  # never began: start afresh
            answers = [hosted._release(a, now_ns) for a in history.unanswered_releases()]
            return hosted, hosted._address(answers) + hosted.start(now_ns)
        return hosted, hosted._address(hosted._reconcile(history, now_ns))

    def _reconcile(self, history: ParentHistory, now_ns: int) -> list[Message]:
        """Fills the desk never heard of go to it first (allocation must add up); then a
        client cancel the old instance never handled; then, if the journaled fills already
        reach the target, completion. Anything that needs prices waits for market data."""
        parent = self.parent
        out: list[Message] = list(history.unforwarded(now_ns))
        # the desk waits for an answer to each release request
        out += [self._release(ask, now_ns) for ask in history.unanswered_releases()]
        if parent.is_terminal:
            return out
        if history.cancel is not None:
            return out + parent.cancel(now_ns, history.cancel.reason or "cancelled")
        if parent.filled >= parent.target:
            return out + self._replay_target(now_ns)
        self._resume_on_market = True
        return out

    def _replay_target(self, now_ns: int) -> list[Message]:
        """Re-apply the current target through ``resize``: it completes a filled parent,
        trims open children above the remaining quantity and recalibrates if working.
        Idempotent: the target is already the journaled one."""
        parent = self.parent
        return parent.resize(parent.target, now_ns, self.market, "recovered after restart")

    # ------------------------------------------------------------ the contract

    def handle(self, msg: Message, now_ns: int) -> Outbox:
        out = self._handle(msg, now_ns)
        return out + self._settled(now_ns) if self._settle_owed else out

    def _handle(self, msg: Message, now_ns: int) -> Outbox:
        parent, market = self.parent, self.market
        if isinstance(msg, MarketDataUpdated):
            market.update(msg)
            if self._resume_on_market and market.mid() is not None:
                self._resume_on_market = False
                return self._address(self._replay_target(now_ns))
            parent.on_market_data(msg, now_ns, market)  # may only bring the wake forward
            return []
        if isinstance(msg, ChildOrderFilled):
            out = parent.on_child_filled(msg, now_ns, market)
        elif isinstance(msg, ChildOrderDone):
            out = parent.on_child_done(msg, now_ns, market)
        elif isinstance(msg, ChildOrderAccepted):
            out = parent.on_child_accepted(msg, now_ns, market)
        elif isinstance(msg, ChildOrderRejected):
            out = parent.on_child_rejected(msg, now_ns, market)
        elif isinstance(msg, ChildOrderOverfilled):
            # the router journaled the overfill when it sent it; only the desk-facing
            # fill is new (journaling the overfill again would count it twice)
            out = parent.on_child_overfilled(msg, now_ns)
        elif isinstance(msg, (ResizeParentOrder, CancelParentOrder)):
            out = self._on_command(msg, now_ns)
        elif isinstance(msg, ReleaseParentQuantity):
            if msg.release_id in self._releases_answered:
                return []  # answered already (recovered, or redelivered)
            out = [self._release(msg, now_ns)]
        else:
            return []
        return self._address(out)

    def on_wake(self, now_ns: int) -> Outbox:
        out = self._address(self.parent.on_timer(now_ns, self.market))
        return out + self._settled(now_ns) if self._settle_owed else out

    def _settled(self, now_ns: int) -> Outbox:
        """The answer to the shrinks the desk waits on, once no open child exceeds the
        remaining quantity (an ended parent answers by its end: nothing owed then)."""
        parent = self.parent
        if parent.is_terminal:
            self._settle_owed = 0
            return []
        if parent.open_qty > parent.leaves:
            return []
        settle, self._settle_owed = self._settle_owed, 0
        answer = ParentResizeSettled(
            ts=now_ns, parent_id=parent.parent_id, settle=settle, target=parent.target
        )
        return [(self.desk, answer)]

    def next_wake_ns(self) -> int | None:
        parent = self.parent
        return None if parent.is_terminal else parent.next_wake_ns

    # ---------------------------------------------------------------- helpers

    def _on_command(self, msg: ResizeParentOrder | CancelParentOrder, now_ns: int) -> list[Message]:
        if msg.msg_id in self._commands_seen:
            return []  # recovered from the journal already, or redelivered
        self._commands_seen.add(msg.msg_id)
        if isinstance(msg, ResizeParentOrder):
            self._settle_owed = max(self._settle_owed, msg.settle)
            target = desk_target(self.parent, msg.quantity, msg.after_release)
            return self.parent.resize(target, now_ns, self.market, msg.reason)
        return self.parent.cancel(now_ns, msg.reason or "cancelled")

    def _release(self, ask: ReleaseParentQuantity, now_ns: int) -> Message:
        self._releases_answered.add(ask.release_id)
        return release(self.parent, ask, now_ns)

    def _address(self, out: list[Message]) -> Outbox:
        to = self._destinations
        sends = [(to.get(msg.__class__, JOURNAL), msg) for msg in out]
        if any(isinstance(msg, ParentStateChanged) and msg.state in TERMINAL for msg in out):
            # ended for good: the router's relay stops sending it the market
            symbol = self.parent.instrument.symbol
            sends.append(
                (
                    self.router,
                    UnsubscribeMarketData(subscriber=self.parent.parent_id, instrument=symbol),
                )
            )
        return sends
