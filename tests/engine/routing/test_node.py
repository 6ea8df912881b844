"""The router as its actor hosts it: market data subscriptions and relays (sent, never
journaled), the venue watermark the scorecard saves, the scorecard saves, and recovery
from an audit trail (fills never reported forwarded, live orders reconciled, venue
events recovery applied ignored on a later delivery)."""

from __future__ import annotations

import msgspec

from engine.audit.journal import Journal
from engine.clock import MINUTE, SECOND
from engine.config import VenueConfig
from engine.contract import FEED, JOURNAL, Hosted
from engine.instruments import Instrument
from engine.messages import (
    BookLevel,
    CancelVenueOrder,
    ChildOrderAccepted,
    ChildOrderFilled,
    Liquidity,
    MarketDataUpdated,
    PlaceChildOrder,
    PlaceVenueOrder,
    RouteDecided,
    RoutingLogic,
    Side,
    SubscribeMarketData,
    Tactic,
    TimeInForce,
    UnsubscribeMarketData,
    VenueKind,
    VenueOrderAccepted,
    VenueOrderFilled,
    VenueStatus,
    VenueStatusChanged,
)
from engine.prices import to_price
from engine.routing.node import RouterNode
from engine.routing.recovery import replay_scorecard
from engine.routing.scorecard import Scorecard, ScorecardState

BID, ASK = 99_990_000, 100_010_000
VENUES = [VenueConfig(name="LIT2"), VenueConfig(name="LIT1")]
XYZ = Instrument(symbol="XYZ", ref_price=to_price("100"))


def node(relay_s: int = 5, save_s: int = 60) -> RouterNode:
    return RouterNode(
        name="router",
        venues=VENUES,
        instrument=XYZ,
        relay_interval_ns=relay_s * SECOND,
        save_interval_ns=save_s * SECOND,
    )


def md(venue: str, msg_id: int, bid: int = BID) -> MarketDataUpdated:
    return MarketDataUpdated(
        venue=venue,
        instrument="XYZ",
        kind=VenueKind.LIT,
        status=VenueStatus.UP,
        bids=[BookLevel(bid, 500)],
        asks=[BookLevel(ASK, 500)],
        msg_id=msg_id,
    )


def subscribe(parent: str, msg_id: int = 1) -> SubscribeMarketData:
    return SubscribeMarketData(subscriber=parent, instrument="XYZ", msg_id=msg_id)


def test_a_node_is_hosted():
    assert isinstance(node(), RouterNode)
    hosted: Hosted = node()  # the type checker holds it to the contract
    assert hosted.next_wake_ns() is None and hosted.on_wake(0) == []


def relayed(out) -> list[tuple[str, MarketDataUpdated]]:
    """The market data an outbox relays to actors (not the copy to the journal)."""
    return [(d, m) for d, m in out if d != JOURNAL and isinstance(m, MarketDataUpdated)]


def test_it_subscribes_to_every_venue_with_feed_messages():
    out = node().subscriptions()
    assert out == [
        ("LIT2", SubscribeMarketData(subscriber="router", instrument="XYZ")),
        ("LIT1", SubscribeMarketData(subscriber="router", instrument="XYZ")),
    ]
    assert all(m.__class__ in FEED for _, m in out)  # the host never journals them


def test_a_new_subscriber_is_journaled_once_and_gets_every_venues_latest_update():
    n = node()
    n.handle(md("LIT1", 11), 0)
    n.handle(md("LIT2", 21), 0)
    n.handle(md("LIT1", 12, bid=BID - 10_000), 0)
    first = subscribe("P1")
    assert n.handle(first, 0) == [
        (JOURNAL, first),
        ("P1", md("LIT1", 12, bid=BID - 10_000)),
        ("P1", md("LIT2", 21)),
    ]
    again = n.handle(subscribe("P1", msg_id=2), 0)  # known: not journaled again
    assert [dest for dest, _ in again] == ["P1", "P1"]  # but the snapshot again
    assert n.relay.subscribers == ["P1"]


def test_market_data_is_relayed_at_most_once_per_interval_then_journaled_then_routed():
    n = node(relay_s=5)
    n.handle(subscribe("P1"), 0)
    n.handle(subscribe("P2", msg_id=2), 0)
    first = md("LIT1", 11)
    out = n.handle(first, 0)
    assert out[:3] == [("P1", first), ("P2", first), (JOURNAL, first)]  # subscription order
    assert [d for d, _ in relayed(n.handle(md("LIT2", 21), 1))] == ["P1", "P2"]
    assert relayed(n.handle(md("LIT1", 12), 5 * SECOND - 1)) == []  # too soon for LIT1
    assert [d for d, _ in relayed(n.handle(md("LIT1", 13), 5 * SECOND))] == ["P1", "P2"]
    assert n.router.market("XYZ").venues["LIT1"].msg_id == 13  # the router reads them all


def test_a_late_subscriber_gets_its_first_relay_at_once():
    n = node(relay_s=5)
    n.handle(subscribe("P1"), 0)
    n.handle(md("LIT1", 11), 0)
    n.handle(subscribe("P2", msg_id=2), SECOND)
    assert [d for d, _ in relayed(n.handle(md("LIT1", 12), 2 * SECOND))] == ["P2"]


def unsubscribe(parent: str) -> UnsubscribeMarketData:
    return UnsubscribeMarketData(subscriber=parent, instrument="XYZ")


def test_a_subscriber_that_ended_gets_no_more_market_data_even_if_it_subscribes_again():
    n = node(relay_s=5)
    n.handle(subscribe("P1"), 0)
    n.handle(subscribe("P2", msg_id=2), 0)
    n.handle(md("LIT1", 11), 0)
    assert n.handle(unsubscribe("P1"), SECOND) == []  # journaled by the parent that sent it
    assert [d for d, _ in relayed(n.handle(md("LIT1", 12), 5 * SECOND))] == ["P2"]
    assert n.handle(subscribe("P1", msg_id=3), 6 * SECOND) == []  # a restarted parent
    assert [d for d, _ in relayed(n.handle(md("LIT1", 13), 10 * SECOND))] == ["P2"]
    assert n.relay.subscribers == ["P2"]


def test_a_recovered_node_relays_to_no_subscriber_that_ended():
    trail = _trail()
    trail.extend([subscribe("P2", msg_id=6), unsubscribe("P1")])
    n = node()
    with trail:
        n.recover(trail, 30)
    assert n.relay.subscribers == ["P2"]


def test_each_venue_books_last_message_is_the_scorecards_watermark():
    """Per book (venue, instrument): each book of a venue is a sender of its own, and
    only one sender's ids rise in the order it sent them."""
    n = node()
    n.handle(md("LIT1", 11), 0)
    status = VenueStatusChanged(
        venue="LIT2", status=VenueStatus.DEGRADED, instrument="XYZ", msg_id=30
    )
    n.handle(status, 0)
    n.handle(md("LIT1", 9), 0)  # an older id does not move it back
    event = VenueOrderAccepted(venue="LIT2", order_id="X-V1", leaves=100, msg_id=31)
    n.handle(event, 0)  # of an order the scorecard does not hold open: changes nothing
    assert n.router.scorecard.applied == {("LIT1", "XYZ"): 11, ("LIT2", "XYZ"): 30}
    placed = PlaceVenueOrder(
        venue="LIT2",
        order_id="X-V2",
        parent_id="X",
        child_id="X-C1",
        instrument="XYZ",
        side=Side.BUY,
        quantity=100,
        price=BID,
    )
    n.router.scorecard.record(placed, 0)
    n.handle(VenueOrderAccepted(venue="LIT2", order_id="X-V2", leaves=100, msg_id=32), 0)
    assert n.router.scorecard.applied == {("LIT1", "XYZ"): 11, ("LIT2", "XYZ"): 32}
    n.handle(subscribe("P1", msg_id=99), 0)  # not a venue's message
    assert n.router.scorecard.applied == {("LIT1", "XYZ"): 11, ("LIT2", "XYZ"): 32}


def test_a_restart_replays_each_venue_books_messages_after_its_own_watermark():
    """Two books of one venue are two senders: ids of the one started later are all
    higher. A per-venue watermark (the highest id of either) would skip the other
    book's messages since the save."""
    xyz, abc = 5 << 40, 6 << 40  # the books' senders: ABC's book started after XYZ's
    card = Scorecard()
    card.applied = {("LIT1", "XYZ"): xyz | 5, ("LIT1", "ABC"): abc | 3}
    after_save = [md("LIT1", xyz | 6), md("LIT1", xyz | 4)]  # one after, one before
    assert replay_scorecard(card, after_save, own_after=None) == 1
    assert card.applied == {("LIT1", "XYZ"): xyz | 6, ("LIT1", "ABC"): abc | 3}


def test_the_scorecard_is_saved_as_it_stands_every_interval():
    n = node(save_s=60)
    n.handle(md("LIT1", 11), 0)
    saved = n.saved("periodic")
    assert (saved.router, saved.reason) == ("router", "periodic")
    state = msgspec.json.decode(saved.state, type=ScorecardState)
    assert state == n.router.scorecard.to_state()
    assert state.applied_books == [("LIT1", "XYZ", 11)]
    assert n.next_save_ns(5) == 5 + MINUTE
    assert node(save_s=0).next_save_ns(5) is None


# ------------------------------------------------------------------------ recovery


def _child() -> PlaceChildOrder:
    return PlaceChildOrder(
        parent_id="P1",
        child_id="C1",
        instrument="XYZ",
        side=Side.BUY,
        quantity=300,
        routing=RoutingLogic.SEQUENTIAL,
        tactic=Tactic.PASSIVE,
        msg_id=1,
        ts=10,
    )


def _order() -> PlaceVenueOrder:
    return PlaceVenueOrder(
        venue="LIT1",
        order_id="C1-V1",
        parent_id="P1",
        child_id="C1",
        instrument="XYZ",
        side=Side.BUY,
        quantity=300,
        price=BID,
        tif=TimeInForce.DAY,
        msg_id=3,
        ts=10,
    )


def _fill() -> VenueOrderFilled:
    return VenueOrderFilled(
        venue="LIT1",
        order_id="C1-V1",
        fill_id="F1",
        quantity=100,
        price=BID,
        liquidity=Liquidity.MAKER,
        leaves=200,
        msg_id=12,
        ts=20,
    )


def _trail() -> Journal:
    """The old instance subscribed P1, accepted C1, placed it at LIT1; LIT1 acked it and
    filled 100, and the old instance died before it reported the fill."""
    trail = Journal(":memory:")
    trail.extend(
        [
            subscribe("P1", msg_id=5),
            _child(),
            ChildOrderAccepted(parent_id="P1", child_id="C1", msg_id=2, ts=10),
            _order(),
            VenueOrderAccepted(venue="LIT1", order_id="C1-V1", leaves=300, msg_id=11, ts=15),
            _fill(),
        ]
    )
    return trail


def test_recovery_forwards_the_unreported_fill_and_reconciles_the_live_order():
    n = node()
    with _trail() as trail:
        out = n.recover(trail, 30)
    filled = [m for d, m in out if d == "P1" and isinstance(m, ChildOrderFilled)]
    assert [(f.fill_id, f.quantity, f.leaves) for f in filled] == [("F1", 100, 200)]
    cancels = [(d, m.order_id) for d, m in out if isinstance(m, CancelVenueOrder)]
    assert cancels == [("LIT1", "C1-V1")]
    decisions = [m for d, m in out if isinstance(m, RouteDecided)]
    assert decisions and all(d == JOURNAL for d, m in out if isinstance(m, RouteDecided))
    assert n.relay.subscribers == ["P1"]  # relays to its subscribers again
    assert n.router.scorecard.stats("LIT1", "XYZ").orders == 1  # the trail replayed on it


def test_a_venue_event_recovery_applied_is_ignored_once_when_it_arrives():
    n = node()
    with _trail() as trail:
        n.recover(trail, 30)
    before = n.router.scorecard.to_state()
    ack = VenueOrderAccepted(venue="LIT1", order_id="C1-V1", leaves=300, msg_id=11, ts=15)
    assert n.handle(ack, 40) == []  # in flight at the restart: applied already
    assert n.handle(_fill(), 40) == []
    assert n.router.scorecard.to_state() == before  # neither counted twice
    again = msgspec.structs.replace(_fill(), fill_id="F2", msg_id=13)
    out = n.handle(again, 40)
    assert [m.fill_id for _, m in out if isinstance(m, ChildOrderFilled)] == ["F2"]
    assert n.handle(_fill(), 41) == []  # a second delivery: the router knows the fill id


def test_a_save_restored_after_a_restart_is_replayed_after():
    """Recovery replays on the restored scorecard only what its save does not reflect."""
    with _trail() as trail:
        blank = node()
        blank.recover(trail, 30)
        saved = msgspec.structs.replace(blank.saved("periodic"), msg_id=4, ts=10)
    restored = RouterNode(
        name="router",
        venues=VENUES,
        instrument=XYZ,
        scorecard=Scorecard.from_state(msgspec.json.decode(saved.state, type=ScorecardState)),
        restored_from=saved,
        relay_interval_ns=5 * SECOND,
        save_interval_ns=MINUTE,
    )
    with _trail() as trail:
        restored.recover(trail, 30)
    # the save already counted the order and LIT1's events: nothing counted twice
    assert restored.router.scorecard.stats("LIT1", "XYZ").orders == 1
