"""Every message that crosses actors, in one place.

Frozen, keyword-only, tagged ``msgspec.Struct``s, so the journal decodes any record
through one tagged union (``AnyMessage``). Commands are imperative (``PlaceChildOrder``),
events past tense (``ChildOrderFilled``).

Conventions:
- ``msg_id``: unique per run; ``ts``: integer ns of the runtime clock. Both are stamped
  by the runtime when a message is sent with the default 0.
- Quantities are ``int`` shares. Prices are ``int`` fixed-point units (``engine.prices``).
  Fees are ``int`` price units in total for the fill (negative = rebate received).
- Ids are strings: client orders are keyed by ``(source, client_order_id)``; parents
  ``P…``, children ``C…``, venue orders ``V…``.

Audit trails and their digests hold this encoding: what may and may not change is in
``docs/messages.md``.
"""

from __future__ import annotations

import enum
from typing import get_args

import msgspec

# ----------------------------------------------------------------------------- enums


class Side(enum.IntEnum):
    """The sign convention of TCA: +1 buy, -1 sell."""

    BUY = 1
    SELL = -1


class OrderType(enum.StrEnum):
    LIMIT = "limit"
    MARKET = "market"


class TimeInForce(enum.StrEnum):
    DAY = "day"
    IOC = "ioc"  # immediate or cancel: remainder cancelled
    FOK = "fok"  # fill or kill: all or nothing, immediately


class Liquidity(enum.StrEnum):
    MAKER = "maker"  # added liquidity (resting order hit)
    TAKER = "taker"  # removed liquidity
    MIDPOINT = "midpoint"  # dark pool midpoint execution
    INTERNAL = "internal"  # internal cross between client orders


class StrategyName(enum.StrEnum):
    TWAP = "TWAP"
    VWAP = "VWAP"
    POV = "POV"
    IS = "IS"


class Urgency(enum.StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class RoutingLogic(enum.StrEnum):
    SEQUENTIAL = "sequential"
    PARALLEL = "parallel"
    LIQUIDITY_SEEKING = "liquidity_seeking"


class Tactic(enum.StrEnum):
    PASSIVE = "passive"  # join the bid (buy) / offer (sell)
    MIDPOINT = "midpoint"  # rest in the dark at the mid
    AGGRESSIVE = "aggressive"  # cross the spread


class VenueKind(enum.StrEnum):
    LIT = "lit"
    DARK = "dark"


class FaultKind(enum.StrEnum):
    """An injected fault (fault-injection testing): at a venue (``UP`` ends every fault of
    the venue), on the link between two actors, or on every link of a venue
    (``engine.faults`` says which is which)."""

    DOWN = "down"
    UP = "up"
    DEGRADE = "degrade"
    REJECT_ORDERS = "reject_orders"
    DROP_CANCELS = "drop_cancels"
    STALE_DATA = "stale_data"  # the venue's feed repeats the snapshot of the fault's start
    CROSSED_DATA = "crossed_data"  # the venue's feed shows bids above asks
    PARTIAL_FILLS = "partial_fills"  # the venue fills our orders in many small pieces
    LATENCY_SPIKE = "latency_spike"  # every message to or from the venue is late
    LINK_DROP = "link_drop"  # messages from one actor to another are lost
    LINK_DUPLICATE = "link_duplicate"  # ... delivered twice
    LINK_DELAY = "link_delay"  # ... late, and everything behind them on the link too
    LINK_REORDER = "link_reorder"  # ... late, overtaken by the ones sent after them


class VenueStatus(enum.StrEnum):
    UP = "up"
    DEGRADED = "degraded"
    DOWN = "down"


class ExecType(enum.StrEnum):
    NEW = "new"
    TRADE = "trade"
    CANCELED = "canceled"
    REPLACED = "replaced"
    REJECTED = "rejected"
    EXPIRED = "expired"  # end time reached with leaves (done for day)
    ORDER_STATUS = "order_status"  # the order's current state, on request (FIX 150=I)
    PENDING_CANCEL = "pending_cancel"  # cancel taken; CANCELED once its venue orders settle
    PENDING_REPLACE = "pending_replace"  # amend taken; REPLACED once its venue orders settle


class OrdStatus(enum.StrEnum):
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"


class ParentState(enum.StrEnum):
    PENDING = "pending"
    WORKING = "working"
    PAUSED = "paused"
    COMPLETED = "completed"
    CANCELED = "cancelled"  # the value predates the FIX spelling; audit trails hold it
    EXPIRED = "expired"


class ExpiryReason(enum.StrEnum):
    """Why a parent expired with leaves: the client's execution reports carry it."""

    END_TIME = "end_time"  # the mandate's end time came first
    PARTICIPATION_CAP = "participation_cap"  # max participation held the last trading back
    UNSETTLED_AT_VENUE = "unsettled_at_venue"  # a child's venue order never answered a cancel


# ------------------------------------------------------------------ embedded values


class Mandate(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """How a client wants an order worked."""

    strategy: StrategyName = StrategyName.TWAP
    urgency: Urgency = Urgency.MEDIUM
    must_complete: bool = True  # finish by end_ns; else best effort, leaves reported
    start_ns: int | None = None  # None: on arrival
    end_ns: int | None = None  # None: session close
    max_participation: float | None = None  # fraction of market volume, (0, 1]
    pov_rate: float | None = None  # POV target participation, (0, 1]
    routing: RoutingLogic | None = None  # None: the engine's default for the urgency
    risk_aversion: float | None = None  # IS lambda


class ClientOrder(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A small order as a client sends it (API, FIX, scenario file)."""

    source: str  # e.g. "OMS", "trader:jane", "signal:mom1"
    account: str
    client_order_id: str
    instrument: str
    side: Side
    quantity: int
    limit_price: int | None = None
    mandate: Mandate = Mandate()


class BookLevel(msgspec.Struct, frozen=True, array_like=True, gc=False):
    price: int
    quantity: int


# ---------------------------------------------------------------------- base class


class Message(msgspec.Struct, frozen=True, kw_only=True, tag=True, gc=False):
    msg_id: int = 0
    ts: int = 0


# ------------------------------------------------------------------ client intake


class SubmitClientOrder(Message):
    order: ClientOrder


class CancelClientOrder(Message):
    source: str
    client_order_id: str


class AmendClientOrder(Message):
    source: str
    client_order_id: str
    quantity: int | None = None  # new total order quantity
    limit_price: int | None = None


class ClientOrderRejected(Message):
    """Intake refused a submit, cancel or amend; nothing else changed."""

    source: str
    client_order_id: str
    reason: str  # machine-readable, see engine.desk.intake.RejectReason
    text: str  # human message


class ExecutionReport(Message):
    """Per-client-order report, FIX-like. ``cum_notional`` = Σ last_qty·last_price, so the
    average price is exact: cum_notional / cum_qty."""

    source: str
    account: str
    client_order_id: str
    exec_id: str
    exec_type: ExecType
    ord_status: OrdStatus
    instrument: str
    side: Side
    order_qty: int
    cum_qty: int
    leaves_qty: int
    cum_notional: int = 0
    last_qty: int = 0
    last_price: int = 0
    parent_id: str | None = None
    internal: bool = False  # fill from an internal cross
    venue: str | None = None
    reason: str | None = None
    text: str = ""


class InternalCrossExecuted(Message):
    """Opposing client orders crossed inside the engine at a fair price (the lit mid).

    ``quantity`` is what each side crossed in all: new orders' quantity and working
    parents' unfilled part. ``buy_parent_id``/``sell_parent_id`` name the working parent
    whose unfilled part crossed on that side, when exactly one did; how much of it is in
    the internal ``ExecutionReport``s of the cross (``parent_id`` = that parent)."""

    cross_id: str
    instrument: str
    quantity: int
    price: int
    buy_parent_id: str | None = None
    sell_parent_id: str | None = None


# ------------------------------------------------------------------------- parents


class ParentOrderCreated(Message):
    parent_id: str
    instrument: str
    side: Side
    quantity: int
    limit_price: int | None
    mandate: Mandate
    arrival_mid: int | None = None


class ResizeParentOrder(Message, omit_defaults=True):  # trails without releases unchanged
    """A join (grow) or a client cancel/amend-down (shrink): new total target quantity."""

    parent_id: str
    quantity: int
    reason: str = ""
    # the last release the desk had heard answered: the parent takes off what it
    # released after that (the desk did not know it yet), so targets and releases commute
    after_release: int = 0
    # > 0: a client cancel or amend of a member waits for this shrink (pending): the
    # parent answers ``ParentResizeSettled`` with this number once no child it holds
    # open exceeds the new remaining quantity (nothing more than the target can fill)
    settle: int = 0


class ParentResizeSettled(Message):
    """Parent → desk: every shrink up to the resize numbered ``settle`` has taken effect:
    its children open beyond the remaining quantity are done, so no fill beyond
    ``target`` can come but a late one. The members' pending cancels and amends that
    waited for it take effect."""

    parent_id: str
    settle: int
    target: int


class CancelParentOrder(Message):
    parent_id: str
    reason: str = ""


class ParentOrderFilled(Message):
    """A market fill of a parent, to be allocated back to its client orders."""

    parent_id: str
    child_id: str
    fill_id: str
    venue: str
    quantity: int
    price: int
    liquidity: Liquidity
    fee: int = 0


class ParentStateChanged(Message):
    parent_id: str
    state: ParentState
    target: int
    filled: int
    reason: str = ""
    expiry_reason: ExpiryReason | None = None  # set when state is EXPIRED


class ScheduleRecalibrated(Message):
    """A parent compared filled vs scheduled quantity and decided its next step."""

    parent_id: str
    scheduled: int  # cumulative quantity the schedule wants by now
    filled: int
    deviation: int  # filled - scheduled (negative = behind)
    tactic: Tactic
    next_quantity: int
    next_at: int  # ns of the next decision
    reason: str = ""


# -------------------------------------------------------------- children (parent↔router)


class PlaceChildOrder(Message):
    parent_id: str
    child_id: str
    instrument: str
    side: Side
    quantity: int
    limit_price: int | None = None
    tactic: Tactic = Tactic.PASSIVE
    routing: RoutingLogic = RoutingLogic.SEQUENTIAL
    expire_at: int | None = None  # router cancels whatever is left at this time


class CancelChildOrder(Message):
    parent_id: str
    child_id: str
    reason: str = ""


VENUES_CLOSED = "venues closed"
"""``CancelChildOrder.reason`` after the session: the child's DAY orders died at their
venues' close; the router books what it still holds as expired there, unconfirmed."""


class ChildOrderAccepted(Message):
    parent_id: str
    child_id: str


class ChildOrderRejected(Message):
    parent_id: str
    child_id: str
    reason: str
    text: str = ""


class ChildOrderFilled(Message):
    parent_id: str
    child_id: str
    fill_id: str
    venue: str
    quantity: int
    price: int
    liquidity: Liquidity
    fee: int = 0
    leaves: int = 0  # child quantity still working after this fill


class ChildOrderDone(Message):
    """Terminal: the child is finished (filled, cancelled, expired or rejected)."""

    parent_id: str
    child_id: str
    filled: int
    cancelled: int  # quantity not filled
    reason: str = ""


class VenuePlacement(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    venue: str
    quantity: int
    order_type: OrderType
    price: int | None = None
    tif: TimeInForce = TimeInForce.DAY
    post_only: bool = False  # rest or be refused, never take (a passive tactic's orders)


class RouteDecided(Message):
    """The router's decision for a child order, with the reason and scorecard it used."""

    parent_id: str
    child_id: str
    logic: RoutingLogic
    placements: list[VenuePlacement]
    reason: str
    scorecard: dict[str, dict[str, float]] = {}


# ---------------------------------------------------------------- router↔venue


class PlaceVenueOrder(Message):
    venue: str
    order_id: str
    parent_id: str
    child_id: str
    instrument: str
    side: Side
    quantity: int
    order_type: OrderType = OrderType.LIMIT
    price: int | None = None
    tif: TimeInForce = TimeInForce.DAY
    post_only: bool = False
    min_quantity: int = 0  # dark pools: minimum execution size


class CancelVenueOrder(Message):
    venue: str
    order_id: str


class ReplaceVenueOrder(Message):
    venue: str
    order_id: str
    quantity: int  # new total quantity
    price: int | None = None


class VenueOrderAccepted(Message):
    venue: str
    order_id: str
    leaves: int


class VenueOrderRejected(Message):
    venue: str
    order_id: str
    reason: str  # machine-readable, see engine.venues.venue.VenueReject
    text: str = ""


class VenueOrderFilled(Message):
    venue: str
    order_id: str
    fill_id: str
    quantity: int
    price: int
    liquidity: Liquidity
    fee: int = 0
    leaves: int = 0


class VenueOrderCancelled(Message):
    """Terminal: ``cancelled`` shares were taken off the venue (cancel, IOC remainder, expiry)."""

    venue: str
    order_id: str
    cancelled: int
    reason: str = ""


class VenueCancelRejected(Message):
    venue: str
    order_id: str
    reason: str  # engine.venues.venue.VenueReject: too_late, unknown_order or venue_down


class VenueOrderStatusRequest(Message):
    """Ask a venue where an order stands (FIX OrderStatusRequest): sent when the router's
    view of it is in doubt, e.g. a fill may have been lost on the way."""

    venue: str
    order_id: str


class VenueOrderStatus(Message):
    """A venue's answer to ``VenueOrderStatusRequest``: the order's state ("live", "done"
    or "unknown"), its cumulative fill, and every fill the venue sent for it."""

    venue: str
    order_id: str
    state: str
    filled: int = 0
    leaves: int = 0
    fills: tuple[VenueOrderFilled, ...] = ()


class VenueOrderReplaced(Message):
    venue: str
    order_id: str
    quantity: int
    price: int | None
    leaves: int


# ------------------------------------------------------------------ market data


class SubscribeMarketData(Message):
    subscriber: str  # actor name to publish to
    instrument: str


class UnsubscribeMarketData(Message):
    """The subscriber is done with the market for good (a parent that ended)."""

    subscriber: str
    instrument: str


class MarketDataUpdated(Message):
    """A venue's view: L2 depth (lit) or status only (dark), and its cumulative prints."""

    venue: str
    instrument: str
    kind: VenueKind
    status: VenueStatus
    bids: list[BookLevel] = []
    asks: list[BookLevel] = []
    last_price: int | None = None
    volume: int = 0  # cumulative traded shares today
    notional: int = 0  # cumulative Σ qty·price today
    directional_volume: int = 0  # simulated lit: net shares of ours traded (+ bought), impact
    expected_volume: int = 0  # simulated lit: daily volume expected there, impact scale


class VenueStatusChanged(Message):
    venue: str
    status: VenueStatus
    reason: str = ""
    # the book's instrument: each book of a venue reports its own status (None: the whole
    # venue, as a record written before books said which they were)
    instrument: str | None = None


class InjectVenueFault(Message):
    """Fault injection: take a venue down / up / degrade it, or make it reject orders."""

    venue: str
    fault: FaultKind
    duration_ns: int | None = None


class InjectActorFailure(Message):
    """Fault injection: the receiving actor raises while handling this, exactly as a bug
    would — supervision restarts it and it recovers from the journal."""

    target: str
    reason: str = "injected failure"


# ------------------------------------------------------------- runtime/supervision


class TimerFired(Message):
    key: str


class ActorFailed(Message):
    name: str
    error: str
    restarts: int


class ActorRestarted(Message):
    name: str
    restarts: int


class SupervisorEscalated(Message):
    name: str
    reason: str


class ChildOrderOverfilled(Message):
    """Shares a venue filled beyond the child's quantity (an over-allocation race, or a fill
    after the child was done). Never part of ``ChildOrderFilled``: book them to the excess
    account, never to a client."""

    parent_id: str
    child_id: str
    fill_id: str
    venue: str
    quantity: int
    price: int
    liquidity: Liquidity
    fee: int = 0
    reason: str = ""  # "overallocation" | "late_fill"


class ScorecardSaved(Message):
    """The router's venue scorecard (``engine.routing.scorecard.ScorecardState`` as JSON),
    journaled periodically and at stop so a restarted router, or the next run, starts
    from what was learnt."""

    router: str
    reason: str  # "periodic" | "stop"
    state: bytes


class ReleaseParentQuantity(Message):
    """Desk → parent: give back up to ``quantity`` of the target that no child holds (at
    a venue or on its way), for an internal cross. Answered by ``ParentQuantityReleased``
    with the same ``release_id`` (the desk's count of its requests to this parent)."""

    parent_id: str
    release_id: int
    quantity: int
    reason: str = ""


class ParentQuantityReleased(Message):
    """Parent → desk: ``quantity`` taken off the target (none of it live), which is now
    ``target``; the desk crosses it or gives it back with a resize."""

    parent_id: str
    release_id: int
    quantity: int
    target: int


class FaultTrigger(msgspec.Struct, frozen=True, kw_only=True):
    """Start a fault on the ``count``-th ``event`` ("fill": a child fill, "child": a
    child order placed) of ``parent`` and/or at ``venue`` (empty: any)."""

    event: str
    count: int = 1
    parent: str = ""
    venue: str = ""


class InjectFault(Message):
    """Fault injection of any ``FaultKind`` (``engine.faults``): at ``venue``, or on the
    link ``sender`` → ``receiver`` (the ``count`` first messages of type ``message`` in
    the fault's time, 0 / "": all), ``delay_ns`` late; on ``after``, or when delivered."""

    fault: FaultKind
    venue: str = ""
    sender: str = ""
    receiver: str = ""
    duration_ns: int | None = None
    delay_ns: int = 0
    count: int = 0
    message: str = ""
    after: FaultTrigger | None = None


class FaultStarted(Message):
    """An injected fault took effect at ``target`` (a venue, or "sender>receiver")."""

    fault: FaultKind
    target: str
    duration_ns: int | None = None
    cause: str = ""  # "" when it was due at a time; else its trigger


class FaultEnded(Message):
    """An injected fault is over: "expired", "up", "reinjected" or "count" (its
    messages all affected); ``affected``: messages of a link fault it hit."""

    fault: FaultKind
    target: str
    reason: str
    affected: int = 0


# Everything above, decodable through one tagged union.
AnyMessage = (
    SubmitClientOrder
    | CancelClientOrder
    | AmendClientOrder
    | ClientOrderRejected
    | ExecutionReport
    | InternalCrossExecuted
    | ParentOrderCreated
    | ResizeParentOrder
    | ParentResizeSettled
    | CancelParentOrder
    | ParentOrderFilled
    | ParentStateChanged
    | ScheduleRecalibrated
    | PlaceChildOrder
    | CancelChildOrder
    | ChildOrderAccepted
    | ChildOrderRejected
    | ChildOrderFilled
    | ChildOrderDone
    | ChildOrderOverfilled
    | RouteDecided
    | PlaceVenueOrder
    | CancelVenueOrder
    | ReplaceVenueOrder
    | VenueOrderAccepted
    | VenueOrderRejected
    | VenueOrderFilled
    | VenueOrderCancelled
    | VenueCancelRejected
    | VenueOrderReplaced
    | SubscribeMarketData
    | MarketDataUpdated
    | VenueStatusChanged
    | InjectVenueFault
    | InjectActorFailure
    | TimerFired
    | ActorFailed
    | ActorRestarted
    | SupervisorEscalated
    | ScorecardSaved
    | ReleaseParentQuantity
    | ParentQuantityReleased
    | InjectFault
    | FaultStarted
    | FaultEnded
    | VenueOrderStatusRequest
    | VenueOrderStatus
    | UnsubscribeMarketData
)

ALL_MESSAGES: tuple[type[Message], ...] = get_args(AnyMessage)

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(AnyMessage)
_json_encoder = msgspec.json.Encoder(order="sorted")


def encode(msg: Message) -> bytes:
    """Compact binary encoding (msgpack)."""
    return _encoder.encode(msg)


def decode(data: bytes) -> Message:
    """Decode any message from ``encode``."""
    return _decoder.decode(data)


def canonical(msg: Message) -> bytes:
    """Canonical JSON (sorted keys): the form the audit digest is computed over."""
    return _json_encoder.encode(msg)
