"""Netting: opposing client interest in one instrument crosses inside the desk at the lit
mid before anything goes to market (``InternalCrossExecuted``, internal fills to both
sides). New orders cross first (they have not gone to market), then the unfilled part of
working parents, which then shrink. On each side the crossed quantity is split pro rata
by open quantity (``engine.desk.allocation``).

``Netting`` is the part of ``OrderDesk`` that does it (a mixin: it works on the desk's
window, parents and mids).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.contract import JOURNAL, Outbox
from engine.desk.allocation import allocate
from engine.desk.client_orders import INTERNAL_VENUE, ClientOrderState
from engine.desk.parents import Key, Parent, ParentBook, crossable
from engine.desk.window import AggregationWindow, Queue
from engine.messages import InternalCrossExecuted

if TYPE_CHECKING:
    from engine.desk.desk import DeskConfig
    from engine.desk.intake import Intake
    from engine.messages import Message

Sides = dict[int, list]  # side (+1 buy, -1 sell) → that side's orders or parents


class Netting:
    config: DeskConfig
    intake: Intake
    _window: AggregationWindow
    _parents: ParentBook
    _mids: dict[str, int]
    _cross_count: int

    def _fill(
        self,
        orders: list[ClientOrderState],
        qtys: list[int],
        price: int,
        venue: str,
        internal: bool,
        text: str,
        now_ns: int,
    ) -> Outbox:
        raise NotImplementedError

    def _shrunk(self, parent: Parent, now_ns: int, reason: str) -> tuple[str, Message]:
        raise NotImplementedError

    def net_working(self, instrument: str, now_ns: int) -> Outbox:
        """Cross opposing working parents of ``instrument`` (their unfilled parts) at the
        lit mid. Interest that could not cross when its window closed (no mid yet, not
        started, a limit away from the mid) would otherwise stay in the market on both
        sides until another order in the instrument arrives. Called on market data; cheap
        when there is nothing to cross. An open window is left to its close, which nets
        the working parents too."""
        if not self.config.net or self._window.holds(instrument):
            return []
        mid = self._mids.get(instrument)
        if mid is None:
            return []
        sides = set()
        for parent in self._parents.working_in(instrument):
            if parent.open and crossable(parent.key, mid, now_ns):
                sides.add(parent.side)
        return self._net(instrument, {}, now_ns) if len(sides) == 2 else []

    def _net(self, instrument: str, queues: dict[Key, Queue], now_ns: int) -> Outbox:
        """Cross the window's ``queues`` of ``instrument`` and its working parents."""
        mid = self._mids.get(instrument)
        if mid is None:
            return []
        new: Sides = {1: [], -1: []}
        parents: Sides = {1: [], -1: []}
        for key, orders in queues.items():
            if crossable(key, mid, now_ns):
                new[key[1]] += orders  # queued orders are open (cancel and fill dequeue)
        for parent in self._parents.working_in(instrument):
            if parent.open and crossable(parent.key, mid, now_ns):
                parents[parent.side].append(parent)
        new_leaves = {1: [o.leaves for o in new[1]], -1: [o.leaves for o in new[-1]]}
        new_qty = {1: sum(new_leaves[1]), -1: sum(new_leaves[-1])}
        working_qty = {1: sum([p.open for p in parents[1]]), -1: sum([p.open for p in parents[-1]])}
        quantity = min(new_qty[1] + working_qty[1], new_qty[-1] + working_qty[-1])
        if not quantity:
            return []
        self._cross_count += 1
        cross_id = f"{self.config.cross_id_prefix}{self._cross_count}"
        text = f"internal cross {cross_id}"
        lot = self.intake.instruments[instrument].lot
        out: Outbox = []  # the cross's record goes first, once the parents are known
        crossed: dict[int, list[str]] = {1: [], -1: []}
        for side in (1, -1):
            from_new = min(quantity, new_qty[side])
            if from_new:
                qtys = allocate(from_new, new_leaves[side], lot)
                out += self._fill(new[side], qtys, mid, INTERNAL_VENUE, True, text, now_ns)
            if quantity > from_new:  # else working parents untouched: no walk of members
                crossed[side] = self._cross_working(
                    parents[side], quantity - from_new, (mid, lot, text, now_ns), out
                )
        # the record names a side's working parent when one, and only one, crossed (its
        # members' internal fills, which carry its id, say how much)
        buys, sells = crossed[1], crossed[-1]
        record = InternalCrossExecuted(
            ts=now_ns,
            cross_id=cross_id,
            instrument=instrument,
            quantity=quantity,
            price=mid,
            buy_parent_id=buys[0] if len(buys) == 1 else None,
            sell_parent_id=sells[0] if len(sells) == 1 else None,
        )
        out.insert(0, (JOURNAL, record))
        return out

    def _cross_working(
        self, parents: list[Parent], quantity: int, at: tuple[int, int, str, int], out: Outbox
    ) -> list[str]:
        """Cross ``quantity`` of one side's working ``parents`` (``at``: mid, lot, text,
        now): their members' fills, then each crossed parent's shrink, go to ``out``;
        returns the ids of the parents that crossed. One walk of the members: each
        parent's open part shrinks by what its members were allocated (``open`` is Σ
        their leaves)."""
        mid, lot, text, now_ns = at
        members: list[ClientOrderState] = []
        leaves: list[int] = []
        counts = []
        for parent in parents:
            ms, ls = parent.open_members_leaves()
            members += ms
            leaves += ls
            counts.append(len(ms))
        qtys = allocate(quantity, leaves, lot)
        out += self._fill(members, qtys, mid, INTERNAL_VENUE, True, text, now_ns)
        crossed = []
        start = 0
        for parent, n in zip(parents, counts, strict=True):
            taken = sum(qtys[start : start + n])
            start += n
            if taken:
                parent.open -= taken
                crossed.append(parent.parent_id)
                out.append(self._shrunk(parent, now_ns, text))
        return crossed
