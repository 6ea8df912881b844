"""The invariants every chaos run must keep, checked on its ``Ledger`` (read from the
audit trail). Each violation names its class, so a summary can count them by class and
a fix can be measured against one class.

Classes (``CLASSES``):
- ``order_accounting``: a client order's reports disagree with themselves: cumulative
  quantity ≠ Σ fills, more filled than ordered, filled + leaves + cancelled ≠ quantity,
  a fill after the final report;
- ``order_not_final``: an accepted client order without a final report at the end;
- ``fill_conservation``: per parent, Σ venue fills ≠ Σ parent fills, or ≠ Σ client
  fills + excess; internal fills of the two sides differ;
- ``excess_after_cross`` / ``excess_after_done`` / ``excess``: excess-account fills
  without over-allocation asked for: on a parent whose unfilled part crossed internally,
  fills that came after the parent was reported done, or others;
- ``orphan_venue_order``: a venue order still live at the end of the run;
- ``done_before_settled``: a parent reported done while a venue order of it was live;
- ``child_terminal``: a child without exactly one terminal event, or whose done record
  disagrees with its fills;
- ``fill_duplicated``: one fill id or execution id journaled twice;
- ``supervision``: a supervisor escalated (the run lost an actor);
- ``report_not_journaled``: a report the client received is not in the trail (found by
  the runner, which sees what the client saw);
- ``run_halted`` / ``run_stuck`` / ``nondeterministic``: found by the runner.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from actors.chaos.ledger import Ledger, OrderKey
from engine import messages as m

KNOWN_DEFECTS: dict[str, str] = {}
"""Classes the engine is known to violate today, with why; every other class must be
zero. None: a parent ends only once its venue orders are settled (the session's end
settles what a venue never answers, as expired at its close), and a cancel or amend
that would cancel a parent is pending until then."""

CLASSES = (
    "order_accounting",
    "order_not_final",
    "fill_conservation",
    "excess_after_cross",
    "excess_after_done",
    "excess",
    "orphan_venue_order",
    "done_before_settled",
    "child_terminal",
    "fill_duplicated",
    "supervision",
    "report_not_journaled",
    "run_halted",
    "run_stuck",
    "nondeterministic",
)

_FINAL = {m.OrdStatus.FILLED, m.OrdStatus.CANCELED, m.OrdStatus.REJECTED, m.OrdStatus.EXPIRED}
_OPEN = {m.OrdStatus.NEW, m.OrdStatus.PARTIALLY_FILLED}


@dataclass(frozen=True, slots=True)
class Violation:
    seed: int
    kind: str  # one of CLASSES
    detail: str  # one line

    @property
    def known(self) -> bool:
        return self.kind in KNOWN_DEFECTS


def check(ledger: Ledger, seed: int, *, overallocates: bool) -> list[Violation]:
    """Every invariant on one run's ledger; violations in a fixed order."""
    found: list[tuple[str, str]] = []
    found += _orders(ledger)
    found += _conservation(ledger)
    found += _excess(ledger, overallocates)
    found += _venue_orders(ledger)
    found += _children(ledger)
    found += _duplicates(ledger)
    found += [("supervision", f"escalated: {e}") for e in ledger.escalations]
    return [Violation(seed, kind, detail) for kind, detail in found]


# --------------------------------------------------------------------- client orders


def _orders(ledger: Ledger) -> Iterator[tuple[str, str]]:
    for key, reports in sorted(ledger.reports.items()):
        yield from _order(key, reports)
        submitted = ledger.submits.get(key)
        first = reports[0]
        ordered = submitted[0].quantity if submitted else first.order_qty
        if first.exec_type is m.ExecType.NEW and first.order_qty != ordered:
            detail = f"acknowledged {first.order_qty} of {ordered} ordered"
            yield "order_accounting", f"{'/'.join(key)}: {detail}"
    for key in sorted(ledger.submits.keys() - ledger.reports.keys() - ledger.rejected):
        yield "order_not_final", f"{'/'.join(key)}: submitted, never answered"


def _order(key: OrderKey, reports: list[m.ExecutionReport]) -> Iterator[tuple[str, str]]:
    """One accepted client order's reports, in trail order."""
    name = "/".join(key)
    cum = notional = 0
    final: m.ExecutionReport | None = None
    for r in reports:
        if final is not None:
            yield (
                "order_accounting",
                f"{name}: {r.exec_type.value} after final {final.exec_type.value}",
            )
            return
        if r.exec_type is m.ExecType.TRADE:
            cum += r.last_qty
            notional += r.last_qty * r.last_price
        problem = _report_problem(r, cum, notional)
        if problem:
            yield "order_accounting", f"{name} {r.exec_id}: {problem}"
            return
        if r.ord_status in _FINAL:
            final = r
    if final is None:
        last = reports[-1]
        yield (
            "order_not_final",
            f"{name}: last report {last.exec_type.value}/{last.ord_status.value}, "
            f"{last.cum_qty} of {last.order_qty} filled",
        )


def _report_problem(r: m.ExecutionReport, cum: int, notional: int) -> str:
    """filled + leaves + cancelled = quantity, said the way each status says it."""
    if r.cum_qty != cum or r.cum_notional != notional:
        return f"cum {r.cum_qty} (notional {r.cum_notional}) but fills sum to {cum} ({notional})"
    if not 0 <= r.cum_qty <= r.order_qty:
        return f"filled {r.cum_qty} of {r.order_qty}"
    if r.ord_status in _OPEN and r.cum_qty + r.leaves_qty != r.order_qty:
        return f"open: filled {r.cum_qty} + leaves {r.leaves_qty} != {r.order_qty}"
    if r.ord_status is m.OrdStatus.FILLED and (r.cum_qty != r.order_qty or r.leaves_qty):
        return f"filled status with {r.cum_qty} of {r.order_qty}, leaves {r.leaves_qty}"
    if r.ord_status is m.OrdStatus.CANCELED and r.leaves_qty:
        return f"cancelled with leaves {r.leaves_qty}"
    if r.ord_status is m.OrdStatus.EXPIRED and r.cum_qty + r.leaves_qty != r.order_qty:
        return f"expired: filled {r.cum_qty} + unfilled {r.leaves_qty} != {r.order_qty}"
    return ""


# ---------------------------------------------------------------------------- fills


def _conservation(ledger: Ledger) -> Iterator[tuple[str, str]]:
    for pid, p in sorted(ledger.parents.items()):
        if p.venue_fills != p.parent_fills:
            yield (
                "fill_conservation",
                f"{pid}: venues filled {p.venue_fills}, the parent heard of {p.parent_fills}",
            )
        elif p.parent_fills != p.client_fills + p.excess:
            yield (
                "fill_conservation",
                f"{pid}: filled {p.parent_fills} at venues, clients got {p.client_fills} "
                f"+ excess {p.excess}",
            )
    buys, sells = ledger.internal.get(1, 0), ledger.internal.get(-1, 0)
    if buys != sells or buys != ledger.crosses:
        yield (
            "fill_conservation",
            f"internal fills: buys {buys}, sells {sells}, crosses {ledger.crosses}",
        )


def _excess(ledger: Ledger, overallocates: bool) -> Iterator[tuple[str, str]]:
    """Excess-account fills, by cause: crossing a parent's unfilled part, fills that
    landed after the parent was reported done, anything else."""
    if overallocates:
        return
    for pid, p in sorted(ledger.parents.items()):
        if not p.excess:
            continue
        if p.crossed:
            yield (
                "excess_after_cross",
                f"{pid}: {p.excess} shares to the excess account after {p.crossed} of its "
                "unfilled quantity crossed internally",
            )
            continue
        if p.excess_after_done:
            yield (
                "excess_after_done",
                f"{pid}: {p.excess_after_done} shares to the excess account after it was "
                f"reported {p.done_state} (fills of venue orders still live then)",
            )
        before = p.excess - p.excess_after_done
        if before:
            why = f" after {p.client_shrinks} client cancels/amends" if p.client_shrinks else ""
            yield "excess", f"{pid}: {before} shares to the excess account while working{why}"


# ------------------------------------------------------------ venue orders, children


def _venue_orders(ledger: Ledger) -> Iterator[tuple[str, str]]:
    for oid, vo in sorted(ledger.venue_orders.items()):
        if vo.live:
            done = ledger.parents.get(vo.parent_id)
            state = f", {vo.parent_id} {done.done_state}" if done and done.done_state else ""
            venue = ledger.venue_condition(vo.venue)
            yield (
                "orphan_venue_order",
                f"{oid} at {vo.venue} (venue {venue}): {vo.live} of {vo.quantity} live at "
                f"the end{state}",
            )
    for pid, p in sorted(ledger.parents.items()):
        settled_later = [o for o in p.live_at_done if not ledger.venue_orders[o].live]
        if settled_later:
            yield (
                "done_before_settled",
                f"{pid} {p.done_state} with {len(settled_later)} venue orders live "
                f"(settled later): {', '.join(settled_later[:3])}",
            )


def _children(ledger: Ledger) -> Iterator[tuple[str, str]]:
    for cid, c in sorted(ledger.children.items()):
        ends = c.done + c.rejected
        if not ends and any(vo.live for vo in ledger.venue_orders.values() if vo.child_id == cid):
            continue  # waits for an orphan venue order: reported as that
        if ends != 1:
            yield (
                "child_terminal",
                f"{cid} of {c.parent_id}: {c.done} done + {c.rejected} rejected records",
            )
        elif c.done_filled is not None and c.done_filled != c.filled:
            yield (
                "child_terminal",
                f"{cid}: done with filled {c.done_filled}, fills sum to {c.filled}",
            )
        if c.filled > c.quantity:
            yield "child_terminal", f"{cid}: filled {c.filled} of {c.quantity}"


def _duplicates(ledger: Ledger) -> Iterator[tuple[str, str]]:
    for exec_id in ledger.repeated_exec_ids:
        yield "fill_duplicated", f"execution report {exec_id} journaled twice"
    for (venue, fill_id), n in sorted(ledger.venue_fill_ids.items()):
        if n > 1:
            yield "fill_duplicated", f"venue fill {venue}/{fill_id} journaled {n} times"
    for (pid, fill_id), n in sorted(ledger.parent_fill_ids.items()):
        if n > 1:
            yield "fill_duplicated", f"parent fill {pid}/{fill_id} journaled {n} times"
