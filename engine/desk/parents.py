"""The desk's side of its parent orders: which client orders each one carries, how much
of it is still open, and which parents are still working (open to joins).

Compatible client orders share a parent: same instrument, side, limit price (or both
market) and an equal ``Mandate`` (a parent has one mandate, so orders with different
horizons or participation caps never share one). That tuple is a parent's ``Key``.
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from contextlib import suppress
from itertools import compress

from engine.desk.client_orders import ClientOrderState
from engine.messages import Mandate, ParentOrderCreated, ParentState

# (instrument, side, limit price or None, mandate): orders with one key share a parent
Key = tuple[str, int, int | None, Mandate]

TERMINAL_PARENT = frozenset({ParentState.COMPLETED, ParentState.CANCELED, ParentState.EXPIRED})


def key_of(order: ClientOrderState) -> Key:
    return (order.instrument, order.side, order.limit, order.mandate)


def crossable(key: Key, mid: int, now_ns: int) -> bool:
    """May interest with this key trade at ``mid`` now? (limit admits it, started, not
    ended: an order put back in the queue after its end must not be filled)"""
    _, side, limit, mandate = key
    if limit is not None and (mid - limit) * side > 0:
        return False
    if mandate.end_ns is not None and mandate.end_ns <= now_ns:
        return False
    return mandate.start_ns is None or mandate.start_ns <= now_ns


class Parent:
    """The desk's view of a parent: its members and how much of it is still open.

    While working, ``target == filled + open - held`` as last sent to the parent actor
    (less what it released since), and ``open`` is Σ leaves of the members whose
    ``parent_id`` is this one's. ``held`` is open quantity the parent gave back for an
    internal cross (nothing of it is live at a venue); ``asking`` the id of a release
    request not answered yet, ``answered`` the last one answered. Members refer to
    their parent by id only (no cycle: ``ClientOrderState`` is untracked by the GC).
    """

    __slots__ = (
        "answered",
        "ask_after_ns",
        "asking",
        "excess_notional",
        "excess_qty",
        "filled",
        "filled_notional",
        "held",
        "key",
        "members",
        "open",
        "parent_id",
        "pending",
        "releases",
        "settles",
        "state",
        "target",
    )

    def __init__(self, parent_id: str, key: Key, members: list[ClientOrderState], qty: int) -> None:
        self.parent_id = parent_id
        self.key = key
        self.target = qty
        self.filled = 0
        self.filled_notional = 0
        self.open = qty
        self.members = members
        self.state = ParentState.PENDING
        self.excess_qty = 0
        self.excess_notional = 0
        self.held = 0
        self.asking: int | None = None
        self.releases = 0  # release requests sent (the last one's id)
        self.answered = 0  # the last release request answered
        self.ask_after_ns = 0
        self.pending = 0  # Σ leaves of members whose cancel/amend waits for a settle
        self.settles = 0  # resizes that asked for ``ParentResizeSettled`` (the last number)

    @property
    def instrument(self) -> str:
        return self.key[0]

    @property
    def side(self) -> int:
        return self.key[1]

    @property
    def limit(self) -> int | None:
        return self.key[2]

    @property
    def mandate(self) -> Mandate:
        return self.key[3]

    @property
    def is_done(self) -> bool:
        return self.state in TERMINAL_PARENT

    def join(self, orders: list[ClientOrderState]) -> None:
        """``orders`` (open, with this parent's key) become members."""
        pid = self.parent_id
        for o in orders:
            o.parent_id = pid
        self.members.extend(orders)

    def leave(self, order: ClientOrderState) -> None:
        """``order`` is no longer carried by this parent (a new limit took it out); off the
        member list too: amended back to this limit it may rejoin, and listed twice it
        would be allocated twice."""
        order.parent_id = None
        with suppress(ValueError):  # not listed: nothing to drop
            self.members.remove(order)

    def add_fill(self, quantity: int, price: int) -> None:
        self.filled += quantity
        self.filled_notional += quantity * price

    def add_excess(self, quantity: int, price: int) -> None:
        self.excess_qty += quantity
        self.excess_notional += quantity * price

    def restore_excess(self, quantity: int, notional: int) -> None:
        """The excess account as its last journaled report left it."""
        self.excess_qty, self.excess_notional = quantity, notional

    def finish(self, state: ParentState) -> list[ClientOrderState]:
        """The parent ended (``state`` is terminal): its open members, released (they
        have no parent any more); it carries nothing more."""
        self.state = state
        members = self.open_members()
        self.open = self.held = self.pending = 0
        self.members = []
        for o in members:
            o.parent_id = None
        return members

    def open_members(self) -> list[ClientOrderState]:
        """Members still open in this parent, in arrival order; drops the others for good."""
        return self.open_members_leaves()[0]

    def open_members_leaves(self) -> tuple[list[ClientOrderState], list[int]]:
        """``open_members()`` and their open quantities, from one Python-level walk of the
        members (the rest in C): a cross walks thousands of working members per window."""
        pid = self.parent_id
        members = self.members
        leaves = [m.leaves if m.parent_id == pid else 0 for m in members]
        live = self.members = list(compress(members, leaves))
        return live, list(filter(None, leaves))

    def recount_open(self, waiting: Container[ClientOrderState] = ()) -> None:
        """``open`` from the members, and ``held`` from the target the parent was last
        known to have (after a rebuild): open quantity beyond it was given back. Members
        in ``waiting`` (a cancel or amend pending on a shrink) count as ``pending``."""
        members = self.open_members()
        self.pending = sum(o.leaves for o in members if o in waiting)
        self.open = sum(o.leaves for o in members) - self.pending
        unplaced = self.filled + self.open - self.target  # as the desk computes a target
        self.held = 0 if self.is_done else max(0, min(self.open, unplaced))


class ParentBook:
    """Every parent the desk created, by id; the working ones (open to joins) by key and
    by instrument. Parent ids are ``prefix`` + a count."""

    __slots__ = ("_by_id", "_by_instrument", "_working", "count", "prefix")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.count = 0
        self._by_id: dict[str, Parent] = {}
        self._working: dict[Key, Parent] = {}
        self._by_instrument: dict[str, dict[str, Parent]] = {}

    def get(self, parent_id: str) -> Parent | None:
        return self._by_id.get(parent_id)

    def __getitem__(self, parent_id: str) -> Parent:
        return self._by_id[parent_id]

    @property
    def by_id(self) -> dict[str, Parent]:
        return self._by_id

    def working(self, key: Key) -> Parent | None:
        """The working parent compatible orders join, if any."""
        return self._working.get(key)

    def working_in(self, instrument: str) -> Iterable[Parent]:
        return self._by_instrument.get(instrument, {}).values()

    def create(self, key: Key, members: list[ClientOrderState], qty: int) -> Parent:
        self.count += 1
        parent = Parent(f"{self.prefix}{self.count}", key, [], qty)
        parent.join(members)
        self._add(parent)
        return parent

    def restore(self, created: ParentOrderCreated) -> Parent:
        """A parent as its creation record describes it, working and without members yet;
        later ids continue after its number."""
        key = (created.instrument, created.side, created.limit_price, created.mandate)
        parent = Parent(created.parent_id, key, [], created.quantity)
        self._add(parent)
        self.count = max(self.count, id_number(created.parent_id, self.prefix))
        return parent

    def retire(self, parent: Parent) -> None:
        """No more joins: the next compatible orders get a new parent."""
        if self._working.get(parent.key) is parent:
            del self._working[parent.key]
        self._by_instrument[parent.instrument].pop(parent.parent_id, None)

    def _add(self, parent: Parent) -> None:
        self._by_id[parent.parent_id] = parent
        self._working[parent.key] = parent
        self._by_instrument.setdefault(parent.instrument, {})[parent.parent_id] = parent


def id_number(ident: str, prefix: str) -> int:
    """The count in an id made as ``prefix`` + count (0 if it is not one)."""
    tail = ident[len(prefix) :] if ident.startswith(prefix) else ""
    return int(tail) if tail.isdigit() else 0
