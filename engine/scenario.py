"""Scenarios: TOML files decoded by msgspec into typed config.

A bad file fails with ``ScenarioError`` naming the field and the problem, e.g.
``venues[1].kind: Invalid enum value 'lti' (one of: lit, dark)``. Prices are decimal strings ("100.00"),
times are session-local clock times ("09:30", "10:15:30"), so a scenario reads like a
desk's order blotter. See ``scenarios/*.toml`` for examples.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import re
from collections.abc import Iterator
from enum import Enum
from pathlib import Path

import msgspec

from engine.clock import MS, SECOND, US
from engine.config import DarkConfig, FlowConfig, SessionConfig, VenueConfig
from engine.desk.desk import DeskConfig
from engine.instruments import Instrument
from engine.messages import (
    ClientOrder,
    FaultKind,
    Mandate,
    RoutingLogic,
    Side,
    StrategyName,
    Urgency,
    VenueKind,
)
from engine.prices import to_price
from engine.routing.placement import RouterConfig
from engine.scenario_faults import FaultSpec, check_faults
from engine.scenario_fields import (
    MAX_ORDERS_PER_STREAM,
    check_count,
    check_dark,
    check_flow,
    optional_time,
    parse_price,
    positive_price,
    time_of_day,
)
from engine.strategies.vwap import VolumeProfile, load_profile
from engine.venues.volume_history import estimated_profile


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the field."""


class _Spec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class SessionSpec(_Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
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


class InstrumentSpec(_Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    symbol: str
    ref_price: str
    tick: str = "0.01"
    lot: int = 1
    band_bps: int = 1_000

    def __post_init__(self) -> None:
        positive_price(self.ref_price, "ref_price")
        if parse_price(self.tick, "tick") <= 0:
            raise ValueError(f"tick: {self.tick!r} must be positive")
        if self.lot <= 0:
            raise ValueError(f"lot: {self.lot} must be positive")
        check_count(self.lot, "lot", "shares")

    def instrument(self) -> Instrument:
        return Instrument(
            symbol=self.symbol,
            ref_price=to_price(self.ref_price),
            tick=to_price(self.tick),
            lot=self.lot,
            band_bps=self.band_bps,
        )


class VenueSpec(_Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    kind: VenueKind = VenueKind.LIT
    maker_fee: str = "-0.002"  # per share; negative = rebate
    taker_fee: str = "0.003"
    latency_us: int = 200
    jitter_us: int = 50
    md_interval_ms: int = 2_000
    flow: FlowConfig = FlowConfig()
    dark: DarkConfig = DarkConfig()

    def __post_init__(self) -> None:
        parse_price(self.maker_fee.lstrip("-"), "maker_fee")
        parse_price(self.taker_fee.lstrip("-"), "taker_fee")
        for field in ("latency_us", "jitter_us"):
            if getattr(self, field) < 0:
                raise ValueError(f"{field}: {getattr(self, field)} must be ≥ 0")
        if self.md_interval_ms <= 0:
            raise ValueError(f"md_interval_ms: {self.md_interval_ms} must be > 0")
        check_flow(self.flow)
        check_dark(self.dark)

    def config(self) -> VenueConfig:
        return VenueConfig(
            name=self.name,
            kind=self.kind,
            maker_fee=to_price(self.maker_fee),
            taker_fee=to_price(self.taker_fee),
            latency_ns=self.latency_us * US,
            jitter_ns=self.jitter_us * US,
            md_interval_ns=self.md_interval_ms * MS,
            flow=self.flow,
            dark=self.dark,
        )


class MandateSpec(_Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
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


class OrderSpec(_Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One client order, submitted at ``at``."""

    id: str
    side: Side | str
    quantity: int
    at: str
    source: str = "OMS"
    account: str = "ACC1"
    limit: str | None = None
    mandate: MandateSpec | None = None  # None: the scenario's mandate

    def __post_init__(self) -> None:
        named = f" (order {self.id!r})"
        try:
            optional_time(self.at, "at")
            _side(self.side)
            check_count(self.quantity, "quantity", "shares")
            positive_price(self.limit, "limit")
        except ValueError as exc:
            raise ValueError(f"{exc}{named}") from None


class StreamSpec(_Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
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

    def __post_init__(self) -> None:
        _side(self.side)
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


class CrashSpec(_Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Fault injection into the engine itself: ``actor`` ("router", "desk", a venue, a
    parent id like "P1") raises at ``at``, as a bug would, and must recover."""

    actor: str
    at: str
    reason: str = "injected failure"

    def __post_init__(self) -> None:
        optional_time(self.at, "at")


class BaselineSpec(_Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The naive alternative the report compares against: each client order sent as a
    marketable order straight to one lit venue."""

    venue: str | None = None  # None: the first lit venue


class Scenario(_Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    description: str = ""
    seed: int = 1
    session: SessionSpec = SessionSpec()
    instrument: InstrumentSpec
    venues: list[VenueSpec]
    mandate: MandateSpec = MandateSpec()
    orders: list[OrderSpec] = []
    streams: list[StreamSpec] = []
    faults: list[FaultSpec] = []
    crashes: list[CrashSpec] = []
    router: RouterConfig = RouterConfig()
    desk: DeskConfig = DeskConfig()
    baseline: BaselineSpec = BaselineSpec()
    run_until: str | None = None  # default: close + 5 minutes
    # VWAP's volume profile: "default" (the shipped U-shape), "history" (estimated from
    # ``history_days`` simulated days of this market before the run), or a profile file
    # (relative to the scenario file; ``smart-exec profile`` writes one)
    vwap_profile: str = "default"
    history_days: int = 3

    def __post_init__(self) -> None:
        names = [v.name for v in self.venues]
        if not names:
            raise ValueError("venues: at least one venue is needed")
        if len(set(names)) != len(names):
            raise ValueError(f"venues: duplicate venue names in {names}")
        if not any(v.kind is VenueKind.LIT for v in self.venues):
            raise ValueError("venues: at least one lit venue is needed (dark pools price off it)")
        parent = self.desk.parent_id_prefix  # the desk names its parents P1, P2, ...
        check_faults(self.faults, names, parent)
        for i, c in enumerate(self.crashes):
            if c.actor not in ("router", "desk", *names) and not _is_parent_id(c.actor, parent):
                raise ValueError(
                    f'crashes[{i}].actor: {c.actor!r} is not "router", "desk", '
                    f'a venue ({", ".join(names)}) or a parent id like "{parent}1"'
                )
        lit = [v.name for v in self.venues if v.kind is VenueKind.LIT]
        if self.baseline.venue is not None and self.baseline.venue not in lit:
            raise ValueError(
                f"baseline.venue: {self.baseline.venue!r} is not a lit venue of "
                f"the scenario ({', '.join(lit)})"
            )
        self._check_sizes()
        self._check_before_close()
        optional_time(self.run_until, "run_until")
        if not self.vwap_profile.strip():
            raise ValueError('vwap_profile: expected "default", "history" or a profile file')
        if self.history_days < 1:
            raise ValueError(f"history_days: {self.history_days} is not a number of days >= 1")

    def _check_sizes(self) -> None:
        """Quantities in whole lots and limits on the tick grid: what intake would refuse
        at run time is refused here, with the field that holds it."""
        lot, tick = self.instrument.lot, to_price(self.instrument.tick)
        for i, o in enumerate(self.orders):
            if o.quantity % lot:
                raise ValueError(
                    f"orders[{i}].quantity: {o.quantity} is not a whole number of "
                    f"lots of {lot} (order {o.id!r})"
                )
            if o.limit is not None and to_price(o.limit) % tick:
                raise ValueError(
                    f"orders[{i}].limit: {o.limit!r} is not on the tick grid of "
                    f"{self.instrument.tick} (order {o.id!r})"
                )
        for i, st in enumerate(self.streams):
            if st.total_quantity % lot:
                raise ValueError(
                    f"streams[{i}].total_quantity: {st.total_quantity} is not a "
                    f"whole number of lots of {lot}"
                )
            if st.total_quantity // lot < st.count:
                raise ValueError(
                    f"streams[{i}].count: {st.total_quantity} shares are "
                    f"{st.total_quantity // lot} lots of {lot}, too few for "
                    f"{st.count} orders"
                )
            if st.limit is not None and to_price(st.limit) % tick:
                raise ValueError(
                    f"streams[{i}].limit: {st.limit!r} is not on the tick grid of "
                    f"{self.instrument.tick}"
                )

    def _check_before_close(self) -> None:
        """An order sent after the close would never trade: refused, not silently dropped."""
        close = time_of_day(self.session.close, "session.close")
        for i, o in enumerate(self.orders):
            if time_of_day(o.at, "at") > close:
                raise ValueError(
                    f"orders[{i}].at: {o.at!r} is after the close {self.session.close} "
                    f"(order {o.id!r})"
                )
        for i, st in enumerate(self.streams):
            if time_of_day(st.end, "end") > close:
                raise ValueError(
                    f"streams[{i}].end: {st.end!r} is after the close {self.session.close}"
                )

    # ------------------------------------------------------------------ building

    def client_orders(self) -> list[tuple[int, ClientOrder]]:
        """Every client order with its submission time, in time order (ties: listed order).
        Streams are generated from the scenario seed: same seed, same orders."""
        out: list[tuple[int, int, ClientOrder]] = []
        symbol = self.instrument.symbol
        for o in self.orders:
            mandate = (o.mandate or self.mandate).mandate(self.session)
            order = ClientOrder(
                source=o.source,
                account=o.account,
                client_order_id=o.id,
                instrument=symbol,
                side=_side(o.side),
                quantity=o.quantity,
                limit_price=to_price(o.limit) if o.limit else None,
                mandate=mandate,
            )
            out.append((self.session.at(o.at), len(out), order))
        for k, stream in enumerate(self.streams):
            for at, order in _generate(stream, self, random.Random(f"{self.seed}:stream:{k}")):
                out.append((at, len(out), order))
        out.sort(key=lambda t: (t[0], t[1]))
        return [(at, order) for at, _, order in out]

    def market(self) -> tuple[Instrument, SessionConfig, list[VenueConfig]]:
        return (
            self.instrument.instrument(),
            self.session.config(),
            [v.config() for v in self.venues],
        )

    def profile(self, seed: int | None = None) -> VolumeProfile | None:
        """The VWAP volume profile the scenario asks for (None: the shipped default).
        "history" simulates ``history_days`` days of the scenario's market on seeds of
        their own (the days before the run with ``seed``), so the profile is the same for
        the same seed."""
        seed = self.seed if seed is None else seed
        if self.vwap_profile == "default":
            return None
        instrument, session, venues = self.market()
        if self.vwap_profile == "history":
            days = [10_000 * seed + day for day in range(1, self.history_days + 1)]
            return estimated_profile(instrument, session, venues, days)
        try:
            return load_profile(self.vwap_profile)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ScenarioError(f"vwap_profile: cannot load {self.vwap_profile!r}: {exc}") from None

    def end_ns(self) -> int:
        if self.run_until:
            return self.session.at(self.run_until)
        return self.session.at(self.session.close) + 5 * 60 * SECOND


def _is_parent_id(name: str, prefix: str) -> bool:
    return re.fullmatch(re.escape(prefix) + r"[1-9]\d*", name) is not None


def _side(value: Side | str) -> Side:
    if isinstance(value, Side):
        return value
    try:
        return {"buy": Side.BUY, "sell": Side.SELL}[value.lower()]
    except (KeyError, AttributeError):
        raise ValueError(f"side: {value!r} is not buy or sell") from None


def _generate(
    stream: StreamSpec, scenario: Scenario, rng: random.Random
) -> Iterator[tuple[int, ClientOrder]]:
    lot = scenario.instrument.lot
    lots = stream.total_quantity // lot
    if lots < stream.count:
        raise ScenarioError(
            f"stream {stream.id_prefix}: {stream.total_quantity} shares cannot "
            f"make {stream.count} orders of whole lots of {lot}"
        )
    # Random split of `lots` into `count` positive parts: cut points without repetition.
    cuts = sorted(rng.sample(range(1, lots), stream.count - 1))
    sizes = [(b - a) * lot for a, b in zip([0, *cuts], [*cuts, lots], strict=True)]
    start, end = scenario.session.at(stream.start), scenario.session.at(stream.end)
    times = sorted(rng.randrange(start, max(end, start + 1)) // MS * MS for _ in sizes)
    mandate = (stream.mandate or scenario.mandate).mandate(scenario.session)
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
                instrument=scenario.instrument.symbol,
                side=_side(stream.side),
                quantity=qty,
                limit_price=limit,
                mandate=mandate,
            ),
        )


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file; ``ScenarioError`` names what is wrong. A profile
    file it names is taken relative to the scenario file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.strerror})") from None
    scenario = loads(data, str(path))
    if scenario.vwap_profile not in ("default", "history"):
        profile = path.parent / scenario.vwap_profile  # an absolute path stays as it is
        scenario = msgspec.structs.replace(scenario, vwap_profile=str(profile))
        try:  # a missing or unreadable profile file fails here, not mid-run
            scenario.profile()
        except ScenarioError as exc:
            raise ScenarioError(f"{path}: {exc}") from None
    return scenario


def loads(data: bytes | str, name: str = "<scenario>") -> Scenario:
    try:
        return msgspec.toml.decode(data, type=Scenario)
    except msgspec.ValidationError as exc:
        raise ScenarioError(f"{name}: {_with_choices(_readable(str(exc)))}") from None
    except msgspec.DecodeError as exc:
        raise ScenarioError(f"{name}: not valid TOML: {exc}") from None


_FIELD_FIRST = re.compile(
    r"^([A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*(?:\[\d+\])?)*): (.*)$", re.DOTALL
)


def _readable(error: str) -> str:
    """msgspec says "problem - at `$.venues[0].kind`"; lead with the field instead. A
    problem that names a field of its own ("at: ..." from a check in a nested table)
    becomes one path: ``orders[3].at: ...``."""
    problem, sep, where = error.rpartition(" - at `")
    if not sep:
        return error
    field = where.rstrip("`").removeprefix("$").lstrip(".")
    inner = _FIELD_FIRST.match(problem)
    if inner:
        field, problem = (f"{field}.{inner[1]}" if field else inner[1]), inner[2]
    return f"{field or '(top level)'}: {problem}"


_CHOICES: dict[str, type[Enum]] = {
    "fault": FaultKind,
    "kind": VenueKind,
    "strategy": StrategyName,
    "urgency": Urgency,
    "routing": RoutingLogic,
}
_BAD_ENUM = re.compile(r"^[^:]*?(\w+): Invalid enum value ")


def _with_choices(message: str) -> str:
    """msgspec names the bad value of an enum field; add the values that are valid."""
    found = _BAD_ENUM.match(message)
    enum = _CHOICES.get(found[1]) if found else None
    if enum is None:
        return message
    valid = ", ".join(str(member.value) for member in enum)
    return f"{message} (one of: {valid})"
