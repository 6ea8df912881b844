"""``smart-exec schedule STRATEGY [parameters] [--json]``: preview a strategy's schedule.

Per period: the target holdings (left to trade) and the trade sizes. For IS, the
Almgren–Chriss model in the paper's units (shares, days, $) with expected cost E and
its standard deviation √V. TWAP, VWAP and POV preview whole-lot schedules over a
session window (``--start``/``--end`` as HH:MM, New York session 09:30–16:00).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys

from engine.clock import MINUTE
from engine.config import SessionConfig
from engine.strategies.almgren_chriss import AlmgrenChriss, ParameterError
from engine.strategies.pov import pov_forecast
from engine.strategies.twap import twap_schedule
from engine.strategies.vwap import default_profile, load_profile, vwap_schedule

STRATEGIES = ("twap", "vwap", "pov", "is")
MAX_PERIODS = 100_000  # a preview, not a tick-by-tick replay: a sane bound on output size
OPEN_MINUTE = 9 * 60 + 30  # session open, minutes after midnight New York
# The paper's Table 1 example, so `smart-exec schedule is` alone reproduces it.
IS_DEFAULTS = {
    "shares": 1e6,
    "days": 5.0,
    "periods": 5,
    "sigma": 0.95,
    "eta": 2.5e-6,
    "gamma": 2.5e-7,
    "epsilon": 0.0625,
    "lambda": 1e-6,
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "strategy",
        type=str.lower,
        choices=STRATEGIES,
        metavar="STRATEGY",
        help="one of: " + ", ".join(STRATEGIES),
    )
    parser.add_argument("--shares", type=float, help="quantity X (default 1e6 for IS, else 10000)")
    parser.add_argument("--periods", type=int, help="number of periods N (default 5 IS, 13 else)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ac = parser.add_argument_group("IS (Almgren-Chriss, the paper's units)")
    ac.add_argument("--days", type=float, help="horizon T in days (default 5)")
    ac.add_argument("--sigma", type=float, help="volatility, $/share/day^1/2 (default 0.95)")
    ac.add_argument("--eta", type=float, help="temporary impact (default 2.5e-6)")
    ac.add_argument("--gamma", type=float, help="permanent impact (default 2.5e-7)")
    ac.add_argument("--epsilon", type=float, help="fixed cost per share (default 0.0625)")
    ac.add_argument("--lambda", dest="lam", type=float, help="risk aversion (default 1e-6)")
    sess = parser.add_argument_group("TWAP, VWAP, POV")
    sess.add_argument("--start", default="09:30", help="start HH:MM (default 09:30)")
    sess.add_argument("--end", default="16:00", help="end HH:MM (default 16:00)")
    sess.add_argument("--lot", type=int, default=1, help="lot size in shares (default 1)")
    sess.add_argument("--profile", help="VWAP volume profile JSON (default: shipped US U-shape)")
    sess.add_argument("--rate", type=float, default=0.10, help="POV target rate (default 0.10)")
    sess.add_argument(
        "--daily-volume",
        type=float,
        default=1e6,
        help="POV forecast market volume for the day (default 1e6)",
    )


def main(args: argparse.Namespace) -> int:
    try:
        doc = _is_preview(args) if args.strategy == "is" else _session_preview(args)
    except ParameterError as exc:
        print(f"smart-exec schedule: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(doc) if args.json else _table(doc))
    return 0


# ---------------------------------------------------------------------------- IS


def _is_preview(args: argparse.Namespace) -> dict:
    values = {name: getattr(args, "lam" if name == "lambda" else name) for name in IS_DEFAULTS}
    values = {k: IS_DEFAULTS[k] if v is None else v for k, v in values.items()}
    for name, value in values.items():
        if not math.isfinite(value):
            raise ParameterError(name, "must be a finite number")
    if values["periods"] > MAX_PERIODS:
        raise ParameterError("periods", f"must be <= {MAX_PERIODS}")
    model = AlmgrenChriss(
        shares=values["shares"],
        horizon=values["days"],
        periods=values["periods"],
        sigma=values["sigma"],
        eta=values["eta"],
        gamma=values["gamma"],
        epsilon=values["epsilon"],
        risk_aversion=values["lambda"],
    )
    return {
        "strategy": "IS",
        "times": model.times(),
        "holdings": model.holdings(),
        "trades": model.trades(),
        "expected_cost": model.expected_cost(),
        "cost_std": model.cost_std(),
        "kappa": model.kappa,
    }


# ---------------------------------------------------------------- TWAP/VWAP/POV


def _session_preview(args: argparse.Namespace) -> dict:
    session = SessionConfig()
    shares = 10_000.0 if args.shares is None else args.shares
    periods = 13 if args.periods is None else args.periods
    if not math.isfinite(shares) or shares <= 0 or shares != int(shares):
        raise ParameterError("shares", "must be a positive whole number of shares")
    if not 1 <= periods <= MAX_PERIODS:
        raise ParameterError("periods", f"must be in 1..{MAX_PERIODS}")
    if args.lot < 1:
        raise ParameterError("lot", "must be >= 1")
    start = _clock_to_ns(args.start, "start", session)
    end = _clock_to_ns(args.end, "end", session)
    if end <= start:
        raise ParameterError("end", "must be after --start")
    quantity = int(shares)
    if args.strategy == "pov":
        return _pov_preview(args, quantity, start, end, periods, session)
    if args.strategy == "twap":
        schedule = twap_schedule(quantity, start, end, periods, args.lot)
    else:
        schedule = vwap_schedule(
            quantity,
            start,
            end,
            periods,
            session.open_ns,
            session.close_ns,
            args.lot,
            _profile(args),
        )
    return {
        "strategy": args.strategy.upper(),
        "times": [_ns_to_clock(t, session) for t in schedule.times_ns],
        "holdings": schedule.holdings(),
        "trades": schedule.trades(),
    }


def _pov_preview(args, quantity: int, start: int, end: int, periods: int, session) -> dict:
    if not 0 < args.rate <= 1:
        raise ParameterError("rate", "must be in (0, 1]")
    if not math.isfinite(args.daily_volume) or args.daily_volume <= 0:
        raise ParameterError("daily-volume", "must be > 0")
    profile = _profile(args)
    span = session.close_ns - session.open_ns
    times = [start + (end - start) * k // periods for k in range(periods + 1)]
    fracs = [(t - session.open_ns) / span for t in times]
    volumes = [args.daily_volume * profile.share(a, b) for a, b in itertools.pairwise(fracs)]
    cumulative = pov_forecast(quantity, args.rate, volumes, args.lot)
    return {
        "strategy": "POV",
        "times": [_ns_to_clock(t, session) for t in times],
        "holdings": [quantity - c for c in cumulative],
        "trades": [b - a for a, b in itertools.pairwise(cumulative)],
        "market_volume": [round(v) for v in volumes],
        "expected_leaves": quantity - cumulative[-1],
    }


def _profile(args: argparse.Namespace):
    if args.profile is None:
        return default_profile()
    try:
        return load_profile(args.profile)
    except (OSError, ValueError, KeyError) as exc:
        raise ParameterError("profile", f"cannot load {args.profile}: {exc}") from exc


def _clock_to_ns(text: str, name: str, session: SessionConfig) -> int:
    try:
        hh, mm = text.split(":")
        minute = int(hh) * 60 + int(mm)
    except ValueError:
        raise ParameterError(name, f"expected HH:MM, got {text!r}") from None
    t = session.open_ns + (minute - OPEN_MINUTE) * MINUTE
    if not session.open_ns <= t <= session.close_ns:
        raise ParameterError(name, "must be within the session 09:30-16:00")
    return t


def _ns_to_clock(t_ns: int, session: SessionConfig) -> str:
    minute = OPEN_MINUTE + (t_ns - session.open_ns) / MINUTE
    return f"{int(minute // 60):02d}:{int(minute % 60):02d}"


def _table(doc: dict) -> str:
    lines = [f"{doc['strategy']} schedule", f"{'k':>3} {'time':>8} {'trade':>14} {'holdings':>14}"]
    for k, (t, x) in enumerate(zip(doc["times"], doc["holdings"], strict=True)):
        trade = doc["trades"][k - 1] if k else 0
        t_text = f"{t:8.3f}" if isinstance(t, float) else f"{t:>8}"
        lines.append(f"{k:>3} {t_text} {_qty(trade):>14} {_qty(x):>14}")
    if "expected_cost" in doc:
        lines.append(f"expected cost E = {doc['expected_cost']:,.2f}")
        lines.append(f"cost std  sqrt(V) = {doc['cost_std']:,.2f}")
        lines.append(f"kappa = {doc['kappa']:.4f} per day")
    if doc.get("expected_leaves"):
        lines.append(f"expected leaves = {doc['expected_leaves']}")
    return "\n".join(lines)


def _qty(value: float | int) -> str:
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
