"""What the router tracks per child order and per venue order.

A venue order goes PENDING_NEW → OPEN → PENDING_CANCEL → DONE (any step may jump to DONE:
reject, full fill, cancelled). A cancel wanted before the venue acked is held until the
ack, so a cancel can never overtake its order on a jittery link and strand it.
A child is done exactly once, when it is closing (or filled) and no venue order is live.
Once done with every venue order final, the router keeps only a ``FinishedChild``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from engine.messages import OrderType, PlaceChildOrder, TimeInForce

EXPIRED_AT_CLOSE = "expired_at_close_unconfirmed"
"""``VenueOrderCancelled.reason`` of an order the router books as dead at its venue's
close (DAY orders die there) without the venue having said so: journaled by the router,
never sent by a venue (docs/routing.md, "The session's end")."""


class VenueOrderState(enum.StrEnum):
    PENDING_NEW = "pending_new"
    OPEN = "open"
    PENDING_CANCEL = "pending_cancel"
    DONE = "done"


@dataclass(slots=True)
class VenueOrder:
    order_id: str
    child_id: str
    venue: str
    quantity: int
    order_type: OrderType
    price: int | None
    tif: TimeInForce
    placed_ns: int
    state: VenueOrderState = VenueOrderState.PENDING_NEW
    filled: int = 0
    cancelled: int = 0  # shares the venue reports taken off (cancel, IOC remainder)
    cancel_wanted: bool = False  # cancel requested before the ack: sent on ack
    too_late: bool = False  # venue said the order is already done: fills are on their way
    kept: bool = False  # a resting timeout left it in place (recorded once)
    rejected: bool = False  # the venue refused it: done, and nothing more will fill
    pulling: bool = False  # given up as unknown, acked late: cancel sent, answer awaited
    status_asked: bool = False  # a VenueOrderStatusRequest is out, its answer awaited
    fill_ids: set[str] = field(default_factory=set)
    # Recovery (engine.routing.recovery): a restarted router asks the venue to cancel the
    # order to learn its fate; the venue's terminal answer then ends it, and shares it
    # never reported (their messages died with the old router) become ``unaccounted``.
    reconciling: bool = False
    unaccounted: int = 0

    @property
    def settled(self) -> bool:
        """Every share is accounted for: filled or taken off. Until then fills may still be
        in flight, even after the venue said cancelled or done (links reorder)."""
        return self.filled + self.cancelled + self.unaccounted >= self.quantity

    @property
    def live(self) -> bool:
        return self.state is not VenueOrderState.DONE

    @property
    def final(self) -> bool:
        """Done and the venue said its last word: rejected, or every share filled or taken
        off. (An order given up as unknown is done but not final: it may yet turn up.)"""
        return self.state is VenueOrderState.DONE and (self.rejected or self.settled)

    @property
    def leaves(self) -> int:
        """Shares that may still fill (0 once done)."""
        return max(0, self.quantity - self.filled - self.cancelled) if self.live else 0


_DONE = VenueOrderState.DONE


class LiquidityPhase(enum.StrEnum):
    DARK = "dark"  # liquidity seeking: probe dark pools first
    LIT = "lit"  # then split across lit venues by Cont–Kukanov


@dataclass(slots=True)
class Child:
    cmd: PlaceChildOrder
    accepted_ns: int
    filled: int = 0  # reported in ChildOrderFilled, never above cmd.quantity
    excess: int = 0  # reported in ChildOrderOverfilled
    seq: int = 0  # venue orders sent: ids are f"{child_id}-V{seq}"
    orders: dict[str, VenueOrder] = field(default_factory=dict)  # by order id, in send order
    closing: str | None = None  # why the child winds down ("filled", "cancelled", ...)
    done: bool = False
    waiting: bool = False  # unrouted quantity but nowhere to send it right now
    tried: list[str] = field(default_factory=list)  # sequential: venues tried this cycle
    avoid: set[str] = field(default_factory=set)  # venues that rejected this child
    phase: LiquidityPhase = LiquidityPhase.DARK
    last_reject: str = ""
    missed_takes: int = 0  # IOCs of this child that came back without a fill, in a row

    @property
    def quantity(self) -> int:
        return self.cmd.quantity

    @property
    def remaining(self) -> int:
        return max(0, self.cmd.quantity - self.filled)

    def live_orders(self) -> list[VenueOrder]:
        return [o for o in self.orders.values() if o.live]

    def has_live(self) -> bool:
        """Any venue order not done (``bool(live_orders())`` without the list)."""
        for o in self.orders.values():  # noqa: SIM110  (hot: a loop, no generator frame)
            if o.state is not _DONE:
                return True
        return False

    def at_risk(self, skip_venues: frozenset[str] = frozenset()) -> int:
        """Shares live at venues that may still fill (optionally ignoring some venues)."""
        total = 0
        for o in self.orders.values():
            if o.state is not _DONE and o.venue not in skip_venues:
                left = o.quantity - o.filled - o.cancelled  # ``o.leaves`` of a live order
                if left > 0:
                    total += left
        return total

    def next_order_id(self) -> str:
        self.seq += 1
        return f"{self.cmd.child_id}-V{self.seq}"


@dataclass(slots=True)
class FinishedChild:
    """What the router keeps of a child once it is done and every venue order of it is
    final (the ``Child`` and its ``VenueOrder``s are dropped): enough to ignore a
    redelivered command, refuse a clashing one, and report a stray fill as excess, in a
    fraction of the memory of a child and its venue orders."""

    parent_id: str
    cmd_hash: int  # hash(PlaceChildOrder): a redelivery is equal, a clash differs
    filled: int
    orders: int  # venue orders sent: f"{child_id}-V1" .. f"{child_id}-V{orders}"
    # venue order n rejected → its shares not yet filled or taken off: while there are
    # some, a late ack of it is pulled (late fills count against them, as for a kept child)
    rejected: dict[int, int] | None = None
    fills: tuple[int, ...] = ()  # fill_key(n, fill_id) of every fill of venue order n

    @property
    def done(self) -> bool:
        return True


def fill_key(order_number: int, fill_id: str) -> int:
    """A fill remembered compactly (an int, not the id string): fill ids are unique per
    venue order, and a 64-bit hash mistakes a new fill for a seen one ~never."""
    return hash((order_number, fill_id))


def order_number(order_id: str) -> tuple[str, int]:
    """(child id, n) of venue order id ``f"{child_id}-V{n}"``; n = 0 if it is not one."""
    child_id, _, tail = order_id.rpartition("-V")
    return (child_id, int(tail)) if tail.isdigit() else (order_id, 0)
