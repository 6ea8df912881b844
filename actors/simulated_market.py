"""Start a simulated market: one venue actor per venue, under a venues supervisor."""

from __future__ import annotations

from collections.abc import Sequence

from actors.runtime import Runtime
from actors.supervisor import ChildSpec, Supervisor
from actors.venue_actor import VenueActor
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import SubscribeMarketData, VenueKind


def venue_actor_name(venue: str, instrument: str, single_instrument: bool = True) -> str:
    """Venue actors are named after the venue (one instrument per run for now)."""
    return venue if single_instrument else f"{venue}:{instrument}"


def start_market(
    runtime: Runtime,
    supervisor: Supervisor,
    instrument: Instrument,
    session: SessionConfig,
    venues: Sequence[VenueConfig],
    clients: Sequence[str] = (),
) -> list[str]:
    """Start every venue (lit first, so dark pools can subscribe to them) and link each to
    ``clients`` (e.g. the router) with the venue's latency. Returns the venue names."""
    lit = [v.name for v in venues if v.kind is VenueKind.LIT]
    ordered = sorted(venues, key=lambda v: v.kind is VenueKind.DARK)
    # Every link first: a venue's on_start subscribes to the others at once (on a pykka
    # thread, concurrently with this loop), so no link may change after any venue starts.
    for venue in ordered:
        for client in clients:
            runtime.set_link(client, venue.name, venue.latency_ns, venue.jitter_ns)
    for venue in ordered:
        if venue.kind is VenueKind.DARK:
            for other in lit:
                runtime.set_link(venue.name, other, venue.latency_ns, venue.jitter_ns)
    for i, a in enumerate(lit):  # lit ↔ lit (arbitrage feeds): the slower of the two
        for b in lit[i + 1 :]:
            va, vb = (next(v for v in venues if v.name == n) for n in (a, b))
            runtime.set_link(
                a, b, max(va.latency_ns, vb.latency_ns), max(va.jitter_ns, vb.jitter_ns)
            )
    for venue in ordered:
        supervisor.start_child(
            ChildSpec(
                venue.name,
                VenueActor,
                {
                    "config": venue,
                    "instrument": instrument,
                    "session": session,
                    # dark pools price off the lit venues; lit venues arbitrage against each other
                    "lit_venues": [v for v in lit if v != venue.name],
                    # ... so a lit venue's market data goes to them all, and every venue's to
                    # the clients (given again to a restarted venue, which forgets them)
                    "subscribers": [
                        *clients,
                        *(
                            [v.name for v in ordered if v.name != venue.name]
                            if venue.kind is VenueKind.LIT
                            else []
                        ),
                    ],
                },
            )
        )
    return [v.name for v in ordered]


def subscribe(runtime: Runtime, subscriber: str, instrument: str, venues: Sequence[str]) -> None:
    for venue in venues:
        runtime.send(
            subscriber, venue, SubscribeMarketData(subscriber=subscriber, instrument=instrument)
        )
