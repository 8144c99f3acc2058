"""The exact gradient of posteriordb's lotka_volterra at the points of the Stan corpus fixture
(test/stan/posteriordb/fixtures/hudson_lynx_hare-lotka_volterra.json: Stan's log_prob gradient
with the program's integrate_ode_rk45 at rtol 1e-5, atol 1e-3), for
test/ode/lotka-volterra-corpus.test.ts (DECISIONS.md D207).

Usage (from the repository root):  python3 scripts/lotka-volterra-exact-gradient.py
Writes test/fixtures/ode/lotka-volterra-exact-gradient.json: per point the unconstrained
coordinates, the log density (every constant kept: only differences and gradients compare) and
its gradient by central differences (steps 1e-5 and 2e-5, Richardson-extrapolated) of solves by
SciPy's DOP853 at rtol = atol = 1e-12, with the largest relative change between the two steps
(a bound on the differencing error). A few seconds.
"""
import gzip
import json
import numpy as np
import scipy
from scipy.integrate import solve_ivp

CORPUS = "test/stan/posteriordb"
OUT = "test/fixtures/ode/lotka-volterra-exact-gradient.json"

with gzip.open(f"{CORPUS}/data/hudson_lynx_hare.json.gz", "rt") as f:
    data = json.load(f)
ts = np.array(data["ts"], float)
y_init = np.array(data["y_init"], float)
Y = np.array(data["y"], float)
with open(f"{CORPUS}/fixtures/hudson_lynx_hare-lotka_volterra.json") as f:
    points = json.load(f)["points"]


def lognormal(x, mu, s):
    return -np.log(s) - np.log(x) - 0.5 * np.log(2 * np.pi) - 0.5 * ((np.log(x) - mu) / s) ** 2


def normal(x, mu, s):
    return -np.log(s) - 0.5 * np.log(2 * np.pi) - 0.5 * ((x - mu) / s) ** 2


def log_density(u):
    """The program's model block and the log Jacobian of its lower = 0 bounds at unconstrained u."""
    theta, z0, sigma = np.exp(u[0:4]), np.exp(u[4:6]), np.exp(u[6:8])
    a, b, g, d = theta
    sol = solve_ivp(lambda t, z: [(a - b * z[1]) * z[0], (-g + d * z[0]) * z[1]], (0, ts[-1]), z0, method="DOP853", t_eval=ts, rtol=1e-12, atol=1e-12)
    if not sol.success:
        raise RuntimeError(sol.message)
    z = sol.y.T
    lp = normal(theta[0], 1, 0.5) + normal(theta[2], 1, 0.5) + normal(theta[1], 0.05, 0.05) + normal(theta[3], 0.05, 0.05)
    lp += lognormal(sigma, -1, 1).sum() + lognormal(z0, np.log(10), 1).sum()
    for k in range(2):
        lp += lognormal(y_init[k], np.log(z0[k]), sigma[k]) + lognormal(Y[:, k], np.log(z[:, k]), sigma[k]).sum()
    return lp + u.sum()


def central(u, h):
    return np.array([(log_density(u + h * e) - log_density(u - h * e)) / (2 * h) for e in np.eye(len(u))])


out = []
for p in points:
    u = np.array(p["upars"], float)
    g1, g2 = central(u, 1e-5), central(u, 2e-5)
    exact = (4 * g1 - g2) / 3
    change = float(np.max(np.abs(g1 - exact) / np.maximum(1, np.abs(exact))))
    out.append({"upars": p["upars"], "log_density": float(log_density(u)), "gradient": exact.tolist(), "differencing_change": change})
    print(f"point {len(out) - 1}: log density {out[-1]['log_density']:.6f}, differencing change {change:.1e}")

with open(OUT, "w") as f:
    json.dump({"method": f"central differences (1e-5, 2e-5, Richardson) of scipy {scipy.__version__} DOP853 solves at rtol = atol = 1e-12",
               "points": out}, f, indent=1)
