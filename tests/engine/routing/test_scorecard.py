"""The venue scorecard: estimates from venue events, status, persistence."""

from engine.clock import SECOND
from engine.messages import (
    BookLevel,
    Liquidity,
    MarketDataUpdated,
    PlaceVenueOrder,
    Side,
    VenueCancelRejected,
    VenueKind,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueOrderRejected,
    VenueStatus,
    VenueStatusChanged,
)
from engine.routing.scorecard import Scorecard, ScorecardState

PX = 100_000_000  # $100


def place(card, oid, venue="LIT1", qty=100, now=0, side=Side.BUY):
    card.record(
        PlaceVenueOrder(
            venue=venue,
            order_id=oid,
            parent_id="P1",
            child_id="C1",
            instrument="XYZ",
            side=side,
            quantity=qty,
            price=PX,
        ),
        now,
    )


def fill(card, oid, qty, leaves, now, venue="LIT1", price=PX, fee=-200):
    card.record(
        VenueOrderFilled(
            venue=venue,
            order_id=oid,
            fill_id=f"{oid}-F{now}",
            quantity=qty,
            price=price,
            liquidity=Liquidity.MAKER,
            fee=fee,
            leaves=leaves,
        ),
        now,
    )


def md(venue, volume, status=VenueStatus.UP, kind=VenueKind.LIT):
    return MarketDataUpdated(
        venue=venue,
        instrument="XYZ",
        kind=kind,
        status=status,
        bids=[BookLevel(PX - 5_000, 500)],
        asks=[BookLevel(PX + 5_000, 500)],
        volume=volume,
    )


def test_fill_probability_time_to_fill_fee_and_reject_rate():
    card = Scorecard()
    place(card, "A", now=0)
    card.record(VenueOrderAccepted(venue="LIT1", order_id="A", leaves=100), 1_000)
    fill(card, "A", 40, 60, now=2 * SECOND)
    fill(card, "A", 60, 0, now=3 * SECOND)
    place(card, "B", now=0)
    card.record(VenueOrderCancelled(venue="LIT1", order_id="B", cancelled=100), 10)
    place(card, "C", now=0)
    card.record(VenueOrderRejected(venue="LIT1", order_id="C", reason="bad_price"), 10)
    s = card.stats("LIT1", "XYZ")
    assert (s.orders, s.resolved, s.hit, s.rejects) == (3, 2, 1, 1)
    assert s.fill_prob() == (1 + 1) / (2 + 2)  # Laplace
    assert s.fill_ratio() == (100 + 1) / (200 + 2)
    assert s.time_to_fill_ns() == 2 * SECOND  # first fill only
    assert s.fee_per_share() == -400 / 100  # two fills of -200 each over 100 shares
    assert s.reject_rate() == 1 / 3
    assert s.ack_latency_ns() == 1_000


def test_markout_settles_against_a_later_mid():
    card = Scorecard(markout_horizon_ns=SECOND)
    place(card, "A")
    fill(card, "A", 100, 0, now=0, price=PX)
    card.mark("XYZ", PX - 10_000, SECOND // 2)  # too early
    assert card.stats("LIT1", "XYZ").markout_per_share() is None
    card.mark("XYZ", PX - 10_000, SECOND)  # bought at 100, mid fell 1 cent: adverse
    s = card.stats("LIT1", "XYZ")
    assert s.markout_per_share() == -10_000
    assert s.markout_bps() == -1.0


def test_status_from_venue_events_and_reject_streaks():
    card = Scorecard()
    card.record(md("LIT1", 0), 0)
    assert card.status("LIT1", "XYZ") is VenueStatus.UP
    for i in range(3):
        place(card, f"R{i}")
        card.record(VenueOrderRejected(venue="LIT1", order_id=f"R{i}", reason="throttled"), 1)
    assert card.status("LIT1", "XYZ") is VenueStatus.DEGRADED
    card.record(VenueStatusChanged(venue="LIT1", status=VenueStatus.DOWN), 2)
    assert card.status("LIT1", "XYZ") is VenueStatus.DOWN
    card.record(VenueStatusChanged(venue="LIT1", status=VenueStatus.UP), 3)
    assert card.status("LIT1", "XYZ") is VenueStatus.UP  # streak cleared by the venue's word
    place(card, "D")
    card.record(VenueOrderRejected(venue="LIT1", order_id="D", reason="venue_down"), 4)
    assert card.status("LIT1", "XYZ") is VenueStatus.DOWN
    card.record(md("LIT1", 0, VenueStatus.UP), 5)
    assert card.status("LIT1", "XYZ") is VenueStatus.UP


def test_outflow_samples_from_traded_volume():
    card = Scorecard()
    for t, vol in enumerate([1_000, 1_100, 1_300, 1_600, 1_600]):
        card.record(md("LIT1", vol), t)
    assert card.stats("LIT1", "XYZ").outflows == [100, 200, 300, 0]
    assert card.outflow_samples("LIT1", "XYZ", 2) == [300, 500, 300]


def test_cancel_too_late_keeps_the_order_open_unknown_resolves_it():
    card = Scorecard()
    place(card, "A")
    card.record(VenueCancelRejected(venue="LIT1", order_id="A", reason="too_late"), 1)
    assert card.stats("LIT1", "XYZ").resolved == 0
    fill(card, "A", 100, 0, now=2)
    assert card.stats("LIT1", "XYZ").resolved == 1
    place(card, "B")
    card.record(VenueCancelRejected(venue="LIT1", order_id="B", reason="unknown_order"), 3)
    assert card.stats("LIT1", "XYZ").resolved == 2


def test_rank_prefers_cheap_reliable_venues_deterministically():
    card = Scorecard()
    for i in range(5):  # LIT2 fills every time, LIT1 never
        place(card, f"a{i}", venue="LIT1")
        card.record(VenueOrderCancelled(venue="LIT1", order_id=f"a{i}", cancelled=100), 1)
        place(card, f"b{i}", venue="LIT2")
        fill(card, f"b{i}", 100, 0, now=1, venue="LIT2")
    prior = {"LIT1": -2_000.0, "LIT2": -2_000.0, "LIT3": -2_000.0}
    assert card.rank(["LIT3", "LIT1", "LIT2"], "XYZ", prior, 10_000) == ["LIT2", "LIT3", "LIT1"]
    # equal venues: by name
    assert card.rank(["Z", "A"], "XYZ", {}, 10_000) == ["A", "Z"]


def test_state_round_trips_and_survives_a_restart():
    card = Scorecard(markout_horizon_ns=SECOND)
    card.record(md("LIT1", 1_000), 0)
    card.record(md("LIT1", 1_500), 1)
    card.record(VenueStatusChanged(venue="DARK1", status=VenueStatus.DOWN), 1)
    place(card, "A")
    fill(card, "A", 30, 70, now=5)  # open order and pending markout both persist
    restored = Scorecard.from_dict(card.to_dict())
    assert restored.to_json() == card.to_json()
    assert Scorecard.from_json(card.to_json()).to_state() == card.to_state()
    assert isinstance(card.to_state(), ScorecardState)
    assert restored.status("DARK1", "XYZ") is VenueStatus.DOWN
    fill(restored, "A", 70, 0, now=6)
    restored.mark("XYZ", PX, 2 * SECOND)
    s = restored.stats("LIT1", "XYZ")
    assert (s.resolved, s.hit, s.markout_shares) == (1, 1, 100)
    assert restored.snapshot(["LIT1", "DARK1"], "XYZ")["DARK1"]["status"] == 0.0


def test_a_books_status_is_its_instruments_alone():
    """Each book of a venue says its own status: one instrument's book going down does not
    take the venue down for another instrument (in an engine of many instruments each
    book is an actor of its own); a status naming no instrument is the whole venue's."""
    card = Scorecard()
    card.record(md("LIT1", 1_000), 0)  # XYZ's book
    card.record(VenueStatusChanged(venue="LIT1", status=VenueStatus.DOWN, instrument="ABC"), 1)
    assert card.status("LIT1", "ABC") is VenueStatus.DOWN
    assert card.status("LIT1", "XYZ") is VenueStatus.UP
    card.record(VenueStatusChanged(venue="LIT1", status=VenueStatus.DOWN), 2)
    assert card.status("LIT1", "XYZ") is VenueStatus.DOWN
    assert card.status("LIT1", "NEW") is VenueStatus.DOWN  # not heard of yet: the venue's
    card.record(VenueStatusChanged(venue="LIT1", status=VenueStatus.UP, instrument="XYZ"), 3)
    assert card.status("LIT1", "XYZ") is VenueStatus.UP
    assert card.status("LIT1", "ABC") is VenueStatus.DOWN
    assert Scorecard.from_state(card.to_state()).to_state() == card.to_state()
