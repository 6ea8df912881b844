"""Passive placement without self-impact: a passive order joins the target venue's own
touch, post-only, never improving it and never marketable, whatever the consolidated view
(locked, crossed, stale); a post-only refusal is no venue failure; and on a small simulated
market the passive children's shares are filled as makers.

The failure this guards against: passive children priced at the consolidated best bid
stepped a venue's own bid up on every re-post, and a locked or crossed consolidated view
(quotes of different ages) made them marketable: about half of a VWAP's passive shares
were filled as taker."""

from __future__ import annotations

from collections import Counter

from hypothesis import event, given
from hypothesis import strategies as st

from actors.scenario_runner import run_scenario
from engine import messages as m
from engine.clock import SECOND
from engine.config import VenueConfig
from engine.messages import (
    BookLevel,
    CancelVenueOrder,
    Liquidity,
    MarketDataUpdated,
    PlaceChildOrder,
    PlaceVenueOrder,
    RouteDecided,
    RoutingLogic,
    Side,
    Tactic,
    TimeInForce,
    VenueKind,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderRejected,
    VenueStatus,
)
from engine.routing.router import Router, RouterConfig
from engine.scenario import loads

TICK = 10_000  # one cent
BASE = 100_000_000  # $100.00
LIT = ["LIT1", "LIT2", "LIT3"]
VENUES = [VenueConfig(name=v) for v in LIT]
CONFIG = RouterConfig()


def md(venue, bid, ask, ts=0, size=500):
    return MarketDataUpdated(
        venue=venue,
        instrument="XYZ",
        kind=VenueKind.LIT,
        status=VenueStatus.UP,
        bids=[BookLevel(bid, size)] if bid is not None else [],
        asks=[BookLevel(ask, size)] if ask is not None else [],
        ts=ts,
    )


def child(cid="C1", qty=300, side=Side.BUY, logic=RoutingLogic.SEQUENTIAL, **kw):
    return PlaceChildOrder(
        parent_id="P1",
        child_id=cid,
        instrument="XYZ",
        side=side,
        quantity=qty,
        routing=logic,
        tactic=kw.pop("tactic", Tactic.PASSIVE),
        **kw,
    )


def placed(out):
    return [msg for _, msg in out if isinstance(msg, PlaceVenueOrder)]


def decisions(out):
    return [msg for _, msg in out if isinstance(msg, RouteDecided)]


def router_with(quotes, now=SECOND):
    """A router that has seen ``quotes``: venue → (bid, ask, ts)."""
    router = Router(VENUES, CONFIG)
    for venue, (bid, ask, ts) in quotes.items():
        router.handle(md(venue, bid, ask, ts), now)
    return router


# ------------------------------------------------------------------ the rules


def test_joins_the_target_venues_own_bid_not_the_consolidated_one():
    # LIT2 shows the best bid; a buy sent to LIT1 joins LIT1's own bid, not LIT2's
    router = router_with(
        {"LIT1": (BASE, BASE + 3 * TICK, 0), "LIT2": (BASE + TICK, BASE + 3 * TICK, 0)}
    )
    out = router.handle(child(), SECOND)
    (order,) = placed(out)
    own_bid = BASE + TICK if order.venue == "LIT2" else BASE
    assert order.price == own_bid and order.post_only and order.tif is TimeInForce.DAY


def test_a_crossed_consolidated_view_never_makes_a_passive_order_marketable():
    # LIT1 offers at 100.02 while LIT2 bids 100.03 (quotes of different ages): a buy on
    # LIT2 rests one tick behind the lowest offer seen, below LIT2's own bid
    quotes = {"LIT1": (BASE, BASE + 2 * TICK, 0), "LIT2": (BASE + 3 * TICK, BASE + 5 * TICK, 0)}
    router = router_with(quotes)
    out = router.handle(child(qty=900, logic=RoutingLogic.PARALLEL), SECOND)
    # (a sweep rests only where the price is best: LIT2, behind the lowest offer)
    prices = {o.venue: o.price for o in placed(out)}
    assert prices == {"LIT2": BASE + TICK}
    assert all(o.post_only for o in placed(out))
    # sent alone to LIT1, it joins LIT1's own bid
    router = router_with({"LIT1": quotes["LIT1"]})
    (order,) = placed(router.handle(child(), SECOND))
    assert (order.venue, order.price) == ("LIT1", BASE)


def test_a_locked_consolidated_view_rests_one_tick_behind_for_a_sell():
    quotes = {"LIT1": (BASE, BASE + 2 * TICK, 0), "LIT2": (BASE - 2 * TICK, BASE, 0)}
    router = router_with(quotes)
    out = router.handle(child(side=Side.SELL, qty=600, logic=RoutingLogic.PARALLEL), SECOND)
    prices = {o.venue: o.price for o in placed(out)}
    # LIT2 offers at 100.00 where LIT1 bids: a sell there rests at 100.01, not at the lock
    assert prices == {"LIT2": BASE + TICK}


def test_a_passive_parallel_child_rests_whole_behind_the_shortest_queue_at_the_best_price():
    """A child split over resting orders is as slow as its slowest slice: it rests whole,
    at the best price (LIT3's own bid is a tick behind: it would wait for the market to
    come back), on the venue whose queue at that price is shortest for the flow it sees
    (no flow seen yet: the same everywhere)."""
    router = Router(VENUES, CONFIG)
    for venue, bid, size in (("LIT1", BASE, 2_000), ("LIT2", BASE, 200), ("LIT3", BASE - TICK, 50)):
        router.handle(md(venue, bid, BASE + TICK, 0, size=size), SECOND)
    (order,) = placed(router.handle(child(qty=900, logic=RoutingLogic.PARALLEL), SECOND))
    assert (order.venue, order.quantity, order.price) == ("LIT2", 900, BASE)


def test_a_stale_venue_is_left_out_and_with_every_quote_stale_the_child_waits():
    now = 30 * SECOND
    old = now - CONFIG.stale_quote_ns - 1
    quotes = {"LIT1": (BASE, BASE + TICK, old), "LIT2": (BASE, BASE + TICK, now - SECOND)}
    router = router_with(quotes, now)
    (order,) = placed(router.handle(child(), now))
    assert order.venue == "LIT2"  # LIT3 never published, LIT1 is stale
    router = router_with(dict.fromkeys(LIT, (BASE, BASE + TICK, old)), now)
    out = router.handle(child(), now)
    assert placed(out) == []
    (decided,) = decisions(out)
    assert decided.reason.startswith("wait:")
    # the next fresh quote routes it
    out = router.handle(md("LIT3", BASE, BASE + TICK, now), now + 1)
    (order,) = placed(out)
    assert order.venue == "LIT3" and order.price == BASE


def test_a_venue_never_heard_from_gets_the_childs_limit_post_only():
    router = Router(VENUES, CONFIG)
    (order,) = placed(router.handle(child(limit_price=BASE), SECOND))
    assert order.price == BASE and order.post_only


def refuse(router, order, at):
    return router.handle(
        VenueOrderRejected(
            venue=order.venue, order_id=order.order_id, reason="post_only_would_cross"
        ),
        at,
    )


def test_a_post_only_refusal_is_no_venue_failure_and_sets_that_quote_aside():
    router = router_with(dict.fromkeys(LIT, (BASE, BASE + TICK, 0)))
    (order,) = placed(router.handle(child(), SECOND))
    (again,) = placed(refuse(router, order, SECOND + 1))  # routed again at once ...
    assert again.venue != order.venue and again.post_only  # ... not from the stale quote
    stats = router.scorecard.stats(order.venue, "XYZ")
    assert stats.rejects == 0 and stats.reject_streak == 0 and stats.orders == 0
    assert order.venue not in router.children[order.child_id].avoid


def test_with_every_quote_set_aside_the_child_waits_for_the_next_one():
    router = router_with({"LIT1": (BASE, BASE + TICK, 0)})
    (order,) = placed(router.handle(child(), SECOND))
    out = refuse(router, order, SECOND + 1)
    assert placed(out) == [] and decisions(out)[-1].reason.startswith("wait:")
    # the venue's next quote: its book moved down, the child joins it there
    (again,) = placed(router.handle(md("LIT1", BASE - TICK, BASE, SECOND), SECOND + 2))
    assert (again.venue, again.price, again.post_only) == ("LIT1", BASE - TICK, True)


# ------------------------------------------------------------------ the property

PRICE = st.integers(-20, 20).map(lambda n: BASE + n * TICK)


@st.composite
def venue_quote(draw):
    """A venue's own book (never crossed in itself), possibly one-sided or stale."""
    bid = draw(PRICE)
    ask = bid + draw(st.integers(1, 4)) * TICK
    return (
        None if draw(st.integers(0, 9)) == 0 else bid,
        None if draw(st.integers(0, 9)) == 0 else ask,
        draw(st.sampled_from([0, 20 * SECOND])),  # at now = 25 s: stale or fresh
    )


@given(
    first=st.dictionaries(st.sampled_from(LIT), venue_quote(), min_size=1),
    later=st.dictionaries(st.sampled_from(LIT), venue_quote()),
    side=st.sampled_from([Side.BUY, Side.SELL]),
    logic=st.sampled_from(list(RoutingLogic)),
    tactic=st.sampled_from([Tactic.PASSIVE, Tactic.MIDPOINT]),
    limit=st.none() | PRICE,
)
def test_no_passive_order_is_ever_priced_through_or_improving_its_venues_touch(
    first, later, side, logic, tactic, limit
):
    """Every lit order of a passive child (MIDPOINT with no pool rests lit, as PASSIVE) is
    post-only and priced at or behind the target venue's own touch on its side, strictly
    behind every far touch the router saw, within the child's limit; also after the
    market moved and a resting timeout re-routed it."""
    now = 25 * SECOND
    router = Router(VENUES, CONFIG)
    seen: dict[str, MarketDataUpdated] = {}

    def feed(quotes, at):
        for venue, (bid, ask, ts) in quotes.items():
            seen[venue] = md(venue, bid, ask, at - 5 * SECOND + ts // 4)
            router.handle(seen[venue], at)

    def check(out):
        buy = side is Side.BUY
        far_seen = [
            (q.asks if buy else q.bids)[0].price
            for q in seen.values()
            if (q.asks if buy else q.bids)
        ]
        for o in placed(out):
            own = seen.get(o.venue)
            assert o.post_only and o.tif is TimeInForce.DAY and o.price is not None
            assert limit is None or (o.price <= limit if buy else o.price >= limit)
            if own is None:
                continue  # never heard from: the limit, guarded by post-only
            near = own.bids if buy else own.asks
            assert near, "a venue showing nothing on our side is left out"
            assert (o.price <= near[0].price) if buy else (o.price >= near[0].price)
            assert all((o.price < f) if buy else (o.price > f) for f in far_seen)

    feed(first, now)
    out = router.handle(child(side=side, logic=logic, tactic=tactic, limit_price=limit), now)
    check(out)
    first_orders = placed(out)
    placed_again: list[PlaceVenueOrder] = []
    for o in first_orders:
        router.handle(
            VenueOrderAccepted(venue=o.venue, order_id=o.order_id, leaves=o.quantity), now
        )
    feed(later, now + SECOND)
    then = now + CONFIG.sequential_timeout_ns + SECOND
    out = router.on_wake(then)
    check(out)
    for _, c in out:  # the timeouts' cancels done: the rest is re-routed on the new quotes
        if isinstance(c, CancelVenueOrder):
            qty = next(o.quantity for o in first_orders if o.order_id == c.order_id)
            rerouted = router.handle(
                VenueOrderCancelled(venue=c.venue, order_id=c.order_id, cancelled=qty), then
            )
            check(rerouted)
            placed_again.extend(placed(rerouted))
    event(f"re-routed after a timeout: {bool(placed_again)}")


# ------------------------------------------------------------------ a small market

SMALL = """
name = "small-passive"
seed = 5
run_until = "09:52"
[instrument]
symbol = "XYZ"
ref_price = "50.00"
[mandate]
strategy = "TWAP"
urgency = "low"
must_complete = false
end = "09:50"
[[venues]]
name = "LIT1"
[[venues]]
name = "LIT2"
maker_fee = "-0.0015"
taker_fee = "0.0025"
[[venues]]
name = "LIT3"
flow = { rate_scale = 0.3 }
[[orders]]
id = "o1"
side = "buy"
quantity = 3000
at = "09:30"
"""


def test_passive_shares_are_filled_as_makers_on_a_small_market():
    result = run_scenario(loads(SMALL))
    try:
        tactic = {c.child_id: c.tactic for c in result.journal.messages(PlaceChildOrder)}
        by_liquidity: Counter[Liquidity] = Counter()
        for f in result.journal.messages(m.ChildOrderFilled):
            if tactic[f.child_id] is not Tactic.AGGRESSIVE:
                by_liquidity[f.liquidity] += f.quantity
    finally:
        result.journal.close()
    passive = sum(by_liquidity.values())
    assert passive >= 1_000  # the measure means something: most of the order rests
    assert by_liquidity[Liquidity.TAKER] / passive <= 0.05
