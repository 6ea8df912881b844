"""Client order state: quantity, fills, leaves, exact average price, and the execution
reports a client receives.

One ``ClientOrderState`` per accepted client order, kept small (``__slots__``, the
original ``ClientOrder`` shared rather than copied) because a desk holds one per resting
order. Reports are built on demand and never retained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.messages import ClientOrder, ExecType, ExecutionReport, OrdStatus

if TYPE_CHECKING:  # the parent is owned by the desk; only a reference is kept here
    from engine.aggregation import Parent

INTERNAL_VENUE = "INTERNAL"  # ``ExecutionReport.venue`` of internal-cross fills

_OPEN = frozenset({OrdStatus.NEW, OrdStatus.PARTIALLY_FILLED})


class ExecIds:
    """Unique, deterministic execution ids: ``E1``, ``E2``, … (prefix per desk/shard)."""

    __slots__ = ("prefix", "count")

    def __init__(self, prefix: str = "E") -> None:
        self.prefix = prefix
        self.count = 0

    def next(self) -> str:
        self.count += 1
        return f"{self.prefix}{self.count}"


class ClientOrderState:
    """A live client order. ``leaves`` is the open quantity still to execute (0 once done);
    ``cum_notional`` = Σ fill qty·price, so the average price is exactly
    ``cum_notional / cum_qty`` (``engine.prices.average_price``)."""

    __slots__ = (
        "order", "qty", "limit", "leaves", "cum_qty", "cum_notional", "status", "parent",
        "arrival_ns",
    )

    def __init__(self, order: ClientOrder, arrival_ns: int) -> None:
        self.order = order
        self.qty = order.quantity
        self.limit = order.limit_price
        self.leaves = order.quantity
        self.cum_qty = 0
        self.cum_notional = 0
        self.status = OrdStatus.NEW
        self.parent: Parent | None = None
        self.arrival_ns = arrival_ns

    @property
    def is_open(self) -> bool:
        return self.status in _OPEN

    @property
    def source_kind(self) -> str:
        """Source metadata: ``"trader:jane"`` → ``"trader"``, ``"OMS"`` → ``"OMS"``."""
        return self.order.source.partition(":")[0]

    # ----------------------------------------------------------------- transitions

    def fill(self, quantity: int, price: int) -> None:
        if not 0 < quantity <= self.leaves:
            raise ValueError(f"fill of {quantity} with {self.leaves} open")
        self.cum_qty += quantity
        self.cum_notional += quantity * price
        self.leaves -= quantity
        self.status = OrdStatus.PARTIALLY_FILLED if self.leaves else OrdStatus.FILLED

    def cancel(self) -> None:
        self.leaves = 0
        self.status = OrdStatus.CANCELED

    def expire(self) -> int:
        """Done for day; returns the unfilled quantity."""
        unfilled = self.leaves
        self.leaves = 0
        self.status = OrdStatus.EXPIRED
        return unfilled

    def replace(self, quantity: int, limit: int | None) -> None:
        """New total quantity (≥ cum_qty, checked by intake) and limit price."""
        self.qty = quantity
        self.limit = limit
        self.leaves = quantity - self.cum_qty
        if not self.leaves:
            self.status = OrdStatus.FILLED
        # otherwise the status (new / partially filled) is unchanged

    # --------------------------------------------------------------------- reports

    def report(
        self,
        exec_type: ExecType,
        exec_id: str,
        now_ns: int,
        *,
        last_qty: int = 0,
        last_price: int = 0,
        leaves_qty: int | None = None,
        internal: bool = False,
        venue: str | None = None,
        reason: str | None = None,
        text: str = "",
    ) -> ExecutionReport:
        order = self.order
        parent = self.parent
        return ExecutionReport(
            ts=now_ns,
            source=order.source,
            account=order.account,
            client_order_id=order.client_order_id,
            exec_id=exec_id,
            exec_type=exec_type,
            ord_status=self.status,
            instrument=order.instrument,
            side=order.side,
            order_qty=self.qty,
            cum_qty=self.cum_qty,
            leaves_qty=self.leaves if leaves_qty is None else leaves_qty,
            cum_notional=self.cum_notional,
            last_qty=last_qty,
            last_price=last_price,
            parent_id=None if parent is None else parent.parent_id,
            internal=internal,
            venue=venue,
            reason=reason,
            text=text,
        )
