#!/usr/bin/env python3
"""
The marginal posterior of theta in test/stress/corpus.ts's unbounded MA(1) (DECISIONS.md D142).

The residuals are affine in mu, so mu is integrated exactly, in 120-digit decimal arithmetic
(outside the invertible region they grow as theta^59); log sigma by quadrature. The data are
armaData() of test/stress/corpus.ts (60 observations, seed 1). Run: python3 scripts/ma1-ridge-marginal.py
"""
import math
from decimal import Decimal, getcontext
import numpy as np
getcontext().prec = 120
Y = [1.9043387784152637,2.979659519844275,1.8421452208769138,0.900355737932756,1.7174598580020897,0.44680677124242396,-0.31171071217853963,0.30388139967088806,1.5668231070549128,1.564601407342681,1.4688922853027933,0.9054016448152298,1.0659982343495757,1.1911440955062356,-0.42021752695805403,0.11933276640770996,-1.0824262819305837,0.805484819119606,1.23016673164726,0.6913788983908444,0.5429914114196084,0.4414088318244491,1.3528367243394956,2.0334903451964665,2.572192355375692,2.7581956288241902,0.7747031929440225,-0.10023257056355345,2.216122859403353,3.527301471230216,4.453644999065861,3.8714399307349567,2.110694215136376,-0.760439160191619,-1.5368063948870638,-1.188487124484437,1.0544367699030655,2.762002935538768,3.0206852679742275,1.7763295595389224,-0.3326120367569818,0.6552999058070176,2.0277787836543024,2.158096563275097,2.286034574523839,2.2845286357932295,0.3350972548866833,0.629472030683333,1.2745018306929219,0.7344842581838208,1.6042275910445132,0.30725841772303886,0.2115737627848521,1.1427787203670405,2.8130636301856873,2.432748720982631,1.9088807373483867,1.2530437708499358,2.5671743432877543,2.758834608039703]
y = [Decimal(repr(v)) for v in Y]
n = len(y)
def ridge(theta):
    th = Decimal(repr(float(theta)))
    a = [y[0]]; b = [Decimal(1)]
    for t in range(1, n):
        a.append(y[t] - th * a[-1]); b.append(1 - th * b[-1])
    sab = sum(x * z for x, z in zip(a, b)); sbb = sum(z * z for z in b)
    mu = sab / sbb
    sse = sum((x - z * mu) ** 2 for x, z in zip(a, b))
    return float(mu), float(sse), float(sbb.ln())
ls = np.arange(-6, 4, 0.002); s = np.exp(ls)
def lnorm(x, m, sd): return -0.5 * ((x - m) / sd) ** 2 - math.log(sd) - 0.5 * math.log(2 * math.pi)
ths = np.arange(-1.5, 8.0, 0.002)
out = []
for th in ths:
    mu, sse, lsbb = ridge(th)
    v = (-n * ls - 0.5 * n * math.log(2 * math.pi) - sse / (2 * s * s) + 0.5 * (math.log(2 * math.pi) + 2 * ls - lsbb)
         + lnorm(mu, 0, 10) + lnorm(th, 0, 2) + np.log(2 / (math.pi * 2.5 * (1 + (s / 2.5) ** 2))) + ls)
    m = v.max(); out.append(m + math.log(np.exp(v - m).sum() * 0.002))
out = np.array(out); w = np.exp(out - out.max()); w /= w.sum()
P = lambda mask: w[mask].sum()
print("P(|theta|<1) = %.4f, P(theta>1) = %.4f, P(theta<-1) = %.2e" % (P(np.abs(ths) < 1), P(ths > 1), P(ths < -1)))
print("E[theta] = %.3f; given |theta|<1: %.4f" % ((w * ths).sum(), (w * ths)[np.abs(ths) < 1].sum() / P(np.abs(ths) < 1)))
for t in [-1.2, -1, -0.5, 0, 0.5, 0.69, 0.9, 1.0, 1.1, 1.2, 1.47, 2, 3, 4, 5, 6, 7]:
    i = int(round((t + 1.5) / 0.002)); print("theta %.2f  log marginal density (rel. max) %.2f" % (ths[i], out[i] - out.max()))
print("argmax", ths[out.argmax()])
