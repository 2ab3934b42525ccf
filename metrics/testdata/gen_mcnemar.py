"""McNemar p-values for metrics.McNemar, computed independently of it.

Exact cases: the two-sided binomial tail with exact rational arithmetic
(fractions), 2 * P(X <= min(b, c)), X ~ B(b + c, 1/2), capped at 1.
Chi-square cases: the survival function of chi-square with one degree of
freedom as mpmath's regularised upper incomplete gamma Q(1/2, x/2) at
x = (|b - c| - 1)^2 / (b + c) (no correction when b == c, as R's
mcnemar.test), with 30 significant digits.

Run with /usr/bin/python3 (mpmath is a sympy dependency on Debian):
    /usr/bin/python3 metrics/testdata/gen_mcnemar.py > metrics/testdata/mcnemar.json
"""
import json
from fractions import Fraction
from math import comb

import mpmath

mpmath.mp.dps = 30
EXACT_BELOW = 25

cases = [(0, 0), (1, 0), (0, 1), (3, 3), (5, 1), (8, 2), (2, 8), (0, 12), (12, 12), (10, 14),
         (0, 24), (13, 12), (20, 5), (5, 20), (15, 15), (30, 10), (10, 30), (50, 30),
         (100, 87), (400, 300), (0, 60), (1000, 1000), (3, 200)]
out = []
for b, c in cases:
    n = b + c
    if n == 0:
        p, exact = Fraction(1), True
    elif n < EXACT_BELOW:
        tail = sum(Fraction(comb(n, i), 2 ** n) for i in range(min(b, c) + 1))
        p, exact = min(2 * tail, Fraction(1)), True
    else:
        d = abs(b - c)
        if d > 0:
            d -= 1
        x = mpmath.mpf(d * d) / n
        p, exact = mpmath.gammainc(mpmath.mpf(1) / 2, x / 2, mpmath.inf, regularized=True), False
    out.append({"b": b, "c": c, "p": float(p), "exact": exact})
print(json.dumps(out, indent=1))
