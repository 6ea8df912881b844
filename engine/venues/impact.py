"""Market impact of directional flow on the value of an instrument.

A locally linear latent order book (Tóth et al. 2011, "Anomalous price impact and the
critical nature of liquidity"; Donier et al. 2015): the liquidity latent around the value
grows linearly away from it, so pushing the value by ``I`` consumes a volume ∝ I² and a
meta-order of ``Q`` shares moves it by I ∝ √Q, whatever its slicing. Scaled as the
square-root law, I = Y·σ_D·√(Q/V_D) (σ_D the daily volatility, V_D the daily volume).

The latent book refills behind the move: the volume it remembers is the signed
directional volume seen through a decaying kernel K(ℓ) = K∞ + Σ_j w_j·e^(−ℓ/τ_j), a
power-law propagator (Bouchaud et al. 2004) approximated by a few exponentials so that
the state is O(1) to carry. K∞ > 0 is the permanent part: after a meta-order the impact
relaxes towards √(K∞/K̄) of its peak (K̄ the kernel's mean over the meta-order), about
2/3 as measured by Moro et al. (2009) and Bershova & Rakhlin (2013).

Why a latent book rather than a linear propagator: a linear propagator makes the impact
of a meta-order linear in its volume at a given duration, and a per-trade concave law
(v^ψ) makes it depend on how the meta-order is sliced. The square root of the latent
volume has neither flaw.

The state decays only at trades and at the instants it is read (the value traders'
wakes), which are the same however a simulation slices time, so the value is a
function of the seed and of the flow alone.
"""

from __future__ import annotations

import math

from engine.config import FlowConfig

_NS = 1e9


def check_kernel(config: FlowConfig) -> None:
    """A kernel K(ℓ) that starts at 1 and decays to K∞ ≥ 0, and a non-negative Y."""
    times, weights = config.impact_decay_s, config.impact_weights
    if len(times) != len(weights):
        raise ValueError("flow.impact_decay_s and flow.impact_weights differ in length")
    if not all(math.isfinite(t) and t > 0 for t in times):
        raise ValueError(f"flow.impact_decay_s: {times} must be finite and > 0")
    if not all(math.isfinite(w) and w >= 0 for w in weights) or sum(weights) > 1 + 1e-9:
        raise ValueError(f"flow.impact_weights: {weights} must be ≥ 0 and sum to at most 1")
    if not (math.isfinite(config.impact_y) and config.impact_y >= 0):
        raise ValueError(f"flow.impact_y: {config.impact_y} must be finite and ≥ 0")


class LatentImpact:
    """The relative move of the value (a fraction of the price) that directional flow has
    left: positive after net buying."""

    __slots__ = (
        "_decay",
        "_permanent",
        "_quiet",
        "_scale",
        "_states",
        "_t",
        "_weights",
        "permanent",
    )

    def __init__(self, config: FlowConfig, daily_volume: float, start_ns: int) -> None:
        check_kernel(config)
        self._weights = tuple(config.impact_weights)
        self._permanent = max(0.0, 1.0 - sum(self._weights))  # K∞: what never decays
        self._decay = tuple(1.0 / (s * _NS) for s in config.impact_decay_s)
        self._states = [0.0] * len(self._weights)
        self.permanent = 0.0  # K∞·(net directional volume so far)
        self._scale = 0.0
        self._quiet = True  # no directional volume yet: no impact (the common case)
        self._t = start_ns
        self.rescale(config, daily_volume)

    def rescale(self, config: FlowConfig, daily_volume: float) -> None:
        """Set V_D, the market's daily volume the square-root law is scaled to."""
        self._scale = (
            config.impact_y * config.fundamental_vol / math.sqrt(daily_volume)
            if daily_volume > 0
            else 0.0
        )

    def trade(self, t_ns: int, signed_qty: float) -> None:
        """Directional volume at ``t_ns``: + bought, − sold."""
        self._age(t_ns)
        self._quiet = False
        self.permanent += self._permanent * signed_qty
        states, weights = self._states, self._weights
        for j in range(len(states)):
            states[j] += weights[j] * signed_qty

    def at(self, t_ns: int) -> float:
        """The impact at ``t_ns`` as a fraction of the price: sign(Q)·Y·σ_D·√(|Q|/V_D)."""
        if self._quiet:
            return 0.0
        self._age(t_ns)
        q = self.permanent + sum(self._states)
        return math.copysign(self._scale * math.sqrt(abs(q)), q)

    def _age(self, t_ns: int) -> None:
        dt = t_ns - self._t
        if dt <= 0:
            return
        self._t = t_ns
        states = self._states
        for j, rate in enumerate(self._decay):
            if states[j]:
                states[j] *= math.exp(-dt * rate)
