"""A restarted router's scorecard: the last save with the journal's later messages
replayed on top (``recovery.replay_scorecard``) is the scorecard the router had, byte for
byte, when the journal says when the router received each message (here: no link delay,
so a venue's send time is the router's time of receipt)."""

from __future__ import annotations

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_router import ASK, BID, DARK, LIT, Driver, World, child

from engine.clock import MS
from engine.messages import (
    BookLevel,
    MarketDataUpdated,
    Message,
    RoutingLogic,
    Tactic,
    VenueKind,
    VenueStatus,
)
from engine.routing import recovery
from engine.routing.config import DEFAULT_CONFIG
from engine.routing.router import RouterConfig
from engine.routing.scorecard import Scorecard

FROM_VENUES = (*recovery._VENUE_EVENTS, *recovery.SCORECARD_TAPE)
ROUTER_ID = 1
ALL = LIT + DARK


class JournalingDriver(Driver):
    """A ``Driver`` that stamps messages as the runtime does (msg id = sender id << 40 |
    seq, ts = now), keeps ``scorecard.applied`` as the router actor does, and journals
    what the engine would: the venues' messages, the parents' commands and the router's
    output (market data: as the router receives it)."""

    def __init__(self, config=DEFAULT_CONFIG):
        self.journal: list[Message] = []
        self.seq: dict[int, int] = {}
        self.saves: list[tuple[bytes, int]] = []  # (state, msg id of the save record)
        super().__init__(config)  # feeds every venue's market data: journaled too

    def stamp(self, sender: int, msg: Message) -> Message:
        n = self.seq[sender] = self.seq.get(sender, 0) + 1
        return msgspec.structs.replace(msg, msg_id=sender << 40 | n, ts=self.now)

    def feed(self, msg, at=None):
        self.now = self.now if at is None else at
        if isinstance(msg, FROM_VENUES):
            msg = self.stamp(2 + ALL.index(msg.venue), msg)
            book = self.router.scorecard.book_of(msg)
            if book is not None:
                applied = self.router.scorecard.applied
                applied[book] = max(applied.get(book, 0), msg.msg_id)
        else:
            msg = self.stamp(99, msg)
        self.journal.append(msg)
        return self._own(super().feed(msg))

    def tick(self, dt):
        return self._own(super().tick(dt))

    def _own(self, out):
        stamped = [(dest, self.stamp(ROUTER_ID, m)) for dest, m in out]
        self.journal += [m for _, m in stamped]
        return stamped

    def save(self):
        state = self.router.scorecard.to_json()
        self.saves.append((state, self.stamp(ROUTER_ID, child()).msg_id))


def md(venue, k):
    kind = VenueKind.DARK if venue in DARK else VenueKind.LIT
    levels = (
        {
            "bids": [BookLevel(BID - 1_000 * (k % 5), 300)],
            "asks": [BookLevel(ASK + 1_000 * (k % 3), 300)],
        }
        if kind is VenueKind.LIT
        else {}
    )
    return MarketDataUpdated(
        venue=venue, instrument="XYZ", kind=kind, status=VenueStatus.UP, volume=100 * k, **levels
    )


def restarted(d: JournalingDriver, save: int | None) -> Scorecard:
    if save is None:
        card, own_after = Scorecard(), None
    else:
        state, own_after = d.saves[save]
        card = Scorecard.from_json(state)
    recovery.replay_scorecard(card, d.journal, own_after=own_after)
    return card


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    children=st.lists(
        st.tuples(
            st.sampled_from(list(RoutingLogic)), st.sampled_from(list(Tactic)), st.integers(1, 8)
        ),
        min_size=1,
        max_size=4,
    ),
    actions=st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 50), st.integers(0, 400)), max_size=80
    ),
    overallocate=st.booleans(),
)
def test_the_last_save_plus_the_journal_after_it_is_the_scorecard_the_router_had(
    children, actions, overallocate
):
    w = World(
        RouterConfig(
            overallocate=overallocate,
            sequential_timeout_ns=200 * MS,
            dark_timeout_ns=300 * MS,
            ck_iterations=100,
        )
    )
    d = w.d = JournalingDriver(w.d.router.config)
    for i, (logic, tactic, lots) in enumerate(children):
        w.take(d.feed(child(f"C{i}", lots * 100, logic, tactic)))
    for action, k, q in actions:
        if action == 6:  # market data from a venue (book, traded volume: outflows, markouts)
            w.take(d.feed(md(ALL[k % len(ALL)], q)))
        elif action == 7:
            d.save()
        else:
            w.step(action, k, q)
    live = d.router.scorecard.to_json()
    # a crash now: whichever save is the last, or none (a crash before the first one)
    for save in [None, *range(len(d.saves))]:
        assert restarted(d, save).to_json() == live
    w.drain()
    assert (
        restarted(d, len(d.saves) - 1 if d.saves else None).to_json()
        == d.router.scorecard.to_json()
    )


def test_a_restart_between_saves_replays_orders_fills_and_cancels_since_the_last_one():
    d = JournalingDriver(RouterConfig())
    w = World(RouterConfig())
    w.d = d
    w.take(d.feed(child("C1", 300, RoutingLogic.PARALLEL, Tactic.AGGRESSIVE)))
    d.save()
    saved = Scorecard.from_json(d.saves[-1][0])
    w.take(d.feed(child("C2", 500, RoutingLogic.SEQUENTIAL)))  # placed after the save
    for _ in range(6):
        w.step(0, 1, 200)  # to the venues (fills up to 200 each)
    while w.to_router:
        w.step(1, 0, 0)
    w.take(d.feed(md("LIT1", 7)))
    live = d.router.scorecard
    assert saved.to_json() != live.to_json()
    card = restarted(d, 0)
    assert card.to_json() == live.to_json()
    assert sum(s.orders for s in card.to_state().venues) == sum(
        1 for m in d.journal if type(m).__name__ == "PlaceVenueOrder"
    )
