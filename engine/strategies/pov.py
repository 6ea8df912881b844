"""POV: trade a target fraction of the market volume since the order started, inside a
participation band [min_rate, max_rate].

Volume-driven, not time-driven: the target by now is rate × market volume since start
(our own fills included, as TCA measures participation). Below min_rate × volume the
parent is behind and crosses the spread; max_rate caps child sizes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.messages import StrategyName

DEFAULT_BAND = 0.2  # band = rate × (1 ± 20 %) unless the mandate caps participation


@dataclass(frozen=True, slots=True)
class PovStrategy:
    quantity: int
    rate: float
    min_rate: float
    max_rate: float
    lot: int = 1
    name: StrategyName = StrategyName.POV

    def __post_init__(self) -> None:
        if not 0 < self.min_rate <= self.rate <= self.max_rate <= 1:
            raise ValueError(
                f"POV needs 0 < min_rate <= rate <= max_rate <= 1, got "
                f"{self.min_rate}, {self.rate}, {self.max_rate}"
            )

    @classmethod
    def with_band(
        cls, quantity: int, rate: float, max_participation: float | None = None, lot: int = 1
    ) -> PovStrategy:
        """The band around ``rate``; the client's ``max_participation`` is a hard cap on
        all of it: a rate above the cap trades at the cap, never the other way round."""
        if max_participation is None:
            high = min(1.0, rate * (1 + DEFAULT_BAND))
        else:
            high = min(1.0, max_participation)
            rate = min(rate, high)
        return cls(
            quantity=quantity, rate=rate, min_rate=rate * (1 - DEFAULT_BAND), max_rate=high, lot=lot
        )

    def _lots_of(self, shares: float) -> int:
        return min(self.quantity, int(shares) - int(shares) % self.lot)

    def scheduled(self, now_ns: int, market_volume: int) -> int:
        del now_ns  # volume-driven
        return self._lots_of(self.rate * market_volume)

    def behind_threshold(self, now_ns: int, market_volume: int, slack_ns: int) -> int:
        del now_ns, slack_ns
        return self._lots_of(self.min_rate * market_volume)

    def due_ns(self, quantity: int) -> int | None:
        """Volume-driven: time alone never gets there (the parent polls the market)."""
        del quantity
        return None

    def participation_cap(self) -> float | None:
        return self.max_rate

    def resized(self, quantity: int) -> PovStrategy:
        return PovStrategy(
            quantity=quantity,
            rate=self.rate,
            min_rate=self.min_rate,
            max_rate=self.max_rate,
            lot=self.lot,
        )


def pov_forecast(
    quantity: int, rate: float, period_volumes: Sequence[float], lot: int = 1
) -> list[int]:
    """Expected cumulative quantity at each period boundary for forecast market volumes
    per period (a pre-trade preview; the live order follows the real volume). May end
    below ``quantity``: those are the expected leaves."""
    cumulative, market = [0], 0.0
    for volume in period_volumes:
        market += volume  # round the cumulative, not each period, so nothing is lost
        want = int(rate * market + 1e-9)
        cumulative.append(min(quantity, want - want % lot))
    return cumulative
