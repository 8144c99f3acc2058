"""
Where kronecker_gp's gradient lost accuracy (DECISIONS.md D210): the gradient of its log density
with respect to L (Lambda = L L') at one rstan fixture point, from the eigen-decomposition's
generic reverse formula G = V (diag(g_lambda) + F o (V' gV)) V' in double, against a reference
at 50 digits (mpmath: the Daleckii-Krein form of the same gradient, which divides by no gap).
Compared: Jacobi (a port of linalg.ts's forward) or LAPACK for the decomposition, the cutoff
below which close eigenvalues are left uncoupled, and whether each (i, j) term is divided by the
gap before the antisymmetric part is taken (divide-first, the old code) or after.

  python3 scripts/kronecker-gp-eigen-gradient.py [POINT]
"""
import gzip, json, sys
import numpy as np
import mpmath as mp
mp.mp.dps = 50
root = "/work/wt/i21a/test/stan/posteriordb/"
d = json.load(gzip.open(root + "data/synthetic_grid_RBF_kernels.json.gz"))
fx = json.load(open(root + "fixtures/synthetic_grid_RBF_kernels-kronecker_gp.json"))
n1, n2 = d["n1"], d["n2"]
Y = np.array(d["y"], dtype=float)
x1 = np.array(d["x1"], dtype=float)
P = int(sys.argv[1]) if len(sys.argv) > 1 else 3
u = np.array(fx["points"][P]["upars"])

def build(u, lib):
    K = n2
    z = [lib.tanh(v) for v in u[2:-1]]
    L = [[lib.mpf(0) if lib is mp else 0.0 for _ in range(K)] for _ in range(K)]
    L[0][0] = 1
    k = 0
    for i in range(1, K):
        L[i][0] = z[k]; k += 1
        s = L[i][0] ** 2
        for j in range(1, i):
            L[i][j] = z[k] * lib.sqrt(1 - s); k += 1
            s += L[i][j] ** 2
        L[i][i] = lib.sqrt(1 - s)
    var1, bw1, sigma = lib.exp(u[0]), lib.exp(u[1]), (lib.mpf("0.00001") if lib is mp else 1e-5) + lib.exp(u[-1])
    return L, var1, bw1, sigma

# double inputs
Ld, var1, bw1, sigma = build(u, np)
Ld = np.array(Ld, dtype=float)
Lam = Ld @ Ld.T  # as Stan's multiply_lower_tri_self_transpose (close enough)
xd = -np.subtract.outer(x1, x1) ** 2
S1 = var1 * np.exp(xd * bw1) + 1e-5 * np.eye(n1)

def jacobi(A):
    n = A.shape[0]
    a = np.tril(A) + np.tril(A, -1).T
    v = np.eye(n)
    off, norm = 1.0, 0.0
    sweep = 0
    while sweep < 100 and off > 1e-36 * norm:
        norm = float(np.sum(a * a)); off = norm - float(np.sum(np.diag(a) ** 2))
        for p in range(n - 1):
            for q in range(p + 1, n):
                apq = a[p, q]
                if apq == 0: continue
                th = (a[q, q] - a[p, p]) / (2 * apq)
                t = (1 if th >= 0 else -1) / (abs(th) + np.sqrt(th * th + 1))
                cs = 1 / np.sqrt(t * t + 1); sn = t * cs
                x, y = a[:, p].copy(), a[:, q].copy()
                a[:, p] = cs * x - sn * y; a[:, q] = sn * x + cs * y
                x, y = a[p, :].copy(), a[q, :].copy()
                a[p, :] = cs * x - sn * y; a[q, :] = sn * x + cs * y
                x, y = v[:, p].copy(), v[:, q].copy()
                v[:, p] = cs * x - sn * y; v[:, q] = sn * x + cs * y
        sweep += 1
    lam = np.diag(a).copy()
    o = np.argsort(lam, kind="stable")
    return lam[o], v[:, o]

def f_and_grads(R2, Q2, R1, Q1):
    """Forward and reverse of the program's use: returns f, gR2, gQ2."""
    W = Q2.T @ Y @ Q1
    D = np.outer(R2, R1) + sigma
    f = -0.5 * np.sum(W * W / D) - 0.5 * np.sum(np.log(D))
    gD = 0.5 * W * W / D ** 2 - 0.5 / D
    gW = -W / D
    gR2 = gD @ R1
    gQ2 = Y @ Q1 @ gW.T
    return f, gR2, gQ2

def generic(R, Q, gR, gQ, cutoff=1e-9, mode="divide-first"):
    n = len(R)
    S = Q.T @ gQ
    M = np.zeros((n, n))
    sc = cutoff * max(abs(R[0]), abs(R[-1]))
    for i in range(n):
        for j in range(n):
            if i == j: M[i, j] = gR[i]; continue
            g = R[j] - R[i]
            if abs(g) <= sc: continue
            if mode == "divide-first": M[i, j] = S[i, j] / g
            else: M[i, j] = 0.5 * (S[i, j] - S[j, i]) / g
    G = Q @ M @ Q.T
    return G + G.T - np.diag(np.diag(G)) if mode == "divide-first" else (G + G.T) - np.diag(np.diag(G))

def exact_lambda_grad(R2, Q2, R1, Q1):
    """Daleckii-Krein: no division by gaps."""
    W = Q2.T @ Y @ Q1
    D = np.outer(R2, R1) + sigma
    # d/dLam of -0.5 sum_j w_j^T (r_j Lam + s)^-1 w_j - 0.5 sum_j logdet
    C = np.zeros((n2, n2))
    for j in range(n1):
        C += 0.5 * R1[j] * np.outer(W[:, j] / D[:, j], W[:, j] / D[:, j])
    C -= 0.5 * np.diag(np.sum(R1[None, :] / D, axis=1))
    G = Q2 @ C @ Q2.T
    return G + G.T - np.diag(np.diag(G))  # onto the lower triangle as a symmetric function's gradient

R2j, Q2j = jacobi(Lam); R1j, Q1j = jacobi(S1)
R2l, Q2l = np.linalg.eigh(Lam); R1l, Q1l = np.linalg.eigh(S1)
print("Lambda's smallest eigenvalues, Jacobi as in linalg.ts:", R2j[:6])
print("Lambda's smallest eigenvalues, LAPACK (numpy eigh):   ", R2l[:6])

# reference in mpmath: DK formula at 50 digits from L built in mp
Lm, var1m, bw1m, sigm = build([mp.mpf(v) for v in u], mp)
Lm = mp.matrix(Lm)
Lamm = Lm * Lm.T
x1m = [mp.mpf(v) for v in d["x1"]]
S1m = mp.matrix(n1, n1)
for i in range(n1):
    for j in range(n1):
        S1m[i, j] = var1m * mp.exp(-((x1m[i] - x1m[j]) ** 2) * bw1m)
    S1m[i, i] += mp.mpf("0.00001")
R2m, Q2m = mp.eigsy(Lamm); R1m, Q1m = mp.eigsy(S1m)
Ym = mp.matrix(Y.tolist())
Wm = Q2m.T * Ym * Q1m
C = mp.matrix(n2, n2)
for a in range(n2):
    for b in range(n2):
        s = mp.mpf(0)
        for j in range(n1):
            s += R1m[j] * Wm[a, j] * Wm[b, j] / ((R2m[a] * R1m[j] + sigm) * (R2m[b] * R1m[j] + sigm))
        C[a, b] = s / 2
    C[a, a] -= sum(R1m[j] / (R2m[a] * R1m[j] + sigm) for j in range(n1)) / 2
Gm = Q2m * C * Q2m.T   # symmetric gradient dF/dLam (full matrix, both triangles)
gLm = 2 * Gm * Lm       # dF/dL
gLref = np.array(gLm.tolist(), dtype=float)
print("Lambda's smallest eigenvalues, mpmath at 50 digits:  ", [mp.nstr(R2m[i], 5) for i in range(6)])

def gL_from(Gtri):
    # Gtri: gradient on lower triangle (off-diagonals doubled). Full symmetric: off-diag halves.
    Gs = np.tril(Gtri, -1) / 2; Gs = Gs + Gs.T + np.diag(np.diag(Gtri))
    return np.tril(2 * Gs @ Ld)
gLref = np.tril(gLref)
print("largest |dF/dL| (reference):", np.max(np.abs(gLref)))
for name, (R2, Q2, R1, Q1) in {"jacobi": (R2j, Q2j, R1j, Q1j), "lapack": (R2l, Q2l, R1l, Q1l)}.items():
    f, gR2, gQ2 = f_and_grads(R2, Q2, R1, Q1)
    print(name, "Daleckii-Krein (no division by gaps) in double: max |dF/dL - reference|", np.max(np.abs(gL_from(exact_lambda_grad(R2, Q2, R1, Q1)) - gLref)))
    for cut in (1e-9, 1e-12, 1e-14, 0):
        for mode in ("divide-first", "antisymmetric-first"):
            G = generic(R2, Q2, gR2, gQ2, cut, mode)
            e = np.abs(gL_from(G) - gLref)
            print(f"{name:7s} cutoff {cut:g} {mode}: max |dF/dL - reference| {np.max(e):.3e} at {np.unravel_index(np.argmax(e), e.shape)}")
