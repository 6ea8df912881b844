"""A consolidated view of the market built from venues' ``MarketDataUpdated``: the NBBO,
the lit mid, per-venue depth and the cumulative market volume. Router, parents and dark
pools all read the market through this.

The NBBO is read far more often than it changes (every placement, every parent decision
and wake), so ``best_bid``/``best_ask`` are computed once per market-data update and kept
until the next ``update``. ``venues`` is read-only for callers: change it through
``update`` (the cache is invalidated there)."""

from __future__ import annotations

from engine.messages import MarketDataUpdated, VenueKind, VenueStatus

_LIT, _DOWN = VenueKind.LIT, VenueStatus.DOWN


class MarketView:
    __slots__ = (
        "_ask",
        "_bid",
        "_fresh",
        "_notional",
        "_outdated",
        "_volume",
        "instrument",
        "venues",
    )

    def __init__(self, instrument: str) -> None:
        self.instrument = instrument
        self.venues: dict[str, MarketDataUpdated] = {}
        self._bid: int | None = None
        self._ask: int | None = None
        self._fresh = False  # _bid/_ask hold the NBBO of the current ``venues``
        self._outdated: set[str] = set()  # venues whose last quote is known to be stale
        # Σ volume and Σ notional over ``venues``, kept as each update replaces a venue's
        self._volume = 0
        self._notional = 0

    def update(self, md: MarketDataUpdated) -> None:
        if md.instrument == self.instrument:
            old = self.venues.get(md.venue)
            if old is None:
                self._volume += md.volume
                self._notional += md.notional
            else:
                self._volume += md.volume - old.volume
                self._notional += md.notional - old.notional
            self.venues[md.venue] = md
            self._fresh = False
            self._outdated.discard(md.venue)

    def outdate(self, venue: str) -> None:
        """The venue's book has moved away from its last quote (it refused an order priced
        from it): the quote counts as stale until the venue's next update. The NBBO
        still reads it, as the best guess there is."""
        if venue in self.venues:
            self._outdated.add(venue)

    def outdated(self, venue: str) -> bool:
        return venue in self._outdated

    def best_bid(self) -> int | None:
        if not self._fresh:
            self._nbbo()
        return self._bid

    def best_ask(self) -> int | None:
        if not self._fresh:
            self._nbbo()
        return self._ask

    def _nbbo(self) -> None:
        """Both sides in one pass over the lit venues that are up (max/min do not depend
        on the order, so no sort)."""
        bid = ask = None
        for md in self.venues.values():
            if md.kind is _LIT and md.status is not _DOWN:
                if md.bids:
                    price = md.bids[0].price
                    if bid is None or price > bid:
                        bid = price
                if md.asks:
                    price = md.asks[0].price
                    if ask is None or price < ask:
                        ask = price
        self._bid, self._ask, self._fresh = bid, ask, True

    def mid(self) -> int | None:
        """NBBO midpoint across lit venues that are up; None if either side is empty."""
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return None
        return (bid + ask) // 2

    def volume(self) -> int:
        """Cumulative shares traded today across all venues (lit and dark)."""
        return self._volume

    def notional(self) -> int:
        return self._notional

    def status(self, venue: str) -> VenueStatus | None:
        md = self.venues.get(venue)
        return md.status if md else None
