#!/usr/bin/env python3
"""Generate reference log-densities for the runtime's distributions.

Usage (from the repository root):

    python3 scripts/gen-distribution-reference.py            # writes the fixture
    python3 scripts/gen-distribution-reference.py --report   # also prints every replacement
    python3 scripts/gen-distribution-reference.py --cdf      # only cdf-reference.json
    python3 scripts/gen-distribution-reference.py --cdf --resume   # keep what an interrupted run wrote

Output: test/fixtures/distributions-reference.json (log densities) and
test/fixtures/cdf-reference.json (log CDFs / CCDFs and their gradients).

Conventions are Stan's (parameter names and meanings, see
test/fixtures/distributions-README.md).  Every logp is the full normalised
log pdf / log pmf, all constants included.

How each value is obtained
--------------------------
* The primary value comes from SciPy / NumPy (scipy.stats ``logpdf`` /
  ``logpmf``; for a few distributions that SciPy does not parameterise the
  Stan way -- bernoulli_logit, binomial_logit, poisson_log, half_student_t,
  multi_normal_cholesky -- an explicit closed form built from
  scipy.special / scipy.linalg functions, see ``SCIPY`` below).
* Every case is ALSO evaluated independently with mpmath at 50 significant
  digits, from the exact binary values of the float64 inputs (mpf(float) is
  exact).  That value, rounded once to float64, is correct to < 1 ulp.
* If SciPy's value differs from the mpmath value by more than
  REPLACE_REL (relative), SciPy has lost precision.  Observed with scipy
  1.17.1: nbinom with phi = 1e8 (gammaln(x+phi) - gammaln(phi) cancellation
  and p = phi/(mu+phi) within 1e-6 of 1; errors up to 2e-7); laplace far
  tail (scipy computes log(pdf), which underflows to -inf beyond |z| ~ 745);
  and rounding-level (< 6e-12) cancellations in betaln / gammaln-based
  lchoose and the rounding of scale = exp(mu) or 1/beta.  Then the mpmath
  value (an exact closed form) is written instead and the case
  carries ``"source": "mpmath"``.  The script prints a summary of every
  replacement (distribution, count, worst SciPy relative error) on stderr.
* A case is DROPPED (not written) if its logp is exactly 0 or if it is
  ill-conditioned for float64 evaluation: COND = (sum of |terms| of the usual
  formula, evaluated with standard careful building blocks such as
  lgamma / log1p / lchoose) / |logp| > MAX_COND.  Such cases arise by accident
  of the grid when the terms cancel to nearly zero (e.g. the uniform(0,1)
  density, or a normal density where -log(sigma) cancels -0.5*log(2*pi)); no
  float64 implementation can be expected to meet a 1e-10 relative tolerance
  there.  Dropped cases are counted on stderr.

Log CDF / log CCDF values (cdf-reference.json)
----------------------------------------------
* For every case of the same grids (they reach far into the tails), the exact
  log CDF and log CCDF from mpmath at 50 digits (``CDF`` below: closed forms,
  mpmath.ncdf / erf / erfc / gammainc / betainc, every complement written as
  its own lower integral so that nothing cancels: a Poisson CCDF is
  P(k + 1, lambda), a beta CCDF I_{1-x}(b, a)).  scipy's logcdf / logsf
  (where it has them) are compared and the worst disagreement printed, for
  information: scipy underflows in the far tails that mpmath reaches.
* A value that is exactly 0, infinite, or ill-conditioned (COND: the relative
  condition number with respect to x and the location, from the density,
  above MAX_COND) is written as null and not tested.
* Every CDF_GRAD_EVERY-th case also carries the exact gradient of both with
  respect to every continuous argument (and x for continuous distributions):
  with respect to x, and the location and scale of symmetric families, from
  the density (+-pdf / probability); other arguments by mpmath.diff at 50
  digits.  A log probability closer to 0 than 1/2 is log1p(-complement).

There is no randomness except a fixed-seed numpy Generator used to pick a few
vectors for the multivariate distributions, so the output is deterministic.
"""

from __future__ import annotations

import json
import math
import os
import sys
from collections import OrderedDict

import mpmath
import numpy as np
import scipy
import scipy.linalg
import scipy.special as sp
from scipy import stats

mpmath.mp.dps = 50
M = mpmath.mpf

REPLACE_REL = 1e-14  # scipy value kept only if within this relative distance of the exact value
MAX_COND = 1e5       # drop cases whose float64 evaluation is unavoidably ill-conditioned

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "fixtures",
                   "distributions-reference.json")
CDF_OUT = os.path.join(os.path.dirname(OUT), "cdf-reference.json")
CDF_GRAD_EVERY = 7

LOG2PI = mpmath.log(2 * mpmath.pi)
LOGPI = mpmath.log(mpmath.pi)
LOG2 = mpmath.log(2)


def lgam(v):
    return mpmath.loggamma(v)


def lchoose(n, k):
    return lgam(n + 1) - lgam(k + 1) - lgam(n - k + 1)


def log1pexp(v):
    """log(1 + exp(v)) in mpmath, stable for any sign."""
    if v > 0:
        return v + mpmath.log1p(mpmath.exp(-v))
    return mpmath.log1p(mpmath.exp(v))


# --------------------------------------------------------------------------
# Exact (mpmath) densities.  Each returns (logp, [term magnitudes]); the
# magnitudes are the sizes of the terms a careful float64 implementation adds
# up, used only for the conditioning filter.
# --------------------------------------------------------------------------

def mp_normal(p, x):
    mu, s, x = M(p["mu"]), M(p["sigma"]), M(x)
    z = (x - mu) / s
    t = [-LOG2PI / 2, -mpmath.log(s), -z * z / 2]
    return sum(t), t


def mp_half_normal(p, x):
    lp, t = mp_normal({"mu": 0.0, "sigma": p["sigma"]}, x)
    return lp + LOG2, t + [LOG2]


def mp_cauchy(p, x):
    mu, s, x = M(p["mu"]), M(p["sigma"]), M(x)
    z = (x - mu) / s
    t = [-LOGPI, -mpmath.log(s), -mpmath.log1p(z * z)]
    return sum(t), t


def mp_half_cauchy(p, x):
    lp, t = mp_cauchy({"mu": 0.0, "sigma": p["sigma"]}, x)
    return lp + LOG2, t + [LOG2]


def mp_student_t(p, x):
    nu, mu, s, x = M(p["nu"]), M(p["mu"]), M(p["sigma"]), M(x)
    z = (x - mu) / s
    t = [lgam((nu + 1) / 2), -lgam(nu / 2), -mpmath.log(nu * mpmath.pi) / 2, -mpmath.log(s),
         -(nu + 1) / 2 * mpmath.log1p(z * z / nu)]
    return sum(t), t


def mp_half_student_t(p, x):
    lp, t = mp_student_t({"nu": p["nu"], "mu": 0.0, "sigma": p["sigma"]}, x)
    return lp + LOG2, t + [LOG2]


def mp_exponential(p, x):
    lam, x = M(p["lambda"]), M(x)
    t = [mpmath.log(lam), -lam * x]
    return sum(t), t


def mp_gamma(p, x):
    a, b, x = M(p["alpha"]), M(p["beta"]), M(x)
    t = [a * mpmath.log(b), -lgam(a), (a - 1) * mpmath.log(x), -b * x]
    return sum(t), t


def mp_inv_gamma(p, x):
    a, b, x = M(p["alpha"]), M(p["beta"]), M(x)
    t = [a * mpmath.log(b), -lgam(a), -(a + 1) * mpmath.log(x), -b / x]
    return sum(t), t


def mp_beta(p, x):
    a, b, x = M(p["alpha"]), M(p["beta"]), M(x)
    t = [(a - 1) * mpmath.log(x), (b - 1) * mpmath.log1p(-x),
         -lgam(a), -lgam(b), lgam(a + b)]
    return sum(t), t


def mp_uniform(p, x):
    lo, hi = M(p["lower"]), M(p["upper"])
    t = [-mpmath.log(hi - lo)]
    return sum(t), t


def mp_lognormal(p, x):
    mu, s, x = M(p["mu"]), M(p["sigma"]), M(x)
    lx = mpmath.log(x)
    z = (lx - mu) / s
    t = [-LOG2PI / 2, -mpmath.log(s), -lx, -z * z / 2]
    # log(x) - mu cancels when log x ~ mu: error of z ~ eps*(|log x|+|mu|)/sigma
    extra = abs(z) * (abs(lx) + abs(mu)) / s
    return sum(t), t + [extra]


def mp_laplace(p, x):
    mu, s, x = M(p["mu"]), M(p["sigma"]), M(x)
    t = [-LOG2, -mpmath.log(s), -abs(x - mu) / s]
    return sum(t), t


def mp_weibull(p, x):
    a, s, x = M(p["alpha"]), M(p["sigma"]), M(x)
    r = x / s
    t = [mpmath.log(a), -mpmath.log(s), (a - 1) * mpmath.log(r), -r ** a]
    # pow amplifies the rounding of x/sigma by alpha; log(x)-log(sigma) may cancel
    extra = [a * r ** a, abs(a - 1) * (abs(mpmath.log(x)) + abs(mpmath.log(s)))]
    return sum(t), t + extra


def mp_logistic(p, x):
    mu, s, x = M(p["mu"]), M(p["sigma"]), M(x)
    z = abs((x - mu) / s)  # density is symmetric; this is the stable form
    t = [-z, -mpmath.log(s), -2 * mpmath.log1p(mpmath.exp(-z))]
    return sum(t), t


def mp_bernoulli(p, x):
    q = M(p["p"])
    t = [mpmath.log(q) if x == 1 else mpmath.log1p(-q)]
    return sum(t), t


def mp_bernoulli_logit(p, x):
    a = M(p["alpha"])
    t = [-log1pexp(-a) if x == 1 else -log1pexp(a)]
    return sum(t), t


def lchoose_terms(n, x):
    """lchoose(n, x) as the three lgamma terms a plain implementation adds up.
    For x = 0 or x = n they cancel exactly in float64 too (lgamma(1) = 0 and
    lgamma(n+1) - lgamma(n+1) = 0), so they are then not counted as rounding
    sources: the value is just the exactly-zero coefficient."""
    if x == 0 or x == n:
        return [M(0)]
    return [lgam(M(n) + 1), -lgam(M(x) + 1), -lgam(M(n - x) + 1)]


def mp_binomial(p, x):
    n, q = p["n"], M(p["p"])
    t = lchoose_terms(n, x)
    if x > 0:
        t.append(x * mpmath.log(q))
    if n - x > 0:
        t.append((n - x) * mpmath.log1p(-q))
    return sum(t), t


def mp_binomial_logit(p, x):
    n, a = p["n"], M(p["alpha"])
    t = lchoose_terms(n, x)
    if x > 0:
        t.append(-x * log1pexp(-a))
    if n - x > 0:
        t.append(-(n - x) * log1pexp(a))
    return sum(t), t


def mp_poisson(p, x):
    lam = M(p["lambda"])
    t = [x * mpmath.log(lam) if x > 0 else M(0), -lam, -lgam(M(x) + 1)]
    return sum(t), t


def mp_poisson_log(p, x):
    a = M(p["alpha"])
    t = [x * a, -mpmath.exp(a), -lgam(M(x) + 1)]
    return sum(t), t


def mp_neg_binomial_2(p, x):
    mu, phi = M(p["mu"]), M(p["phi"])
    x_ = M(x)
    # lchoose(x + phi - 1, x) is taken as ONE term: with phi = 1e8 a float64
    # implementation must evaluate it carefully (as Stan's
    # binomial_coefficient_log does), and likewise phi*log(phi/(mu+phi)) =
    # -phi*log1p(mu/phi).
    t = [lgam(x_ + phi) - lgam(phi) - lgam(x_ + 1),
         x_ * (mpmath.log(mu) - mpmath.log(mu + phi)) if x > 0 else M(0),
         -phi * mpmath.log1p(mu / phi)]
    return sum(t), t


def mp_multi_normal_cholesky(p, x):
    mu = [M(v) for v in p["mu"]]
    L = [[M(v) for v in row] for row in p["L"]]
    xs = [M(v) for v in x]
    k = len(mu)
    z = []
    for i in range(k):  # forward substitution L z = x - mu
        acc = xs[i] - mu[i]
        for j in range(i):
            acc -= L[i][j] * z[j]
        z.append(acc / L[i][i])
    q = sum(v * v for v in z)
    logdet = sum(mpmath.log(L[i][i]) for i in range(k))
    t = [-k * LOG2PI / 2, -logdet, -q / 2]
    # Rounding in float64: forward substitution is componentwise backward
    # stable, |dz| <~ k |L^-1| |L| |z| u, plus |L^-1| |dd| u where d = x - mu is
    # rounded (it is exact when x_i and mu_i are within a factor 2, Sterbenz).
    # The induced error of q/2 is |z|.|dz|; we add that (in units of u).
    Lf = np.array(p["L"], dtype=float)
    Linv = np.abs(np.linalg.inv(Lf))
    zf = np.abs(np.array([float(v) for v in z]))
    dinexact = np.array([0.0 if M(float(xs[i] - mu[i])) == xs[i] - mu[i] else abs(float(xs[i] - mu[i]))
                         for i in range(k)])
    dz = k * Linv @ (np.abs(Lf) @ zf) + Linv @ dinexact
    extra = [M(float(zf @ dz))] + [mpmath.log(L[i][i]) for i in range(k)]
    return sum(t), t + extra


def mp_dirichlet(p, x):
    a = [M(v) for v in p["alpha"]]
    xs = [M(v) for v in x]
    t = [lgam(sum(a))] + [-lgam(v) for v in a] + [(ai - 1) * mpmath.log(xi) for ai, xi in zip(a, xs)]
    return sum(t), t


# --------------------------------------------------------------------------
# Exact (mpmath) log CDF and log CCDF: each returns (cdf, ccdf) as mpf
# probabilities (no logs yet), computed without cancellation.
# --------------------------------------------------------------------------

def reg_beta(a, b, x):
    """I_x(a, b) as the lower integral (no cancellation)."""
    if x <= 0:
        return M(0)
    if x >= 1:
        return M(1)
    return mpmath.betainc(a, b, 0, x, regularized=True)


def lower_gamma(a, y):
    return mpmath.gammainc(a, 0, y, regularized=True)


def upper_gamma(a, y):
    return mpmath.gammainc(a, y, mpmath.inf, regularized=True)


def cdf_normal(p, x):
    z = (M(x) - M(p["mu"])) / M(p["sigma"])
    return mpmath.ncdf(z), mpmath.ncdf(-z)


def cdf_half_normal(p, x):
    z = M(x) / M(p["sigma"]) / mpmath.sqrt(2)
    return mpmath.erf(z), mpmath.erfc(z)


def cauchy_lower(z):
    # 1/2 + atan(z)/pi, and for z < 0 the equal atan(-1/z)/pi (no cancellation)
    return mpmath.atan(-1 / z) / mpmath.pi if z < 0 else M(1) / 2 + mpmath.atan(z) / mpmath.pi


def cdf_cauchy(p, x):
    z = (M(x) - M(p["mu"])) / M(p["sigma"])
    return cauchy_lower(z), cauchy_lower(-z)


def cdf_half_cauchy(p, x):
    z = M(x) / M(p["sigma"])
    return 2 * mpmath.atan(z) / mpmath.pi, 2 * mpmath.atan(1 / z) / mpmath.pi if z > 0 else M(1)


def t_lower(t, nu):
    # P(T <= t) = I_{nu/(nu+t^2)}(nu/2, 1/2) / 2 for t <= 0
    if t <= 0:
        return reg_beta(nu / 2, M(1) / 2, nu / (nu + t * t)) / 2
    return M(1) / 2 + reg_beta(M(1) / 2, nu / 2, t * t / (nu + t * t)) / 2


def cdf_student_t(p, x):
    nu = M(p["nu"])
    t = (M(x) - M(p["mu"])) / M(p["sigma"])
    return t_lower(t, nu), t_lower(-t, nu)


def cdf_half_student_t(p, x):
    nu = M(p["nu"])
    t = M(x) / M(p["sigma"])
    return reg_beta(M(1) / 2, nu / 2, t * t / (nu + t * t)), reg_beta(nu / 2, M(1) / 2, nu / (nu + t * t))


def cdf_exponential(p, x):
    y = M(p["lambda"]) * M(x)
    return -mpmath.expm1(-y), mpmath.exp(-y)


def cdf_gamma(p, x):
    y = M(p["beta"]) * M(x)
    return lower_gamma(M(p["alpha"]), y), upper_gamma(M(p["alpha"]), y)


def cdf_inv_gamma(p, x):
    y = M(p["beta"]) / M(x)
    return upper_gamma(M(p["alpha"]), y), lower_gamma(M(p["alpha"]), y)


def cdf_beta(p, x):
    a, b, x = M(p["alpha"]), M(p["beta"]), M(x)
    return reg_beta(a, b, x), reg_beta(b, a, 1 - x)


def cdf_uniform(p, x):
    lo, hi, x = M(p["lower"]), M(p["upper"]), M(x)
    return (x - lo) / (hi - lo), (hi - x) / (hi - lo)


def cdf_lognormal(p, x):
    z = (mpmath.log(M(x)) - M(p["mu"])) / M(p["sigma"])
    return mpmath.ncdf(z), mpmath.ncdf(-z)


def cdf_laplace(p, x):
    z = (M(x) - M(p["mu"])) / M(p["sigma"])
    half = lambda v: mpmath.exp(v) / 2 if v < 0 else 1 - mpmath.exp(-v) / 2
    return half(z), half(-z)


def cdf_weibull(p, x):
    r = (M(x) / M(p["sigma"])) ** M(p["alpha"])
    return -mpmath.expm1(-r), mpmath.exp(-r)


def cdf_logistic(p, x):
    z = (M(x) - M(p["mu"])) / M(p["sigma"])
    return 1 / (1 + mpmath.exp(-z)), 1 / (1 + mpmath.exp(z))


def pmf_sums(logpmf, k, lo, hi):
    """(P(Y <= k), P(Y > k)) as sums of exact pmf values over lo..hi (hi may be None:
    summed until the terms past the mode are negligible); no complement is formed."""
    def total(a, b):
        acc = M(0)
        j = a
        while b is None or j <= b:
            t = mpmath.exp(logpmf(j))
            acc += t
            if b is None and j > k + 10 and t < acc * M(10) ** -60 and logpmf(j + 1) < logpmf(j):
                break
            j += 1
        return acc
    return total(lo, min(k, hi) if hi is not None else k), total(k + 1, hi)


def binom_parts(n, lq, l1q, k):
    """Binomial(n, q) CDF and CCDF at k from log q and log(1 - q) (each exact)."""
    if k >= n:
        return M(1), M(0)
    if k < 0:
        return M(0), M(1)
    return pmf_sums(lambda j: lchoose(n, j) + j * lq + (n - j) * l1q, k, 0, n)


def logs_of(q):
    q = M(q)
    return mpmath.log(q), mpmath.log1p(-q)


def logit_logs(alpha):
    a = M(alpha)
    return -log1pexp(-a), -log1pexp(a)


def cdf_bernoulli(p, x):
    return binom_parts(1, *logs_of(p["p"]), x)


def cdf_bernoulli_logit(p, x):
    return binom_parts(1, *logit_logs(p["alpha"]), x)


def cdf_binomial(p, x):
    return binom_parts(p["n"], *logs_of(p["p"]), x)


def cdf_binomial_logit(p, x):
    return binom_parts(p["n"], *logit_logs(p["alpha"]), x)


def cdf_poisson(p, x):
    return upper_gamma(M(x) + 1, M(p["lambda"])), lower_gamma(M(x) + 1, M(p["lambda"]))


def cdf_poisson_log(p, x):
    lam = mpmath.exp(M(p["alpha"]))
    return upper_gamma(M(x) + 1, lam), lower_gamma(M(x) + 1, lam)


def cdf_neg_binomial_2(p, x):
    mu, phi = M(p["mu"]), M(p["phi"])
    q = mu / (mu + phi)

    def lower_sum():
        # pmf sums by the recurrence pmf(j + 1) = pmf(j) (j + phi) / (j + 1) * mu / (mu + phi)
        # (mpmath's betainc does not converge for phi = 1e8).
        pmf = mpmath.exp(-phi * mpmath.log1p(mu / phi))
        acc = M(0)
        for j in range(x + 1):
            acc += pmf
            pmf *= (j + phi) / (j + 1) * q
        return acc, pmf

    lower, pmf = lower_sum()
    # pmf is now pmf(x + 1); the upper tail decays like q^j: sum it directly when that is
    # fast, else take the complement at enough extra digits (it is then not small).
    if -mpmath.log(q) > M(1e-3):
        upper = M(0)
        j = x + 1
        while True:
            upper += pmf
            nxt = pmf * (j + phi) / (j + 1) * q
            if j > x + 10 and nxt < pmf and nxt < upper * M(10) ** -60:
                break
            pmf = nxt
            j += 1
    else:
        with mpmath.workdps(200):
            upper = +(1 - lower_sum()[0])
        assert upper > M(10) ** -140, (p, x)
    return lower, upper


CDF = {name[4:]: fn for name, fn in list(globals().items()) if name.startswith("cdf_")}
DISCRETE = {"bernoulli", "bernoulli_logit", "binomial", "binomial_logit", "poisson", "poisson_log", "neg_binomial_2"}
# Arguments that are integers (never differentiated).
INTEGER_ARGS = {"n"}
LOCATION = {"mu"}

SCIPY_CDF = {
    "normal": lambda p, x: (stats.norm.logcdf(x, p["mu"], p["sigma"]), stats.norm.logsf(x, p["mu"], p["sigma"])),
    "gamma": lambda p, x: (stats.gamma.logcdf(x, p["alpha"], scale=1 / p["beta"]), stats.gamma.logsf(x, p["alpha"], scale=1 / p["beta"])),
    "beta": lambda p, x: (stats.beta.logcdf(x, p["alpha"], p["beta"]), stats.beta.logsf(x, p["alpha"], p["beta"])),
    "student_t": lambda p, x: (stats.t.logcdf(x, p["nu"], p["mu"], p["sigma"]), stats.t.logsf(x, p["nu"], p["mu"], p["sigma"])),
    "poisson": lambda p, x: (stats.poisson.logcdf(x, p["lambda"]), stats.poisson.logsf(x, p["lambda"])),
}


LOCATION_SCALE = {"normal", "cauchy", "student_t", "laplace", "logistic"}
SCALE_ONLY = {"half_normal", "half_cauchy", "half_student_t"}


def log_prob(prob, other):
    """log(prob), through log1p(-other) when prob > 1/2 (its complement is exact then);
    None when it is 0 or -inf."""
    if prob <= 0:
        return None
    lv = mpmath.log1p(-other) if prob > 0.5 else mpmath.log(prob)
    return None if lv == 0 else lv


def cdf_case(name, params, x, with_grad):
    cdf, ccdf = CDF[name](params, x)
    out = OrderedDict([("params", params), ("x", x)])
    lp = None
    if name not in DISCRETE:
        lp, _ = MP[name](params, x)
    for key, prob, other in (("lcdf", cdf, ccdf), ("lccdf", ccdf, cdf)):
        lv = log_prob(prob, other)
        if lv is not None and lp is not None:
            loc = abs(M(params.get("mu", 0.0))) if name not in ("lognormal",) else 0
            scale = abs(mpmath.log(M(x))) + abs(M(params["mu"])) if name == "lognormal" else abs(M(x)) + loc
            cond = scale * mpmath.exp(lp - lv) / abs(lv)
            if name == "lognormal":
                cond = cond / M(params["sigma"])
            if cond > MAX_COND:
                lv = None
        if lv is not None and float(lv) == 0.0:
            lv = None  # below float64's smallest number: nothing to compare
        out[key] = None if lv is None else float(lv)
        # A log probability beyond 1e12 in size: its derivatives are not resolved by diff.
        if with_grad and lv is not None and abs(lv) < 1e12:
            grad = OrderedDict()
            which = 0 if key == "lcdf" else 1
            sign = 1 if key == "lcdf" else -1
            keys = [k for k in params if k not in INTEGER_ARGS] + ([] if name in DISCRETE else ["x"])
            for k in keys:
                # x, location and scale from the density (exact; no numerical derivative across
                # the branch points of the symmetric forms): d/dx = +-pdf / prob.
                if lp is not None and k in ("x", "mu", "sigma") and (name in LOCATION_SCALE or name in SCALE_ONLY):
                    dx = sign * mpmath.exp(lp - lv)
                    zz = (M(x) - M(params.get("mu", 0.0))) / M(params["sigma"])
                    grad[k] = float(dx if k == "x" else -dx if k == "mu" else -zz * dx)
                    continue
                if lp is not None and k == "x":
                    grad[k] = float(sign * mpmath.exp(lp - lv))
                    continue

                def f(t, k=k):
                    pp = dict(params)
                    pp[k] = t
                    pr = CDF[name](pp, x)
                    return log_prob(pr[which], pr[1 - which])
                at = M(params[k])
                if at > 0:
                    # through log(at): the steps never leave the positive half-line
                    grad[k] = float(mpmath.diff(lambda s, f=f: f(mpmath.exp(s)), mpmath.log(at)) / at)
                else:
                    grad[k] = float(mpmath.diff(f, at))
            # a derivative beyond float64's range (far tails of the logit forms) is not tested
            grad = OrderedDict((k, v) for k, v in grad.items() if math.isfinite(v))
            if grad:
                out[key + "_grad"] = grad
    return out


def write_cdf_file(out):
    parts = ["{\n"]
    for i, (name, cases) in enumerate(out.items()):
        parts.append(json.dumps(name) + ": [\n")
        parts.append(",\n".join("  " + json.dumps(c, separators=(",", ":"), allow_nan=False) for c in cases))
        parts.append("\n]" + ("," if i < len(out) - 1 else "") + "\n")
    parts.append("}\n")
    text = "".join(parts)  # all of it first: a failure never leaves half a file
    with open(CDF_OUT, "w") as f:
        f.write(text)


def write_cdf_reference(grids, resume=False):
    """Writes the file after every distribution; with resume, keeps the distributions an
    earlier (interrupted) run already wrote."""
    out = OrderedDict()
    done = {}
    if resume and os.path.exists(CDF_OUT):
        with open(CDF_OUT) as f:
            done = json.load(f, object_pairs_hook=OrderedDict)
    print(f"{'cdf':24s} {'cases':>6s} {'lcdf':>6s} {'lccdf':>6s} {'grads':>6s}  worst scipy rel err", file=sys.stderr)
    for name, cases in grids.items():
        if name not in CDF:
            continue
        if name in done:
            out[name] = done[name]
            print(f"{name:24s} (kept from the earlier run)", file=sys.stderr)
            continue
        kept = []
        worst = 0.0
        for i, (params, x) in enumerate(cases):
            case = cdf_case(name, params, x, i % CDF_GRAD_EVERY == 0)
            if case["lcdf"] is None and case["lccdf"] is None:
                continue
            if name in SCIPY_CDF:
                sv = SCIPY_CDF[name](params, x)
                for key, v in zip(("lcdf", "lccdf"), sv):
                    if case[key] is not None:
                        rel = abs(float(v) - case[key]) / abs(case[key]) if math.isfinite(v) else math.inf
                        worst = max(worst, rel)
            kept.append(case)
        out[name] = kept
        write_cdf_file(out)
        print(f"{name:24s} {len(kept):6d} {sum(c['lcdf'] is not None for c in kept):6d} "
              f"{sum(c['lccdf'] is not None for c in kept):6d} {sum('lcdf_grad' in c or 'lccdf_grad' in c for c in kept):6d}"
              + (f"  {worst:.3g}" if name in SCIPY_CDF else ""), file=sys.stderr)
    print(f"-> {os.path.relpath(CDF_OUT)}, {os.path.getsize(CDF_OUT)} bytes", file=sys.stderr)


# --------------------------------------------------------------------------
# SciPy / NumPy values
# --------------------------------------------------------------------------

def log_expit(v):
    return float(sp.log_expit(v))


def sp_lchoose(n, k):
    return float(sp.gammaln(n + 1) - sp.gammaln(k + 1) - sp.gammaln(n - k + 1))


def sp_mvn_chol(p, x):
    # Closed form from the Cholesky factor itself (scipy.linalg.solve_triangular).
    # scipy.stats.multivariate_normal wants the covariance L L^T, whose float64
    # rounding would perturb the problem, and it rejects the badly scaled
    # factors of this grid (covariance condition number ~1e12) as singular;
    # it is used only as a cross-check where it accepts the covariance.
    L = np.array(p["L"], dtype=float)
    d = np.array(x, dtype=float) - np.array(p["mu"], dtype=float)
    z = scipy.linalg.solve_triangular(L, d, lower=True)
    k = len(d)
    v = float(-0.5 * k * np.log(2 * np.pi) - np.sum(np.log(np.diag(L))) - 0.5 * np.dot(z, z))
    try:
        w = float(stats.multivariate_normal.logpdf(x, p["mu"], L @ L.T))
    except np.linalg.LinAlgError:
        w = None
    if w is not None:
        assert abs(w - v) <= 1e-9 * abs(v), (p, x, v, w)
    return v


SCIPY = {
    "normal": lambda p, x: stats.norm.logpdf(x, p["mu"], p["sigma"]),
    "half_normal": lambda p, x: stats.halfnorm.logpdf(x, scale=p["sigma"]),
    "cauchy": lambda p, x: stats.cauchy.logpdf(x, p["mu"], p["sigma"]),
    "half_cauchy": lambda p, x: stats.halfcauchy.logpdf(x, scale=p["sigma"]),
    "student_t": lambda p, x: stats.t.logpdf(x, p["nu"], p["mu"], p["sigma"]),
    # scipy has no half-t; 2*t restricted to x >= 0
    "half_student_t": lambda p, x: np.log(2.0) + stats.t.logpdf(x, p["nu"], 0.0, p["sigma"]),
    "exponential": lambda p, x: stats.expon.logpdf(x, scale=1.0 / p["lambda"]),
    "gamma": lambda p, x: stats.gamma.logpdf(x, p["alpha"], scale=1.0 / p["beta"]),
    "inv_gamma": lambda p, x: stats.invgamma.logpdf(x, p["alpha"], scale=p["beta"]),
    "beta": lambda p, x: stats.beta.logpdf(x, p["alpha"], p["beta"]),
    "uniform": lambda p, x: stats.uniform.logpdf(x, p["lower"], p["upper"] - p["lower"]),
    "lognormal": lambda p, x: stats.lognorm.logpdf(x, p["sigma"], scale=np.exp(p["mu"])),
    "laplace": lambda p, x: stats.laplace.logpdf(x, p["mu"], p["sigma"]),
    "weibull": lambda p, x: stats.weibull_min.logpdf(x, p["alpha"], scale=p["sigma"]),
    "logistic": lambda p, x: stats.logistic.logpdf(x, p["mu"], p["sigma"]),
    "bernoulli": lambda p, x: stats.bernoulli.logpmf(x, p["p"]),
    # bernoulli(inv_logit(alpha)) via scipy.special.log_expit (exact in both tails)
    "bernoulli_logit": lambda p, x: log_expit(p["alpha"]) if x == 1 else log_expit(-p["alpha"]),
    "binomial": lambda p, x: stats.binom.logpmf(x, p["n"], p["p"]),
    "binomial_logit": lambda p, x: (sp_lchoose(p["n"], x)
                                    + (x * log_expit(p["alpha"]) if x > 0 else 0.0)
                                    + ((p["n"] - x) * log_expit(-p["alpha"]) if p["n"] > x else 0.0)),
    "poisson": lambda p, x: stats.poisson.logpmf(x, p["lambda"]),
    "poisson_log": lambda p, x: x * p["alpha"] - np.exp(p["alpha"]) - sp.gammaln(x + 1.0),
    "neg_binomial_2": lambda p, x: stats.nbinom.logpmf(x, p["phi"], p["phi"] / (p["mu"] + p["phi"])),
    "multi_normal_cholesky": sp_mvn_chol,
    "dirichlet": lambda p, x: stats.dirichlet.logpdf(np.array(x), np.array(p["alpha"])),
}

MP = {name[3:]: fn for name, fn in globals().items() if name.startswith("mp_")}

# --------------------------------------------------------------------------
# Grids
# --------------------------------------------------------------------------


def loc_cases(settings, zs, keys=("mu", "sigma")):
    out = []
    for st in settings:
        p = dict(zip(keys, st)) if not isinstance(st, dict) else st
        for z in zs:
            out.append((p, p["mu"] + z * p["sigma"]))
    return out


def scale_cases(settings, ts, key="sigma"):
    out = []
    for st in settings:
        p = dict(st)
        for t in ts:
            out.append((p, t * p[key]))
    return out


def build_grids():
    g = OrderedDict()
    zs_light = [-40.0, -35.0, -30.0, -20.0, -10.0, -5.0, -3.0, -2.0, -1.0, -0.5, -0.1, 0.0,
                0.1, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 40.0]
    g["normal"] = loc_cases([(0.0, 1.0), (3.0, 2.5), (-50.0, 300.0), (0.0, 1e-8),
                             (1e5, 1e4), (-1e3, 1e-3)], zs_light)

    ts_half = [0.0, 1e-10, 1e-3, 0.1, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 40.0]
    g["half_normal"] = scale_cases([{"sigma": s} for s in (1.0, 0.1, 7.5, 1e-6, 1e4)], ts_half)

    zs_heavy = [-1e8, -1e4, -100.0, -40.0, -10.0, -3.0, -1.0, -0.3, 0.0, 0.3, 1.0, 3.0,
                10.0, 40.0, 100.0, 1e4, 1e8]
    g["cauchy"] = loc_cases([(0.0, 1.0), (2.0, 0.5), (-50.0, 1e3), (1e3, 1e-3)], zs_heavy)

    ts_heavy = [0.0, 1e-8, 0.1, 0.5, 1.0, 3.0, 10.0, 40.0, 1e3, 1e6, 1e10]
    g["half_cauchy"] = scale_cases([{"sigma": s} for s in (1.0, 0.1, 25.0, 1e-4)], ts_heavy)

    zs_t = [-1e6, -1e3, -40.0, -30.0, -10.0, -3.0, -1.0, -0.2, 0.0, 0.5, 1.0, 2.0, 5.0,
            20.0, 40.0, 1e4]
    t_settings = []
    for nu in (0.05, 0.5, 1.0, 2.5, 7.0, 30.0, 500.0):
        t_settings += [{"nu": nu, "mu": 0.0, "sigma": 1.0}, {"nu": nu, "mu": 1.5, "sigma": 3.0}]
    t_settings += [{"nu": 3.0, "mu": -1e3, "sigma": 1e-4}, {"nu": 0.05, "mu": 0.0, "sigma": 1e3},
                   {"nu": 500.0, "mu": 10.0, "sigma": 0.01}]
    g["student_t"] = loc_cases(t_settings, zs_t)

    ts_ht = [0.0, 1e-6, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 40.0, 1e3, 1e6]
    ht_settings = [{"nu": nu, "sigma": s} for nu in (0.05, 1.0, 3.0, 30.0, 500.0) for s in (1.0, 2.5)]
    ht_settings.append({"nu": 4.0, "sigma": 1e-3})
    g["half_student_t"] = scale_cases(ht_settings, ts_ht)

    xs_pos = [0.0, 1e-300, 1e-12, 1e-3, 0.5, 1.0, 2.5, 10.0, 100.0, 1e4, 1e8]
    g["exponential"] = [({"lambda": lam}, x) for lam in (1.0, 0.3, 50.0, 1e-6, 1e6) for x in xs_pos]

    xs_gamma = [1e-300, 1e-100, 1e-12, 1e-6, 1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0,
                100.0, 250.0, 500.0, 1e3, 1e4, 1e6]
    g["gamma"] = [({"alpha": a, "beta": b}, x)
                  for a, b in ((1.0, 1.0), (0.05, 1.0), (0.5, 2.0), (2.5, 0.1), (10.0, 10.0),
                               (500.0, 1.0), (500.0, 2.0), (0.05, 1e-3), (3.0, 1e4))
                  for x in xs_gamma]

    xs_ig = [1e-100, 1e-12, 1e-6, 1e-3, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0, 1e4, 1e8, 1e100]
    g["inv_gamma"] = [({"alpha": a, "beta": b}, x)
                      for a, b in ((0.05, 1.0), (1.0, 1.0), (3.0, 2.0), (10.0, 0.5), (500.0, 500.0),
                                   (2.5, 1e-3))
                      for x in xs_ig]

    xs_beta = [1e-300, 1e-100, 1e-12, 1e-6, 1e-3, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99,
               1 - 1e-3, 1 - 1e-6, 1 - 1e-12, 1 - 2.0 ** -53]
    g["beta"] = [({"alpha": a, "beta": b}, x)
                 for a, b in ((0.5, 0.5), (2.0, 3.0), (0.1, 0.1), (0.05, 2.0), (100.0, 100.0),
                              (500.0, 500.0), (500.0, 0.5), (10.0, 1.0), (0.05, 500.0))
                 for x in xs_beta]

    uni = []
    for lo, hi in ((0.0, 2.0), (-3.0, 5.0), (1e-10, 3e-10), (-1e6, 1e6), (0.25, 0.75),
                   (-7.5, -7.25), (0.0, 1e8)):
        for f in (1e-12, 0.1, 0.5, 0.9, 1 - 1e-12):
            x = lo + f * (hi - lo)
            assert lo < x < hi
            uni.append(({"lower": lo, "upper": hi}, x))
    g["uniform"] = uni

    zs_ln = [-40.0, -30.0, -20.0, -10.0, -5.0, -2.0, -1.0, -0.3, 0.0, 0.3, 1.0, 2.0, 5.0, 10.0,
             20.0, 30.0, 40.0]
    ln = []
    for mu, s in ((0.0, 1.0), (2.0, 0.5), (-3.0, 2.0), (10.0, 1e-3), (0.0, 5.0)):
        p = {"mu": mu, "sigma": s}
        for z in zs_ln:
            ln.append((p, math.exp(mu + z * s)))
        for x in (1e-300, 1e-100, 1e100, 1e300):
            ln.append((p, x))
    g["lognormal"] = ln

    zs_lap = [-1e4, -40.0, -30.0, -10.0, -3.0, -1.0, -0.1, 0.0, 0.1, 1.0, 3.0, 10.0, 30.0, 40.0, 1e4]
    g["laplace"] = loc_cases([(0.0, 1.0), (2.0, 0.5), (-100.0, 1e3), (1e4, 1e-4)], zs_lap)

    ts_w = [1e-100, 1e-12, 1e-6, 1e-3, 0.1, 0.5, 0.9, 1.0, 1.1, 2.0, 5.0, 10.0, 100.0, 1e4]
    wb = []
    for a, s in ((1.0, 1.0), (0.05, 1.0), (0.5, 2.0), (1.5, 1.0), (5.0, 10.0), (50.0, 1.0), (500.0, 3.0)):
        for t in ts_w:
            if a * math.log10(t) > 300:  # (x/sigma)^alpha would overflow float64
                continue
            wb.append(({"alpha": a, "sigma": s}, t * s))
    g["weibull"] = wb

    zs_lg = [-1e4, -800.0, -40.0, -30.0, -20.0, -10.0, -3.0, -1.0, -0.1, 0.0, 0.1, 1.0, 3.0,
             10.0, 20.0, 30.0, 40.0, 800.0, 1e4]
    g["logistic"] = loc_cases([(0.0, 1.0), (3.0, 0.5), (-1e3, 1e2), (0.0, 1e-5)], zs_lg)

    g["bernoulli"] = [({"p": q}, x)
                      for q in (1e-300, 1e-12, 1e-6, 0.01, 0.3, 0.5, 0.7, 0.99, 1 - 1e-6, 1 - 1e-12,
                                1 - 2.0 ** -53)
                      for x in (0, 1)]
    g["bernoulli_logit"] = [({"alpha": a}, x)
                            for a in (-700.0, -40.0, -35.0, -30.0, -20.0, -10.0, -5.0, -1.0, -0.01, 0.0,
                                      0.01, 1.0, 5.0, 10.0, 20.0, 30.0, 35.0, 40.0, 700.0)
                            for x in (0, 1)]

    def count_grid(n, centre):
        xs = {0, 1, 2, int(math.floor(centre)), n // 4, n // 2, n - 1, n}
        return sorted(v for v in xs if 0 <= v <= n)

    bn = []
    for n, q in ((1, 0.3), (10, 0.5), (20, 1e-12), (50, 1 - 1e-12), (100, 0.01), (1000, 0.999),
                 (10000, 0.5), (10000, 1e-3), (10000, 1e-6)):
        for x in count_grid(n, n * q):
            bn.append(({"n": n, "p": q}, x))
    g["binomial"] = bn

    bl = []
    for n, a in ((1, 0.0), (10, -2.0), (10, 40.0), (100, -40.0), (1000, 3.0), (10000, 0.2),
                 (10000, -10.0), (20, 700.0)):
        for x in count_grid(n, n * sp.expit(a)):
            bl.append(({"n": n, "alpha": a}, x))
    g["binomial_logit"] = bl

    xs_cnt = [0, 1, 2, 3, 5, 10, 20, 50, 100, 1000, 10000, 100000]
    g["poisson"] = [({"lambda": lam}, x) for lam in (1e-10, 0.01, 1.0, 3.5, 100.0, 1e4) for x in xs_cnt]
    g["poisson_log"] = [({"alpha": a}, x)
                        for a in (-30.0, -20.0, -5.0, 0.0, 1.0, 2.5, 5.0, 10.0)
                        for x in (0, 1, 2, 5, 10, 50, 100, 1000, 10000, 22026, 100000)]

    xs_nb = [0, 1, 2, 5, 10, 30, 100, 1000, 10000]
    g["neg_binomial_2"] = [({"mu": mu, "phi": phi}, x)
                           for mu, phi in ((1.0, 1.0), (10.0, 0.1), (0.01, 0.1), (3.0, 50.0),
                                           (100.0, 1e8), (1.0, 1e8), (1e4, 1e8), (1e4, 0.1),
                                           (1e3, 1e3), (0.5, 1e8))
                           for x in xs_nb]

    rng = np.random.default_rng(20240611)
    mvn = []
    for k in (1, 2, 3, 5):
        settings = []
        # 1. standard: mu = 0, L = I
        settings.append((np.zeros(k), np.eye(k)))
        # 2. generic well-conditioned lower-triangular factor
        A = np.round(rng.normal(size=(k, k)), 3)
        Lg = np.tril(A, -1) + np.diag(np.round(0.5 + rng.uniform(size=k), 3))
        settings.append((np.round(rng.normal(scale=3.0, size=k), 3), Lg))
        # 3. badly scaled: diagonal spans 1e-3 .. 1e3, strong correlations
        d = np.logspace(-3, 3, k) if k > 1 else np.array([1e-3])
        Lb = np.tril(np.round(rng.uniform(-1, 1, size=(k, k)), 3), -1) * d[:, None] + np.diag(d)
        settings.append((np.round(rng.normal(scale=100.0, size=k), 2), Lb))
        for mu, L in settings:
            dirs = [np.zeros(k)]
            for r in (0.5, 1.0, 3.0, 10.0, 30.0, 40.0):
                u = rng.normal(size=k)
                dirs.append(np.round(r * u / np.linalg.norm(u), 4))
            for z in dirs:
                x = mu + L @ z
                p = {"mu": [float(v) for v in mu], "L": [[float(v) for v in row] for row in L]}
                mvn.append((p, [float(v) for v in x]))
    g["multi_normal_cholesky"] = mvn

    dr = []
    for k in (2, 3, 5):
        alphas = [[0.1] * k, [100.0] * k, [1.0] * k,
                  ([0.1, 100.0, 2.0, 0.5, 30.0])[:k], ([0.5, 5.0, 50.0, 1.0, 0.2])[:k]]
        xs = []
        xs.append([1.0 / k] * k)
        u = rng.dirichlet(np.ones(k))
        xs.append(list(np.round(u, 6)))
        for tiny in (1e-6, 1e-12, 1e-300):
            xs.append([tiny] * (k - 1))       # all but the last near 0
        xs.append([1e-12] + [0.3] * (k - 2) if k > 2 else [1e-12])  # one near 0
        simplices = []
        for head in xs:
            head = [float(v) for v in head[:k - 1]]
            last = 1.0 - math.fsum(head)
            if head + [last] not in simplices:
                simplices.append(head + [last])
        for a in alphas:
            for x in simplices:
                assert all(v > 0 for v in x) and abs(math.fsum(x) - 1.0) < 1e-15
                dr.append(({"alpha": [float(v) for v in a]}, x))
    g["dirichlet"] = dr
    return g


# --------------------------------------------------------------------------

def main():
    report = "--report" in sys.argv
    grids = build_grids()
    if "--cdf" in sys.argv:
        write_cdf_reference(grids, resume="--resume" in sys.argv)
        return
    out = OrderedDict()
    summary = []
    np.seterr(all="ignore")
    for name, cases in grids.items():
        mpfn, spfn = MP[name], SCIPY[name]
        kept, dropped, replaced, worst = [], [], [], 0.0
        for params, x in cases:
            exact, terms = mpfn(params, x)
            lp = float(exact)
            if lp == 0.0 or not math.isfinite(lp):
                dropped.append((params, x, lp, "logp == 0"))
                continue
            cond = float(sum(abs(t) for t in terms) / abs(exact))
            if cond > MAX_COND:
                dropped.append((params, x, lp, f"cond {cond:.3g}"))
                continue
            s = float(np.asarray(spfn(params, x), dtype=float))
            rel = abs(s - lp) / abs(lp) if math.isfinite(s) else math.inf
            case = OrderedDict([("params", params), ("x", x)])
            if rel <= REPLACE_REL:
                case["logp"] = s
            else:
                case["logp"] = lp
                case["source"] = "mpmath"
                replaced.append((params, x, s, lp, rel))
                worst = max(worst, rel)
            kept.append(case)
        out[name] = kept
        summary.append((name, len(kept), dropped, replaced, worst))

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("{\n")
        for i, (name, cases) in enumerate(out.items()):
            f.write(json.dumps(name) + ": [\n")
            f.write(",\n".join("  " + json.dumps(c, separators=(",", ":"), allow_nan=False)
                               for c in cases))
            f.write("\n]" + ("," if i < len(out) - 1 else "") + "\n")
        f.write("}\n")

    print(f"scipy {scipy.__version__}, numpy {np.__version__}, mpmath {mpmath.__version__}",
          file=sys.stderr)
    print(f"{'distribution':24s} {'cases':>6s} {'dropped':>8s} {'replaced':>9s} {'(>1e-12)':>9s}"
          "  worst scipy rel err", file=sys.stderr)
    total = 0
    for name, n, d, rep, worst in summary:
        total += n
        big = sum(1 for r in rep if r[4] > 1e-12)
        print(f"{name:24s} {n:6d} {len(d):8d} {len(rep):9d} {big:9d}  {worst:.3g}" if rep else
              f"{name:24s} {n:6d} {len(d):8d} {0:9d} {0:9d}", file=sys.stderr)
        if report:
            for params, x, lp, why in d:
                print(f"    DROPPED {params} x={x}: logp={lp!r} ({why})", file=sys.stderr)
            for params, x, s, lp, rel in rep:
                print(f"    {params} x={x}: scipy={s!r} exact={lp!r} rel={rel:.3g}", file=sys.stderr)
    print(f"total {total} cases, {os.path.getsize(OUT)} bytes -> {os.path.relpath(OUT)}", file=sys.stderr)
    write_cdf_reference(grids, resume="--resume" in sys.argv)


if __name__ == "__main__":
    main()
