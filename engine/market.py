"""A consolidated view of the market built from venues' ``MarketDataUpdated``: the NBBO,
the lit mid, per-venue depth and the cumulative market volume. Router, parents and dark
pools all read the market through this."""

from __future__ import annotations

from engine.messages import MarketDataUpdated, VenueKind, VenueStatus


class MarketView:
    __slots__ = ("instrument", "venues")

    def __init__(self, instrument: str) -> None:
        self.instrument = instrument
        self.venues: dict[str, MarketDataUpdated] = {}

    def update(self, md: MarketDataUpdated) -> None:
        if md.instrument == self.instrument:
            self.venues[md.venue] = md

    def _lit_up(self) -> list[MarketDataUpdated]:
        return [
            md
            for name, md in sorted(self.venues.items())
            if md.kind is VenueKind.LIT and md.status is not VenueStatus.DOWN
        ]

    def best_bid(self) -> int | None:
        bids = [md.bids[0].price for md in self._lit_up() if md.bids]
        return max(bids) if bids else None

    def best_ask(self) -> int | None:
        asks = [md.asks[0].price for md in self._lit_up() if md.asks]
        return min(asks) if asks else None

    def mid(self) -> int | None:
        """NBBO midpoint across lit venues that are up; None if either side is empty."""
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return None
        return (bid + ask) // 2

    def volume(self) -> int:
        """Cumulative shares traded today across all venues (lit and dark)."""
        return sum(md.volume for md in self.venues.values())

    def notional(self) -> int:
        return sum(md.notional for md in self.venues.values())

    def status(self, venue: str) -> VenueStatus | None:
        md = self.venues.get(venue)
        return md.status if md else None
