"""Supervision, Erlang/OTP style (pykka has none).

A ``Supervisor`` owns child specs and a restart policy:

- strategy: ``one_for_one`` (restart the failed child), ``one_for_all`` (restart every
  child), ``rest_for_one`` (restart the failed child and those started after it);
- per child: ``permanent`` (always restarted), ``transient`` (restarted after a failure;
  a normal stop is final), ``temporary`` (never restarted);
- intensity: more than ``max_restarts`` within ``window_ns`` of runtime time escalates:
  the supervisor stops its children and fails to its parent supervisor, which treats the
  whole subtree as one failed child; past the top, the run halts (``RuntimeHalted``).

Children are addressed by stable names, so senders survive a restart; a restarted actor
gets the next generation (its RNG is reseeded from (seed, id, generation)) and rebuilds
its state in ``started()``. Every failure is logged and counted, never silent.
"""

from __future__ import annotations

import enum
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from loguru import logger

from actors.actor import EngineActor
from actors.runtime import Runtime, RuntimeHalted
from engine.clock import SECOND
from engine.messages import ActorFailed, ActorRestarted, SupervisorEscalated


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
    name: str
    actor_class: type[EngineActor]
    kwargs: dict[str, Any] = field(default_factory=dict)
    restart: RestartType = RestartType.PERMANENT


class Supervisor:
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
        self._start(spec)

    def _start(self, spec: ChildSpec) -> None:
        self.runtime.spawn(spec.actor_class, spec.name, self.generations[spec.name],
                           **spec.kwargs)

    def stop_child(self, name: str) -> None:
        """A normal stop: the child is not restarted."""
        self.children.pop(name, None)
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
            logger.warning("unsupervised actor {} failed: {!r}", name, exc)
            return
        self.failures[name] += 1
        self.runtime.stats["supervisor_failures"] += 1
        self.runtime.journal(self.name, ActorFailed(
            name=name, error=f"{type(exc).__name__}: {exc}", restarts=self.restarts[name]
        ))
        if spec.restart is RestartType.TEMPORARY:
            del self.children[name]
            return
        if self._intensity_exceeded():
            self._escalate(f"{name} failed: more than {self.max_restarts} restarts in "
                           f"{self.window_ns / SECOND:g}s")
            return
        for child in self._to_restart(name):
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
        names = list(self.children)
        if self.strategy is RestartStrategy.ONE_FOR_ONE:
            return [failed]
        if self.strategy is RestartStrategy.ONE_FOR_ALL:
            return names
        return names[names.index(failed):]

    def _restart(self, name: str) -> None:
        ref = self.runtime.ref(name)
        if ref is not None:  # a sibling taken down by one_for_all / rest_for_one
            self.runtime.detach(name)
            ref.stop()
        self.generations[name] += 1
        self.restarts[name] += 1
        self.runtime.stats["restarts"] += 1
        logger.warning("supervisor {} restarts {} (restart #{})", self.name, name,
                       self.restarts[name])
        self.runtime.journal(self.name, ActorRestarted(name=name, restarts=self.restarts[name]))
        self._start(self.children[name])

    def _escalate(self, reason: str) -> None:
        self.escalated = True
        self.runtime.stats["escalations"] += 1
        logger.error("supervisor {} escalates: {}", self.name, reason)
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
        sub.escalated = False
        sub._recent.clear()
        for name in list(sub.children):
            sub.generations[name] += 1
            sub._start(sub.children[name])

    def stop_all(self) -> None:
        for sub in self.subtrees:
            sub.stop_all()
        for name in reversed(list(self.children)):
            ref = self.runtime.ref(name)
            self.runtime.detach(name)
            if ref is not None:
                ref.stop()
