"""A portfolio rebalance as client orders: for each instrument a trade of a seeded share
of its daily volume, bought or sold, sent as many small orders by several sources (the
portfolio managers of a desk), each source with its own strategy; some sources trade
against the rebalance's direction (another fund's flow), which the desk nets.

Each instrument draws from a stream of its own (the scenario's seed and the symbol), so
its orders do not depend on which other instruments are in the scenario.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import msgspec

from engine.clock import MS
from engine.instruments import Instrument
from engine.messages import ClientOrder, Mandate, Side, StrategyName
from engine.scenario_fields import optional_time, time_of_day
from engine.scenario_orders import MandateSpec, SessionSpec, Spec


class RebalanceSpec(Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    orders: int  # client orders over all instruments (about: each instrument rounds)
    start: str = "09:35"
    end: str = "15:30"  # the last submission; mandates end at ``mandates_end``
    mandates_end: str = "15:55"
    sources: list[str] = msgspec.field(default_factory=lambda: ["PM1", "PM2", "PM3", "QUANT"])
    strategies: list[StrategyName] = msgspec.field(
        default_factory=lambda: [StrategyName.VWAP, StrategyName.TWAP, StrategyName.POV]
    )
    min_adv_share: float = 0.002  # the trade per instrument, as a share of daily volume
    max_adv_share: float = 0.02
    buy_share: float = 0.5  # of instruments bought
    contra_share: float = 0.15  # of orders sent against the instrument's direction
    pov_rate: float = 0.05

    def __post_init__(self) -> None:
        if self.orders < 1 or not self.sources or not self.strategies:
            raise ValueError("orders, sources and strategies must not be empty")
        for field in ("start", "end", "mandates_end"):
            optional_time(getattr(self, field), field)
        if time_of_day(self.start, "start") >= time_of_day(self.end, "end"):
            raise ValueError(f"start: {self.start!r} is not before end {self.end!r}")
        if not 0 < self.min_adv_share <= self.max_adv_share < 1:
            raise ValueError("min_adv_share..max_adv_share must be a range within (0, 1)")
        for field in ("buy_share", "contra_share"):
            if not 0 <= getattr(self, field) <= 1:
                raise ValueError(f"{field}: {getattr(self, field)} is not a share in [0, 1]")


def rebalance_orders(
    spec: RebalanceSpec,
    instruments: list[Instrument],
    session: SessionSpec,
    seed: int,
    total_instruments: int,
) -> Iterator[tuple[int, ClientOrder]]:
    """Every instrument's orders with their submission times (not sorted).
    ``total_instruments``: how many the rebalance spans (orders per instrument are
    ``spec.orders`` over it, whatever subset ``instruments`` is)."""
    per_instrument = max(1, round(spec.orders / max(total_instruments, 1)))
    # one mandate object per strategy: the desk aggregates orders that share their mandate
    mandates = {s: _mandate(spec, s).mandate(session) for s in spec.strategies}
    for instrument in instruments:
        rng = random.Random(f"{seed}:rebalance:{instrument.symbol}")
        yield from _instrument_orders(spec, instrument, session, mandates, per_instrument, rng)


def _instrument_orders(
    spec: RebalanceSpec,
    instrument: Instrument,
    session: SessionSpec,
    mandates: dict[StrategyName, Mandate],
    count: int,
    rng: random.Random,
) -> Iterator[tuple[int, ClientOrder]]:
    side = Side.BUY if rng.random() < spec.buy_share else Side.SELL
    adv = instrument.daily_volume or 1_000_000
    lots = max(
        count, int(adv * rng.uniform(spec.min_adv_share, spec.max_adv_share)) // instrument.lot
    )
    count = max(1, round(count * rng.uniform(0.6, 1.4)))
    count = min(count, lots)
    cuts = sorted(rng.sample(range(1, lots), count - 1)) if count > 1 else []
    sizes = [(b - a) * instrument.lot for a, b in zip([0, *cuts], [*cuts, lots], strict=True)]
    start, end = session.at(spec.start), session.at(spec.end)
    strategies = {s: rng.choice(spec.strategies) for s in spec.sources}
    for i, qty in enumerate(sizes):
        source = rng.choice(spec.sources)
        contra = rng.random() < spec.contra_share
        at = rng.randrange(start, end) // MS * MS
        yield (
            at,
            ClientOrder(
                source=source,
                account=f"ACC-{source}",
                client_order_id=f"{instrument.symbol}-{i + 1:04d}",
                instrument=instrument.symbol,
                side=Side(-int(side)) if contra else side,
                quantity=qty,
                mandate=mandates[strategies[source]],
            ),
        )


def _mandate(spec: RebalanceSpec, strategy: StrategyName) -> MandateSpec:
    pov = spec.pov_rate if strategy is StrategyName.POV else None
    return MandateSpec(strategy=strategy, end=spec.mandates_end, pov_rate=pov)
