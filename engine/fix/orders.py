"""A FIX NewOrderSingle or OrderCancelReplaceRequest as the engine's ``ClientOrder``: side,
quantity, limit, and the algorithm parameters (847/849/168/126/111/18 and the session's
vendor tags) as its ``Mandate``.

A field the gateway can read but the engine cannot honour becomes an ``OrderProblem``: an
ExecutionReport reject (35=8 150=8) with the reason in 58, or, for a conditionally required
field that is missing, a BusinessMessageReject (35=j 380=5).
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from engine.fix import tags as T
from engine.fix.codec import FixMessage
from engine.fix.config import SessionSettings
from engine.fix.times import parse_utc_timestamp
from engine.messages import ClientOrder, Mandate, RoutingLogic, Side, StrategyName, Urgency
from engine.prices import to_price

TARGET_STRATEGIES: dict[str, StrategyName] = {
    "1": StrategyName.VWAP,
    "2": StrategyName.POV,  # Participate
    "3": StrategyName.IS,  # minimise impact: implementation shortfall trades it off
    "1000": StrategyName.TWAP,  # bilateral values (>= 1000)
    "1001": StrategyName.IS,
}
SIDES = {"1": Side.BUY, "2": Side.SELL, "5": Side.SELL, "6": Side.SELL}  # 5/6: short sells
MARKET, LIMIT = "1", "2"
DAY, GTD = "0", "6"
PASSIVE_ONLY = "6"  # ExecInst: participate, do not initiate


class OrderProblem(NamedTuple):
    text: str
    missing_tag: int = 0  # a conditionally required field: BusinessMessageReject 380=5
    ord_rej_reason: int = 99  # OrdRejReason (103): 99 other


def new_order(
    msg: FixMessage, settings: SessionSettings, engine_id: str
) -> ClientOrder | OrderProblem:
    """The ``ClientOrder`` a NewOrderSingle asks for (``engine_id``: its ClOrdID)."""
    side = SIDES.get(msg.get(T.SIDE) or "")
    if side is None:
        return OrderProblem(f"Side {msg.get(T.SIDE)!r} not supported (1 buy, 2/5/6 sell)")
    quantity = msg.get(T.ORDER_QTY)
    if quantity is None:
        return OrderProblem("OrderQty (38) is required", missing_tag=T.ORDER_QTY)
    limit = limit_price(msg)
    if isinstance(limit, OrderProblem):
        return limit
    mandate = mandate_of(msg, settings, int(quantity))
    if isinstance(mandate, OrderProblem):
        return mandate
    return ClientOrder(
        source=settings.sender_comp_id,
        account=msg.get(T.ACCOUNT) or settings.account or settings.sender_comp_id,
        client_order_id=engine_id,
        instrument=msg.get(T.SYMBOL) or "",
        side=side,
        quantity=int(quantity),
        limit_price=limit,
        mandate=mandate,
    )


def limit_price(msg: FixMessage) -> int | OrderProblem | None:
    """OrdType 1 (market: no limit) or 2 (limit: Price 44 required)."""
    ord_type = msg.get(T.ORD_TYPE)
    if ord_type == MARKET:
        return None
    if ord_type != LIMIT:
        return OrderProblem(f"OrdType {ord_type!r} not supported (1 market, 2 limit)")
    text = msg.get(T.PRICE)
    if text is None:
        return OrderProblem("Price (44) is required with OrdType 2", missing_tag=T.PRICE)
    try:
        return to_price(Decimal(text))
    except (ValueError, InvalidOperation):
        return OrderProblem(f"Price {text!r} is finer than 0.000001")


def mandate_of(msg: FixMessage, settings: SessionSettings, quantity: int) -> Mandate | OrderProblem:
    """Standard algorithm tags first, then the session's vendor tags over them."""
    fields: dict[str, object] = {}
    for read in (_strategy, _participation, _times, _max_floor, _exec_inst, _vendor):
        problem = read(msg, settings, fields, quantity)
        if problem is not None:
            return problem
    try:
        return Mandate(**fields)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        return OrderProblem(f"algorithm parameters: {exc}")


def _strategy(
    msg: FixMessage, _s: object, fields: dict[str, object], _q: int
) -> OrderProblem | None:
    code = msg.get(T.TARGET_STRATEGY)
    if code is None:
        return None
    strategy = TARGET_STRATEGIES.get(code)
    if strategy is None:
        known = ", ".join(f"{k} {v}" for k, v in TARGET_STRATEGIES.items())
        return OrderProblem(f"unknown TargetStrategy (847) {code!r}; known: {known}")
    fields["strategy"] = strategy
    return None


def _participation(
    msg: FixMessage, _s: object, fields: dict[str, object], _q: int
) -> OrderProblem | None:
    text = msg.get(T.PARTICIPATION_RATE)
    if text is None:
        return None
    rate = float(text)
    if not 0.0 < rate <= 1.0:
        return OrderProblem(f"ParticipationRate (849) {text} is outside (0, 1]")
    if fields.get("strategy") is StrategyName.POV:
        fields["pov_rate"] = rate  # POV's target; for the other strategies, a cap
    else:
        fields["max_participation"] = rate
    return None


def _times(msg: FixMessage, _s: object, fields: dict[str, object], _q: int) -> OrderProblem | None:
    tif = msg.get(T.TIME_IN_FORCE) or DAY
    if tif not in (DAY, GTD):
        return OrderProblem(f"TimeInForce (59) {tif!r} not supported (0 day, 6 GTD)")
    for tag, name in ((T.EFFECTIVE_TIME, "start_ns"), (T.EXPIRE_TIME, "end_ns")):
        text = msg.get(tag)
        if text is None:
            continue
        try:
            fields[name] = parse_utc_timestamp(text)
        except ValueError:
            return OrderProblem(f"tag {tag} {text!r} is not a UTCTimestamp")
    if tif == GTD and "end_ns" not in fields:
        return OrderProblem("ExpireTime (126) is required with TimeInForce 6", T.EXPIRE_TIME)
    return None


def _max_floor(
    msg: FixMessage, _s: object, _f: dict[str, object], quantity: int
) -> OrderProblem | None:
    text = msg.get(T.MAX_FLOOR)
    if text is not None and int(text) > quantity:
        return OrderProblem(f"MaxFloor (111) {text} is above OrderQty {quantity}")
    return None  # the engine shows no more than its child order sizes anyway


def _exec_inst(
    msg: FixMessage, _s: object, fields: dict[str, object], _q: int
) -> OrderProblem | None:
    if PASSIVE_ONLY in (msg.get(T.EXEC_INST) or "").split():
        fields["urgency"] = Urgency.LOW  # participate, do not initiate: rest, never cross
    return None


_VENDOR_TYPES = {
    "strategy": StrategyName,
    "urgency": Urgency,
    "routing": RoutingLogic,
    "max_participation": float,
    "risk_aversion": float,
}


def _vendor(
    msg: FixMessage, settings: SessionSettings, fields: dict[str, object], _q: int
) -> OrderProblem | None:
    for name, tag in settings.tags.items():
        text = msg.get(tag)
        if text is None:
            continue
        try:
            value = _VENDOR_TYPES[name](text.upper() if name == "strategy" else text.lower())
        except ValueError:
            return OrderProblem(f"tag {tag} ({name}) {text!r} is not valid")
        if isinstance(value, float) and not math.isfinite(value):
            return OrderProblem(f"tag {tag} ({name}) {text!r} is not a finite number")
        fields[name] = value
    return None
