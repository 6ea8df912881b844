"""MarketView: the NBBO over lit venues that are up, cached between market-data updates."""

from engine.market_view import MarketView
from engine.messages import BookLevel, MarketDataUpdated, VenueKind, VenueStatus


def md(
    venue,
    bid=None,
    ask=None,
    *,
    kind=VenueKind.LIT,
    status=VenueStatus.UP,
    instrument="XYZ",
    volume=0,
):
    return MarketDataUpdated(
        venue=venue,
        instrument=instrument,
        kind=kind,
        status=status,
        bids=[BookLevel(price=bid, quantity=100)] if bid is not None else [],
        asks=[BookLevel(price=ask, quantity=100)] if ask is not None else [],
        volume=volume,
        ts=0,
    )


def test_nbbo_over_lit_venues_that_are_up():
    view = MarketView("XYZ")
    assert view.best_bid() is None and view.best_ask() is None and view.mid() is None
    view.update(md("A", 100, 104))
    view.update(md("B", 101, 105))
    view.update(md("D", 103, 103, kind=VenueKind.DARK))
    view.update(md("C", 102, 103, status=VenueStatus.DOWN))
    assert (view.best_bid(), view.best_ask(), view.mid()) == (101, 104, 102)


def test_cache_is_invalidated_by_each_update():
    view = MarketView("XYZ")
    view.update(md("A", 100, 104))
    assert (view.best_bid(), view.best_ask()) == (100, 104)
    view.update(md("B", 101, 103))  # improves both sides
    assert (view.best_bid(), view.best_ask()) == (101, 103)
    view.update(md("B", 101, 103, status=VenueStatus.DOWN))  # B goes down
    assert (view.best_bid(), view.best_ask()) == (100, 104)
    view.update(md("A", None, 104))  # bid side empties
    assert view.best_bid() is None and view.mid() is None
    assert view.best_ask() == 104


def test_other_instruments_are_ignored_and_keep_the_cache():
    view = MarketView("XYZ")
    view.update(md("A", 100, 104, volume=7))
    assert view.best_bid() == 100
    view.update(md("A", 200, 204, instrument="ABC", volume=9))
    assert (view.best_bid(), view.best_ask(), view.volume()) == (100, 104, 7)


def test_a_quote_outdated_counts_as_stale_until_the_venues_next_update():
    view = MarketView("XYZ")
    view.update(md("A", 100, 101))
    view.outdate("A")
    view.outdate("B")  # never heard from: nothing to set aside
    assert view.outdated("A") and not view.outdated("B")
    assert view.best_bid() == 100  # still the best guess for the consolidated view
    view.update(md("A", 99, 100))
    assert not view.outdated("A")
