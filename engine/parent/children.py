"""The parent's children: every child it placed, those still working, and the fills it
has counted (by fill id, so a redelivered fill counts once).

The same small operations serve the live parent and recovery: a journaled child event
replayed through ``apply`` leaves the book as the live event left it.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.messages import (
    CancelChildOrder,
    ChildOrderAccepted,
    ChildOrderDone,
    ChildOrderRejected,
    Message,
    PlaceChildOrder,
    Tactic,
)


def excess_fill_id(fill_id: str) -> str:
    """The desk-facing id of the shares of ``fill_id`` beyond the child (an overfill).
    Distinct from the in-child part of the same venue fill: the desk de-duplicates fills
    by id, so sharing it would silently drop the excess from the excess account."""
    return f"{fill_id}/excess"


@dataclass(slots=True)
class Child:
    child_id: str
    quantity: int
    tactic: Tactic
    limit_price: int | None
    placed_ns: int
    filled: int = 0
    leaves: int = 0  # quantity still working at the venue, by our own accounting
    accepted: bool = False
    cancel_requested: bool = False
    done: bool = False

    @property
    def is_open(self) -> bool:
        return not self.done and self.leaves > 0


class ChildBook:
    def __init__(self, parent_id: str) -> None:
        self.parent_id = parent_id
        self.children: dict[str, Child] = {}  # every child ever placed, by id
        self.open: dict[str, Child] = {}  # those still working: keeps a decision O(open)
        self.fill_ids: set[str] = set()  # fills counted, overfill excess ids included
        self._seq = 0  # child ids are never reused: the router keys its state on them

    # ---------------------------------------------------------------- queries

    @property
    def open_qty(self) -> int:
        return sum(c.leaves for c in self.open.values())  # open: leaves > 0, not done

    def open_children(self) -> list[Child]:
        """Children still working. ``open`` holds exactly those (``is_open``): a child
        leaves it when its leaves reach zero or it is closed."""
        return list(self.open.values())

    def get(self, child_id: str) -> Child | None:
        return self.children.get(child_id)

    # ------------------------------------------------------------- bookkeeping

    def new_id(self) -> str:
        self._seq += 1
        return f"{self.parent_id}-C{self._seq}"

    def add(self, child: Child) -> None:
        self.children[child.child_id] = self.open[child.child_id] = child

    def count_fill(self, fill_id: str) -> bool:
        """True the first time ``fill_id`` is seen (the fill is to be counted)."""
        if fill_id in self.fill_ids:
            return False
        self.fill_ids.add(fill_id)
        return True

    def fill(self, child_id: str, quantity: int) -> None:
        child = self.children.get(child_id)
        if child is not None:
            child.filled += quantity
            child.leaves = max(0, child.leaves - quantity)
            if child.leaves == 0:
                self.open.pop(child.child_id, None)

    def close(self, child: Child) -> None:
        child.done, child.leaves = True, 0
        self.open.pop(child.child_id, None)

    # ----------------------------------------------------------------- cancels

    def cancel(self, child: Child, now_ns: int, reason: str) -> CancelChildOrder:
        child.cancel_requested = True
        return CancelChildOrder(
            ts=now_ns, parent_id=self.parent_id, child_id=child.child_id, reason=reason
        )

    def cancel_open(self, now_ns: int, reason: str) -> list[Message]:
        return [
            self.cancel(c, now_ns, reason) for c in self.open_children() if not c.cancel_requested
        ]

    def cancel_resting(self, now_ns: int, reason: str) -> list[Message]:
        return [
            self.cancel(c, now_ns, reason)
            for c in self.open_children()
            if c.tactic is not Tactic.AGGRESSIVE and not c.cancel_requested
        ]

    def trim_open(self, excess: int, now_ns: int, reason: str) -> list[Message]:
        """Cancel open children, newest first, until ``excess`` open quantity is gone."""
        out: list[Message] = []
        for c in sorted(self.open_children(), key=lambda c: c.placed_ns, reverse=True):
            if excess <= 0:
                break
            if not c.cancel_requested:
                out.append(self.cancel(c, now_ns, reason))
            excess -= c.leaves
        return out

    # ---------------------------------------------------------------- recovery

    def apply(self, msg: Message) -> None:
        """Replay one journaled child event (not fills: the parent counts those). A
        child's events follow its placement in the trail (each is caused by it)."""
        if isinstance(msg, PlaceChildOrder):
            self.add(
                Child(
                    child_id=msg.child_id,
                    quantity=msg.quantity,
                    tactic=msg.tactic,
                    limit_price=msg.limit_price,
                    placed_ns=msg.ts,
                    leaves=msg.quantity,
                )
            )
            self._seq = max(self._seq, _child_number(self.parent_id, msg.child_id))
            return
        child = self.children.get(getattr(msg, "child_id", ""))
        if child is None:
            return
        if isinstance(msg, CancelChildOrder):
            child.cancel_requested = True
        elif isinstance(msg, ChildOrderAccepted):
            child.accepted = True
        elif isinstance(msg, (ChildOrderDone, ChildOrderRejected)):
            self.close(child)


def _child_number(parent_id: str, child_id: str) -> int:
    prefix = f"{parent_id}-C"
    tail = child_id[len(prefix) :] if child_id.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else 0
