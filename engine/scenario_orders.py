"""The parts of a scenario that say when and what is traded: the session, mandates,
client orders listed one by one, and streams of many small generated orders.

Each ``instrument`` field names the symbol an order trades; left out, it is the
scenario's only instrument (``engine.scenario``).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator

import msgspec

from engine.clock import MS, SECOND
from engine.config import SessionConfig
from engine.instruments import Instrument
from engine.messages import ClientOrder, Mandate, RoutingLogic, Side, StrategyName, Urgency
from engine.prices import to_price
from engine.scenario_fields import (
    MAX_ORDERS_PER_STREAM,
    check_count,
    optional_time,
    positive_price,
    time_of_day,
)


class Spec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class SessionSpec(Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    date: str = "2026-11-23"
    open: str = "09:30"
    close: str = "16:00"
    utc_offset_hours: int = -5  # New York in winter

    def __post_init__(self) -> None:
        try:
            dt.date.fromisoformat(self.date)
        except ValueError:
            raise ValueError(f"date: {self.date!r} is not an ISO date like 2026-11-23") from None
        optional_time(self.open, "open")
        optional_time(self.close, "close")
        if self.at(self.close) <= self.at(self.open):
            raise ValueError(f"close {self.close} is not after open {self.open}")

    def at(self, clock: str) -> int:
        """Session-local clock time → ns since the epoch."""
        minutes, s = divmod(time_of_day(clock, "time"), 60)
        h, mi = divmod(minutes, 60)
        tz = dt.timezone(dt.timedelta(hours=self.utc_offset_hours))
        when = dt.datetime.combine(dt.date.fromisoformat(self.date), dt.time(h, mi, s), tz)
        return int(when.timestamp()) * SECOND

    def config(self) -> SessionConfig:
        return SessionConfig(open_ns=self.at(self.open), close_ns=self.at(self.close))


class MandateSpec(Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    strategy: StrategyName = StrategyName.TWAP
    urgency: Urgency = Urgency.MEDIUM
    must_complete: bool = True
    start: str | None = None
    end: str | None = None
    max_participation: float | None = None
    pov_rate: float | None = None
    routing: RoutingLogic | None = None
    risk_aversion: float | None = None

    def __post_init__(self) -> None:
        start = optional_time(self.start, "start")
        end = optional_time(self.end, "end")
        if start is not None and end is not None and start >= end:
            raise ValueError(f"start: {self.start!r} is not before end {self.end!r}")
        for field in ("max_participation", "pov_rate"):
            rate = getattr(self, field)
            if rate is not None and not 0 < rate <= 1:
                raise ValueError(f"{field}: {rate} is not a rate in (0, 1]")
        if self.risk_aversion is not None and not (
            math.isfinite(self.risk_aversion) and self.risk_aversion >= 0
        ):
            raise ValueError(f"risk_aversion: {self.risk_aversion} must be finite and ≥ 0")

    def mandate(self, session: SessionSpec) -> Mandate:
        return Mandate(
            strategy=self.strategy,
            urgency=self.urgency,
            must_complete=self.must_complete,
            start_ns=session.at(self.start) if self.start else None,
            end_ns=session.at(self.end) if self.end else None,
            max_participation=self.max_participation,
            pov_rate=self.pov_rate,
            routing=self.routing,
            risk_aversion=self.risk_aversion,
        )


class OrderSpec(Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One client order, submitted at ``at``."""

    id: str
    side: Side | str
    quantity: int
    at: str
    source: str = "OMS"
    account: str = "ACC1"
    limit: str | None = None
    mandate: MandateSpec | None = None  # None: the scenario's mandate
    instrument: str | None = None  # None: the scenario's only instrument

    def __post_init__(self) -> None:
        named = f" (order {self.id!r})"
        try:
            optional_time(self.at, "at")
            side_of(self.side)
            check_count(self.quantity, "quantity", "shares")
            positive_price(self.limit, "limit")
        except ValueError as exc:
            raise ValueError(f"{exc}{named}") from None


class StreamSpec(Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Many small orders, generated from the scenario's seed: ``count`` orders whose
    quantities sum to exactly ``total_quantity`` (whole lots), spread at random over
    [start, end), from ``sources`` (with one account each, round robin)."""

    id_prefix: str
    side: Side | str
    count: int
    total_quantity: int
    start: str
    end: str
    sources: list[str] = msgspec.field(default_factory=lambda: ["OMS"])
    accounts: list[str] = []
    limit: str | None = None
    mandate: MandateSpec | None = None
    instrument: str | None = None  # None: the scenario's only instrument

    def __post_init__(self) -> None:
        side_of(self.side)
        if time_of_day(self.start, "start") > time_of_day(self.end, "end"):
            raise ValueError(f"start: {self.start!r} is after end {self.end!r}")
        check_count(self.count, "count", "orders", MAX_ORDERS_PER_STREAM)
        check_count(self.total_quantity, "total_quantity", "shares")
        if self.total_quantity < self.count:
            raise ValueError(
                f"total_quantity: {self.total_quantity} shares cannot make {self.count} orders"
            )
        if not self.sources:
            raise ValueError("sources: must not be empty")
        positive_price(self.limit, "limit")


def side_of(value: Side | str) -> Side:
    if isinstance(value, Side):
        return value
    try:
        return {"buy": Side.BUY, "sell": Side.SELL}[value.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"side: {value!r} is not buy or sell") from None


def generate(
    stream: StreamSpec,
    instrument: Instrument,
    session: SessionSpec,
    mandate: Mandate,
    rng: random.Random,
) -> Iterator[tuple[int, ClientOrder]]:
    """The stream's orders with their submission times (see ``StreamSpec``)."""
    lot = instrument.lot
    lots = stream.total_quantity // lot
    if lots < stream.count:
        raise ValueError(
            f"stream {stream.id_prefix}: {stream.total_quantity} shares cannot "
            f"make {stream.count} orders of whole lots of {lot}"
        )
    # Random split of `lots` into `count` positive parts: cut points without repetition.
    cuts = sorted(rng.sample(range(1, lots), stream.count - 1))
    sizes = [(b - a) * lot for a, b in zip([0, *cuts], [*cuts, lots], strict=True)]
    start, end = session.at(stream.start), session.at(stream.end)
    times = sorted(rng.randrange(start, max(end, start + 1)) // MS * MS for _ in sizes)
    limit = to_price(stream.limit) if stream.limit else None
    accounts = stream.accounts or [f"ACC-{s}" for s in stream.sources]
    for i, (at, qty) in enumerate(zip(times, sizes, strict=True)):
        source = stream.sources[i % len(stream.sources)]
        yield (
            at,
            ClientOrder(
                source=source,
                account=accounts[i % len(accounts)],
                client_order_id=f"{stream.id_prefix}{i + 1:05d}",
                instrument=instrument.symbol,
                side=side_of(stream.side),
                quantity=qty,
                limit_price=limit,
                mandate=mandate,
            ),
        )
