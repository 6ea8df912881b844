"""Client order state: quantity, fills, leaves, exact average price, and the execution
reports a client receives.

One ``ClientOrderState`` per accepted client order, kept small and untracked by the
cyclic GC because a desk holds one per resting order. Reports are built on demand and
never retained.
"""

from __future__ import annotations

import msgspec

from engine.messages import ClientOrder, ExecType, ExecutionReport, Mandate, OrdStatus, Side

INTERNAL_VENUE = "INTERNAL"  # ``ExecutionReport.venue`` of internal-cross fills

# The hot path reads enum members from module constants (an attribute load less).
_NEW, _PARTIAL, _FILLED = OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED, OrdStatus.FILLED
_CANCELED, _EXPIRED = OrdStatus.CANCELED, OrdStatus.EXPIRED
_OPEN = (_NEW, _PARTIAL)
_EXEC_TRADE = ExecType.TRADE
_PENDING = (ExecType.PENDING_CANCEL, ExecType.PENDING_REPLACE)
_SETTLING = (ExecType.CANCELED, ExecType.REPLACED)  # with a reason: a pending change's end


class ExecIds:
    """Unique, deterministic execution ids: ``E1``, ``E2``, … (prefix per desk/shard).

    Ids are made a thousand at a time, ``block`` holding those of the thousand
    ``thousands`` (``E123000`` … ``E123999``), built by one ``replace`` and one ``split``
    in C: cheaper than a concatenation per id, and a desk makes about two ids per order.
    ``count`` (the last id's number) may be set, e.g. by recovery."""

    __slots__ = ("block", "count", "prefix", "thousands")

    def __init__(self, prefix: str = "E") -> None:
        self.prefix = prefix
        self.count = 0
        self.thousands = -1  # ``block`` holds this thousand's ids (none yet)
        self.block: list[str] = []

    def next(self) -> str:
        count = self.count = self.count + 1
        if count // 1000 == self.thousands:  # the desk's hot path inlines this
            return self.block[count % 1000]
        return self.at(count)

    def at(self, count: int) -> str:
        """The id numbered ``count``; its thousand's ids are kept for the next ones."""
        self._load(count // 1000)
        return self.block[count % 1000]

    def take(self, n: int) -> list[str]:
        """The next ``n`` ids, as ``n`` calls of ``next`` would give them: slices of the
        thousands' blocks."""
        first = self.count + 1
        end = self.count = self.count + n
        end += 1  # exclusive
        ids: list[str] = []
        while first < end:
            thousands, tail = divmod(first, 1000)
            if thousands != self.thousands:
                self._load(thousands)
            stop = min(end - thousands * 1000, 1000)
            ids += self.block[tail:stop]
            first = thousands * 1000 + stop
        return ids

    def _load(self, thousands: int) -> None:
        prefix = self.prefix
        if not thousands:  # below 1000: no zero padding (index 0 is never an id)
            block = [prefix + digits for digits in _SMALL]
        else:
            head = f"{prefix}{thousands}"
            if "\n" in head:  # the split below needs a separator not in the ids
                block = [head + digits for digits in EXEC_ID_TAILS]
            else:  # "E123000\nE123001\n…": the head put before each tail, then split
                block = (head + _TAILS_TEXT.replace("\n", "\n" + head)).split("\n")
        self.block = block
        self.thousands = thousands


EXEC_ID_TAILS = tuple(f"{n:03d}" for n in range(1000))  # an id's last three digits
_TAILS_TEXT = "\n".join(EXEC_ID_TAILS)
_SMALL = tuple(str(n) for n in range(1000))


class ClientOrderState(msgspec.Struct, gc=False, eq=False):
    """A live client order. ``leaves`` is the open quantity still to execute (0 once done);
    ``cum_notional`` = Σ fill qty·price, so the average price is exactly
    ``cum_notional / cum_qty`` (``engine.prices.average_price``).

    A desk holds one per resting order (10^6 at scale), so this is kept small and out of
    the cyclic GC's way: a ``gc=False`` struct (untracked, 16 bytes smaller) holding the
    client order's fields itself rather than the ``ClientOrder`` (a GC-tracked object,
    which the GC's full collections would otherwise walk again and again, one per resting
    order, as the desk grows; one object per order also keeps reports cache-friendly).
    Untracked is safe only without reference cycles through it: it refers to strings,
    ints, enum members, the shared ``Mandate`` and its parent by id (``parent_id``,
    resolved by the desk), never to the ``Parent`` object that lists it. Identity equality
    and hash (``eq=False``): the desk keys its window queue by the state.
    Build it with ``ClientOrderState.of(order, arrival_ns)``.
    """

    source: str
    account: str
    client_order_id: str
    instrument: str
    side: Side
    mandate: Mandate
    order_qty: int  # as submitted (``order``)
    order_limit: int | None
    qty: int  # current total quantity (amends change it)
    limit: int | None  # current limit price
    leaves: int
    arrival_ns: int
    cum_qty: int = 0
    cum_notional: int = 0
    status: OrdStatus = _NEW
    parent_id: str | None = None  # the desk's parent this order's open part belongs to
    cancel_pending: bool = False  # cancel/amend pending: its parent's venue orders may fill it

    @classmethod
    def of(cls, order: ClientOrder, arrival_ns: int) -> ClientOrderState:
        """A just accepted order (``OrderDesk.submit`` builds the same inline)."""
        return cls(
            source=order.source,
            account=order.account,
            client_order_id=order.client_order_id,
            instrument=order.instrument,
            side=order.side,
            mandate=order.mandate,
            order_qty=order.quantity,
            order_limit=order.limit_price,
            qty=order.quantity,
            limit=order.limit_price,
            leaves=order.quantity,
            arrival_ns=arrival_ns,
        )

    @property
    def order(self) -> ClientOrder:
        """The client order as accepted (normalized), rebuilt (not on the hot path)."""
        return ClientOrder(
            source=self.source,
            account=self.account,
            client_order_id=self.client_order_id,
            instrument=self.instrument,
            side=self.side,
            quantity=self.order_qty,
            limit_price=self.order_limit,
            mandate=self.mandate,
        )

    @property
    def is_open(self) -> bool:
        status = self.status
        return status is _NEW or status is _PARTIAL

    @property
    def source_kind(self) -> str:
        """Source metadata: ``"trader:jane"`` → ``"trader"``, ``"OMS"`` → ``"OMS"``."""
        return self.source.partition(":")[0]

    # ----------------------------------------------------------------- transitions

    def cancel(self) -> None:
        self.leaves = 0
        self.status = _CANCELED

    def expire(self) -> int:
        """Done for day; returns the unfilled quantity."""
        unfilled = self.leaves
        self.leaves = 0
        self.status = _EXPIRED
        return unfilled

    def replace(self, quantity: int, limit: int | None) -> None:
        """New total quantity (≥ cum_qty, checked by intake) and limit price."""
        self.qty = quantity
        self.limit = limit
        self.leaves = quantity - self.cum_qty
        if not self.leaves:
            self.status = _FILLED
        # otherwise the status (new / partially filled) is unchanged

    def restore(self, report: ExecutionReport, limit: int | None) -> bool:
        """Take the state a journaled report about this order gives (``limit``: the one
        the command it answers set). True when the limit changed: another queue."""
        if report.exec_type is ExecType.REPLACED:
            self.qty = report.order_qty
        relimit = limit is not None and limit != self.limit
        if relimit:
            self.limit = limit
        self.cum_qty, self.cum_notional = report.cum_qty, report.cum_notional
        self.status = report.ord_status
        self.leaves = report.leaves_qty if report.ord_status in _OPEN else 0
        if report.exec_type in _PENDING:
            self.cancel_pending = True
        elif report.reason is not None and report.exec_type in _SETTLING:
            self.cancel_pending = False  # the parent ended: the pending change took effect
            self.parent_id = None
        if report.exec_type is ExecType.EXPIRED:  # its parent ended and released it
            self.parent_id = None
        return relimit

    # --------------------------------------------------------------------- reports

    def report(
        self,
        exec_type: ExecType,
        exec_id: str,
        now_ns: int,
        *,
        leaves_qty: int | None = None,
        reason: str | None = None,
        text: str = "",
    ) -> ExecutionReport:
        """Any other report (replaced, canceled, expired)."""
        return ExecutionReport(
            source=self.source,
            account=self.account,
            client_order_id=self.client_order_id,
            exec_id=exec_id,
            exec_type=exec_type,
            ord_status=self.status,
            instrument=self.instrument,
            side=self.side,
            order_qty=self.qty,
            cum_qty=self.cum_qty,
            leaves_qty=self.leaves if leaves_qty is None else leaves_qty,
            cum_notional=self.cum_notional,
            parent_id=self.parent_id,
            reason=reason,
            text=text,
            ts=now_ns,
        )


def trade_report(
    o: ClientOrderState,
    exec_id: str,
    last_qty: int,
    last_price: int,
    venue: str,
    internal: bool,
    text: str,
    now_ns: int,
) -> ExecutionReport:
    """The TRADE report of a fill ``o`` has just taken (its cum and leaves updated).

    The one place an ``ExecutionReport`` is built positionally, in its declaration order
    (``source`` … ``text``): with 16 keywords or more msgspec matches names an order of
    magnitude slower, and a desk sends one per allocated fill. Its test compares it with
    the report built by keyword, so a reordered field fails there."""
    return ExecutionReport(
        o.source,
        o.account,
        o.client_order_id,
        exec_id,
        _EXEC_TRADE,
        o.status,
        o.instrument,
        o.side,
        o.qty,
        o.cum_qty,
        o.leaves,
        o.cum_notional,
        last_qty,
        last_price,
        o.parent_id,
        internal,
        venue,
        None,
        text,
        ts=now_ns,
    )
