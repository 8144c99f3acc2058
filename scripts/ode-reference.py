"""SciPy reference solutions for the ODE solvers' tests (test/ode/solvers.test.ts).

Usage (from the repository root):  python3 scripts/ode-reference.py [NAME ...]
Writes test/fixtures/ode/scipy-reference.json: for each problem its parameters, the solution
at the output times from solve_ivp (DOP853 for the non-stiff problems, Radau with the exact
Jacobian for the stiff ones, rtol 1e-12 and the atol given), and the sensitivities
dy(ts)/d(y0, p) by central finite differences of such solutions (step 1e-4 relative).
With NAMEs, only those problems are recomputed and the others kept from the existing file.
Van der Pol at mu = 1000 takes about 80 s (11 s a solve); the rest a few seconds.
"""
import json
import sys
import numpy as np
import scipy
from scipy.integrate import solve_ivp


def lotka_volterra(t, y, p):
    a, b, g, d = p
    return [(a - b * y[1]) * y[0], (-g + d * y[0]) * y[1]]


def sir(t, y, p):
    beta, kappa, gamma, xi, delta = p
    inf = beta * y[3] / (y[3] + kappa) * y[0]
    return [-inf, inf - gamma * y[1], gamma * y[1], xi * y[1] - delta * y[3]]


def one_comp_mm(t, y, p):
    k_a, K_m, V_m, D, V = p
    return [np.exp(-k_a * t) * D * k_a / V - (V_m / V) * y[0] / (K_m + y[0])]


def robertson(t, y, p):
    k1, k2, k3 = p
    return [-k1 * y[0] + k3 * y[1] * y[2], k1 * y[0] - k3 * y[1] * y[2] - k2 * y[1] ** 2, k2 * y[1] ** 2]


def robertson_jac(t, y, p):
    k1, k2, k3 = p
    return [[-k1, k3 * y[2], k3 * y[1]], [k1, -k3 * y[2] - 2 * k2 * y[1], -k3 * y[1]], [0.0, 2 * k2 * y[1], 0.0]]


def van_der_pol(t, y, p):
    # x'' = mu (1 - x^2) x' - x: relaxation oscillations of period about 1.614 mu (MATLAB's vdp1000).
    (mu,) = p
    return [y[1], mu * (1 - y[0] ** 2) * y[1] - y[0]]


def van_der_pol_jac(t, y, p):
    (mu,) = p
    return [[0.0, 1.0], [-2 * mu * y[0] * y[1] - 1, mu * (1 - y[0] ** 2)]]


PROBLEMS = [
    dict(name="lotka_volterra", f=lotka_volterra, method="DOP853", atol=1e-12, y0=[33.0, 6.2], t0=0.0,
         ts=[float(k) for k in range(1, 21)], p=[0.55, 0.028, 0.80, 0.024], fd=True),
    dict(name="sir", f=sir, method="DOP853", atol=1e-10, y0=[10000.0, 0.0, 0.0, 10000.0], t0=0.0,
         ts=[7.0 * k for k in range(1, 21)], p=[1.2, 1e6, 0.3, 10.0, 0.3], fd=True),
    dict(name="one_comp_mm", f=one_comp_mm, method="DOP853", atol=1e-12, y0=[0.0], t0=0.0,
         ts=[0.5 * k for k in range(1, 21)], p=[0.8954585993783711, 2.0323899360129936, 1.0715274444357301, 30.0, 2.0], fd=True),
    dict(name="robertson", f=robertson, method="Radau", atol=1e-20, y0=[1.0, 0.0, 0.0], t0=0.0,
         ts=[0.4, 4.0, 40.0, 400.0, 4000.0, 40000.0], p=[0.04, 3e7, 1e4], fd=True, jac=robertson_jac),
    # Output times on the slow branches, away from the jumps near t = 807 and 2421.
    dict(name="van_der_pol", f=van_der_pol, method="Radau", atol=1e-12, y0=[2.0, 0.0], t0=0.0,
         ts=[1.0, 10.0, 100.0, 400.0, 700.0, 1000.0, 1500.0, 2000.0, 2500.0, 3000.0], p=[1000.0], fd=True,
         jac=van_der_pol_jac),
]


def solve(pr, y0, p):
    jac = pr.get("jac")
    sol = solve_ivp(lambda t, y: pr["f"](t, y, p), (pr["t0"], pr["ts"][-1]), y0, method=pr["method"],
                    t_eval=pr["ts"], rtol=1e-12, atol=pr["atol"],
                    jac=None if jac is None else (lambda t, y: np.array(jac(t, y, p))))
    assert sol.success, (pr["name"], sol.message)
    return sol.y.T  # [T, n]


PATH = "test/fixtures/ode/scipy-reference.json"
only = sys.argv[1:]
kept = {}
if only:
    with open(PATH) as fh:
        kept = {e["name"]: e for e in json.load(fh)["problems"]}
out = {"scipy_version": scipy.__version__, "rtol": 1e-12, "problems": []}
for pr in PROBLEMS:
    if only and pr["name"] not in only:
        if pr["name"] in kept:
            out["problems"].append(kept[pr["name"]])
        continue
    y = solve(pr, pr["y0"], pr["p"])
    entry = {k: pr[k] for k in ("name", "method", "atol", "y0", "t0", "ts", "p")}
    entry["y"] = y.tolist()
    if pr["fd"]:
        theta = list(pr["y0"]) + list(pr["p"])
        n = len(pr["y0"])
        sens = []  # [m][T][n]
        for j in range(len(theta)):
            h = 1e-4 * max(abs(theta[j]), 1e-2)
            up, dn = list(theta), list(theta)
            up[j] += h
            dn[j] -= h
            d = (solve(pr, up[:n], up[n:]) - solve(pr, dn[:n], dn[n:])) / (2 * h)
            sens.append(d.tolist())
        entry["sens"] = sens
    out["problems"].append(entry)
    print(pr["name"], "done", flush=True)
with open(PATH, "w") as fh:
    json.dump(out, fh, indent=1)
