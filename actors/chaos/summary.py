"""The figures of a chaos campaign: runs, orders, faults by kind, violations by class,
each with its seed and the command that replays it. The text depends only on the
results (in seed order), never on the wall clock or the number of workers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from actors.chaos.generator import CRASH
from actors.chaos.invariants import CLASSES, KNOWN_DEFECTS, Violation
from actors.chaos.kill_resume import KILL_CLASSES
from actors.chaos.runner import RunResult
from engine.messages import FaultKind

FAULT_ORDER = (*(k.value for k in FaultKind), CRASH)
SHOWN_PER_KNOWN_CLASS = 10  # runs listed per known defect class; the others by seed only
SEEDS_LISTED = 40  # of those others


def replay_command(seed: int) -> str:
    return f"smart-exec chaos --replay {seed}"


@dataclass
class Summary:
    runs: int = 0
    orders: int = 0
    venue_orders: int = 0
    records: int = 0
    reruns: int = 0
    killed: int = 0  # runs also killed and resumed
    faults: Counter[str] = field(default_factory=Counter)
    faults_across_close: int = 0
    violations: list[Violation] = field(default_factory=list)
    first_seed: int | None = None
    last_seed: int | None = None

    def add(self, result: RunResult) -> None:
        self.runs += 1
        self.orders += result.orders
        self.venue_orders += result.venue_orders
        self.records += result.records
        self.reruns += result.rerun
        self.killed += result.killed
        self.faults.update(result.faults)
        self.faults_across_close += result.faults_across_close
        self.violations += result.violations
        if self.first_seed is None:
            self.first_seed = result.seed
        self.last_seed = result.seed

    @classmethod
    def of(cls, results: Iterable[RunResult]) -> Summary:
        summary = cls()
        for result in results:
            summary.add(result)
        return summary

    def by_class(self) -> dict[str, list[Violation]]:
        out: dict[str, list[Violation]] = {}
        for v in self.violations:
            out.setdefault(v.kind, []).append(v)
        return {kind: out[kind] for kind in (*CLASSES, *KILL_CLASSES) if kind in out}

    def unexpected(self) -> list[Violation]:
        """Violations outside the known defects: what must be zero."""
        return [v for v in self.violations if v.kind not in KNOWN_DEFECTS]

    # ------------------------------------------------------------------- text

    def lines(self, every: bool = False) -> list[str]:
        """The report; every violation of an unexpected class is listed with its replay
        command, of a known defect class the first few runs' (``every``: all of them)."""
        seeds = f"seeds {self.first_seed}..{self.last_seed}" if self.runs else "no seeds"
        faults = ", ".join(f"{k} {self.faults[k]:,}" for k in FAULT_ORDER if self.faults[k])
        out = [
            f"runs: {self.runs:,} ({seeds}), every one ended"
            if not self._stuck()
            else f"runs: {self.runs:,} ({seeds}), {self._stuck()} did not end",
            f"client orders: {self.orders:,}; venue orders: {self.venue_orders:,}; "
            f"trail records: {self.records:,}",
            f"faults: {faults or 'none'}; {self.faults_across_close:,} across the close",
            f"same seed, same digest: {self.reruns:,} seeds re-run, "
            f"{self._count('nondeterministic')} differed",
        ]
        if self.killed:
            failed = len({v.seed for v in self.violations if v.kind in KILL_CLASSES})
            out.append(
                f"killed and resumed: {self.killed:,} runs, {self.killed - failed:,} resumed to "
                "the uninterrupted digest"
            )
        out += self._violation_lines(every)
        return out

    def _violation_lines(self, every: bool) -> list[str]:
        classes = self.by_class()
        if not classes:
            return ["violations: none"]
        runs = len({v.seed for v in self.violations})
        out = [f"violations: {len(self.violations):,} in {runs:,} runs"]
        for kind, found in classes.items():
            seeds = sorted({v.seed for v in found})
            known = kind in KNOWN_DEFECTS
            out.append(
                f"  {kind}{' (known defect)' if known else ''}: "
                f"{len(found):,} in {len(seeds):,} runs"
            )
            shown = _one_per_seed(found)[:SHOWN_PER_KNOWN_CLASS] if known and not every else found
            for v in shown:
                out.append(f"    seed {v.seed}: {v.detail}")
                out.append(f"      replay: {replay_command(v.seed)}")
            rest = seeds[len({v.seed for v in shown}) :] if shown is not found else []
            if rest:
                listed = ", ".join(map(str, rest[:SEEDS_LISTED]))
                more = len(rest) - SEEDS_LISTED
                tail = f" and {more:,} more (--all lists them)" if more > 0 else ""
                out.append(f"    also seeds: {listed}{tail}")
        return out

    def _count(self, kind: str) -> int:
        return sum(v.kind == kind for v in self.violations)

    def _stuck(self) -> int:
        return len({v.seed for v in self.violations if v.kind == "run_stuck"})


def _one_per_seed(violations: list[Violation]) -> list[Violation]:
    seen: set[int] = set()
    out = []
    for v in violations:
        if v.seed not in seen:
            seen.add(v.seed)
            out.append(v)
    return out
