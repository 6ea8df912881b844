"""Rebuild a ``ParentOrder`` from the audit trail after its actor restarts (event sourcing).

The parent's state is a function of what it said and what it was told, and both are in
the journal, each message journaled once by its sender:

- said by the parent: ``PlaceChildOrder``, ``CancelChildOrder``, ``ParentOrderFilled``
  (fills forwarded to the desk), ``ParentStateChanged``;
- told by the router: ``ChildOrderAccepted/Rejected/Filled/Overfilled/Done``;
- told by the desk: ``ResizeParentOrder``, ``CancelParentOrder``.

A message told to the parent is journaled when it is *sent*, so the journal also holds
what the crash dropped from the inbox and what is still in flight. Recovery therefore
counts every journaled fill (the shares did trade) and forwards to the desk the fills
the old instance never forwarded; the handlers stay idempotent (fill ids, command
message ids), so a redelivery after the restart changes nothing.

``fold`` does not rely on the order of records from different actors (the simulated
runtime writes a wave's records sorted by actor id): it only orders the parent's own
records and the desk's, each of which is in send order.

No market data is replayed: the decision inputs (the market view) are not the parent's
state, and the restarted actor re-subscribes before it decides anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.config import SessionConfig
from engine.instruments import Instrument
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
    StrategyName,
)
from engine.parent.order import Child, ParentConfig, ParentOrder
from engine.strategies import build_strategy

_NO_MARKET_DATA = "no market data"  # ParentOrder's reason for an automatic pause


def excess_fill_id(fill_id: str) -> str:
    """The desk-facing id of the shares of ``fill_id`` beyond the child (an overfill).
    Distinct from the in-child part of the same venue fill: the desk de-duplicates fills
    by id, so sharing it would silently drop the excess from the excess account."""
    return f"{fill_id}/excess"


@dataclass(slots=True)
class ParentHistory:
    """Everything the journal says about one parent, folded into sets and last values."""

    parent_id: str
    placed: dict[str, PlaceChildOrder] = field(default_factory=dict)  # in placement order
    cancel_requested: set[str] = field(default_factory=set)
    accepted: set[str] = field(default_factory=set)
    finished: set[str] = field(default_factory=set)  # ChildOrderDone or ChildOrderRejected
    fills: dict[str, ChildOrderFilled] = field(default_factory=dict)  # by fill id
    overfills: dict[str, ChildOrderOverfilled] = field(default_factory=dict)  # by excess id
    forwarded: set[str] = field(default_factory=set)  # fill ids sent to the desk
    states: list[ParentStateChanged] = field(default_factory=list)
    last_resize: ResizeParentOrder | None = None
    cancel: CancelParentOrder | None = None
    commands: set[int] = field(default_factory=set)  # msg ids of desk commands

    @property
    def filled(self) -> int:
        return sum(f.quantity for f in self.fills.values())

    @property
    def started(self) -> ParentStateChanged | None:
        """The transition out of pending into working: the strategy was built then."""
        return next((s for s in self.states if s.state is ParentState.WORKING), None)

    def unforwarded(self, now_ns: int) -> list[ParentOrderFilled]:
        """Fills the desk has not heard of (dropped with the crash or still in flight):
        forwarded now, exactly once, so allocations keep adding up to parent fills."""
        out = [
            _to_desk(f, f.fill_id, now_ns)
            for f in self.fills.values()
            if f.fill_id not in self.forwarded
        ]
        out += [
            _to_desk(f, xid, now_ns)
            for xid, f in self.overfills.items()
            if xid not in self.forwarded
        ]
        return out


def fold(parent_id: str, messages: Iterable[Message]) -> ParentHistory:
    """Fold the journal records of one parent into its history."""
    h = ParentHistory(parent_id)
    for msg in messages:
        if getattr(msg, "parent_id", None) != parent_id:
            continue  # e.g. the other side of an internal cross
        _fold_one(h, msg)
    return h


def _fold_one(h: ParentHistory, msg: Message) -> None:
    if isinstance(msg, PlaceChildOrder):
        h.placed[msg.child_id] = msg
    elif isinstance(msg, CancelChildOrder):
        h.cancel_requested.add(msg.child_id)
    elif isinstance(msg, ChildOrderAccepted):
        h.accepted.add(msg.child_id)
    elif isinstance(msg, ChildOrderFilled):
        h.fills.setdefault(msg.fill_id, msg)
    elif isinstance(msg, ChildOrderOverfilled):
        h.overfills.setdefault(excess_fill_id(msg.fill_id), msg)
    elif isinstance(msg, (ChildOrderDone, ChildOrderRejected)):
        h.finished.add(msg.child_id)
    elif isinstance(msg, ParentOrderFilled):
        h.forwarded.add(msg.fill_id)
    elif isinstance(msg, ParentStateChanged):
        h.states.append(msg)
    elif isinstance(msg, ResizeParentOrder):
        h.last_resize = msg
        h.commands.add(msg.msg_id)
    elif isinstance(msg, CancelParentOrder):
        h.cancel = h.cancel or msg
        h.commands.add(msg.msg_id)


def restore(
    order: ParentOrderCreated,
    instrument: Instrument,
    session: SessionConfig,
    config: ParentConfig,
    history: ParentHistory,
    *,
    now_ns: int,
    volume_at_start: int = 0,
) -> ParentOrder:
    """A ``ParentOrder`` in the state the journal describes. A parent that never left
    pending comes back pending (the caller starts it as on a first start). Open children
    keep their journaled leaves: the router still works them (see ``ParentActor``)."""
    parent = ParentOrder(order, instrument, session, config)
    _restore_fills(parent, history)
    target = history.last_resize.quantity if history.last_resize else order.quantity
    parent.target = max(target, parent.filled)  # as ParentOrder.resize: never below filled
    _restore_children(parent, history)
    started = history.started
    if started is None:
        if history.states:  # pending straight to a terminal state
            parent.state = history.states[-1].state
            parent.next_wake_ns = None
        return parent
    _restore_strategy(parent, started, volume_at_start)
    last = history.states[-1]
    parent.state = last.state
    parent._auto_paused = last.state is ParentState.PAUSED and last.reason == _NO_MARKET_DATA
    # Decide again one interval from now at the latest; the actor decides as soon as
    # market data is back, this timer is the fallback if it never comes.
    parent.next_wake_ns = None if parent.is_terminal else now_ns + config.decision_interval_ns
    parent._wake_anchor_ns = now_ns  # the decision grid restarts here
    return parent


def _restore_fills(parent: ParentOrder, history: ParentHistory) -> None:
    # overfill ids too: the actor de-duplicates redelivered overfills on the same set
    parent._fill_ids = set(history.fills) | set(history.overfills)
    parent.filled = history.filled


def _restore_children(parent: ParentOrder, history: ParentHistory) -> None:
    filled_by_child: dict[str, int] = {}
    for f in history.fills.values():
        filled_by_child[f.child_id] = filled_by_child.get(f.child_id, 0) + f.quantity
    for child_id, cmd in history.placed.items():
        filled = filled_by_child.get(child_id, 0)
        child = Child(
            child_id,
            cmd.quantity,
            cmd.tactic,
            cmd.limit_price,
            cmd.ts,
            filled=filled,
            leaves=max(0, cmd.quantity - filled),
            accepted=child_id in history.accepted,
            cancel_requested=child_id in history.cancel_requested,
        )
        if child_id in history.finished:
            child.done, child.leaves = True, 0
        parent.children[child_id] = child
        if child.is_open:
            parent._open[child_id] = child
        # Child ids must never be reused: the router keys its state on them.
        parent._child_seq = max(parent._child_seq, _child_number(parent.parent_id, child_id))


def _child_number(parent_id: str, child_id: str) -> int:
    prefix = f"{parent_id}-C"
    tail = child_id[len(prefix) :] if child_id.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else 0


def _restore_strategy(
    parent: ParentOrder, started: ParentStateChanged, volume_at_start: int
) -> None:
    """The schedule as built when the parent began (mirrors ``ParentOrder._begin``), then
    resized to the current target the way a resize does it."""
    parent.start_ns = started.ts
    parent._volume_at_start = volume_at_start
    strategy = build_strategy(
        parent.order.mandate,
        started.target,
        started.ts,
        parent.end_ns,
        parent.instrument.lot,
        parent.session,
        period_ns=parent.config.period_ns,
        profile=parent._profile,
        impact=parent._impact,
    )
    parent.strategy = (
        strategy if parent.target == started.target else strategy.resized(parent.target)
    )


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


def _to_desk(
    f: ChildOrderFilled | ChildOrderOverfilled, fill_id: str, now_ns: int
) -> ParentOrderFilled:
    return ParentOrderFilled(
        ts=now_ns,
        parent_id=f.parent_id,
        child_id=f.child_id,
        fill_id=fill_id,
        venue=f.venue,
        quantity=f.quantity,
        price=f.price,
        liquidity=f.liquidity,
        fee=f.fee,
    )
