"""Scenarios: TOML files decoded by msgspec into typed config.

A bad file fails with ``ScenarioError`` naming the field and the problem, e.g.
``venues[1].kind: Invalid enum value 'lti' (one of: lit, dark)``. Prices are decimal strings ("100.00"),
times are session-local clock times ("09:30", "10:15:30"), so a scenario reads like a
desk's order blotter. See ``scenarios/*.toml`` for examples.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable
from enum import Enum
from pathlib import Path

import msgspec

from engine.clock import MS, SECOND, US
from engine.config import DarkConfig, FlowConfig, SessionConfig, VenueConfig
from engine.desk.desk import DeskConfig
from engine.desk.intake import INT64_MAX
from engine.instruments import Instrument
from engine.messages import (
    ClientOrder,
    FaultKind,
    RoutingLogic,
    StrategyName,
    Urgency,
    VenueKind,
)
from engine.prices import PRICE_SCALE, to_price
from engine.rebalance import RebalanceSpec, rebalance_orders
from engine.routing.placement import RouterConfig
from engine.scenario_fields import (
    check_count,
    check_dark,
    check_flow,
    optional_time,
    parse_price,
    positive_price,
    time_of_day,
)
from engine.scenario_orders import (
    MandateSpec,
    OrderSpec,
    SessionSpec,
    StreamSpec,
    generate,
    side_of,
)
from engine.strategies.vwap import VolumeProfile, load_profile
from engine.universe import UniverseSpec, universe
from engine.venues.volume_history import estimated_profile


class ScenarioError(ValueError):
    """A scenario file that cannot be used; the message names the field."""


class _Spec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


__all__ = [
    "BaselineSpec",
    "CrashSpec",
    "FaultSpec",
    "InstrumentSpec",
    "MandateSpec",
    "OrderSpec",
    "RebalanceSpec",
    "Scenario",
    "ScenarioError",
    "SessionSpec",
    "StreamSpec",
    "UniverseSpec",
    "VenueSpec",
    "load",
    "loads",
]


class InstrumentSpec(_Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    symbol: str
    ref_price: str
    tick: str = "0.01"
    lot: int = 1
    band_bps: int = 1_000
    volatility: float | None = None  # daily, of the fundamental (None: the venues' flow)
    daily_volume: int | None = None  # consolidated shares (None: the venues' flow)

    def __post_init__(self) -> None:
        positive_price(self.ref_price, "ref_price")
        if self.volatility is not None and not 0 < self.volatility < 1:
            raise ValueError(f"volatility: {self.volatility} is not a daily volatility in (0, 1)")
        if self.daily_volume is not None:
            check_count(self.daily_volume, "daily_volume", "shares")
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
            volatility=self.volatility,
            daily_volume=self.daily_volume,
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
    instruments: list[str] = []  # the symbols it trades (empty: every one of the scenario)

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
            instruments=tuple(self.instruments),
        )


class FaultSpec(_Spec, frozen=True, kw_only=True, forbid_unknown_fields=True):
    venue: str
    fault: FaultKind
    at: str
    duration_s: float | None = None

    def __post_init__(self) -> None:
        optional_time(self.at, "at")
        # None (left out) is the open-ended fault; 0 would read as "no fault at all" to one
        # reader and "open-ended" to another, so it is refused rather than guessed.
        if self.duration_s is not None and not (
            math.isfinite(self.duration_s) and self.duration_s > 0
        ):
            raise ValueError(
                f"duration_s: {self.duration_s} is not a positive number of "
                "seconds (leave it out for a fault with no set end)"
            )
        if self.duration_s is not None and not 1 <= self.duration_s * SECOND < 2**63:
            raise ValueError(
                f"duration_s: {self.duration_s} is not between a nanosecond and "
                f"{INT64_MAX // SECOND:,} seconds"
            )


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
    """One trading day. It trades one ``instrument`` (venue actors named after their
    venue, as before many instruments), or many: ``instruments`` listed and/or a
    generated ``universe`` (one book per venue and instrument, each instrument's market
    on a random stream of its own). ``only``: the instruments kept by ``restricted_to``."""

    name: str
    description: str = ""
    seed: int = 1
    session: SessionSpec = SessionSpec()
    instrument: InstrumentSpec | None = None
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
    instruments_: list[InstrumentSpec] = msgspec.field(default_factory=list, name="instruments")
    universe: UniverseSpec | None = None
    rebalance: RebalanceSpec | None = None
    only: list[str] | None = None
    # market data relayed to each parent: at most one update per venue and instrument in
    # this interval (None: the router's default)
    md_relay_ms: int | None = None
    # many instruments: books feed each other (arbitrage, impact) at most this often
    md_peer_ms: int | None = None

    def __post_init__(self) -> None:
        self._check_instruments()
        names = [v.name for v in self.venues]
        if not names:
            raise ValueError("venues: at least one venue is needed")
        if len(set(names)) != len(names):
            raise ValueError(f"venues: duplicate venue names in {names}")
        if not any(v.kind is VenueKind.LIT for v in self.venues):
            raise ValueError("venues: at least one lit venue is needed (dark pools price off it)")
        for i, f in enumerate(self.faults):
            if f.venue not in names:
                raise ValueError(f"faults[{i}].venue: unknown venue {f.venue!r}")
        parent = self.desk.parent_id_prefix  # the desk names its parents P1, P2, ...
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
        for field in ("md_relay_ms", "md_peer_ms"):
            if getattr(self, field) is not None and getattr(self, field) <= 0:
                raise ValueError(f"{field}: {getattr(self, field)} must be > 0")

    def _check_instruments(self) -> None:
        many = bool(self.instruments_) or self.universe is not None
        if (self.instrument is None) == (not many):
            raise ValueError(
                "instrument: give one [instrument], or [[instruments]] and/or a [universe]"
            )
        symbols = [i.symbol for i in self._all_instruments()]
        if len(set(symbols)) != len(symbols):
            raise ValueError("instruments: duplicate symbols")
        known = set(symbols)
        for i, v in enumerate(self.venues):
            for symbol in v.instruments:
                if symbol not in known:
                    raise ValueError(f"venues[{i}].instruments: unknown instrument {symbol!r}")
        named = [("orders", i, o.instrument) for i, o in enumerate(self.orders)]
        named += [("streams", i, st.instrument) for i, st in enumerate(self.streams)]
        for field, i, given in named:
            if given is not None and given not in known:
                raise ValueError(f"{field}[{i}].instrument: unknown instrument {given!r}")
            if given is None and len(symbols) > 1:
                raise ValueError(f"{field}[{i}].instrument: which instrument? (several traded)")
        for symbol in self.only or ():
            if symbol not in known:
                raise ValueError(f"only: unknown instrument {symbol!r}")

    def _check_sizes(self) -> None:
        """Quantities in whole lots and limits on the tick grid: what intake would refuse
        at run time is refused here, with the field that holds it."""
        for i, o in enumerate(self.orders):
            inst = self._instrument_of(o.instrument)
            if o.quantity % inst.lot:
                raise ValueError(
                    f"orders[{i}].quantity: {o.quantity} is not a whole number of "
                    f"lots of {inst.lot} (order {o.id!r})"
                )
            if o.limit is not None and to_price(o.limit) % inst.tick:
                raise ValueError(
                    f"orders[{i}].limit: {o.limit!r} is not on the tick grid of "
                    f"{_decimal(inst.tick)} (order {o.id!r})"
                )
        for i, st in enumerate(self.streams):
            inst = self._instrument_of(st.instrument)
            lot = inst.lot
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
            if st.limit is not None and to_price(st.limit) % inst.tick:
                raise ValueError(
                    f"streams[{i}].limit: {st.limit!r} is not on the tick grid of "
                    f"{_decimal(inst.tick)}"
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
        if self.rebalance is not None and time_of_day(self.rebalance.end, "end") > close:
            raise ValueError(f"rebalance.end: {self.rebalance.end!r} is after the close")

    # ------------------------------------------------------------ instruments

    @property
    def many(self) -> bool:
        """The many-instrument form (one book per venue and instrument)."""
        return self.instrument is None

    def _all_instruments(self) -> list[Instrument]:
        if self.instrument is not None:
            return [self.instrument.instrument()]
        listed = [spec.instrument() for spec in self.instruments_]
        return listed + (universe(self.universe) if self.universe is not None else [])

    def instruments(self) -> list[Instrument]:
        """The instruments the scenario trades (only those of ``restricted_to``), in the
        order listed, then the universe's."""
        every = self._all_instruments()
        if self.only is None:
            return every
        kept = set(self.only)
        return [i for i in every if i.symbol in kept]

    def restricted_to(self, symbols: Iterable[str]) -> Scenario:
        """The same scenario with only ``symbols`` and their client orders: each kept
        instrument's market and orders are drawn exactly as in the whole scenario (every
        generator draws per instrument), so a shard of the scenario runs its instruments
        as the whole would. An unknown symbol raises ``ScenarioError``."""
        wanted = sorted(set(symbols))
        try:
            return msgspec.structs.replace(self, only=wanted)  # __post_init__ checks them
        except ValueError as exc:
            raise ScenarioError(str(exc)) from None

    def _instrument_of(self, symbol: str | None) -> Instrument:
        every = self._all_instruments()
        if symbol is None:
            return every[0]
        return next(i for i in every if i.symbol == symbol)

    # ------------------------------------------------------------------ building

    def client_orders(self) -> list[tuple[int, ClientOrder]]:
        """Every client order with its submission time, in time order (ties: listed order).
        Streams are generated from the scenario seed: same seed, same orders."""
        out: list[tuple[int, int, ClientOrder]] = []
        for o in self.orders:
            mandate = (o.mandate or self.mandate).mandate(self.session)
            order = ClientOrder(
                source=o.source,
                account=o.account,
                client_order_id=o.id,
                instrument=self._instrument_of(o.instrument).symbol,
                side=side_of(o.side),
                quantity=o.quantity,
                limit_price=to_price(o.limit) if o.limit else None,
                mandate=mandate,
            )
            out.append((self.session.at(o.at), len(out), order))
        for k, stream in enumerate(self.streams):
            mandate = (stream.mandate or self.mandate).mandate(self.session)
            rng = random.Random(f"{self.seed}:stream:{k}")
            inst = self._instrument_of(stream.instrument)
            for at, order in generate(stream, inst, self.session, mandate, rng):
                out.append((at, len(out), order))
        if self.rebalance is not None:
            every = self._all_instruments()
            for at, order in rebalance_orders(
                self.rebalance, every, self.session, self.seed, len(every)
            ):
                out.append((at, len(out), order))
        if self.only is not None:
            kept = set(self.only)
            out = [t for t in out if t[2].instrument in kept]
        out.sort(key=lambda t: (t[0], t[1]))
        return [(at, order) for at, _, order in out]

    def market(self) -> tuple[Instrument, SessionConfig, list[VenueConfig]]:
        """The first instrument, the session and the venues (the one-instrument form's
        market; ``instruments()`` lists them all)."""
        return (
            self.instruments()[0],
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


def _decimal(price: int) -> str:
    return f"{price / PRICE_SCALE:.6f}".rstrip("0").rstrip(".")


def _is_parent_id(name: str, prefix: str) -> bool:
    return re.fullmatch(re.escape(prefix) + r"[1-9]\d*", name) is not None


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
