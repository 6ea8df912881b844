"""Random but reproducible chaos cases: a market, a client order stream with cancels and
amends, and a fault plan, all drawn from one seed.

    case = draw(17)        # the same seed gives the same case, in any process

Everything is kept small (a session of a few minutes, a few dozen orders) so that a run
costs a fraction of a second: chaos testing finds its bugs by the number of different
runs, not by the length of one. Parameters stay in ranges a desk would see; faults are the
engine's own (every ``FaultKind``: at a venue, on a link, on an event; an actor crash),
some of them across the close.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from engine.clock import MINUTE, MS, SECOND, US
from engine.config import DarkConfig, FlowConfig, SessionConfig, VenueConfig
from engine.desk.desk import DeskConfig
from engine.instruments import Instrument
from engine.messages import (
    ClientOrder,
    FaultKind,
    FaultTrigger,
    Mandate,
    RoutingLogic,
    Side,
    StrategyName,
    Urgency,
    VenueKind,
)
from engine.prices import PRICE_SCALE
from engine.routing.config import RouterConfig

SYMBOL = "XYZ"
GRACE_NS = 2 * MINUTE  # after the close: children finish, cancels retry, reports land
CRASH = "crash"  # the fault-count key of an injected actor failure


@dataclass(frozen=True, slots=True)
class Fault:
    """A fault of ``kind`` at ``at_ns`` for ``duration_ns`` (None: until an ``up``, or
    the end): at ``venue``, or on ``link``; the rest as ``Engine.inject_fault`` takes it."""

    venue: str | None
    kind: FaultKind
    at_ns: int
    duration_ns: int | None = None
    link: tuple[str, str] | None = None
    delay_ns: int = 0
    count: int = 0
    message: str = ""
    after: FaultTrigger | None = None

    def spans(self, t_ns: int) -> bool:
        """Is the fault planned to be on at ``t_ns`` (the close, say)?"""
        end = None if self.duration_ns is None else self.at_ns + self.duration_ns
        return self.kind is not FaultKind.UP and self.at_ns < t_ns and (end is None or end > t_ns)

    def plan(self) -> dict[str, object]:
        """What ``Engine.inject_fault`` takes beyond venue, kind, time and duration."""
        return {
            "link": self.link,
            "delay_ns": self.delay_ns,
            "count": self.count,
            "message": self.message,
            "after": self.after,
        }

    @property
    def where(self) -> str:
        return self.venue or "{}>{}".format(*(self.link or ("?", "?")))


@dataclass(frozen=True, slots=True)
class Crash:
    actor: str  # "router", "desk", a venue or a parent id
    at_ns: int


@dataclass(frozen=True, slots=True)
class Cancel:
    at_ns: int
    source: str
    client_order_id: str


@dataclass(frozen=True, slots=True)
class Amend:
    at_ns: int
    source: str
    client_order_id: str
    quantity: int | None = None
    limit_price: int | None = None


@dataclass(frozen=True)
class ChaosCase:
    """One run's inputs; ``end_ns`` is where the simulation stops (close + grace)."""

    seed: int
    instrument: Instrument
    session: SessionConfig
    venues: list[VenueConfig]
    router: RouterConfig
    desk: DeskConfig
    orders: list[tuple[int, ClientOrder]]
    cancels: list[Cancel] = field(default_factory=list)
    amends: list[Amend] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    crashes: list[Crash] = field(default_factory=list)

    @property
    def end_ns(self) -> int:
        return self.session.close_ns + GRACE_NS

    @property
    def overallocates(self) -> bool:
        """Over-allocation asked for: excess-account fills are then allowed."""
        return self.router.overallocate

    def fault_counts(self) -> dict[str, int]:
        """Injected faults by kind (``crash`` for actor failures)."""
        counts: dict[str, int] = {}
        for fault in self.faults:
            counts[fault.kind.value] = counts.get(fault.kind.value, 0) + 1
        if self.crashes:
            counts[CRASH] = len(self.crashes)
        return counts

    def faults_across_close(self) -> int:
        return sum(f.spans(self.session.close_ns) for f in self.faults)


def draw(seed: int) -> ChaosCase:
    """The case of ``seed``: a pure function of it (its own RNG, nothing global)."""
    rng = random.Random(f"chaos:{seed}")
    open_ns = SessionConfig().open_ns
    session = SessionConfig(open_ns=open_ns, close_ns=open_ns + rng.randint(2, 4) * MINUTE)
    instrument = Instrument(
        symbol=SYMBOL,
        ref_price=rng.choice((20, 50, 100, 180)) * PRICE_SCALE,
        lot=rng.choice((1, 10, 100)),
    )
    venues = _venues(rng)
    orders = _orders(rng, instrument, session)
    return ChaosCase(
        seed=seed,
        instrument=instrument,
        session=session,
        venues=venues,
        router=RouterConfig(
            overallocate=rng.random() < 0.1,
            # the solver's samples: a run's cost is mostly this, its decisions barely move
            ck_iterations=rng.choice((30, 60, 100)),
            seed=seed,
        ),
        desk=DeskConfig(window_ns=rng.choice((0, 50 * MS, 500 * MS)), net=rng.random() < 0.85),
        orders=orders,
        cancels=_cancels(rng, orders, session),
        amends=_amends(rng, orders, instrument, session),
        # the link and data faults from an RNG of their own: the rest of a seed's case is
        # what it was before they existed
        faults=_faults(rng, venues, session) + _more_faults(seed, venues, session),
        crashes=_crashes(rng, venues, session),
    )


# ------------------------------------------------------------------------ the market


def _venues(rng: random.Random) -> list[VenueConfig]:
    lit = [
        VenueConfig(
            name=f"LIT{i + 1}",
            latency_ns=rng.randint(50, 500) * US,
            jitter_ns=rng.randint(0, 100) * US,
            md_interval_ns=rng.choice((500, 1_000, 2_000)) * MS,
            flow=FlowConfig(
                rate_scale=rng.uniform(0.1, 0.5),
                mean_size=rng.choice((100, 200, 400)),
                fundamental_vol=rng.uniform(0.0, 0.03),
            ),
        )
        for i in range(rng.randint(1, 2))
    ]
    dark = [
        VenueConfig(
            name=f"DARK{i + 1}",
            kind=VenueKind.DARK,
            latency_ns=rng.randint(100, 600) * US,
            dark=DarkConfig(
                arrival_rate=rng.uniform(0.005, 0.05),
                mean_block=rng.choice((500, 1_500, 3_000)),
                mean_life_s=rng.uniform(20.0, 120.0),
            ),
        )
        for i in range(rng.randint(0, 1))
    ]
    return lit + dark


# ------------------------------------------------------------------- client orders

SOURCES = ("OMS:pm-growth", "OMS:pm-value", "trader:jane", "signal:momentum", "OMS:pm-income")


def _mandates(rng: random.Random, session: SessionConfig) -> list[Mandate]:
    """A few mandates the sources share (the desk aggregates orders with the same one)."""
    out = []
    for _ in range(rng.randint(1, 4)):
        strategy = rng.choice(list(StrategyName))
        end = None
        if rng.random() < 0.4:  # ends before the close
            end = session.close_ns - rng.randint(20, 60) * SECOND
        pov = round(rng.uniform(0.05, 0.3), 2) if strategy is StrategyName.POV else None
        out.append(
            Mandate(
                strategy=strategy,
                urgency=rng.choice(list(Urgency)),
                must_complete=rng.random() < 0.7,
                end_ns=end,
                pov_rate=pov,
                max_participation=rng.choice((None, None, 0.3, 0.5)) if pov is None else None,
                routing=rng.choice((None, None, *RoutingLogic)),
            )
        )
    return out


def _orders(
    rng: random.Random, instrument: Instrument, session: SessionConfig
) -> list[tuple[int, ClientOrder]]:
    mandates = _mandates(rng, session)
    sources = rng.sample(SOURCES, rng.randint(2, len(SOURCES)))
    buy_share = rng.uniform(0.2, 0.8)
    last = session.close_ns - 45 * SECOND  # after this an order has no time left to work
    out = []
    for i in range(rng.randint(4, 12)):
        mandate = rng.choice(mandates)
        end = session.close_ns if mandate.end_ns is None else mandate.end_ns
        at = rng.randrange(session.open_ns - 20 * SECOND, min(last, end - 20 * SECOND))
        source = rng.choice(sources)
        order = ClientOrder(
            source=source,
            account=f"ACC-{source.partition(':')[2] or source}-{rng.randint(1, 2)}",
            client_order_id=f"C{i + 1:03d}",
            instrument=instrument.symbol,
            side=Side.BUY if rng.random() < buy_share else Side.SELL,
            quantity=instrument.lot * rng.randint(1, max(1, 1_500 // instrument.lot)),
            limit_price=_limit(rng, instrument) if rng.random() < 0.3 else None,
            mandate=mandate,
        )
        out.append((at // MS * MS, order))
    out.sort(key=lambda pair: pair[0])
    return out


def _limit(rng: random.Random, instrument: Instrument) -> int:
    """A limit price near the reference: some marketable, some resting away."""
    return instrument.ref_price + rng.randint(-40, 40) * instrument.tick


def _cancels(
    rng: random.Random, orders: list[tuple[int, ClientOrder]], session: SessionConfig
) -> list[Cancel]:
    return [
        Cancel(
            at_ns=rng.randrange(at, session.close_ns + MINUTE),
            source=order.source,
            client_order_id=order.client_order_id,
        )
        for at, order in orders
        if rng.random() < 0.15
    ]


def _amends(
    rng: random.Random,
    orders: list[tuple[int, ClientOrder]],
    instrument: Instrument,
    session: SessionConfig,
) -> list[Amend]:
    out = []
    for at, order in orders:
        if rng.random() >= 0.15:
            continue
        when = rng.randrange(at, session.close_ns)
        if rng.random() < 0.7:  # a new total quantity, up or down
            factor = rng.choice((0.25, 0.5, 1.5, 2.0))
            quantity = max(
                instrument.lot, int(order.quantity * factor) // instrument.lot * instrument.lot
            )
            out.append(Amend(when, order.source, order.client_order_id, quantity=quantity))
        else:
            price = _limit(rng, instrument)
            out.append(Amend(when, order.source, order.client_order_id, limit_price=price))
    return out


# ------------------------------------------------------------------------ the faults

_VENUE_FAULTS = (FaultKind.DOWN, FaultKind.DEGRADE, FaultKind.REJECT_ORDERS, FaultKind.DROP_CANCELS)


def _faults(rng: random.Random, venues: list[VenueConfig], session: SessionConfig) -> list[Fault]:
    out = []
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
        venue = rng.choice(venues).name
        kind = rng.choice(_VENUE_FAULTS)
        if rng.random() < 0.3:  # across the close
            at = session.close_ns - rng.randint(5, 90) * SECOND
        else:
            at = rng.randrange(session.open_ns, session.close_ns)
        at = at // MS * MS
        if rng.random() < 0.2:  # no set end: an ``up`` later, or never
            out.append(Fault(venue, kind, at))
            if rng.random() < 0.6:
                up = at + rng.randint(10, 150) * SECOND
                out.append(Fault(venue, FaultKind.UP, up))
        else:
            out.append(Fault(venue, kind, at, rng.randint(5, 150) * SECOND))
    out.sort(key=lambda f: f.at_ns)
    return out


def _crashes(rng: random.Random, venues: list[VenueConfig], session: SessionConfig) -> list[Crash]:
    if rng.random() >= 0.25:
        return []
    actor = rng.choice(("router", "desk", "P1", "P2", rng.choice(venues).name))
    at = rng.randrange(session.open_ns, session.close_ns + MINUTE) // MS * MS
    return [Crash(actor, at)]


# Link and market-data faults, of the kinds a transport and a feed give: lost cancels,
# fills and quotes, duplicated orders, fills and quotes, delays, reorders, latency spikes,
# stale or crossed quotes, fills in pieces.
_LINK_PLANS: tuple[tuple[FaultKind, str, str], ...] = (
    (FaultKind.LINK_DROP, "to_venue", "CancelVenueOrder"),
    (FaultKind.LINK_DROP, "to_router", "VenueOrderFilled"),
    (FaultKind.LINK_DROP, "to_router", "MarketDataUpdated"),
    (FaultKind.LINK_DUPLICATE, "to_venue", "PlaceVenueOrder"),
    (FaultKind.LINK_DUPLICATE, "to_router", "VenueOrderFilled"),
    (FaultKind.LINK_DUPLICATE, "to_router", "MarketDataUpdated"),
    (FaultKind.LINK_DELAY, "to_venue", ""),
    (FaultKind.LINK_DELAY, "to_router", ""),
    (FaultKind.LINK_REORDER, "to_venue", ""),
    (FaultKind.LINK_REORDER, "to_router", ""),
)
_VENUE_DATA_FAULTS = (
    FaultKind.STALE_DATA,
    FaultKind.CROSSED_DATA,
    FaultKind.PARTIAL_FILLS,
    FaultKind.LATENCY_SPIKE,
)


def _more_faults(seed: int, venues: list[VenueConfig], session: SessionConfig) -> list[Fault]:
    rng = random.Random(f"chaos-faults:{seed}")
    out = []
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        venue = rng.choice(venues).name
        if rng.random() < 0.3:  # across the close
            at = session.close_ns - rng.randint(5, 90) * SECOND
        else:
            at = rng.randrange(session.open_ns, session.close_ns)
        at = at // MS * MS
        duration = None if rng.random() < 0.2 else rng.randint(5, 120) * SECOND
        after = None
        if rng.random() < 0.25:  # on the n-th fill of the first parent, or of any
            parent = rng.choice(("P1", ""))
            after = FaultTrigger(event="fill", count=rng.randint(1, 10), parent=parent)
            at = session.open_ns
        if rng.random() < 0.5:
            kind = rng.choice(_VENUE_DATA_FAULTS)
            delay = rng.randint(1, 300) * MS if kind is FaultKind.LATENCY_SPIKE else 0
            out.append(Fault(venue, kind, at, duration, delay_ns=delay, after=after))
            continue
        kind, way, message = rng.choice(_LINK_PLANS)
        link = ("router", venue) if way == "to_venue" else (venue, "router")
        delay = (
            rng.randint(1, 500) * MS
            if kind in (FaultKind.LINK_DELAY, FaultKind.LINK_REORDER)
            else 0
        )
        count = rng.choice((0, 1, 3)) if message or kind is FaultKind.LINK_REORDER else 0
        fault = Fault(None, kind, at, duration, link, delay, count, message, after)
        out.append(fault)
    out.sort(key=lambda f: f.at_ns)
    return out
