"""Giving quantity back to the desk for an internal cross.

The desk may cross a working parent's quantity only once the parent has given it up:
the parent alone knows what it has live (children at a venue, or on their way to one,
cancel requested or not), so it releases only its unplaced remainder, target − filled −
open children, in whole lots, and lowers its target by it. It never cancels a child to
release more: a child's fill would then have no client left.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.messages import ParentQuantityReleased, ParentState, ReleaseParentQuantity

if TYPE_CHECKING:
    from engine.parent.order import ParentOrder

# a pending parent has no schedule yet, and a finished one nothing left to give
_RELEASING = frozenset({ParentState.WORKING, ParentState.PAUSED})


def releasable(parent: ParentOrder) -> int:
    """What ``parent`` could give back now: its target that no open child holds."""
    if parent.state not in _RELEASING:
        return 0
    free = parent.target - parent.filled - parent.open_qty
    return max(0, free - free % parent.instrument.lot)


def desk_target(parent: ParentOrder, quantity: int, after_release: int) -> int:
    """The target a desk resize to ``quantity`` means: less what the parent released
    after ``after_release`` (answers the desk had not heard when it resized)."""
    return quantity - sum(q for rid, q in parent.released.items() if rid > after_release)


def release(parent: ParentOrder, ask: ReleaseParentQuantity, now_ns: int) -> ParentQuantityReleased:
    """Give up to ``ask.quantity`` back (never live quantity); the answer says how much.
    The schedule shrinks with the target, as on a resize; what is already working stays."""
    quantity = min(ask.quantity, releasable(parent))
    quantity -= quantity % parent.instrument.lot
    parent.released[ask.release_id] = max(quantity, 0)
    if quantity > 0:
        parent.target -= quantity
        if parent.strategy is not None:
            parent.strategy = parent.strategy.resized(parent.target)
    return ParentQuantityReleased(
        ts=now_ns,
        parent_id=parent.parent_id,
        release_id=ask.release_id,
        quantity=max(quantity, 0),
        target=parent.target,
    )
