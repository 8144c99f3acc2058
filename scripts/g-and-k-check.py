#!/usr/bin/env python3
"""Independent checks of bench:abc's g-and-k figures (docs/guide/abc.md, "g-and-k"), in numpy:

  exact: the exact posterior by random-walk Metropolis on the exact likelihood (the quantile
         inverted by bisection, not by the builder model's Newton steps);
  abc:   rejection ABC with the octile summaries and prior-MAD scales, from the Uniform(0,10)^4 prior;
  sl:    the posterior given the octile summaries alone (ABC's limit as the tolerance falls to 0),
         by synthetic likelihood (Wood 2010), and how far a unit of g or k moves each summary.

  node -e 'import("./dist/examples/simulators/g-and-k.js").then(async (g) => { const { simulatorRng } = await import("./dist/src/index.js"); console.log(JSON.stringify(g.simulate({ a: 3, b: 1, g: 2, k: 0.5 }, simulatorRng(7)))); })' > /tmp/gk.json
  python3 scripts/g-and-k-check.py /tmp/gk.json exact|abc|sl [simulations]
"""
import json, sys, numpy as np
from scipy.stats import norm
x = np.array(json.load(open(sys.argv[1])))
C = 0.8
def Q(z, a, b, g, k): return a + b * (1 + C * np.tanh(g * z / 2)) * z * (1 + z * z) ** k
def dQ(z, a, b, g, k):
    t = np.tanh(g * z / 2); z2 = z * z
    return b * (1 + z2) ** (k - 1) * ((1 + C * t) * (1 + (1 + 2 * k) * z2) + C * g * z * (1 + z2) * (1 - t * t) / 2)
def loglik(th):
    a, b, g, k = th
    lo = np.full(x.shape, -40.0); hi = np.full(x.shape, 40.0)
    if not (Q(lo, *th) < x).all() or not (Q(hi, *th) > x).all(): return -np.inf
    for _ in range(80):
        mid = (lo + hi) / 2; up = Q(mid, *th) > x
        hi = np.where(up, mid, hi); lo = np.where(up, lo, mid)
    z = (lo + hi) / 2
    d = dQ(z, *th)
    if (d <= 0).any(): return -np.inf
    return np.sum(norm.logpdf(z) - np.log(d))
def logpost_u(u):  # unconstrained: logit(theta/10), with the Jacobian
    th = 10 / (1 + np.exp(-u))
    return loglik(th) + np.sum(np.log(th) + np.log(1 - th / 10)), th
rng = np.random.default_rng(1)
which = sys.argv[2] if len(sys.argv) > 2 else 'both'
if which in ('both', 'exact'):
    u = np.log(np.array([3, 1, 2, .5]) / (10 - np.array([3, 1, 2, .5])))
    lp, th = logpost_u(u); cov = np.eye(4) * 0.01; keep = []; acc = 0
    N = 30000
    for i in range(N):
        prop = rng.multivariate_normal(u, cov)
        lq, tq = logpost_u(prop)
        if np.log(rng.uniform()) < lq - lp: u, lp, th = prop, lq, tq; acc += 1
        keep.append(th)
        if i == 5000: cov = np.cov(10 / (1 + np.exp(-0)) * 0 + np.log(np.array(keep[2000:]) / (10 - np.array(keep[2000:]))).T) * 2.38**2 / 4
    K = np.array(keep[8000:])
    print(f"exact posterior (RWM, {len(K)} draws, acceptance {acc/N:.2f}):")
    for j, n in enumerate('abgk'): print(f"  {n}: mean {K[:, j].mean():.3f} sd {K[:, j].std():.3f}")
    sys.stdout.flush()
def summaries(X):
    S = np.sort(X, axis=1); n = X.shape[1]
    E = []
    for j in range(1, 8):
        h = (n - 1) * j / 8; lo = int(np.floor(h)); f = h - lo
        E.append(S[:, lo] + f * (S[:, min(lo + 1, n - 1)] - S[:, lo]))
    e1, e2, e3, e4, e5, e6, e7 = E; sc = e6 - e2
    return np.stack([e4, sc, (e6 + e2 - 2 * e4) / sc, (e7 - e5 + e3 - e1) / sc], axis=1)
if which in ('both', 'abc'):
    sobs = summaries(x[None, :])[0]
    M = int(sys.argv[3]) if len(sys.argv) > 3 else 2_000_000
    B = 50_000; TH = []; SS = []
    for s in range(0, M, B):
        th = rng.uniform(0, 10, size=(B, 4))
        z = rng.standard_normal((B, x.size))
        X = Q(z, th[:, 0:1], th[:, 1:2], th[:, 2:3], th[:, 3:4])
        TH.append(th); SS.append(summaries(X))
    TH = np.concatenate(TH); SS = np.concatenate(SS)
    ok = np.isfinite(SS).all(axis=1); TH, SS = TH[ok], SS[ok]
    mad = np.median(np.abs(SS - np.median(SS, axis=0)), axis=0)
    d = np.sqrt((((SS - sobs) / mad) ** 2).sum(axis=1))
    order = np.argsort(d)
    print(f"observed summary {sobs}; prior MAD scales {mad}")
    for keep in (10000, 2000, 1000, 500, 200):
        K = TH[order[:keep]]
        print(f"rejection ABC, octile summaries, nearest {keep} of {len(d)} (tolerance {d[order[keep-1]]:.4f}): " + ", ".join(f"{n} {K[:, j].mean():.3f} +- {K[:, j].std():.3f}" for j, n in enumerate('abgk')))

if which == 'sl':
    sobs = summaries(x[None, :])[0]
    rng = np.random.default_rng(2)

    M = 300
    def sl(th):
        z = rng.standard_normal((M, x.size))
        S = summaries(Q(z, *th))
        mu = S.mean(0); C = np.cov(S.T) + 1e-12 * np.eye(4)
        r = sobs - mu
        sign, logdet = np.linalg.slogdet(C)
        return -0.5 * (r @ np.linalg.solve(C, r) + logdet)
    def lp(u):
        th = 10 / (1 + np.exp(-u)); return sl(th) + np.sum(np.log(th) + np.log(1 - th / 10)), th
    u = np.log(np.array([3, 1, 2, .5]) / (10 - np.array([3, 1, 2, .5])))
    cur, th = lp(u); keep = []; acc = 0; N = int(sys.argv[3]) if len(sys.argv) > 3 else 8000
    step = np.array([0.05, 0.15, 0.4, 0.3])
    for i in range(N):
        prop = u + step * rng.standard_normal(4)
        l, t = lp(prop)
        if np.log(rng.uniform()) < l - cur: u, cur, th = prop, l, t; acc += 1
        keep.append(th)
    K = np.array(keep[N // 4:])
    print(f"synthetic likelihood (M = {M}) posterior given the octile summaries, RWM {N} iterations, acceptance {acc / N:.2f}:")
    for j, n in enumerate('abgk'): print(f"  {n}: mean {K[:, j].mean():.3f} sd {K[:, j].std():.3f}  (5%, 95%: {np.quantile(K[:, j], .05):.2f}, {np.quantile(K[:, j], .95):.2f})")
    # How the summaries move with g and k at the truth, against their sampling sd.
    base = np.array([3, 1, 2, .5]); z = np.random.default_rng(3).standard_normal((4000, x.size))
    S0 = summaries(Q(z, *base)); sd = S0.std(0)
    for j, n in ((2, 'g'), (3, 'k')):
        for dv in (1.0,):
            b1 = base.copy(); b1[j] += dv
            S1 = summaries(Q(z, *b1))
            print(f"  {n} + {dv}: summaries move by {(S1.mean(0) - S0.mean(0)) / sd} sampling sds")
