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
# Above this ½κ̃²τ² arccosh(1 + z) is ln 2z in doubles (and z itself may overflow).
_Z_LOG = 1e300
# CLI spelling → field, so errors name the parameter the user typed.
_FIELD = {
    "shares": "shares",
    "days": "horizon",
    "periods": "periods",
    "sigma": "sigma",
    "eta": "eta",
    "gamma": "gamma",
    "epsilon": "epsilon",
    "lambda": "risk_aversion",
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
            value = getattr(self, _FIELD[name])
            if not math.isfinite(value):
                raise ParameterError(name, f"must be a finite number, got {value}")
            if not ok:
                raise ParameterError(name, f"{rule}, got {value}")
        if self.eta_tilde <= 0:
            raise ParameterError("eta", "eta - gamma*tau/2 must be > 0 (use more periods)")
        # E lies between the TWAP cost and selling all at once (εX + ηX²/τ), V between 0
        # and about σ²X²T/3: if these scales fit in a float, so do E and V.
        X, too_large = self.shares, "too large: the cost or its variance overflows a float"
        scales = [
            ("shares", X * X, too_large),
            ("sigma", (self.sigma * X) * (self.sigma * X) * self.horizon, too_large),
            ("eta", self.eta * X * X, too_large),
            (
                "days",
                self.eta * X * X / self.tau,
                "too short: selling X in one period costs more than a float holds",
            ),
            ("gamma", self.gamma * X * X, too_large),
            ("epsilon", self.epsilon * X, too_large),
        ]
        for name, scale, message in scales:
            if not math.isfinite(scale):
                raise ParameterError(name, message)

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
        return self.risk_aversion * self.sigma * self.sigma / self.eta_tilde

    @property
    def kappa_tau(self) -> float:
        """κτ = arccosh(1 + ½κ̃²τ²), finite for any finite parameters: where ½κ̃²τ² would
        overflow, arccosh(1 + z) = ln 2z to double precision, taken in logs."""
        lam, sigma, tau = self.risk_aversion, self.sigma, self.tau
        if lam == 0 or sigma == 0:
            return 0.0
        z = 0.5 * self.kappa_tilde_sq * tau * tau
        if z < _Z_LOG:
            return math.acosh(1.0 + z)
        return math.log(lam) + 2 * math.log(sigma) - math.log(self.eta_tilde) + 2 * math.log(tau)

    @property
    def kappa(self) -> float:
        """κ solving (2/τ²)(cosh κτ − 1) = κ̃², i.e. κ = arccosh(1 + ½κ̃²τ²)/τ."""
        return self.kappa_tau / self.tau

    @property
    def is_linear(self) -> bool:
        return self.kappa_tau * self.periods < _KAPPA_T_LINEAR

    def times(self) -> list[float]:
        """t_j = jτ, j = 0..N."""
        return [j * self.tau for j in range(self.periods + 1)]

    # --------------------------------------------------------------- trajectory
    #
    # The paper's sinh/cosh ratios overflow once κT > 710 (a large λ, or a long horizon
    # in many periods). Each is written below with decaying exponentials only, with
    # b = κτ, a = κT = Nb and 1 − e^{−x} = -expm1(−x): the same values for ordinary κ,
    # and the sell-everything-now limit (n_1 = X) for a huge one.

    def _unit_holdings(self) -> list[float]:
        """x_j / X = sinh(κ(T − t_j)) / sinh(κT) = e^{−jb}(1 − e^{−2(N−j)b}) / (1 − e^{−2a})."""
        N, b = self.periods, self.kappa_tau
        if self.is_linear:
            return [(N - j) / N for j in range(N + 1)]
        den = _one_minus_exp(2 * N * b)
        return [math.exp(-j * b) * _one_minus_exp(2 * (N - j) * b) / den for j in range(N + 1)]

    def holdings(self) -> list[float]:
        """x_j = sinh(κ(T − t_j)) / sinh(κT) · X for j = 0..N (x_0 = X, x_N = 0)."""
        X = self.shares
        return _finite([X * u for u in self._unit_holdings()], "holdings")

    def trades(self) -> list[float]:
        """n_j = 2 sinh(½κτ)/sinh(κT) · cosh(κ(T − t_{j−½})) · X for j = 1..N,
        i.e. X e^{−(j−1)b} (1 − e^{−b})(1 + e^{−2c}) / (1 − e^{−2a}), c = a − (j − ½)b."""
        X, N, b = self.shares, self.periods, self.kappa_tau
        if self.is_linear:
            return [X / N] * N
        scale = X * _one_minus_exp(b) / _one_minus_exp(2 * N * b)
        return _finite(
            [
                scale * math.exp(-(j - 1) * b) * (1 + math.exp(-2 * (N - j + 0.5) * b))
                for j in range(1, N + 1)
            ],
            "trades",
        )

    # ------------------------------------------------------------ cost (eq. 20)

    def expected_cost(self) -> float:
        """E = ½γX² + εX + η̃X² tanh(½κτ)(τ sinh 2κT + 2T sinh κτ) / (2τ² sinh² κT),
        the fraction being (τ(1 − e^{−4a}) + 2T e^{b−2a}(1 − e^{−2b})) / (τ²(1 − e^{−2a})²)."""
        X, T, tau, et = self.shares, self.horizon, self.tau, self.eta_tilde
        base = 0.5 * self.gamma * X * X + self.epsilon * X
        if self.is_linear:
            return _finite([base + et * X * X / T], "expected cost")[0]  # η̃X²/T for n = X/N
        b = self.kappa_tau
        a = self.periods * b
        bracket = tau * _one_minus_exp(4 * a) + 2 * T * math.exp(b - 2 * a) * _one_minus_exp(2 * b)
        frac = math.tanh(0.5 * b) * bracket / (tau * tau * _one_minus_exp(2 * a) ** 2)
        return _finite([base + et * X * X * frac], "expected cost")[0]

    def variance(self) -> float:
        """V = ½σ²X² (τ sinh κT cosh κ(T−τ) − T sinh κτ) / (sinh² κT sinh κτ)
        = σ²X² (τr(1 − q)(1 + e^{−2(a−b)}) − 2Tq(1 − r)) / ((1 − q)²(1 − r)),
        q = e^{−2a}, r = e^{−2b}."""
        X, T, N, tau = self.shares, self.horizon, self.periods, self.tau
        sx2 = (self.sigma * X) * (self.sigma * X)
        if self.is_linear:
            return _finite([sx2 * T / 3 * (1 - 1 / N) * (1 - 1 / (2 * N))], "variance")[0]
        b = self.kappa_tau
        a = N * b
        q, r = math.exp(-2 * a), math.exp(-2 * b)
        one_q, one_r = _one_minus_exp(2 * a), _one_minus_exp(2 * b)
        num = tau * r * one_q * (1 + math.exp(-2 * (a - b))) - 2 * T * q * one_r
        return _finite([sx2 * (num / (one_q * one_q * one_r))], "variance")[0]

    def cost_std(self) -> float:
        return math.sqrt(max(self.variance(), 0.0))

    def completed_fractions(self) -> list[float]:
        """Share of X traded by each boundary t_j (0 … 1): the input of a ``Schedule``."""
        fractions = [1.0 - u for u in self._unit_holdings()]
        fractions[0], fractions[-1] = 0.0, 1.0  # exact ends whatever the rounding
        return fractions


def _one_minus_exp(x: float) -> float:
    """1 − e^{−x}, accurate for small x too."""
    return -math.expm1(-x)


def _finite(values: list[float], what: str) -> list[float]:
    # The scale checks in __post_init__ should make this unreachable; a NaN or infinity
    # must never reach a schedule or a report all the same.
    if not all(math.isfinite(v) for v in values):
        raise ParameterError("shares", f"the {what} is not a finite number for these parameters")
    return values


class ParameterError(ValueError):
    """A model parameter is out of range; ``parameter`` names it (CLI spelling)."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(f"--{parameter}: {message}")
        self.parameter = parameter
