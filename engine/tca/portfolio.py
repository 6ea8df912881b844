"""Portfolio TCA: the parents of a many-instrument run rolled up per instrument, per side,
per strategy and per venue, and for the whole portfolio.

Each bucket's cost vs arrival is notional-weighted over its fills, from exact sums (never
an average of bps): Σ side·q·(p − P_arrival) / Σ q·P_arrival · 1e4, with P_arrival the
arrival mid of each fill's parent; likewise vs the parent's interval VWAP. Positive =
cost (``docs/tca.md``'s sign convention for slippage). Fees are reported apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from engine.prices import PRICE_SCALE
from engine.tca.metrics import ParentTCA, to_currency


@dataclass(frozen=True, slots=True)
class CostBucket:
    key: str  # the instrument, side, strategy or venue ("portfolio" for the total)
    parents: int
    target: int  # shares the parents were asked for
    filled: int  # shares filled
    notional: Decimal  # filled, in currency
    arrival_bps: float | None  # notional-weighted cost vs arrival; + = cost
    vwap_bps: float | None  # notional-weighted cost vs the interval VWAP; + = cost
    fees: Decimal  # currency; negative = rebates

    @property
    def fill_rate(self) -> float:
        return self.filled / self.target if self.target else 0.0


@dataclass
class _Sums:
    parents: set[str] = field(default_factory=set)
    target: int = 0
    filled: int = 0
    notional: Fraction = Fraction(0)
    arrival_cost: Fraction = Fraction(0)
    arrival_base: Fraction = Fraction(0)
    vwap_cost: Fraction = Fraction(0)
    vwap_base: Fraction = Fraction(0)
    fees: int = 0

    def bucket(self, key: str) -> CostBucket:
        return CostBucket(
            key=key,
            parents=len(self.parents),
            target=self.target,
            filled=self.filled,
            notional=to_currency(self.notional),
            arrival_bps=_bps(self.arrival_cost, self.arrival_base),
            vwap_bps=_bps(self.vwap_cost, self.vwap_base),
            fees=to_currency(self.fees),
        )


def _bps(cost: Fraction, base: Fraction) -> float | None:
    return float(cost / base * 10_000) if base else None


@dataclass(frozen=True, slots=True)
class PortfolioTCA:
    total: CostBucket
    instruments: list[CostBucket]  # by symbol
    sides: list[CostBucket]  # "buy", "sell"
    strategies: list[CostBucket]
    venues: list[CostBucket]

    def as_json(self) -> dict:
        """Plain JSON types: decimals as strings, bps as floats (None: no fill)."""
        return {
            "total": _bucket_json(self.total),
            "instruments": [_bucket_json(b) for b in self.instruments],
            "sides": [_bucket_json(b) for b in self.sides],
            "strategies": [_bucket_json(b) for b in self.strategies],
            "venues": [_bucket_json(b) for b in self.venues],
        }


def _bucket_json(b: CostBucket) -> dict:
    return {
        "key": b.key,
        "parents": b.parents,
        "target": b.target,
        "filled": b.filled,
        "fill_rate": round(b.fill_rate, 6),
        "notional": str(b.notional),
        "cost_vs_arrival_bps": None if b.arrival_bps is None else round(b.arrival_bps, 4),
        "cost_vs_vwap_bps": None if b.vwap_bps is None else round(b.vwap_bps, 4),
        "fees": str(b.fees),
    }


def portfolio_tca(parents: Iterable[ParentTCA]) -> PortfolioTCA:
    """Roll ``parents`` up (see the module docstring)."""
    total = _Sums()
    groups: dict[str, dict[str, _Sums]] = {k: {} for k in ("instrument", "side", "strategy")}
    venues: dict[str, _Sums] = {}
    for p in parents:
        keys = {
            "instrument": p.instrument,
            "side": "buy" if p.side > 0 else "sell",
            "strategy": p.strategy,
        }
        sums = [total, *(groups[g].setdefault(k, _Sums()) for g, k in keys.items())]
        for s in sums:
            s.parents.add(p.parent_id)
            s.target += p.target
        for row in p.rows:
            f = row.fill
            venue = venues.setdefault(f.venue, _Sums())
            venue.parents.add(p.parent_id)
            for s in (*sums, venue):
                _add_fill(s, p, f.side, f.quantity, f.price, f.fee)
    return PortfolioTCA(
        total=total.bucket("portfolio"),
        instruments=_buckets(groups["instrument"]),
        sides=_buckets(groups["side"]),
        strategies=_buckets(groups["strategy"]),
        venues=_buckets(venues),
    )


def _add_fill(s: _Sums, p: ParentTCA, side: int, qty: int, price: int, fee: int) -> None:
    s.filled += qty
    s.notional += qty * price
    s.fees += fee
    for bench, cost_field, base_field in (
        (p.arrival_price, "arrival_cost", "arrival_base"),
        (p.interval_vwap, "vwap_cost", "vwap_base"),
    ):
        if bench is None:
            continue
        units = Fraction(bench) * PRICE_SCALE
        setattr(s, cost_field, getattr(s, cost_field) + side * qty * (price - units))
        setattr(s, base_field, getattr(s, base_field) + qty * units)


def _buckets(groups: dict[str, _Sums]) -> list[CostBucket]:
    return [groups[k].bucket(k) for k in sorted(groups)]


# ----------------------------------------------------------------- presentation

PORTFOLIO_HEADERS = (
    "",
    "Parents",
    "Target",
    "Filled",
    "Fill %",
    "Notional ($)",
    "vs arrival (bps)",
    "vs VWAP (bps)",
    "Fees ($)",
)


def bucket_cells(b: CostBucket) -> list[str]:
    def bps(v: float | None) -> str:
        return "-" if v is None else f"{round(v, 1) + 0.0:+.1f}"

    return [
        b.key,
        f"{b.parents:,}",
        f"{b.target:,}",
        f"{b.filled:,}",
        f"{100 * b.fill_rate:.1f}",
        f"{b.notional:,.0f}",
        bps(b.arrival_bps),
        bps(b.vwap_bps),
        f"{b.fees:,.2f}",
    ]


def portfolio_sections(pt: PortfolioTCA) -> list[tuple[str, Sequence[CostBucket]]]:
    """The roll-up's tables in report order: (title, rows); the total closes each."""
    return [
        ("By side", pt.sides),
        ("By strategy", pt.strategies),
        ("By venue", pt.venues),
        (f"By instrument ({len(pt.instruments)})", pt.instruments),
    ]
