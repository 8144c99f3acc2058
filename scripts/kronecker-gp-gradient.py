"""
posteriordb's kronecker_gp at high precision (mpmath): its log density on Stan's unconstrained
coordinates, written out as the program is (cholesky_corr_constrain and its Jacobian,
lkj_corr_cholesky(2), the eigen-decompositions of Sigma1 and Lambda), and central differences
of it in chosen coordinates at one of the rstan fixture's points, beside Stan's gradient there.
Used for DECISIONS.md D182 (whose gradient is the inexact one).

  python3 scripts/kronecker-gp-gradient.py POINT COORD[,COORD...] [DIGITS]

With DIGITS 50 the step is 1e-23: small enough for coordinates that move a diagonal entry of L
near 1e-8 (coordinate 436 at point 3), where 30 digits' step of 1e-13 is not.
"""
import gzip, json, os, sys
import mpmath as mp

mp.mp.dps = int(sys.argv[3]) if len(sys.argv) > 3 else 50
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "stan", "posteriordb")
d = json.load(gzip.open(os.path.join(root, "data", "synthetic_grid_RBF_kernels.json.gz")))
fx = json.load(open(os.path.join(root, "fixtures", "synthetic_grid_RBF_kernels-kronecker_gp.json")))
n1, n2 = d["n1"], d["n2"]
x1 = [mp.mpf(v) for v in d["x1"]]
Y = mp.matrix([[mp.mpf(v) for v in row] for row in d["y"]])  # n2 x n1
xd = mp.matrix(n1, n1)
for i in range(n1):
    for j in range(i + 1, n1):
        xd[i, j] = -((x1[i] - x1[j]) ** 2)
        xd[j, i] = xd[i, j]


def log_density(u):
    """Up to a constant: the priors' and lkj's normalising constants are left out."""
    lp = mp.mpf(0)
    var1, bw1, sigma1 = mp.exp(u[0]), mp.exp(u[1]), mp.mpf("0.00001") + mp.exp(u[-1])
    lp += u[0] + u[1] + u[-1]  # the log and lower-bound Jacobians
    K, z = n2, [mp.tanh(v) for v in u[2:-1]]
    lp += sum(mp.log(1 - v * v) for v in z)
    L = mp.matrix(K, K)
    L[0, 0] = 1
    k = 0
    for i in range(1, K):  # Stan's cholesky_corr_constrain
        L[i, 0] = z[k]
        k += 1
        s = L[i, 0] ** 2
        for j in range(1, i):
            lp += mp.log(1 - s) / 2
            L[i, j] = z[k] * mp.sqrt(1 - s)
            k += 1
            s += L[i, j] ** 2
        L[i, i] = mp.sqrt(1 - s)
    lp += -mp.log(var1) - mp.log(var1) ** 2 / 2  # lognormal(0, 1)
    lp += -mp.log(1 + (bw1 / mp.mpf("2.5")) ** 2)  # cauchy(0, 2.5)
    lp += -mp.log(sigma1) - mp.log(sigma1) ** 2 / 2
    for kk in range(K - 1):  # lkj_corr_cholesky(L | 2)
        lp += (K - kk - 2 + 2) * mp.log(L[kk + 1, kk + 1])
    S1 = mp.matrix(n1, n1)
    for i in range(n1):
        for j in range(n1):
            S1[i, j] = var1 * mp.exp(xd[i, j] * bw1)
        S1[i, i] += mp.mpf("0.00001")
    R1, Q1 = mp.eigsy(S1)
    R2, Q2 = mp.eigsy(L * L.T)
    inner = (Q2.T * Y) * Q1
    for i in range(n2):
        for j in range(n1):
            inner[i, j] /= R2[i] * R1[j] + sigma1
    outer = Q2 * inner * Q1.T
    quad = sum(Y[i, j] * outer[i, j] for i in range(n2) for j in range(n1))
    logdet = sum(mp.log(R2[i] * R1[j] + sigma1) for i in range(n2) for j in range(n1))
    return lp - quad / 2 - logdet / 2


point = fx["points"][int(sys.argv[1])]
u = [mp.mpf(v) for v in point["upars"]]
h = mp.mpf(10) ** (-mp.mp.dps // 2 + 2)
for c in (int(c) for c in sys.argv[2].split(",")):
    up, um = list(u), list(u)
    up[c] += h
    um[c] -= h
    g = (log_density(up) - log_density(um)) / (2 * h)
    print(f"coordinate {c}: central difference {mp.nstr(g, 17)}, Stan {point['gradient'][c]!r}")
