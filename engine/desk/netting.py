"""Netting: opposing client interest in one instrument crosses inside the desk at the lit
mid before anything goes to market (``InternalCrossExecuted``, internal fills to both
sides). New orders cross first (they have not gone to market), then what working parents
have given back. On each side the crossed quantity is split pro rata by open quantity
(``engine.desk.allocation``).

A working parent's quantity crosses only once the parent has released it: the desk asks
(``ReleaseParentQuantity``), the parent gives back what no child holds and lowers its
target (``ParentQuantityReleased``), and the desk holds it (``Parent.held``) until every
parent asked in the instrument has answered, crosses what it can and gives the rest back
with a resize. So a cross never takes shares a child may still fill (docs/desk.md).

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
from engine.messages import InternalCrossExecuted, ParentQuantityReleased, ReleaseParentQuantity

if TYPE_CHECKING:
    from engine.desk.desk import DeskConfig
    from engine.desk.intake import Intake
    from engine.messages import Message

Sides = dict[int, list]  # side (+1 buy, -1 sell) → that side's orders or parents

# a parent that had nothing (more) to give back is asked again no sooner than this
RELEASE_RETRY_NS = 1_000_000_000
HOLD_REASON = "internal cross: new orders wait"  # asked at a window's close


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

    def _shrunk(self, parent: Parent, now_ns: int, reason: str) -> list[tuple[str, Message]]:
        raise NotImplementedError

    def _carried(self, parent: Parent) -> tuple[list[ClientOrderState], list[int]]:
        raise NotImplementedError

    def net_working(self, instrument: str, now_ns: int) -> Outbox:
        """Cross what opposing working parents of ``instrument`` have given back, and ask
        them for more. Interest that could not cross when its window closed (no mid yet,
        not started, a limit away from the mid) would otherwise stay in the market on
        both sides until another order in the instrument arrives. Called on market data;
        cheap when there is nothing to cross. An open window is left to its close, which
        nets the working parents too."""
        if not self.config.net or self._window.holds(instrument):
            return []
        mid = self._mids.get(instrument)
        if mid is None:
            return []
        sides = set()
        held = asking = False
        for parent in self._parents.working_in(instrument):
            held = held or parent.held > 0
            asking = asking or parent.asking is not None
            if parent.open and crossable(parent.key, mid, now_ns):
                sides.add(parent.side)
        if len(sides) < 2 and (asking or not held):
            return []
        return self._net(instrument, {}, now_ns) + self.ask_release(instrument, now_ns)

    def on_parent_released(self, answer: ParentQuantityReleased, now_ns: int) -> Outbox:
        """A parent gave back ``answer.quantity`` (its target is lower by as much): held for
        the cross, which happens once every parent asked in the instrument has answered.
        An answer to no request outstanding (a redelivery) changes nothing."""
        parent = self._parents.get(answer.parent_id)
        if parent is None or parent.asking != answer.release_id:
            return []
        parent.asking = None
        parent.answered = answer.release_id
        parent.ask_after_ns = answer.ts + RELEASE_RETRY_NS  # as a rebuild finds it
        if parent.is_done:
            return []  # finished meanwhile: nothing of it left to cross
        parent.held = min(parent.held + answer.quantity, parent.open)
        parent.target -= answer.quantity
        return self.net_working(parent.instrument, now_ns)

    def ask_release(
        self,
        instrument: str,
        now_ns: int,
        new: dict[int, int] | None = None,
        reason: str = "internal cross",
    ) -> Outbox:
        """Ask working parents of ``instrument`` facing opposing interest (working, or
        ``new``: side → quantity of new orders) to give back their unplaced quantity, up
        to that interest; one request per parent at a time."""
        mid = self._mids.get(instrument)
        if mid is None or not self.config.net:
            return []
        interest = dict(new) if new else {1: 0, -1: 0}
        candidates: Sides = {1: [], -1: []}
        for parent in self._parents.working_in(instrument):
            if not parent.open or not crossable(parent.key, mid, now_ns):
                continue
            interest[parent.side] += parent.open
            free = 0 if parent.held else parent.open  # asked again once what it gave settled
            if free > 0 and parent.asking is None and now_ns >= parent.ask_after_ns:
                candidates[parent.side].append((parent, free))
        out: Outbox = []
        for side in (1, -1):
            opposing = interest[-side]
            for parent, free in candidates[side] if opposing else ():
                parent.releases += 1
                parent.asking = parent.releases
                ask = ReleaseParentQuantity(
                    ts=now_ns,
                    parent_id=parent.parent_id,
                    release_id=parent.releases,
                    quantity=min(free, opposing),
                    reason=reason,
                )
                out.append((parent.parent_id, ask))
        return out

    def hold_for_release(self, instrument: str, queues: dict[Key, Queue], now_ns: int) -> Outbox:
        """After the window's cross: if opposing working parents are asked to give back
        quantity the new orders left in ``queues`` could cross, those orders wait one more
        window (taken out of ``queues``, queued again) instead of going to market; the
        requests are returned."""
        mid = self._mids.get(instrument)
        if mid is None:
            return []
        new = {1: 0, -1: 0}
        for key, orders in queues.items():
            if crossable(key, mid, now_ns):
                new[key[1]] += sum([o.leaves for o in orders])
        asks = self.ask_release(instrument, now_ns, new, HOLD_REASON)
        asked = {self._parents[pid].side for pid, _ in asks}
        for key in [k for k in queues if -k[1] in asked and crossable(k, mid, now_ns)]:
            for o in queues.pop(key):
                if o.leaves:
                    self._window.enqueue(o, now_ns)
        return asks

    def _settle(self, instrument: str, now_ns: int) -> Outbox:
        """Once no parent of ``instrument`` has a request out, give back what was held
        and not crossed (a resize: the parent works it again)."""
        parents = list(self._parents.working_in(instrument))
        if any(p.asking is not None for p in parents):
            return []
        out: Outbox = []
        for parent in parents:
            if parent.held:
                parent.held = 0
                out += self._shrunk(parent, now_ns, "released quantity not crossed")
        return out

    def _net(self, instrument: str, queues: dict[Key, Queue], now_ns: int) -> Outbox:
        """Cross the window's ``queues`` of ``instrument`` and its working parents."""
        mid = self._mids.get(instrument)
        if mid is None:
            return []
        out = self._cross(instrument, mid, queues, now_ns)
        return out + self._settle(instrument, now_ns)

    def _cross(self, instrument: str, mid: int, queues: dict[Key, Queue], now_ns: int) -> Outbox:
        """The cross itself: new orders and held quantity of both sides, at ``mid``."""
        new: Sides = {1: [], -1: []}
        parents: Sides = {1: [], -1: []}
        for key, orders in queues.items():
            if crossable(key, mid, now_ns):
                new[key[1]] += orders  # queued orders are open (cancel and fill dequeue)
        for parent in self._parents.working_in(instrument):
            if parent.held and crossable(parent.key, mid, now_ns):
                parents[parent.side].append(parent)
        new_leaves = {1: [o.leaves for o in new[1]], -1: [o.leaves for o in new[-1]]}
        new_qty = {1: sum(new_leaves[1]), -1: sum(new_leaves[-1])}
        working_qty = {1: sum([p.held for p in parents[1]]), -1: sum([p.held for p in parents[-1]])}
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
        """Cross ``quantity`` of what one side's working ``parents`` hold (``at``: mid, lot,
        text, now), split over them by held quantity and within each by its members'
        open quantity: the fills go to ``out`` (and a parent's cancel once nothing of it
        is left open); returns the ids of the parents that crossed. Their targets already
        exclude what they held: nothing else is said to them."""
        mid, lot, text, now_ns = at
        crossed = []
        shares = allocate(quantity, [p.held for p in parents], lot)
        for parent, share in zip(parents, shares, strict=True):
            if not share:
                continue
            members, leaves = self._carried(parent)  # not a member whose cancel waits
            qtys = allocate(share, leaves, lot)
            out += self._fill(members, qtys, mid, INTERNAL_VENUE, True, text, now_ns)
            parent.open -= share
            parent.held -= share
            crossed.append(parent.parent_id)
            if not parent.open:
                out += self._shrunk(parent, now_ns, text)
        return crossed
