"""The comparison as a person reads it (a table, the run's baseline section) and as a
program does (JSON). Figures come from ``actors.comparison``; conventions in
``docs/tca.md``."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import asdict

from actors.comparison import Row, SeedFigures, baseline_costs, execution_cost, measure
from actors.scenario_runner import Baseline, ScenarioResult
from engine.tca.text import format_bps

LEGEND = textwrap.fill(
    "bps, + = cost (saving: + = the engine cheaper), mean over seeds. cost: shortfall vs "
    "each client order's arrival mid, fees included, unfilled shares marked at the end "
    "price; vs VWAP: fills vs the market VWAP over each order's life without our own "
    "fills; drift-adj.: against the same seed's market without our orders; fees: net of "
    "rebates, in bps of the ordered notional (in the cost); baseline: "
    "each order marketable to the primary venue; completion: in the baseline's drift-adj. "
    "cost, buying the rest of its must-complete orders (at least what its cheapest fills "
    "paid over the mid); saving ± standard error [95 % interval]; "
    "passive taker: passive-tactic shares filled as taker; child fill: median time for a "
    "child to fill completely (Kaplan-Meier: a child cancelled first counts as unfilled "
    "until it ended), take fill: the same for aggressive children; excess: shares to the "
    "excess account per seed",
    width=92,
)


def _round(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list):
        return [_round(v) for v in value]
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    return value


def to_json(rows: Sequence[Row]) -> dict:
    return {"rows": [{k: _round(v) for k, v in asdict(r).items()} for r in rows]}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _saving(row: Row) -> str:
    text = format_bps(row.drift_adjusted_saving_bps)
    if row.drift_adjusted_saving_se_bps is not None:
        text += f" ± {row.drift_adjusted_saving_se_bps:.1f}"
    if row.drift_adjusted_saving_ci95_bps is not None:
        low, high = row.drift_adjusted_saving_ci95_bps
        text += f" [{low:+.1f}, {high:+.1f}]"
    return text


HEADER = (
    "scenario",
    "logic",
    "seeds",
    "cost",
    "vs VWAP",
    "drift-adj.",
    "fees",
    "baseline",
    "baseline drift-adj.",
    "completion",
    "drift-adj. saving",
    "raw saving",
    "passive taker",
    "fill ratio",
    "child fill",
    "take fill",
    "excess",
)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.1f}s" if seconds >= 1 else f"{seconds * 1000:.1f}ms"


def _cells(r: Row) -> tuple[str, ...]:
    take = r.median_child_fill_s_by_tactic.get("aggressive")
    return (
        r.scenario,
        r.logic,
        str(r.seeds),
        format_bps(r.cost_vs_arrival_bps),
        format_bps(r.cost_vs_vwap_bps),
        format_bps(r.drift_adjusted_cost_bps),
        "-" if r.fees_bps is None else f"{r.fees_bps:+.2f}",
        format_bps(r.baseline_cost_bps),
        format_bps(r.baseline_drift_adjusted_cost_bps),
        format_bps(r.baseline_completion_bps),
        _saving(r),
        format_bps(r.saving_bps),
        _pct(r.passive_taker_share),
        _pct(r.fill_ratio),
        _duration(r.median_child_fill_s),
        _duration(take),
        f"{r.excess_shares:,.0f}",
    )


def format_table(rows: Sequence[Row]) -> str:
    table = [HEADER, *(_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in table) for i in range(len(HEADER))]
    lines = [
        "  ".join(
            v.ljust(w) if i < 2 else v.rjust(w)
            for i, (v, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in table
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ------------------------------------------------------------- the run's summary


COST = "cost vs arrival (fees in, unfilled shares at the end price)"


def execution_lines(result: ScenarioResult, baseline: Baseline | None) -> list[str]:
    """The client executions, then (with a baseline) the baseline and the saving, both
    raw and with the market's own move taken out, and each parent's market move split
    into the drift without our orders and our own impact."""
    if baseline is None:
        return _engine_lines(result)
    figures = measure(result, baseline)
    base = baseline_costs(result.scenario, baseline)[0]
    return [
        *_engine_lines(result, figures),
        "Baseline (each order marketable to the primary venue): "
        f"{base.filled:,} of {base.ordered:,} shares ({base.fill_ratio:.1%})",
        f"  {COST}: {format_bps(base.bps)} bps (opportunity "
        f"{format_bps(base.opportunity_bps)}, completion {format_bps(base.completion_bps)}); "
        f"drift-adjusted: {format_bps(figures.baseline_drift_adjusted_cost_bps)} bps",
        "Engine saving vs baseline, drift-adjusted: "
        f"{format_bps(figures.drift_adjusted_saving_bps)} bps (raw: "
        f"{format_bps(figures.saving_bps)} bps; one seed, `smart-exec compare --seeds N` "
        "gives its standard error)",
        *_drift_lines(result, baseline),
    ]


def _engine_lines(result: ScenarioResult, figures: SeedFigures | None = None) -> list[str]:
    cost, vwap = execution_cost(result)
    lines = [
        f"Client executions: {cost.filled:,} of {cost.ordered:,} shares ({cost.fill_ratio:.1%})",
        f"  {COST}: {format_bps(cost.bps)} bps; vs interval VWAP without own fills: "
        f"{format_bps(vwap)} bps",
    ]
    if figures is not None:
        lines.append(
            "  drift-adjusted (vs the same seed's market without our orders): "
            f"{format_bps(figures.drift_adjusted_cost_bps)} bps; market drift over our "
            f"fills: {format_bps(figures.market_drift_bps)} bps"
        )
    return lines


def _drift_lines(result: ScenarioResult, baseline: Baseline) -> list[str]:
    """How far the market moved against each parent over its life, and how much of that
    it would have moved without us (a schedule's timing risk; the rest is our impact)."""
    lines = []
    cf = baseline.counterfactual
    for p in result.tca.parents:
        start, end = cf.mid_at(p.start_ns), cf.mid_at(p.end_ns)
        ours = result.tca.tape.mid_at(p.end_ns)
        if start is None or end is None or ours is None:
            continue
        drift = int(p.side) * (end - start) / start * 1e4
        impact = int(p.side) * (ours - end) / start * 1e4
        lines.append(
            f"Market drift against {p.parent_id} over its life without our orders "
            f"(arrival → end mid): {format_bps(drift)} bps; our impact on its end mid: "
            f"{format_bps(impact)} bps"
        )
    return lines


def comparison_figures(result: ScenarioResult, baseline: Baseline | None) -> dict[str, str]:
    """The summary's comparison as the HTML report's label → value rows (the same figures
    ``execution_lines`` prints)."""
    cost, vwap = execution_cost(result)
    figures = {
        "Engine: client shares filled": (
            f"{cost.filled:,} of {cost.ordered:,} ({cost.fill_ratio:.1%})"
        ),
        f"Engine: {COST} (bps, + = cost)": format_bps(cost.bps),
        "Engine: vs interval VWAP without own fills (bps)": format_bps(vwap),
    }
    if baseline is None:
        return figures
    seed = measure(result, baseline)
    base = baseline_costs(result.scenario, baseline)[0]
    return figures | {
        "Engine: drift-adjusted cost (bps)": format_bps(seed.drift_adjusted_cost_bps),
        "Baseline (each order marketable to the primary venue): shares filled": (
            f"{base.filled:,} of {base.ordered:,} ({base.fill_ratio:.1%})"
        ),
        f"Baseline: {COST} (bps)": format_bps(base.bps),
        "Baseline: drift-adjusted cost (bps)": format_bps(seed.baseline_drift_adjusted_cost_bps),
        "Engine saving vs baseline, drift-adjusted (bps, + = engine cheaper)": format_bps(
            seed.drift_adjusted_saving_bps
        ),
        "Engine saving vs baseline, raw (bps)": format_bps(seed.saving_bps),
    }


__all__ = ["LEGEND", "comparison_figures", "execution_lines", "format_table", "to_json"]
