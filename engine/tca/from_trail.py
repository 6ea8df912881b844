"""TCA of a run, read from its audit trail: parents, fills and the market tape.

What is taken from which record:
- parent: ``ParentOrderCreated`` (side, quantity, arrival mid, start); target = the last
  ``ResizeParentOrder``/``ParentStateChanged`` target; end = the last terminal
  ``ParentStateChanged`` (else the last fill).
- fills: ``ParentOrderFilled`` (deduplicated by fill id; ``ChildOrderFilled`` if a parent
  has none). Order type from the child's ``PlaceVenueOrder`` on that venue.
- per-fill benchmark: market VWAP over the child's life up to the fill (``PlaceChildOrder``
  → fill); if nothing traded in it, the mid when the child was placed.
- decision price: the mid when the earliest client order later reported against the
  parent (``ExecutionReport.parent_id``) was submitted; else the arrival price.
- internalised quantity: fills with ``Liquidity.INTERNAL`` plus the internal fills
  (``ExecutionReport.internal``) of the parent's client orders while they were its
  members (``parent_id`` = the parent): the part of its quantity that crossed inside the
  engine. Orders that crossed before they joined it (in the window that made it) do not
  count: the parent never carried that quantity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from engine import messages as m
from engine.audit.trail import AuditTrail
from engine.tca.metrics import (
    MARKOUT_HORIZONS,
    Fill,
    MarketTape,
    ParentInfo,
    ParentTCA,
    Price,
    parent_tca,
)

_TERMINAL = {m.ParentState.COMPLETED, m.ParentState.CANCELED, m.ParentState.EXPIRED}


@dataclass(frozen=True, slots=True)
class RunTCA:
    parents: list[ParentTCA]
    tape: MarketTape  # every market data update of the run (one instrument's, if one)
    tapes: dict[str, MarketTape] = field(default_factory=dict)  # per instrument

    def tape_of(self, instrument: str) -> MarketTape:
        """The market tape of ``instrument`` (an empty tape if the run never heard it)."""
        return self.tapes.get(instrument) or MarketTape()


def order_type_label(order_type: m.OrderType | None, liquidity: m.Liquidity | None) -> str:
    if liquidity is m.Liquidity.INTERNAL:
        return "Internal Cross"
    if liquidity is m.Liquidity.MIDPOINT:
        return "Limit (Mid-Point)"
    return "Market" if order_type is m.OrderType.MARKET else "Limit"


class _RunIndex:
    """One pass over the journal, keeping what TCA needs."""

    def __init__(self, journal: AuditTrail) -> None:
        self.created: dict[str, m.ParentOrderCreated] = {}
        self.target: dict[str, int] = {}
        self.end: dict[str, int] = {}
        self.parent_fills: dict[str, dict[str, m.ParentOrderFilled]] = {}
        self.child_fills: dict[str, dict[str, m.ChildOrderFilled]] = {}
        self.child_start: dict[str, int] = {}
        self.venue_order_type: dict[tuple[str, str], m.OrderType] = {}
        self.internal_fills: dict[str, int] = {}  # parent id → Σ its members' internal fills
        self.submitted: dict[tuple[str, str], int] = {}
        self.first_client_ts: dict[str, int] = {}
        market: list[m.MarketDataUpdated] = []
        for msg in journal.replay():
            self._see(msg, market)
        self.tape = MarketTape.from_market_data(market)
        by_instrument: dict[str, list[m.MarketDataUpdated]] = {}
        for md in market:
            by_instrument.setdefault(md.instrument, []).append(md)
        if len(by_instrument) == 1:  # one instrument: its tape is the run's
            self.tapes = dict.fromkeys(by_instrument, self.tape)
        else:
            self.tapes = {s: MarketTape.from_market_data(u) for s, u in by_instrument.items()}

    def tape_for(self, parent_id: str) -> MarketTape:
        created = self.created.get(parent_id)
        found = self.tapes.get(created.instrument) if created is not None else None
        return found if found is not None else self.tape

    def _see(self, msg: m.Message, market: list[m.MarketDataUpdated]) -> None:
        match msg:
            case m.MarketDataUpdated():
                market.append(msg)
            case m.ParentOrderCreated():
                self.created[msg.parent_id] = msg
                self.target[msg.parent_id] = msg.quantity
            case m.ResizeParentOrder():
                self.target[msg.parent_id] = msg.quantity
            case m.ParentStateChanged():
                self.target[msg.parent_id] = msg.target
                if msg.state in _TERMINAL:
                    self.end[msg.parent_id] = msg.ts
            case m.ParentOrderFilled():
                self.parent_fills.setdefault(msg.parent_id, {})[msg.fill_id] = msg
            case m.ChildOrderFilled():
                self.child_fills.setdefault(msg.parent_id, {})[msg.fill_id] = msg
            case m.PlaceChildOrder():
                self.child_start.setdefault(msg.child_id, msg.ts)
            case m.PlaceVenueOrder():
                self.venue_order_type.setdefault((msg.child_id, msg.venue), msg.order_type)
            case m.SubmitClientOrder():
                self.submitted.setdefault((msg.order.source, msg.order.client_order_id), msg.ts)
            case m.ExecutionReport() if msg.parent_id is not None:
                if msg.internal and msg.exec_type is m.ExecType.TRADE:
                    pid = msg.parent_id
                    self.internal_fills[pid] = self.internal_fills.get(pid, 0) + msg.last_qty
                ts = self.submitted.get((msg.source, msg.client_order_id))
                if ts is not None:
                    prev = self.first_client_ts.get(msg.parent_id, ts)
                    self.first_client_ts[msg.parent_id] = min(prev, ts)

    def fills(self, parent_id: str, side: m.Side) -> list[Fill]:
        raw: Sequence[m.ParentOrderFilled | m.ChildOrderFilled] = list(
            (self.parent_fills.get(parent_id) or self.child_fills.get(parent_id) or {}).values()
        )
        return [
            Fill(
                child_id=f.child_id,
                ts=f.ts,
                venue=f.venue,
                order_type=order_type_label(
                    self.venue_order_type.get((f.child_id, f.venue)), f.liquidity
                ),
                side=side,
                quantity=f.quantity,
                price=f.price,
                benchmark=self._bench(f),
                fee=f.fee,
                liquidity=f.liquidity,
                fill_id=f.fill_id,
            )
            for f in sorted(raw, key=lambda f: (f.ts, f.msg_id))
        ]

    def _bench(self, f: m.ParentOrderFilled | m.ChildOrderFilled) -> Price | None:
        """Market VWAP over the child's life up to this fill; if nothing traded in it (a
        short child), the mid when the child was placed — the parent's whole-life VWAP
        says little about a child of a few seconds (None: parent_tca falls back)."""
        start = self.child_start.get(f.child_id)
        if start is None:
            return None
        tape = self.tape_for(f.parent_id)
        vwap = tape.vwap(start, f.ts)
        return vwap if vwap is not None else tape.mid_at(start)


def tca_from_journal(journal: AuditTrail, horizons: Sequence[int] = MARKOUT_HORIZONS) -> RunTCA:
    """Per-parent TCA of everything the journal holds, parents in creation order."""
    run = _RunIndex(journal)
    out = []
    for pid, created in run.created.items():
        fills = run.fills(pid, created.side)
        end = run.end.get(pid, max((f.ts for f in fills), default=created.ts))
        client_ts = run.first_client_ts.get(pid)
        tape = run.tape_for(pid)
        decision = tape.mid_at(client_ts) if client_ts is not None else None
        info = ParentInfo(
            parent_id=pid,
            side=created.side,
            target=run.target[pid],
            start_ns=created.ts,
            end_ns=end,
            arrival_price=created.arrival_mid,
            decision_price=decision,
            instrument=created.instrument,
            strategy=str(created.mandate.strategy),
        )
        internal = sum(f.quantity for f in fills if f.liquidity is m.Liquidity.INTERNAL)
        internal += run.internal_fills.get(pid, 0)
        out.append(parent_tca(info, fills, tape, internalised_quantity=internal, horizons=horizons))
    return RunTCA(parents=out, tape=run.tape, tapes=run.tapes)
