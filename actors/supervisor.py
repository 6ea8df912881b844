"""Supervision, Erlang/OTP style (pykka has none).

A ``Supervisor`` owns child specs and a restart policy:

- strategy: ``one_for_one`` (restart the failed child), ``one_for_all`` (restart every
  child), ``rest_for_one`` (restart the failed child and those started after it);
- per child: ``permanent`` (always restarted), ``transient`` (restarted after a failure;
  a normal stop is final), ``temporary`` (never restarted: a temporary child taken down
  by a sibling's failure or by its subtree's restart is stopped and dropped, as in OTP);
- a restart stops the affected children in reverse start order, then starts them again
  in start order; each restart is journaled (``ActorRestarted``), counted and logged;
- intensity: more than ``max_restarts`` within ``window_ns`` of runtime time escalates:
  the supervisor stops its children and fails to its parent supervisor, which treats the
  whole subtree as one failed child and restarts all of it, nested supervisors included,
  in start order; past the top, the run halts (``RuntimeHalted``).

Children are addressed by stable names, so senders survive a restart; a restarted actor
gets the next generation (its RNG is reseeded from (seed, name, generation)) and rebuilds
its state in ``started()``. Every failure is logged and counted, never silent.
"""

from __future__ import annotations

import enum
import itertools
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from actors.actor import EngineActor
from actors.logs import log_failure
from actors.runtime import Runtime, RuntimeHalted
from engine.clock import SECOND
from engine.messages import ActorFailed, ActorRestarted, SupervisorEscalated

# Start order across a whole supervision tree: a subtree restart starts its children
# (nested supervisors' included) in the order they were first started.
_start_seq = itertools.count()


class RestartStrategy(enum.StrEnum):
    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"


class RestartType(enum.StrEnum):
    PERMANENT = "permanent"
    TRANSIENT = "transient"
    TEMPORARY = "temporary"


@dataclass
class ChildSpec:
    """How to start (and restart) one child: a stable name, its actor class and arguments."""

    name: str
    actor_class: type[EngineActor]
    kwargs: dict[str, Any] = field(default_factory=dict)
    restart: RestartType = RestartType.PERMANENT


class Supervisor:
    """One node of the supervision tree (see the module docstring for its semantics)."""

    def __init__(
        self,
        runtime: Runtime,
        name: str = "supervisor",
        strategy: RestartStrategy = RestartStrategy.ONE_FOR_ONE,
        max_restarts: int = 3,
        window_ns: int = 5 * SECOND,
        parent: Supervisor | None = None,
    ) -> None:
        self.runtime = runtime
        self.name = name
        self.strategy = strategy
        self.max_restarts = max_restarts
        self.window_ns = window_ns
        self.parent = parent
        self.children: dict[str, ChildSpec] = {}  # in start order (rest_for_one needs it)
        self.generations: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.restarts: Counter[str] = Counter()
        self.subtrees: list[Supervisor] = []
        self._start_order: dict[str, int] = {}
        self.escalated = False
        self._recent: deque[int] = deque()
        if parent is None:
            runtime.supervisor = self
        else:
            parent.subtrees.append(self)

    # ------------------------------------------------------------------ children

    def start_child(self, spec: ChildSpec) -> None:
        if spec.name in self.children:
            raise ValueError(f"a child named {spec.name!r} is already supervised")
        self.children[spec.name] = spec
        self._start_order[spec.name] = next(_start_seq)
        self._start(spec)

    def _start(self, spec: ChildSpec) -> None:
        self.runtime.spawn(spec.actor_class, spec.name, self.generations[spec.name], **spec.kwargs)

    def stop_child(self, name: str) -> None:
        """A normal stop: the child is not restarted."""
        self.children.pop(name, None)
        self._start_order.pop(name, None)
        ref = self.runtime.ref(name)
        self.runtime.detach(name)
        if ref is not None:
            ref.stop(block=False)

    # ------------------------------------------------------------------ failures

    def child_failed(self, name: str, exc: BaseException) -> None:
        owner = self._owner_of(name)
        if owner is not self:
            owner.child_failed(name, exc)
            return
        spec = self.children.get(name)
        if spec is None:
            log_failure("WARNING", "unsupervised actor {!r} failed", name, exc=exc)
            return
        self.failures[name] += 1
        self.runtime.stats["supervisor_failures"] += 1
        self.runtime.journal(
            self.name,
            ActorFailed(
                name=name, error=f"{type(exc).__name__}: {exc}", restarts=self.restarts[name]
            ),
        )
        if spec.restart is RestartType.TEMPORARY:
            self._drop(name)
            return
        if self._intensity_exceeded():
            self._escalate(
                f"{name} failed: more than {self.max_restarts} restarts in "
                f"{self.window_ns / SECOND:g}s"
            )
            return
        affected = self._to_restart(name)
        for child in reversed(affected):  # siblings taken down, last started first
            self._take_down(child)
        for child in affected:
            if child != name and self.children[child].restart is RestartType.TEMPORARY:
                logger.warning(
                    "supervisor {!r} drops temporary child {!r} (taken down by {!r}'s "
                    "failure, never restarted)",
                    self.name,
                    child,
                    name,
                )
                self._drop(child)
            else:
                self._restart(child)

    def _owner_of(self, name: str) -> Supervisor:
        if name in self.children:
            return self
        for sub in self.subtrees:
            found = sub._owner_of(name)
            if name in found.children:
                return found
        return self

    def _intensity_exceeded(self) -> bool:
        now = self.runtime.now()
        self._recent.append(now)
        while self._recent and self._recent[0] < now - self.window_ns:
            self._recent.popleft()
        return len(self._recent) > self.max_restarts

    def _to_restart(self, failed: str) -> list[str]:
        """The children a failure takes down, in start order (temporary ones included:
        they are stopped and dropped, not restarted)."""
        names = list(self.children)
        if self.strategy is RestartStrategy.ONE_FOR_ONE:
            return [failed]
        if self.strategy is RestartStrategy.ONE_FOR_ALL:
            return names
        return names[names.index(failed) :]

    def _take_down(self, name: str) -> None:
        """Stop a running child (a sibling taken down by one_for_all / rest_for_one);
        a failed child is already gone."""
        ref = self.runtime.ref(name)
        if ref is not None:
            self.runtime.detach(name)
            ref.stop()

    def _drop(self, name: str) -> None:
        del self.children[name]
        self._start_order.pop(name, None)

    def _restart(self, name: str) -> None:
        """Every restart (single, sibling, subtree) goes through here: stop what still
        runs, next generation, count, log, journal ``ActorRestarted``, start."""
        self._take_down(name)
        self.generations[name] += 1
        self.restarts[name] += 1
        self.runtime.stats["restarts"] += 1
        logger.warning(
            "supervisor {!r} restarts {!r} (restart #{})", self.name, name, self.restarts[name]
        )
        self.runtime.journal(self.name, ActorRestarted(name=name, restarts=self.restarts[name]))
        self._start(self.children[name])

    def _escalate(self, reason: str) -> None:
        self.escalated = True
        self.runtime.stats["escalations"] += 1
        logger.error("supervisor {!r} escalates: {!r}", self.name, reason)
        self.runtime.journal(self.name, SupervisorEscalated(name=self.name, reason=reason))
        self.stop_all()
        if self.parent is None:
            raise RuntimeHalted(f"supervisor {self.name} escalated: {reason}")
        self.parent.subtree_failed(self, reason)

    def subtree_failed(self, sub: Supervisor, reason: str) -> None:
        """A child supervisor gave up: restart its whole subtree, within our intensity."""
        self.failures[sub.name] += 1
        if self._intensity_exceeded():
            self._escalate(f"subtree {sub.name} failed ({reason}) too often")
            return
        sub._restart_tree()

    def _tree(self) -> list[Supervisor]:
        """This supervisor and every supervisor below it."""
        tree = [self]
        for sub in self.subtrees:
            tree.extend(sub._tree())
        return tree

    def _restart_tree(self) -> None:
        """Restart this (stopped) subtree whole, as a new one: each supervisor's children,
        nested supervisors' included, in start order; temporary children are dropped.
        Restart histories start afresh, as for a new supervisor process in OTP."""
        tree = self._tree()
        for sup in tree:
            sup.escalated = False
            sup._recent.clear()
        for sup in tree:  # stop_all() already stopped them; make sure of it
            for name in reversed(list(sup.children)):
                sup._take_down(name)
        order = sorted(
            (sup._start_order[name], i, name) for i, sup in enumerate(tree) for name in sup.children
        )
        for _, i, name in order:
            sup = tree[i]
            if sup.children[name].restart is RestartType.TEMPORARY:
                logger.warning(
                    "supervisor {!r} drops temporary child {!r} (its subtree "
                    "restarts, never restarted)",
                    sup.name,
                    name,
                )
                sup._drop(name)
            else:
                sup._restart(name)

    def stop_all(self) -> None:
        for sub in self.subtrees:
            sub.stop_all()
        for name in reversed(list(self.children)):
            ref = self.runtime.ref(name)
            self.runtime.detach(name)
            if ref is not None:
                ref.stop()
