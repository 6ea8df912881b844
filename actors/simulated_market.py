"""Start a simulated market under a venues supervisor: one venue actor per venue
(``start_market``, one instrument), or one book actor per venue and instrument
(``start_books``, many)."""

from __future__ import annotations

from collections.abc import Sequence

from actors.book_actor import BookActor, book_name
from actors.runtime import Runtime
from actors.supervisor import ChildSpec, Supervisor
from actors.venue_actor import VenueActor
from engine.clock import SECOND
from engine.config import SessionConfig, VenueConfig
from engine.instruments import Instrument
from engine.messages import SubscribeMarketData, VenueKind
from engine.universe import book_config


def venue_actor_name(venue: str, instrument: str, single_instrument: bool = True) -> str:
    """A venue actor is named after its venue; a book actor (many instruments) after its
    venue and instrument."""
    return venue if single_instrument else book_name(venue, instrument)


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
    ordered = sorted(venues, key=lambda v: v.kind is VenueKind.DARK)
    # Every link first: a venue's start subscribes to the others at once (on a pykka
    # thread, concurrently with this loop), so no link may change after any venue starts.
    _link(runtime, ordered, clients)
    lit = [v.name for v in ordered if v.kind is VenueKind.LIT]
    for venue in ordered:
        # dark pools price off the lit venues; lit venues arbitrage against each other ...
        feeds = [name for name in lit if name != venue.name]
        # ... so a lit venue's market data goes to them all, a dark pool's to the lit
        # venues (its prints of our orders move the value: impact), and every venue's to
        # the clients (given again to a restarted venue, which forgets them)
        others = [v.name for v in ordered if v.name != venue.name]
        subscribers = [*clients, *(others if venue.kind is VenueKind.LIT else lit)]
        kwargs = {
            "config": venue,
            "instrument": instrument,
            "session": session,
            "lit_venues": feeds,
            "subscribers": subscribers,
        }
        supervisor.start_child(ChildSpec(venue.name, VenueActor, kwargs))
    return [v.name for v in ordered]


def _link(runtime: Runtime, venues: Sequence[VenueConfig], clients: Sequence[str]) -> None:
    """Clients ↔ each venue and dark → lit at the venue's latency; lit ↔ lit (the
    arbitrage feeds) at the slower of the two."""
    lit = [v for v in venues if v.kind is VenueKind.LIT]
    for venue in venues:
        for client in clients:
            runtime.set_link(client, venue.name, venue.latency_ns, venue.jitter_ns)
    for venue in venues:
        if venue.kind is VenueKind.DARK:
            for other in lit:
                runtime.set_link(venue.name, other.name, venue.latency_ns, venue.jitter_ns)
    for i, a in enumerate(lit):
        for b in lit[i + 1 :]:
            runtime.set_link(
                a.name,
                b.name,
                max(a.latency_ns, b.latency_ns),
                max(a.jitter_ns, b.jitter_ns),
            )


def subscribe(runtime: Runtime, subscriber: str, instrument: str, venues: Sequence[str]) -> None:
    """``subscriber`` asks each of ``venues`` for its market data."""
    for venue in venues:
        runtime.send(
            subscriber, venue, SubscribeMarketData(subscriber=subscriber, instrument=instrument)
        )


def start_books(
    runtime: Runtime,
    supervisor: Supervisor,
    instruments: Sequence[Instrument],
    session: SessionConfig,
    venues: Sequence[VenueConfig],
    clients: Sequence[str] = (),
    peer_interval_ns: int | None = None,
) -> list[str]:
    """A market of many instruments: one book actor (``"venue:SYMBOL"``) per venue and
    instrument it trades, each with the flow the instrument's parameters call for
    (``engine.universe.book_config``), wired per instrument as ``start_market`` wires a
    venue. Instrument by instrument, so each instrument's books start in the same order
    whatever the others are. ``peer_interval_ns``: the books' periodic feeds to each
    other are conflated to one per interval (None: every publication). Returns the book
    names.

    Each instrument's books have a supervisor of their own (``"venues:SYMBOL"``, under
    ``supervisor``, with its restart policy): a venue's crash fails each of its books,
    and one supervisor over every book would count them all against one restart
    intensity, so whether a book is restarted alone or the whole market with it would
    depend on how many instruments the engine trades."""
    day_s = session.length_ns / SECOND
    names: list[str] = []
    for instrument in instruments:
        symbol = instrument.symbol
        listed = sorted(
            (v for v in venues if v.trades(symbol)), key=lambda v: v.kind is VenueKind.DARK
        )
        lit_rate = sum(v.flow.rate_scale for v in listed if v.kind is VenueKind.LIT)
        books = {v.name: book_name(v.name, symbol) for v in listed}
        _link_books(runtime, listed, books, clients)
        own = Supervisor(
            runtime,
            f"{supervisor.name}:{symbol}",
            strategy=supervisor.strategy,
            max_restarts=supervisor.max_restarts,
            window_ns=supervisor.window_ns,
            parent=supervisor,
        )
        lit = [books[v.name] for v in listed if v.kind is VenueKind.LIT]
        for venue in listed:
            me = books[venue.name]
            others = [b for b in books.values() if b != me]
            kwargs = {
                "config": book_config(venue, instrument, lit_rate, day_s),
                "instrument": instrument,
                "session": session,
                "lit_venues": [b for b in lit if b != me],
                "subscribers": [*clients, *(others if venue.kind is VenueKind.LIT else lit)],
                "peers": others,
                "peer_interval_ns": peer_interval_ns,
            }
            own.start_child(ChildSpec(me, BookActor, kwargs))
            names.append(me)
    return names


def _link_books(
    runtime: Runtime,
    venues: Sequence[VenueConfig],
    books: dict[str, str],
    clients: Sequence[str],
) -> None:
    """``_link`` for one instrument's books: its venues' links, book to book. Between
    books the latency is fixed: a jitter draw comes from the sender's stream, which
    other instruments' traffic would move, and an instrument's market must not
    depend on what else the engine trades."""
    for venue in venues:
        for client in clients:
            runtime.set_link(client, books[venue.name], venue.latency_ns, venue.jitter_ns)
    lit = [v for v in venues if v.kind is VenueKind.LIT]
    for venue in venues:
        if venue.kind is VenueKind.DARK:
            for other in lit:
                runtime.set_link(books[venue.name], books[other.name], venue.latency_ns)
    for i, a in enumerate(lit):
        for b in lit[i + 1 :]:
            runtime.set_link(books[a.name], books[b.name], max(a.latency_ns, b.latency_ns))
