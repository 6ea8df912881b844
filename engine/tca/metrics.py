"""Transaction cost analysis, with the project's sign conventions (``docs/tca.md``).

side = +1 buy, −1 sell.
- Slippage (cost) vs a benchmark: side·(P̄_exec − P_bench)/P_bench·1e4 bps; positive = cost.
- Performance vs a benchmark (the fill table's column): −slippage; positive = better.
- Markout at Δ: side·(mid_{t+Δ} − P_fill)/P_fill·1e4; negative = adverse selection.
- Arrival price = mid when the parent arrives; interval VWAP = market VWAP over the
  order's life; participation = own market quantity / market quantity over that life.
- Totals are quantity-weighted over fills, computed from exact notionals, never by
  averaging bps.
- Implementation shortfall (Perold), in money (price units × shares), signed by side:
  delay = side·S·(P₀ − P_d), trading = side·(Σ s_j p_j − s·P₀),
  opportunity = side·(S − s)·(P_n − P₀), fees = Σ fee_j (rebates negative).

Prices are ``int`` fixed-point units (``engine.prices``); averages are exact ``Fraction``s
internally and ``Decimal`` currency at the surface; only bps are floats.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

from engine.clock import MINUTE, SECOND
from engine.market_view import MarketView
from engine.messages import Liquidity, MarketDataUpdated, Side
from engine.prices import PRICE_SCALE

MARKOUT_HORIZONS: tuple[int, ...] = (SECOND, 5 * MINUTE)

Price = int | Fraction  # fixed-point units, exact


# ---------------------------------------------------------------------------- formulas


def _bps(cost: Price, base: Price) -> float:
    """cost/base in bps, exact until the final float."""
    return float(Fraction(cost) * 10_000 / Fraction(base))


def slippage_bps(side: int, exec_price: Price, bench_price: Price) -> float:
    """side·(P_exec − P_bench)/P_bench·1e4; positive = cost."""
    return _bps(side * (Fraction(exec_price) - Fraction(bench_price)), bench_price)


def performance_bps(side: int, exec_price: Price, bench_price: Price) -> float:
    """Performance vs benchmark = −slippage; positive = better than the benchmark."""
    return -slippage_bps(side, exec_price, bench_price)


def markout_bps(side: int, fill_price: Price, later_mid: Price) -> float:
    """side·(mid_{t+Δ} − P_fill)/P_fill·1e4; negative = the market moved against the fill."""
    return _bps(side * (Fraction(later_mid) - Fraction(fill_price)), fill_price)


def to_currency(units: Price) -> Decimal:
    """Fixed-point units (possibly a Fraction) as Decimal currency (28 significant digits)."""
    frac = Fraction(units) / PRICE_SCALE
    return Decimal(frac.numerator) / Decimal(frac.denominator)


# ------------------------------------------------------------------------ fill table


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. ``benchmark`` (units) is the price the row is judged against."""

    child_id: str
    ts: int
    venue: str
    order_type: str
    side: Side
    quantity: int
    price: int
    benchmark: Price | None = None
    fee: int = 0
    liquidity: Liquidity | None = None
    fill_id: str = ""


@dataclass(frozen=True, slots=True)
class FillRow:
    fill: Fill
    benchmark: Price
    slippage_bps: float

    @property
    def performance_bps(self) -> float:
        return -self.slippage_bps


@dataclass(frozen=True, slots=True)
class FillTotal:
    """Quantity-weighted totals over fills. ``slippage_bps`` = Σ side·q·(p − b) / Σ q·b,
    which for one side is exactly side·(P̄_exec − P̄_bench)/P̄_bench."""

    quantity: int
    notional: int  # Σ q·p, units·shares
    avg_price: Decimal
    benchmark: Decimal
    slippage_bps: float | None
    fees: int = 0

    @property
    def performance_bps(self) -> float | None:
        return None if self.slippage_bps is None else -self.slippage_bps


def fill_rows(fills: Iterable[Fill]) -> list[FillRow]:
    rows = []
    for f in fills:
        if f.benchmark is None:
            raise ValueError(f"fill {f.child_id}: no benchmark price")
        slippage = slippage_bps(f.side, f.price, f.benchmark)
        rows.append(FillRow(fill=f, benchmark=f.benchmark, slippage_bps=slippage))
    return rows


def fill_total(rows: Sequence[FillRow]) -> FillTotal:
    quantity = sum(r.fill.quantity for r in rows)
    notional = sum(r.fill.quantity * r.fill.price for r in rows)
    bench_notional = sum((r.fill.quantity * Fraction(r.benchmark) for r in rows), Fraction(0))
    cost = sum(r.fill.side * r.fill.quantity * (r.fill.price - Fraction(r.benchmark)) for r in rows)
    if quantity == 0:
        return FillTotal(
            quantity=0, notional=0, avg_price=Decimal(0), benchmark=Decimal(0), slippage_bps=None
        )
    return FillTotal(
        quantity=quantity,
        notional=notional,
        avg_price=to_currency(Fraction(notional, quantity)),
        benchmark=to_currency(bench_notional / quantity),
        slippage_bps=_bps(cost, bench_notional),
        fees=sum(r.fill.fee for r in rows),
    )


# ------------------------------------------------------------------------ market tape


class MarketTape:
    """The consolidated market over time: mid and cumulative volume/notional, as step
    functions (a value holds from its timestamp until the next point)."""

    __slots__ = ("_mid", "_notional", "_ts", "_volume")

    def __init__(self, points: Iterable[tuple[int, int | None, int, int]] = ()) -> None:
        """``points``: (ts, mid units or None, cumulative volume, cumulative notional)."""
        self._ts: list[int] = []
        self._mid: list[int | None] = []
        self._volume: list[int] = []
        self._notional: list[int] = []
        for point in sorted(points, key=lambda p: p[0]):
            self._add(*point)

    def _add(self, ts: int, mid: int | None, volume: int, notional: int) -> None:
        if self._ts and self._ts[-1] == ts:  # same instant: the last state wins
            self._mid[-1], self._volume[-1], self._notional[-1] = mid, volume, notional
            return
        self._ts.append(ts)
        self._mid.append(mid)
        self._volume.append(volume)
        self._notional.append(notional)

    @classmethod
    def from_market_data(cls, updates: Iterable[MarketDataUpdated]) -> MarketTape:
        """Consolidate venues' updates (in time order) through a ``MarketView``."""
        tape = cls()
        views: dict[str, MarketView] = {}
        for md in sorted(updates, key=lambda u: u.ts):
            view = views.get(md.instrument)
            if view is None:  # not setdefault: a view per update would be built and dropped
                view = views[md.instrument] = MarketView(md.instrument)
            view.update(md)
            tape._add(md.ts, view.mid(), view.volume(), view.notional())
        return tape

    def __len__(self) -> int:
        return len(self._ts)

    @property
    def end_ts(self) -> int | None:
        return self._ts[-1] if self._ts else None

    def _at(self, ts: int) -> int:
        return bisect.bisect_right(self._ts, ts) - 1

    def mid_at(self, ts: int) -> int | None:
        """The last known mid at or before ``ts`` (None before the first quote)."""
        i = self._at(ts)
        while i >= 0 and self._mid[i] is None:
            i -= 1
        return self._mid[i] if i >= 0 else None

    def _cumulative(self, ts: int) -> tuple[int, int]:
        i = self._at(ts)
        return (self._volume[i], self._notional[i]) if i >= 0 else (0, 0)

    def volume(self, start: int, end: int) -> int:
        """Market shares traded in (start, end]."""
        return self._cumulative(end)[0] - self._cumulative(start)[0]

    def vwap(self, start: int, end: int) -> Fraction | None:
        """Market VWAP (units) of trades in (start, end]; None if nothing traded."""
        v0, n0 = self._cumulative(start)
        v1, n1 = self._cumulative(end)
        return Fraction(n1 - n0, v1 - v0) if v1 > v0 else None

    def mid_points(self) -> list[tuple[int, int]]:
        return [(t, m) for t, m in zip(self._ts, self._mid, strict=True) if m is not None]

    def vwap_points(self) -> list[tuple[int, Fraction]]:
        """Running market VWAP since the first point, for charts."""
        if not self._ts:
            return []
        v0, n0 = self._volume[0], self._notional[0]
        return [
            (t, Fraction(n - n0, v - v0))
            for t, v, n in zip(self._ts, self._volume, self._notional, strict=True)
            if v > v0
        ]


# ------------------------------------------------------------- implementation shortfall


@dataclass(frozen=True, slots=True)
class Shortfall:
    """Perold implementation shortfall in money (units·shares, positive = cost)."""

    delay: int | Fraction
    trading: int | Fraction
    opportunity: int | Fraction
    fees: int
    paper_value: int | Fraction  # S·P_d, the base for bps

    @property
    def total(self) -> int | Fraction:
        return self.delay + self.trading + self.opportunity + self.fees

    def bps(self, component: int | Fraction) -> float | None:
        return _bps(component, self.paper_value) if self.paper_value else None

    def as_currency(self) -> dict[str, Decimal]:
        parts = {
            "delay": self.delay,
            "trading": self.trading,
            "opportunity": self.opportunity,
            "fees": self.fees,
            "total": self.total,
        }
        return {k: to_currency(v) for k, v in parts.items()}


def implementation_shortfall(
    side: int,
    target: int,
    decision_price: Price,
    arrival_price: Price,
    fills: Sequence[Fill],
    end_price: Price,
) -> Shortfall:
    """Perold's decomposition; sells are the buy formulas times −1 (``side``).

    delay + trading + opportunity = side·(Σ s_j p_j + (S − s)·P_n − S·P_d)."""
    filled = sum(f.quantity for f in fills)
    notional = sum(f.quantity * f.price for f in fills)
    p_d, p_0, p_n = Fraction(decision_price), Fraction(arrival_price), Fraction(end_price)
    return Shortfall(
        delay=_exact(side * target * (p_0 - p_d)),
        trading=_exact(side * (notional - filled * p_0)),
        opportunity=_exact(side * (target - filled) * (p_n - p_0)),
        fees=sum(f.fee for f in fills),
        paper_value=_exact(target * p_d),
    )


def _exact(value: Fraction) -> int | Fraction:
    return value.numerator if value.denominator == 1 else value


# -------------------------------------------------------------------- parent summary


@dataclass(frozen=True, slots=True)
class ParentInfo:
    """What TCA needs to know about a parent order besides its fills."""

    parent_id: str
    side: Side
    target: int
    start_ns: int
    end_ns: int
    arrival_price: int | None = None  # mid at arrival; None: taken from the tape
    decision_price: int | None = None  # None: the arrival price (no delay cost)
    end_price: int | None = None  # mark for the unfilled rest; None: mid at end
    instrument: str = ""
    strategy: str = ""


@dataclass(frozen=True, slots=True)
class VenueBreakdown:
    venue: str
    fills: int
    quantity: int
    share: float  # of the parent's filled quantity
    avg_price: Decimal
    arrival_slippage_bps: float | None
    fees: int


@dataclass(frozen=True, slots=True)
class ParentTCA:
    parent_id: str
    side: Side
    target: int
    filled: int
    start_ns: int
    end_ns: int
    avg_price: Decimal | None
    arrival_price: Decimal | None
    interval_vwap: Decimal | None
    arrival_slippage_bps: float | None
    vwap_slippage_bps: float | None
    shortfall: Shortfall | None
    participation: float | None
    markouts: dict[int, float | None]  # horizon ns → quantity-weighted markout bps
    venues: list[VenueBreakdown]
    internalised_quantity: int
    rows: list[FillRow] = field(default_factory=list)
    total: FillTotal | None = None
    instrument: str = ""
    strategy: str = ""


def parent_tca(
    parent: ParentInfo,
    fills: Sequence[Fill],
    tape: MarketTape,
    *,
    internalised_quantity: int | None = None,
    horizons: Sequence[int] = MARKOUT_HORIZONS,
) -> ParentTCA:
    """The per-parent summary. Fills without a benchmark are judged against the interval
    VWAP (then the arrival price). ``internalised_quantity`` defaults to the quantity of
    fills with ``Liquidity.INTERNAL``."""
    side = parent.side
    filled = sum(f.quantity for f in fills)
    notional = sum(f.quantity * f.price for f in fills)
    avg = Fraction(notional, filled) if filled else None
    given = parent.arrival_price
    arrival = tape.mid_at(parent.start_ns) if given is None else given
    vwap = tape.vwap(parent.start_ns, parent.end_ns)
    fallback_bench = vwap if vwap is not None else arrival
    rows: list[FillRow] = []
    if fallback_bench is not None or all(f.benchmark is not None for f in fills):
        rows = fill_rows(
            f if f.benchmark is not None else replace(f, benchmark=fallback_bench) for f in fills
        )
    if internalised_quantity is None:
        internalised_quantity = sum(f.quantity for f in fills if f.liquidity is Liquidity.INTERNAL)
    shortfall = None
    if arrival is not None:
        end_price = tape.mid_at(parent.end_ns) if parent.end_price is None else parent.end_price
        shortfall = implementation_shortfall(
            side,
            parent.target,
            parent.decision_price if parent.decision_price is not None else arrival,
            arrival,
            fills,
            end_price if end_price is not None else arrival,
        )
    return ParentTCA(
        parent_id=parent.parent_id,
        side=side,
        target=parent.target,
        filled=filled,
        start_ns=parent.start_ns,
        end_ns=parent.end_ns,
        avg_price=to_currency(avg) if avg is not None else None,
        arrival_price=to_currency(arrival) if arrival is not None else None,
        interval_vwap=to_currency(vwap) if vwap is not None else None,
        arrival_slippage_bps=_maybe_slippage(side, avg, arrival),
        vwap_slippage_bps=_maybe_slippage(side, avg, vwap),
        shortfall=shortfall,
        participation=_participation(fills, tape, parent.start_ns, parent.end_ns),
        markouts={h: quantity_weighted_markout(side, fills, tape, h) for h in horizons},
        venues=venue_breakdown(side, fills, arrival),
        internalised_quantity=internalised_quantity,
        rows=rows,
        total=fill_total(rows) if rows else None,
        instrument=parent.instrument,
        strategy=parent.strategy,
    )


def _maybe_slippage(side: int, price: Price | None, bench: Price | None) -> float | None:
    return None if price is None or bench is None else slippage_bps(side, price, bench)


def _participation(fills: Sequence[Fill], tape: MarketTape, start: int, end: int) -> float | None:
    """Own market quantity / market quantity over the order's life (crosses excluded:
    they never reached the market)."""
    market = tape.volume(start, end)
    own = sum(f.quantity for f in fills if f.liquidity is not Liquidity.INTERNAL)
    return own / market if market > 0 else None


def quantity_weighted_markout(
    side: int, fills: Sequence[Fill], tape: MarketTape, horizon: int
) -> float | None:
    """Σ side·q·(mid_{t+Δ} − p) / Σ q·p in bps over fills whose t+Δ lies within the tape."""
    end = tape.end_ts
    cost, base = Fraction(0), 0
    for f in fills:
        if end is None or f.ts + horizon > end:
            continue
        mid = tape.mid_at(f.ts + horizon)
        if mid is None:
            continue
        cost += side * f.quantity * (mid - f.price)
        base += f.quantity * f.price
    return _bps(cost, base) if base else None


def venue_breakdown(
    side: int, fills: Sequence[Fill], arrival: Price | None
) -> list[VenueBreakdown]:
    total = sum(f.quantity for f in fills)
    by_venue: dict[str, list[Fill]] = {}
    for f in fills:
        by_venue.setdefault(f.venue, []).append(f)
    out = []
    for venue in sorted(by_venue):
        vf = by_venue[venue]
        qty = sum(f.quantity for f in vf)
        avg = Fraction(sum(f.quantity * f.price for f in vf), qty) if qty else None
        out.append(
            VenueBreakdown(
                venue=venue,
                fills=len(vf),
                quantity=qty,
                share=qty / total if total else 0.0,
                avg_price=to_currency(avg) if avg is not None else Decimal(0),
                arrival_slippage_bps=_maybe_slippage(side, avg, arrival),
                fees=sum(f.fee for f in vf),
            )
        )
    return out
