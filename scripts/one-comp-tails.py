#!/usr/bin/env python3
"""one_comp_mm_elim_abs (posteriordb): the marginal posterior tails of K_m and V_m (DECISIONS.md D145).

For K_m far above the concentrations (about 14 mg/L at most), the Michaelis-Menten elimination
(V_m / V) y / (K_m + y) becomes linear, rate k = V_m / (V K_m): the likelihood depends on K_m
and V_m through k alone, and only the Cauchy(0, 1) priors keep them from running off together.
Then p(K_m) ~ K_m^-2 (K_m's prior) x integral over V_m = V k K_m (prior ~ (V k K_m)^-2, width
dV_m = V K_m dk), i.e. K_m^-3; likewise p(V_m) ~ V_m^-3. A density tail ~ x^-3 has a finite mean
and an infinite variance: the sd of K_m and V_m is not a property of this posterior, and the
reference's sd (7.28 and 0.56) is one finite-sample value of a diverging quantity.

This script measures the tails independently of the project's code (SciPy's ODE solver, the
data of test/posteriordb): the marginal log density of K_m (and of V_m) at points from 1 to
3000, integrating k_a and the other rate over grids (sigma in closed form over a grid), and the
local slope d log p / d log x, which should approach -3.

    python3 scripts/one-comp-tails.py
"""
import json
import math
import os

import numpy as np
from scipy.integrate import solve_ivp
from scipy.special import logsumexp

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = json.load(open(os.path.join(HERE, "..", "test", "posteriordb", "one_comp_mm_elim_abs-one_comp_mm_elim_abs", "data.json")))
T = np.array(DATA["times"], dtype=float)
Y = np.log(np.array(DATA["C_hat"], dtype=float))
D, V = float(DATA["D"]), float(DATA["V"])
N = len(T)


def solve(ka, km, vm):
    """C at the measurement times for arrays of parameters (one ODE per entry, solved together)."""

    def rhs(t, y):
        return np.exp(-ka * t) * D * ka / V - (vm / V) * y / (km + y)

    out = solve_ivp(rhs, (0.0, T[-1]), np.zeros_like(ka), t_eval=T, method="DOP853", rtol=1e-9, atol=1e-12)
    assert out.success, out.message
    return out.y  # (len(ka), N)


def log_cauchy_half(x):
    return math.log(2 / math.pi) - np.log1p(x * x)


SIG = np.exp(np.linspace(math.log(0.03), math.log(1.0), 400))
LOG_SIG_PRIOR = log_cauchy_half(SIG) + np.log(SIG)  # integrate over log sigma


def log_lik_sigma_marginal(C):
    """log of the integral over sigma of lognormal(C_hat | C, sigma) x sigma's prior, per row."""
    S = np.sum((Y[None, :] - np.log(np.maximum(C, 1e-300))) ** 2, axis=1)
    ll = -N * np.log(SIG)[None, :] - S[:, None] / (2 * SIG[None, :] ** 2) - Y.sum() - 0.5 * N * math.log(2 * math.pi)
    return logsumexp(ll + LOG_SIG_PRIOR[None, :], axis=1) + math.log(np.log(SIG[1] / SIG[0]))


KA = np.linspace(0.35, 1.35, 41)
RATE = np.exp(np.linspace(math.log(1e-3), math.log(3.0), 161))  # k = V_m / (V K_m), the linear limit's rate


def marginal_km(km):
    """log p(K_m = km) up to a constant: V_m = V k km over the RATE grid, Jacobian V km dk."""
    ka, k = np.meshgrid(KA, RATE, indexing="ij")
    vm = V * k * km
    C = solve(ka.ravel(), np.full(ka.size, km), vm.ravel())
    lp = log_lik_sigma_marginal(C) + log_cauchy_half(ka.ravel()) + log_cauchy_half(vm.ravel()) + np.log(V * km * k.ravel())
    dka, dlogk = KA[1] - KA[0], math.log(RATE[1] / RATE[0])
    return float(logsumexp(lp) + math.log(dka * dlogk)) + float(log_cauchy_half(km))


def marginal_vm(vm):
    """log p(V_m = vm) up to a constant: K_m = vm / (V k) over the RATE grid, Jacobian vm / (V k) per log k."""
    ka, k = np.meshgrid(KA, RATE, indexing="ij")
    km = vm / (V * k)
    C = solve(ka.ravel(), km.ravel(), np.full(ka.size, vm))
    lp = log_lik_sigma_marginal(C) + log_cauchy_half(ka.ravel()) + log_cauchy_half(km.ravel()) + np.log(km.ravel())
    dka, dlogk = KA[1] - KA[0], math.log(RATE[1] / RATE[0])
    return float(logsumexp(lp) + math.log(dka * dlogk)) + float(log_cauchy_half(vm))


def report(name, f, xs):
    lp = [f(x) for x in xs]
    print(f"{name}: x, log p(x) (unnormalised), local slope d log p / d log x")
    for i, x in enumerate(xs):
        slope = "" if i == 0 else f"{(lp[i] - lp[i - 1]) / math.log(x / xs[i - 1]):.3f}"
        print(f"  {x:10.3g}  {lp[i]:12.4f}  {slope}")
    return lp


if __name__ == "__main__":
    report("K_m", marginal_km, [1, 3, 10, 30, 100, 300, 1000, 3000])
    report("V_m", marginal_vm, [1, 3, 10, 30, 100, 300, 1000, 3000])
