"""Scorecard persistence is exact: save -> restore -> save gives the same bytes, and a
restored card fed the same events goes on exactly as the one it was saved from."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.clock import MS
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
from engine.routing.scorecard import Scorecard

VENUES = ["LIT1", "LIT2", "DARK1"]
PX = 100_000_000


def test_pending_markouts_keep_their_order_through_a_round_trip():
    """Two fills at the same time on two venues, LIT2's first, come back in that order
    (not re-sorted, LIT1 first)."""
    card = Scorecard()
    for oid, venue, px in (("A-V1", "LIT2", PX + 10_000), ("A-V2", "LIT1", PX + 20_000)):
        card.record(
            PlaceVenueOrder(
                venue=venue,
                order_id=oid,
                parent_id="P",
                child_id="A",
                instrument="XYZ",
                side=Side.BUY,
                quantity=100,
                price=px,
            ),
            0,
        )
        card.record(
            VenueOrderFilled(
                venue=venue,
                order_id=oid,
                fill_id=f"f{oid}",
                quantity=100,
                price=px,
                liquidity=Liquidity.TAKER,
                leaves=0,
            ),
            1_000,
        )
    saved = card.to_json()
    restored = Scorecard.from_json(saved)
    assert [m.venue for m in restored.to_state().markouts] == ["LIT2", "LIT1"]
    assert restored.to_json() == saved


def _event(kind: int, n: int, venue: str, q: int, now: int, orders: list[str]):
    if kind == 0 or not orders:
        oid = f"O{n}"
        orders.append(oid)
        return PlaceVenueOrder(
            venue=venue,
            order_id=oid,
            parent_id="P",
            child_id="C",
            instrument="XYZ",
            side=Side.BUY if q % 2 else Side.SELL,
            quantity=100 + q,
            price=PX + 1_000 * (q % 7),
        )
    oid = orders[q % len(orders)]
    if kind == 1:
        return VenueOrderAccepted(venue=venue, order_id=oid, leaves=100)
    if kind == 2:
        return VenueOrderFilled(
            venue=venue,
            order_id=oid,
            fill_id=f"F{n}",
            quantity=1 + q % 60,
            price=PX + 3_333 * (q % 5),
            liquidity=Liquidity.MAKER,
            fee=q % 11 - 5,
            leaves=q % 3,
        )
    if kind == 3:
        return VenueOrderCancelled(venue=venue, order_id=oid, cancelled=q % 50)
    if kind == 4:
        return VenueOrderRejected(
            venue=venue, order_id=oid, reason="venue_down" if q % 4 == 0 else "bad"
        )
    if kind == 5:
        return VenueCancelRejected(
            venue=venue, order_id=oid, reason=("too_late", "unknown_order", "venue_down")[q % 3]
        )
    if kind == 6:
        return VenueStatusChanged(venue=venue, status=list(VenueStatus)[q % 3])
    kind_ = VenueKind.DARK if venue.startswith("DARK") else VenueKind.LIT
    return MarketDataUpdated(
        venue=venue,
        instrument="XYZ",
        kind=kind_,
        status=VenueStatus.UP,
        bids=[BookLevel(PX - 1_000 * (q % 9), 100)],
        asks=[BookLevel(PX + 1_000 * (1 + q % 9), 100)],
        volume=n * 10,
    )


KINDS = st.sampled_from([0, 0, 1, 2, 2, 2, 3, 4, 5, 6, 7, 7])  # fills and places often


@settings(max_examples=300, deadline=None)
@given(
    events=st.lists(
        st.tuples(
            KINDS,
            st.sampled_from(VENUES),
            st.integers(0, 1_000),
            st.sampled_from([0, 0, 0, 1, 40, 900, 3_000]),
            st.integers(0, 5),
        ),
        max_size=100,
    ),
    horizon_ms=st.integers(1, 2_000),
)
def test_save_restore_save_is_byte_stable_and_the_restored_card_goes_on_the_same(
    events, horizon_ms
):
    card = Scorecard(markout_horizon_ns=horizon_ms * MS)
    restored = None
    orders: list[str] = []
    now = 0
    for n, (kind, venue, q, dt, save) in enumerate(events):
        if save == 0:  # the saved card, restored, takes over from here on
            saved = card.to_json()
            restored = Scorecard.from_json(saved)
            assert restored.to_json() == saved
            assert Scorecard.from_dict(card.to_dict()).to_json() == saved
        now += dt * MS
        msg = _event(kind, n, venue, q, now, orders)
        for c in (card, restored) if restored is not None else (card,):
            c.record(msg, now)
            if isinstance(msg, MarketDataUpdated):
                c.mark("XYZ", PX + 500 * (q % 13), now)
        if restored is not None:
            assert restored.to_json() == card.to_json()
    assert Scorecard.from_json(card.to_json()).to_json() == card.to_json()
