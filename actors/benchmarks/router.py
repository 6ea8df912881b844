"""Router throughput: routing decisions (``RouteDecided``) per wall second.

A synthetic market of 3 lit venues and 2 dark pools with a two-sided book; children cycle
through the three routing logics and tactics. An instant in-process venue acks every
order, fills IOCs half and rests day orders until a sequential/dark timeout moves them on,
so every logic's decision path (first route, re-route, cancel sweep) is exercised.
"""

from __future__ import annotations

import time

import msgspec

from engine.clock import MS, SECOND
from engine.config import VenueConfig
from engine.messages import (
    BookLevel,
    CancelVenueOrder,
    Liquidity,
    MarketDataUpdated,
    PlaceChildOrder,
    PlaceVenueOrder,
    RoutingLogic,
    Side,
    Tactic,
    TimeInForce,
    VenueKind,
    VenueOrderAccepted,
    VenueOrderCancelled,
    VenueOrderFilled,
    VenueStatus,
)
from engine.routing.router import Router, RouterConfig

LIT = ("LIT1", "LIT2", "LIT3")
DARK = ("DARK1", "DARK2")
BID, ASK = 99_990_000, 100_010_000


def _venues() -> list[VenueConfig]:
    return [VenueConfig(name=v) for v in LIT] + [
        VenueConfig(name=v, kind=VenueKind.DARK, maker_fee=1_000, taker_fee=1_000) for v in DARK
    ]


def _market(venue: str, volume: int) -> MarketDataUpdated:
    if venue in DARK:
        return MarketDataUpdated(
            venue=venue, instrument="XYZ", kind=VenueKind.DARK, status=VenueStatus.UP, volume=volume
        )
    return MarketDataUpdated(
        venue=venue,
        instrument="XYZ",
        kind=VenueKind.LIT,
        status=VenueStatus.UP,
        bids=[BookLevel(BID, 800), BookLevel(BID - 10_000, 1_500)],
        asks=[BookLevel(ASK, 800), BookLevel(ASK + 10_000, 1_500)],
        volume=volume,
    )


VenueReply = VenueOrderAccepted | VenueOrderFilled | VenueOrderCancelled


def _venue_reply(
    msg: PlaceVenueOrder | CancelVenueOrder, leaves: dict[str, int]
) -> list[VenueReply]:
    """An instant venue: ack, fill half at once; an IOC's rest is cancelled, a day order's
    rests until cancelled."""
    if isinstance(msg, CancelVenueOrder):
        left = leaves.pop(msg.order_id, 0)
        return [VenueOrderCancelled(venue=msg.venue, order_id=msg.order_id, cancelled=left)]
    out: list[VenueReply] = [
        VenueOrderAccepted(venue=msg.venue, order_id=msg.order_id, leaves=msg.quantity)
    ]
    half = msg.quantity // 2
    if half:
        out.append(
            VenueOrderFilled(
                venue=msg.venue,
                order_id=msg.order_id,
                fill_id=f"{msg.order_id}-F",
                quantity=half,
                price=msg.price or ASK,
                liquidity=Liquidity.TAKER,
                leaves=msg.quantity - half,
            )
        )
    if msg.tif is TimeInForce.IOC:
        out.append(
            VenueOrderCancelled(
                venue=msg.venue, order_id=msg.order_id, cancelled=msg.quantity - half
            )
        )
    else:
        leaves[msg.order_id] = msg.quantity - half
    return out


def _children(n: int) -> list[PlaceChildOrder]:
    combos = [(logic, tactic) for logic in RoutingLogic for tactic in Tactic]
    return [
        PlaceChildOrder(
            parent_id=f"P{i % 7}",
            child_id=f"C{i}",
            instrument="XYZ",
            side=Side.BUY if i % 2 else Side.SELL,
            quantity=500,
            routing=combos[i % len(combos)][0],
            tactic=combos[i % len(combos)][1],
            expire_at=None,
        )
        for i in range(n)
    ]


def run(quick: bool) -> dict:
    n = 300 if quick else 3_000
    router = Router(
        _venues(),
        RouterConfig(sequential_timeout_ns=50 * MS, dark_timeout_ns=50 * MS, ck_iterations=300),
    )
    now, volume = 0, 0
    leaves: dict[str, int] = {}
    for v in LIT + DARK:
        router.handle(_market(v, volume), now)
    started = time.perf_counter()
    for i, cmd in enumerate(_children(n)):
        now += MS
        cmd = msgspec.structs.replace(cmd, expire_at=now + SECOND)  # every child ends
        pending = router.handle(cmd, now)
        for _ in range(200):  # until this child is done (its expiry bounds it)
            while pending:
                _, msg = pending.pop(0)
                if isinstance(msg, PlaceVenueOrder | CancelVenueOrder):
                    for reply in _venue_reply(msg, leaves):
                        pending += router.handle(reply, now)
            if router.children[cmd.child_id].done:
                break
            wake = router.next_wake_ns()
            if wake is None:
                break
            now = max(now, wake)
            pending = router.on_wake(now)
        if i % 10 == 0:  # markets trade: outflow history for Cont–Kukanov
            volume += 400
            for v in LIT:
                router.handle(_market(v, volume), now)
    elapsed = time.perf_counter() - started
    decisions = router.decisions
    return {
        "router_decisions_per_s": round(decisions / elapsed, 1),
        "router_children": n,
        "router_decisions": decisions,
    }


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run("--quick" in sys.argv)))
