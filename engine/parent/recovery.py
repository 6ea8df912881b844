"""Rebuild a parent order from the audit trail after its actor restarts (event sourcing).

The parent's state is a function of what it said and what it was told, and both are in
the journal, each message journaled once by its sender:

- said by the parent: ``PlaceChildOrder``, ``CancelChildOrder``, ``ParentOrderFilled``
  (fills forwarded to the desk), ``ParentStateChanged``;
- told by the router: ``ChildOrderAccepted/Rejected/Filled/Overfilled/Done``;
- told by the desk: ``ResizeParentOrder``, ``CancelParentOrder``,
  ``ReleaseParentQuantity`` (answered by ``ParentQuantityReleased``, which carries the
  target the release left).

A message told to the parent is journaled when it is *sent*, so the journal also holds
what the crash dropped from the inbox and what is still in flight. Recovery therefore
counts every journaled fill (the shares did trade) and forwards to the desk the fills
the old instance never forwarded; the handlers stay idempotent (fill ids, command
message ids), so a redelivery after the restart changes nothing.

``replay`` feeds a new ``ParentOrder`` its records through ``ParentOrder.apply`` and
folds what its host needs to reconcile into a ``ParentHistory``; neither relies on the
order of records from different actors (the simulated runtime writes a wave's records
sorted by actor id) beyond causality: a child's events follow its placement.

No market data is replayed: the decision inputs (the market view) are not the parent's
state, and the restarted actor re-subscribes before it decides anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.audit.trail import AuditTrail
from engine.messages import (
    CancelParentOrder,
    ChildOrderFilled,
    ChildOrderOverfilled,
    MarketDataUpdated,
    Message,
    ParentOrderCreated,
    ParentOrderFilled,
    ParentQuantityReleased,
    ParentResizeSettled,
    ParentState,
    ParentStateChanged,
    ReleaseParentQuantity,
    ResizeParentOrder,
    StrategyName,
)
from engine.parent.children import excess_fill_id
from engine.parent.order import ParentOrder, to_desk


@dataclass(slots=True)
class ParentHistory:
    """What the journal says the desk has heard from one parent and told it: the fills
    to forward, the commands already handled."""

    parent_id: str
    fills: dict[str, ChildOrderFilled] = field(default_factory=dict)  # by fill id
    overfills: dict[str, ChildOrderOverfilled] = field(default_factory=dict)  # by excess id
    forwarded: set[str] = field(default_factory=set)  # fill ids sent to the desk
    started: ParentStateChanged | None = None  # pending → working: the strategy was built
    cancel: CancelParentOrder | None = None  # the first client cancel
    commands: set[int] = field(default_factory=set)  # msg ids of desk commands
    releases: dict[int, ReleaseParentQuantity] = field(default_factory=dict)  # by release id
    releases_answered: set[int] = field(default_factory=set)  # release ids answered
    settle_asked: int = 0  # the last settle number a resize asked for
    settle_answered: int = 0  # the last one ``ParentResizeSettled`` answered

    def note(self, msg: Message) -> None:
        """Fold one record of this parent in."""
        if isinstance(msg, ChildOrderFilled):
            self.fills.setdefault(msg.fill_id, msg)
        elif isinstance(msg, ChildOrderOverfilled):
            self.overfills.setdefault(excess_fill_id(msg.fill_id), msg)
        elif isinstance(msg, ParentOrderFilled):
            self.forwarded.add(msg.fill_id)
        elif isinstance(msg, ParentStateChanged):
            if self.started is None and msg.state is ParentState.WORKING:
                self.started = msg
        elif isinstance(msg, ResizeParentOrder):
            self.commands.add(msg.msg_id)
            self.settle_asked = max(self.settle_asked, msg.settle)
        elif isinstance(msg, ParentResizeSettled):
            self.settle_answered = max(self.settle_answered, msg.settle)
        elif isinstance(msg, CancelParentOrder):
            self.cancel = self.cancel or msg
            self.commands.add(msg.msg_id)
        elif isinstance(msg, ReleaseParentQuantity):
            self.releases.setdefault(msg.release_id, msg)
        elif isinstance(msg, ParentQuantityReleased):
            self.releases_answered.add(msg.release_id)

    def unanswered_releases(self) -> list[ReleaseParentQuantity]:
        """The desk's release requests the old instance never answered (the desk waits
        for an answer to each), in the order they were asked."""
        return [
            ask for rid, ask in sorted(self.releases.items()) if rid not in self.releases_answered
        ]

    def unforwarded(self, now_ns: int) -> list[ParentOrderFilled]:
        """Fills the desk has not heard of (dropped with the crash or still in flight):
        forwarded now, exactly once, so allocations keep adding up to parent fills."""
        out = [
            to_desk(f, f.fill_id, now_ns, parent_id=f.parent_id)
            for f in self.fills.values()
            if f.fill_id not in self.forwarded
        ]
        out += [
            to_desk(f, xid, now_ns, parent_id=f.parent_id)
            for xid, f in self.overfills.items()
            if xid not in self.forwarded
        ]
        return out


def replay(parent: ParentOrder, messages: Iterable[Message]) -> ParentHistory:
    """Feed a new ``parent`` its journaled records (the other side of an internal cross,
    filed under this parent too, is skipped) and fold them into its history. The caller
    then calls ``parent.restore``."""
    history = ParentHistory(parent.parent_id)
    for msg in messages:
        if getattr(msg, "parent_id", None) != parent.parent_id:
            continue
        parent.apply(msg)
        history.note(msg)
    return history


def volume_at_start(trail: AuditTrail, order: ParentOrder, history: ParentHistory) -> int:
    """The market volume the parent's view held when it began, for a strategy that reads
    the volume since start (0 for one that does not, or a parent that never began)."""
    started = history.started
    if started is None or not needs_volume(order.order):
        return 0
    tape = (r.message for r in trail.query(types="MarketDataUpdated", until=started.ts))
    return volume_before(tape, order.instrument.symbol, started.ts)


def needs_volume(order: ParentOrderCreated) -> bool:
    """Whether the strategy reads the market volume since start (POV, participation cap)."""
    mandate = order.mandate
    return mandate.strategy is StrategyName.POV or mandate.max_participation is not None


def volume_before(messages: Iterable[Message], instrument: str, t_ns: int) -> int:
    """Cumulative market volume across venues as last published at or before ``t_ns``:
    an estimate of what the parent's market view held when it began (the view itself is
    not journaled)."""
    latest: dict[str, int] = {}
    for msg in messages:
        if isinstance(msg, MarketDataUpdated) and msg.instrument == instrument and msg.ts <= t_ns:
            latest[msg.venue] = msg.volume
    return sum(latest.values())
