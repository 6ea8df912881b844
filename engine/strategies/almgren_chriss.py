"""Almgren–Chriss (2000) optimal liquidation trajectory, closed forms.

Sell (or buy) X shares over T in N periods of τ = T/N. Units are the paper's: shares,
dollars per share, and whatever time unit σ, η and T share (days in Table 1).
Floats only: this is model math; the engine rounds the result to whole lots in
``engine.strategies.schedule``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Below this κT the hyperbolic ratios lose precision; the λ → 0 limit (linear) is exact.
_KAPPA_T_LINEAR = 1e-9
# CLI spelling → field, so errors name the parameter the user typed.
_FIELD = {
    "shares": "shares", "days": "horizon", "periods": "periods", "sigma": "sigma",
    "eta": "eta", "gamma": "gamma", "epsilon": "epsilon", "lambda": "risk_aversion",
}


@dataclass(frozen=True, slots=True)
class AlmgrenChriss:
    """Model parameters, validated; ``risk_aversion`` is the paper's λ."""

    shares: float  # X
    horizon: float  # T
    periods: int  # N
    sigma: float  # volatility, $/share/time^½
    eta: float  # temporary impact, $/share per share/time
    gamma: float  # permanent impact, $/share per share
    epsilon: float  # fixed cost per share: half spread plus fees
    risk_aversion: float  # λ, 1/$

    def __post_init__(self) -> None:
        checks = {
            "shares": (self.shares > 0, "must be > 0"),
            "days": (self.horizon > 0, "must be > 0"),
            "periods": (self.periods >= 1, "must be >= 1"),
            "sigma": (self.sigma >= 0, "must be >= 0"),
            "eta": (self.eta > 0, "must be > 0"),
            "gamma": (self.gamma >= 0, "must be >= 0"),
            "epsilon": (self.epsilon >= 0, "must be >= 0"),
            "lambda": (self.risk_aversion >= 0, "must be >= 0"),
        }
        for name, (ok, rule) in checks.items():
            if not ok:
                raise ParameterError(name, f"{rule}, got {getattr(self, _FIELD[name])}")
        if self.eta_tilde <= 0:
            raise ParameterError("eta", "eta - gamma*tau/2 must be > 0 (use more periods)")

    # ------------------------------------------------------------------ derived

    @property
    def tau(self) -> float:
        return self.horizon / self.periods

    @property
    def eta_tilde(self) -> float:
        """η̃ = η − ½γτ: temporary impact net of the permanent part within a period."""
        return self.eta - 0.5 * self.gamma * self.tau

    @property
    def kappa_tilde_sq(self) -> float:
        return self.risk_aversion * self.sigma**2 / self.eta_tilde

    @property
    def kappa(self) -> float:
        """κ solving (2/τ²)(cosh κτ − 1) = κ̃², i.e. κ = arccosh(1 + ½κ̃²τ²)/τ."""
        return math.acosh(1.0 + 0.5 * self.kappa_tilde_sq * self.tau**2) / self.tau

    @property
    def is_linear(self) -> bool:
        return self.kappa * self.horizon < _KAPPA_T_LINEAR

    def times(self) -> list[float]:
        """t_j = jτ, j = 0..N."""
        return [j * self.tau for j in range(self.periods + 1)]

    # --------------------------------------------------------------- trajectory

    def holdings(self) -> list[float]:
        """x_j = sinh(κ(T − t_j)) / sinh(κT) · X for j = 0..N (x_0 = X, x_N = 0)."""
        X, T, N = self.shares, self.horizon, self.periods
        if self.is_linear:
            return [X * (N - j) / N for j in range(N + 1)]
        k = self.kappa
        s = math.sinh(k * T)
        return [X * (math.sinh(k * (T - t)) / s) for t in self.times()]

    def trades(self) -> list[float]:
        """n_j = 2 sinh(½κτ)/sinh(κT) · cosh(κ(T − t_{j−½})) · X for j = 1..N."""
        X, T, N, tau = self.shares, self.horizon, self.periods, self.tau
        if self.is_linear:
            return [X / N] * N
        k = self.kappa
        scale = 2.0 * math.sinh(0.5 * k * tau) / math.sinh(k * T) * X
        return [scale * math.cosh(k * (T - (j - 0.5) * tau)) for j in range(1, N + 1)]

    # ------------------------------------------------------------ cost (eq. 20)

    def expected_cost(self) -> float:
        """E = ½γX² + εX + η̃X² tanh(½κτ)(τ sinh 2κT + 2T sinh κτ) / (2τ² sinh² κT)."""
        X, T, tau, et = self.shares, self.horizon, self.tau, self.eta_tilde
        base = 0.5 * self.gamma * X**2 + self.epsilon * X
        if self.is_linear:
            return base + et * X**2 / T  # n = X/N each: (η̃/τ)·N·(X/N)² = η̃X²/T
        k = self.kappa
        bracket = tau * math.sinh(2 * k * T) + 2 * T * math.sinh(k * tau)
        num = math.tanh(0.5 * k * tau) * bracket
        return base + et * X**2 * num / (2 * tau**2 * math.sinh(k * T) ** 2)

    def variance(self) -> float:
        """V = ½σ²X² (τ sinh κT cosh κ(T−τ) − T sinh κτ) / (sinh² κT sinh κτ)."""
        X, T, N, tau = self.shares, self.horizon, self.periods, self.tau
        if self.is_linear:
            return self.sigma**2 * X**2 * T / 3 * (1 - 1 / N) * (1 - 1 / (2 * N))
        k = self.kappa
        num = tau * math.sinh(k * T) * math.cosh(k * (T - tau)) - T * math.sinh(k * tau)
        return 0.5 * self.sigma**2 * X**2 * num / (math.sinh(k * T) ** 2 * math.sinh(k * tau))

    def cost_std(self) -> float:
        return math.sqrt(max(self.variance(), 0.0))

    def completed_fractions(self) -> list[float]:
        """Share of X traded by each boundary t_j (0 … 1): the input of a ``Schedule``."""
        X = self.shares
        fractions = [1.0 - x / X for x in self.holdings()]
        fractions[0], fractions[-1] = 0.0, 1.0  # exact ends whatever the rounding
        return fractions


class ParameterError(ValueError):
    """A model parameter is out of range; ``parameter`` names it (CLI spelling)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"--{parameter}: {message}")
        self.parameter = parameter
