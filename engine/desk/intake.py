"""Intake: decode, normalize and validate client orders, cancels and amends.

A client order is accepted or rejected as a whole; a rejection carries a machine-readable
``RejectReason`` and a human message and changes nothing else. Checks that need no order
book state live here (``Intake.check_new``, ``Intake.check_amend``); checks against
existing orders (duplicate id, unknown or foreign order, order done) are made by the desk
(``engine.desk.desk``) with the same reasons.

Before any of that, ``Intake.screen`` checks a client command coming from outside for
what the audit trail must be able to hold: field types, quantities, prices and times
within int64, identifiers (source, account, client order id, instrument) at most
``MAX_IDENTIFIER_LENGTH`` characters of printable text. A command that fails is never
journaled; its reject names the field and never carries the bad value.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import NamedTuple

import msgspec

from engine.instruments import Instrument
from engine.messages import (
    AmendClientOrder,
    CancelClientOrder,
    ClientOrder,
    ClientOrderRejected,
    Mandate,
    Message,
    RoutingLogic,
    Side,
    StrategyName,
    SubmitClientOrder,
    Urgency,
)

DEFAULT_MAX_ORDER_QTY = 10_000_000  # fat-finger guard, shares
MAX_IDENTIFIER_LENGTH = 64
"""Longest source, account, client order id or instrument accepted (characters)."""
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
"""Quantities, prices and times are stored as signed 64-bit integers."""
_MANDATE_CACHE = 1_024
_NEVER = 1 << 63  # the end of a mandate without one when there is no default end


class RejectReason(enum.StrEnum):
    MALFORMED = "malformed"
    BAD_IDENTIFIER = "bad_identifier"
    UNKNOWN_INSTRUMENT = "unknown_instrument"
    BAD_SIDE = "bad_side"
    BAD_QUANTITY = "bad_quantity"
    QUANTITY_OFF_LOT = "quantity_off_lot"
    QUANTITY_TOO_LARGE = "quantity_too_large"
    BAD_PRICE = "bad_price"
    PRICE_OFF_TICK = "price_off_tick"
    PRICE_OUT_OF_BAND = "price_out_of_band"
    START_AFTER_END = "start_after_end"
    END_IN_PAST = "end_in_past"
    UNKNOWN_STRATEGY = "unknown_strategy"
    BAD_PARTICIPATION = "bad_participation"
    BAD_RISK_AVERSION = "bad_risk_aversion"
    DUPLICATE_ID_DIFFERENT_CONTENT = "duplicate_id_different_content"
    UNKNOWN_ORDER = "unknown_order"
    FOREIGN_ORDER = "foreign_order"
    ORDER_DONE = "order_done"
    PENDING_CANCEL = "pending_cancel"
    AMEND_BELOW_FILLED = "amend_below_filled"
    IDENTIFIER_TOO_LONG = "identifier_too_long"
    BAD_CHARACTERS = "bad_characters"
    OUT_OF_RANGE = "out_of_range"
    BAD_TIME = "bad_time"

    @property
    def text(self) -> str:
        return _TEXT[self]


_TEXT: dict[RejectReason, str] = {
    RejectReason.MALFORMED: "the order could not be decoded",
    RejectReason.BAD_IDENTIFIER: "source, account and client order id must be non-empty",
    RejectReason.UNKNOWN_INSTRUMENT: "unknown instrument",
    RejectReason.BAD_SIDE: "side must be +1 (buy) or -1 (sell)",
    RejectReason.BAD_QUANTITY: "quantity must be a positive integer",
    RejectReason.QUANTITY_OFF_LOT: "quantity is not a multiple of the lot size",
    RejectReason.QUANTITY_TOO_LARGE: "quantity is above the maximum order size",
    RejectReason.BAD_PRICE: "limit price must be a positive integer",
    RejectReason.PRICE_OFF_TICK: "limit price is not on the tick grid",
    RejectReason.PRICE_OUT_OF_BAND: "limit price is outside the band around the reference price",
    RejectReason.START_AFTER_END: "start time is not before end time",
    RejectReason.END_IN_PAST: "end time is in the past",
    RejectReason.UNKNOWN_STRATEGY: "unknown or unsupported strategy",
    RejectReason.BAD_PARTICIPATION: "participation rates must be in (0, 1]",
    RejectReason.BAD_RISK_AVERSION: "risk aversion must be finite and >= 0",
    RejectReason.DUPLICATE_ID_DIFFERENT_CONTENT: (
        "client order id already used by this source for another order"
    ),
    RejectReason.UNKNOWN_ORDER: "no such client order",
    RejectReason.FOREIGN_ORDER: "the order belongs to another source or account",
    RejectReason.ORDER_DONE: "the order is already finished",
    RejectReason.PENDING_CANCEL: "the order is being cancelled (pending cancel)",
    RejectReason.AMEND_BELOW_FILLED: "new quantity is below the quantity already filled",
    RejectReason.IDENTIFIER_TOO_LONG: (
        f"identifiers are at most {MAX_IDENTIFIER_LENGTH} characters"
    ),
    RejectReason.BAD_CHARACTERS: "identifiers must be printable text, without control characters",
    RejectReason.OUT_OF_RANGE: "the value does not fit in a signed 64-bit integer",
    RejectReason.BAD_TIME: "times must be integer nanoseconds",
}


class Rejection(NamedTuple):
    reason: RejectReason
    text: str

    @classmethod
    def of(cls, reason: RejectReason, detail: str = "") -> Rejection:
        return cls(reason, f"{reason.text}: {detail}" if detail else reason.text)

    def message(self, source: str, client_order_id: str, now_ns: int) -> ClientOrderRejected:
        return ClientOrderRejected(
            ts=now_ns,
            source=source,
            client_order_id=client_order_id,
            reason=self.reason.value,
            text=self.text,
        )


_Side = Side  # module constant: the hot path reads it once per order

_order_decoder = msgspec.json.Decoder(ClientOrder)


def decode_order(raw: bytes | str | Mapping[str, object]) -> ClientOrder | Rejection:
    """A ``ClientOrder`` from JSON (bytes/str) or a plain dict, or a MALFORMED rejection
    carrying msgspec's error (which names the offending field)."""
    try:
        if isinstance(raw, (bytes, str)):
            return _order_decoder.decode(raw)
        return msgspec.convert(raw, ClientOrder)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return Rejection.of(RejectReason.MALFORMED, str(exc))


class _Limits:
    """An instrument's static order checks, precomputed for ``Intake.check_new``'s hot path:
    the band as the lowest and highest accepted prices (``|p - ref|·10⁴ ≤ bps·ref`` holds
    for an integer ``p`` exactly when ``|p - ref| ≤ ⌊bps·ref / 10⁴⌋``), the lowest also
    ensuring ``price > 0``."""

    __slots__ = ("highest", "lot", "lowest", "max_qty", "tick")

    def __init__(self, instrument: Instrument, max_qty: int) -> None:
        half_band = instrument.band_bps * instrument.ref_price // 10_000
        self.lot = instrument.lot
        self.tick = instrument.tick
        self.lowest = max(1, instrument.ref_price - half_band)
        self.highest = instrument.ref_price + half_band
        self.max_qty = max_qty


class Intake:
    """Stateless checks against the instrument universe and the supported strategies.
    The universe is fixed at construction.

    ``default_end_ns``: when a mandate without an end time ends (the session's close; the
    desk actor passes it). A start at or after it is ``start_after_end``, and an order
    without an end arriving at or after it ``end_in_past``. None: no default end."""

    __slots__ = (
        "_end_or_never",
        "_good_mandate_values",
        "_good_mandates",
        "_last_good_mandate",
        "_limits",
        "_screened_mandates",
        "default_end_ns",
        "instruments",
        "max_order_qty",
        "strategies",
    )

    def __init__(
        self,
        instruments: Mapping[str, Instrument] | Iterable[Instrument],
        strategies: Iterable[StrategyName] = tuple(StrategyName),
        max_order_qty: int = DEFAULT_MAX_ORDER_QTY,
        default_end_ns: int | None = None,
    ) -> None:
        if not isinstance(instruments, Mapping):
            instruments = {i.symbol: i for i in instruments}
        self.instruments: dict[str, Instrument] = dict(instruments)
        self.strategies = frozenset(strategies)
        self.max_order_qty = max_order_qty
        self.default_end_ns = default_end_ns
        self._end_or_never = _NEVER if default_end_ns is None else default_end_ns
        # the fast path's checks per symbol (integer prices only: others take the slow path)
        self._limits = {
            symbol: _Limits(i, max_order_qty)
            for symbol, i in self.instruments.items()
            if type(i.ref_price) is int and type(i.band_bps) is int
        }
        self._last_good_mandate: Mandate | None = None
        self._good_mandates: dict[int, Mandate] = {}
        self._good_mandate_values: dict[Mandate, None] = {}
        self._screened_mandates: dict[int, Mandate] = {}

    def screen(self, msg: Message, now_ns: int) -> ClientOrderRejected | None:
        """A client command from outside, checked before it is journaled: the reject to
        send instead, or None when the trail can hold it (the desk then checks it against
        the market and its orders). Only what encodes and decodes goes in: types, 64-bit
        ranges, identifier length and characters. The reject names the offending field,
        never its value; its source and client order id are the command's where those
        are valid identifiers, else empty. Other messages pass."""
        if msg.__class__ is SubmitClientOrder and self._fit_to_journal(msg):
            return None
        ids: tuple[object, object]
        if isinstance(msg, SubmitClientOrder):
            order: object = msg.order
            rejection = _screen_header(msg) or self._screen_order(order)
            ids = (getattr(order, "source", None), getattr(order, "client_order_id", None))
        elif isinstance(msg, (CancelClientOrder, AmendClientOrder)):
            rejection = _screen_header(msg) or _screen_command(msg)
            ids = (msg.source, msg.client_order_id)
        else:
            return None
        if rejection is None:
            return None
        return rejection.message(_reply_id(ids[0]), _reply_id(ids[1]), now_ns)

    def _fit_to_journal(self, msg: SubmitClientOrder) -> bool:
        """The common case of ``screen`` in one expression (10^6 orders: no call per
        field); False sends the order through the checks that find the reason."""
        order = msg.order
        if order.__class__ is not ClientOrder:
            return False
        ts, msg_id, qty, price = msg.ts, msg.msg_id, order.quantity, order.limit_price
        source, account, cid = order.source, order.account, order.client_order_id
        instrument, mandate, longest = order.instrument, order.mandate, MAX_IDENTIFIER_LENGTH
        return bool(
            type(ts) is int
            and INT64_MIN <= ts <= INT64_MAX
            and type(msg_id) is int
            and INT64_MIN <= msg_id <= INT64_MAX
            and type(source) is str
            and type(account) is str
            and type(cid) is str
            and type(instrument) is str
            and len(source) <= longest
            and len(account) <= longest
            and len(cid) <= longest
            and len(instrument) <= longest
            and (source + account + cid + instrument).isprintable()
            and order.side.__class__ is Side
            and type(qty) is int
            and INT64_MIN <= qty <= INT64_MAX
            and (price is None or (type(price) is int and INT64_MIN <= price <= INT64_MAX))
            and mandate.__class__ is Mandate
            and self._screened_mandates.get(id(mandate)) is mandate
        )

    def _screen_order(self, order: object) -> Rejection | None:
        if type(order) is not ClientOrder:
            return _malformed("order", "a ClientOrder", order)
        for field in _ORDER_IDENTIFIERS:
            rejection = _screen_identifier(field, getattr(order, field))
            if rejection is not None:
                return rejection
        side = order.side
        if not (type(side) is Side or (type(side) is int and side in (1, -1))):
            return Rejection.of(RejectReason.BAD_SIDE, "side: expected +1 or -1")
        rejection = _screen_int("quantity", order.quantity, RejectReason.BAD_QUANTITY)
        if rejection is None and order.limit_price is not None:
            rejection = _screen_int("limit_price", order.limit_price, RejectReason.BAD_PRICE)
        if rejection is None:
            rejection = self._screen_mandate(order.mandate)
        return rejection

    def _screen_mandate(self, mandate: object) -> Rejection | None:
        # Clients reuse a few mandate objects: each is screened once (the cache holds the
        # object, so its id cannot be reused meanwhile).
        screened = self._screened_mandates
        if type(mandate) is Mandate and screened.get(id(mandate)) is mandate:
            return None
        rejection = _screen_mandate(mandate)
        if rejection is None and type(mandate) is Mandate:
            if len(screened) >= _MANDATE_CACHE:
                screened.clear()
            screened[id(mandate)] = mandate
        return rejection

    def normalize(self, order: ClientOrder) -> ClientOrder:
        """One internal form: canonical instrument symbol and ``Side`` enum. Returns the same
        object when it is already canonical (the common case: no copy on the hot path)."""
        symbol = order.instrument
        side = order.side
        if symbol in self.instruments and type(side) is Side:
            return order
        canonical = symbol.strip().upper() if isinstance(symbol, str) else symbol
        if side in (1, -1) and type(side) is not bool:
            side = Side(side)
        if canonical == symbol and side is order.side:
            return order
        return msgspec.structs.replace(order, instrument=canonical, side=side)

    def check_new(self, order: ClientOrder, now_ns: int) -> Rejection | None:
        """The first reason to refuse ``order`` (already normalized), or None."""
        # Hot path (10^6 orders): one expression over the common case, with the
        # instrument's checks precomputed (``_Limits``) and the mandate cache inlined; any
        # failure takes the slow path, which finds the precise reason (and fills the
        # mandate cache).
        limits = self._limits.get(order.instrument)
        qty = order.quantity
        price = order.limit_price
        mandate = order.mandate
        if (
            limits is not None
            and type(order.side) is _Side
            and type(qty) is int
            and 0 < qty <= limits.max_qty
            and not qty % limits.lot
            and (
                price is None
                or (
                    type(price) is int
                    and limits.lowest <= price <= limits.highest
                    and not price % limits.tick
                )
            )
            and order.source
            and order.account
            and order.client_order_id
            and (
                mandate is self._last_good_mandate  # clients mostly reuse one object
                or self._good_mandates.get(id(mandate)) is mandate
                or self._known_mandate_value(mandate)  # equal, another object (decoded)
            )
            and (self._end_or_never if (end := mandate.end_ns) is None else end) > now_ns
        ):
            return None
        rejection = self._first_rejection(order, now_ns)
        if rejection is None:
            self._remember_mandate(mandate)
        return rejection

    def _known_mandate_value(self, mandate: Mandate) -> bool:
        """Is ``mandate`` equal to one that passed? Then its object is remembered too, so
        the next order sharing it takes the identity hit (no hash and compare by value)."""
        if mandate not in self._good_mandate_values:
            return False
        self._remember_mandate(mandate)
        return True

    def _remember_mandate(self, mandate: Mandate) -> None:
        # Clients reuse a handful of mandate objects: their static checks are cached by
        # identity (the cache holds the object, so its id cannot be reused meanwhile).
        # Only mandates that passed ``_check_mandate`` are put here.
        # By value too, so equal mandates decoded into new objects per order skip the
        # checks (msgspec equality is by field; NaN never equals, and never gets here).
        if len(self._good_mandates) >= _MANDATE_CACHE:
            self._good_mandates.clear()
            self._good_mandate_values.clear()
        self._good_mandates[id(mandate)] = mandate
        self._good_mandate_values[mandate] = None
        self._last_good_mandate = mandate

    def _first_rejection(self, order: ClientOrder, now_ns: int) -> Rejection | None:
        if not (order.source and order.account and order.client_order_id):
            return Rejection.of(RejectReason.BAD_IDENTIFIER)
        instrument = self.instruments.get(order.instrument)
        if instrument is None:
            return Rejection.of(RejectReason.UNKNOWN_INSTRUMENT, repr(order.instrument))
        if order.side not in (1, -1) or type(order.side) is bool:
            return Rejection.of(RejectReason.BAD_SIDE, repr(order.side))
        rejection = self.check_quantity(instrument, order.quantity)
        if rejection is None and order.limit_price is not None:
            rejection = self.check_price(instrument, order.limit_price)
        if rejection is None:
            rejection = _check_mandate(order.mandate, self.strategies, self.default_end_ns)
        if rejection is None:
            end = order.mandate.end_ns
            if end is not None and end <= now_ns:
                rejection = Rejection.of(
                    RejectReason.END_IN_PAST, f"{_utc(end)} <= now {_utc(now_ns)}"
                )
            elif end is None and self.default_end_ns is not None and self.default_end_ns <= now_ns:
                rejection = Rejection.of(
                    RejectReason.END_IN_PAST,
                    "no end given, and the session's close "
                    f"{_utc(self.default_end_ns)} <= now {_utc(now_ns)}",
                )
        return rejection

    def check_quantity(self, instrument: Instrument, quantity: object) -> Rejection | None:
        if type(quantity) is not int or quantity <= 0:
            return Rejection.of(RejectReason.BAD_QUANTITY, repr(quantity))
        if quantity % instrument.lot:
            return Rejection.of(
                RejectReason.QUANTITY_OFF_LOT, f"{quantity} vs lot {instrument.lot}"
            )
        if quantity > self.max_order_qty:
            return Rejection.of(
                RejectReason.QUANTITY_TOO_LARGE, f"{quantity} > {self.max_order_qty}"
            )
        return None

    def check_price(self, instrument: Instrument, price: object) -> Rejection | None:
        if type(price) is not int or price <= 0:
            return Rejection.of(RejectReason.BAD_PRICE, repr(price))
        if price % instrument.tick:
            return Rejection.of(RejectReason.PRICE_OFF_TICK, f"{price} vs tick {instrument.tick}")
        if not instrument.in_band(price):
            return Rejection.of(
                RejectReason.PRICE_OUT_OF_BAND,
                f"{price} vs ref {instrument.ref_price} ± {instrument.band_bps} bps",
            )
        return None

    def check_amend(
        self, instrument: Instrument, quantity: int | None, limit_price: int | None, cum_qty: int
    ) -> Rejection | None:
        """An amend gives a new total quantity and/or a new limit price."""
        if quantity is not None:
            rejection = self.check_quantity(instrument, quantity)
            if rejection is not None:
                return rejection
            if quantity < cum_qty:
                return Rejection.of(
                    RejectReason.AMEND_BELOW_FILLED, f"{quantity} < filled {cum_qty}"
                )
        if limit_price is not None:
            return self.check_price(instrument, limit_price)
        return None


# ------------------------------------------------------------------ screening

_ORDER_IDENTIFIERS = ("source", "account", "client_order_id", "instrument")
_STRATEGIES = frozenset(s.value for s in StrategyName)
_URGENCIES = frozenset(u.value for u in Urgency)
_ROUTINGS = frozenset(r.value for r in RoutingLogic)


def _type_name(value: object) -> str:
    name = type(value).__name__
    return name if _valid_identifier(name) else "another type"


def _malformed(field: str, expected: str, value: object) -> Rejection:
    return Rejection.of(
        RejectReason.MALFORMED, f"{field}: expected {expected}, got {_type_name(value)}"
    )


def _valid_identifier(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_IDENTIFIER_LENGTH and value.isprintable()


def _reply_id(value: object) -> str:
    """An identifier fit to put in a reject: the value if valid, else empty."""
    return value if isinstance(value, str) and _valid_identifier(value) else ""


def _screen_identifier(field: str, value: object) -> Rejection | None:
    if not isinstance(value, str):
        return _malformed(field, "text", value)
    if len(value) > MAX_IDENTIFIER_LENGTH:
        return Rejection.of(RejectReason.IDENTIFIER_TOO_LONG, f"{field}: {len(value):,} characters")
    if not value.isprintable():
        return Rejection.of(RejectReason.BAD_CHARACTERS, f"{field}: an unprintable character")
    return None


def _screen_int(field: str, value: object, reason: RejectReason) -> Rejection | None:
    """An integer the trail stores as int64 (``bool`` is not one: it encodes as a bool)."""
    if type(value) is not int:
        return Rejection.of(reason, f"{field}: expected an integer, got {_type_name(value)}")
    if not INT64_MIN <= value <= INT64_MAX:
        return Rejection.of(RejectReason.OUT_OF_RANGE, f"{field}: {value.bit_length()} bits")
    return None


def _screen_number(field: str, value: object, reason: RejectReason) -> Rejection | None:
    if value is None or type(value) is float:
        return None
    return _screen_int(field, value, reason)  # an int decodes as a float too


def _screen_header(msg: Message) -> Rejection | None:
    return _screen_int("ts", msg.ts, RejectReason.BAD_TIME) or _screen_int(
        "msg_id", msg.msg_id, RejectReason.MALFORMED
    )


def _screen_command(msg: CancelClientOrder | AmendClientOrder) -> Rejection | None:
    """A cancel's or an amend's fields."""
    for field in ("source", "client_order_id"):
        rejection = _screen_identifier(field, getattr(msg, field))
        if rejection is not None:
            return rejection
    if not isinstance(msg, AmendClientOrder):
        return None
    if msg.quantity is not None:
        rejection = _screen_int("quantity", msg.quantity, RejectReason.BAD_QUANTITY)
        if rejection is not None:
            return rejection
    if msg.limit_price is not None:
        return _screen_int("limit_price", msg.limit_price, RejectReason.BAD_PRICE)
    return None


def _screen_mandate(m: object) -> Rejection | None:
    if type(m) is not Mandate:
        return _malformed("mandate", "a Mandate", m)
    if not (isinstance(m.strategy, str) and m.strategy in _STRATEGIES):
        return Rejection.of(RejectReason.UNKNOWN_STRATEGY, "mandate.strategy")
    if not (isinstance(m.urgency, str) and m.urgency in _URGENCIES):
        return _malformed("mandate.urgency", "one of " + ", ".join(sorted(_URGENCIES)), m.urgency)
    if m.routing is not None and not (isinstance(m.routing, str) and m.routing in _ROUTINGS):
        return _malformed("mandate.routing", "one of " + ", ".join(sorted(_ROUTINGS)), m.routing)
    if type(m.must_complete) is not bool:
        return _malformed("mandate.must_complete", "true or false", m.must_complete)
    for field in ("start_ns", "end_ns"):
        value = getattr(m, field)
        if value is not None:
            rejection = _screen_int(f"mandate.{field}", value, RejectReason.BAD_TIME)
            if rejection is not None:
                return rejection
    return (
        _screen_number("mandate.max_participation", m.max_participation, _PARTICIPATION)
        or _screen_number("mandate.pov_rate", m.pov_rate, _PARTICIPATION)
        or _screen_number("mandate.risk_aversion", m.risk_aversion, _RISK_AVERSION)
    )


_PARTICIPATION = RejectReason.BAD_PARTICIPATION
_RISK_AVERSION = RejectReason.BAD_RISK_AVERSION


def _utc(ns: int) -> str:
    """A time a person reads in a reject: ISO 8601 UTC to the millisecond."""
    try:
        when = datetime.fromtimestamp(ns // 1_000_000_000, UTC)
    except (OverflowError, OSError, ValueError):  # beyond what a calendar holds
        return f"{ns} ns"
    return f"{when:%Y-%m-%d %H:%M:%S}.{ns // 1_000_000 % 1_000:03d} UTC"


def _check_mandate(
    m: Mandate, strategies: frozenset[StrategyName], default_end_ns: int | None = None
) -> Rejection | None:
    """Checks that do not depend on the time (end_in_past is checked per order)."""
    if m.strategy not in strategies:
        return Rejection.of(RejectReason.UNKNOWN_STRATEGY, repr(m.strategy))
    if m.start_ns is not None and m.end_ns is not None and m.start_ns >= m.end_ns:
        return Rejection.of(RejectReason.START_AFTER_END, f"{_utc(m.start_ns)} >= {_utc(m.end_ns)}")
    if (
        m.start_ns is not None
        and m.end_ns is None
        and default_end_ns is not None
        and m.start_ns >= default_end_ns
    ):
        return Rejection.of(
            RejectReason.START_AFTER_END,
            f"{_utc(m.start_ns)} >= {_utc(default_end_ns)} (no end given: the session's close)",
        )
    for rate in (m.max_participation, m.pov_rate):
        if rate is not None and not 0.0 < rate <= 1.0:  # written so that NaN fails too
            return Rejection.of(RejectReason.BAD_PARTICIPATION, repr(rate))
    if (
        m.pov_rate is not None
        and m.max_participation is not None
        and m.pov_rate > m.max_participation
    ):  # the cap is the client's: never exceeded
        return Rejection.of(
            RejectReason.BAD_PARTICIPATION,
            f"pov_rate {m.pov_rate!r} above max_participation {m.max_participation!r}",
        )
    if m.risk_aversion is not None and not 0.0 <= m.risk_aversion < math.inf:  # NaN fails
        return Rejection.of(RejectReason.BAD_RISK_AVERSION, repr(m.risk_aversion))
    return None
