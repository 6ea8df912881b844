"""What each routing logic is for: sequential goes to the venue cheapest for the child's
tactic first; parallel rests a child whole where it should fill first and, in the dark,
moves it on unfilled (``docs/routing.md``)."""

from engine.clock import SECOND
from engine.config import VenueConfig
from engine.messages import RoutingLogic, Tactic, TimeInForce
from engine.routing.config import DEFAULT_CONFIG
from engine.routing.router import Router, RouterConfig
from tests.engine.routing.test_router import DARK, LIT, Driver, child, md


def test_sequential_goes_first_to_the_venue_cheapest_for_the_childs_tactic():
    """Fees from each venue's schedule for the tactic: the best rebate to rest, the
    lowest taker fee to take (a venue's measured fee mixes both)."""
    venues = [
        VenueConfig(name="LIT1"),
        VenueConfig(name="LIT2", maker_fee=-1_500, taker_fee=2_500),
        VenueConfig(name="LIT3", maker_fee=-3_000, taker_fee=3_500),
    ]
    d = Driver()
    d.router = Router(venues, DEFAULT_CONFIG)
    for v in LIT:
        d.feed(md(v))
    d.feed(child("C1"))
    d.feed(child("C2", tactic=Tactic.AGGRESSIVE))
    assert [(o.child_id, o.venue) for o in d.placed()] == [("C1", "LIT3"), ("C2", "LIT2")]


def test_a_parallel_child_resting_in_the_dark_rests_whole_and_moves_on_unfilled():
    """Split over pools it would be as slow as its slowest slice; where the contra sits
    is unknown, so an order that finds none moves on after the resting timeout."""
    d = Driver(RouterConfig(sequential_timeout_ns=SECOND))
    d.feed(child(qty=900, logic=RoutingLogic.PARALLEL, tactic=Tactic.MIDPOINT))
    (first,) = d.placed()
    assert first.venue in DARK and first.quantity == 900 and first.tif is TimeInForce.DAY
    d.ack(first)
    out = d.tick(SECOND)
    assert [c.order_id for c in d.cancels(out)] == [first.order_id]
    (second,) = d.placed(d.cancelled(first, 900))
    assert second.venue in DARK and second.quantity == 900
    d.ack(second)
    d.fill(second, 900, 0)
    d.check()
