"""Tie-dependent input-gradient entries of networks with MaxPool, for the golden generators.

At an exact tie in a MaxPool window (frequent on MNIST: a constant background gives equal
activations after conv -> ReLU -> conv) the gradient may go to any of the tied elements; every
choice is a valid subgradient. PyTorch sends it to the first maximal element in row-major order.
A float32 engine computes the tied values a few ulps apart (OpenBLAS's Haswell/Zen SGEMM kernels
round different output columns of one product differently) and sends the gradient to whichever
rounded highest. A golden gradient is therefore a convention at the input entries that a tied
window's choice reaches, and a correctness check only there.

tie_dependent(grad_fn) recomputes the input gradient (float64) with F.max_pool2d replaced by a
pool that routes the gradient of each tied window to a chosen element: for every window position
p, the convention "p first, then p+1, ... cyclically (row-major)", the convention "last maximal
element", and RANDOM conventions with a random priority per window (fixed seed), and returns
where the gradients differ from one another. Ties are exact float64 equality with the window's
maximum: the tied values of these models are computed from identical operands in identical order.
"""
import contextlib

import torch
import torch.nn.functional as F

RANDOM = 4

_max_pool2d = F.max_pool2d


def _pool(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False,
          priority=None):
    """F.max_pool2d's forward value; the gradient of each window goes to the tied element of
    smallest priority(K, L) rank (K positions per window, L windows per plane)."""
    if return_indices or dilation not in (1, (1, 1)):
        raise NotImplementedError("tie conventions: return_indices/dilation not supported")
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    (kh, kw), (ph, pw) = pair(kernel_size), pair(padding)
    sh, sw = pair(stride if stride is not None and stride != [] else kernel_size)
    n, c, h, w = x.shape

    def out_len(size, k, s, p):
        num = size + 2 * p - k
        o = (-(-num // s) if ceil_mode else num // s) + 1
        if ceil_mode and (o - 1) * s >= size + p:  # the last window must start inside
            o -= 1
        return o

    oh, ow = out_len(h, kh, sh, ph), out_len(w, kw, sw, pw)
    # Pad with -inf on the top/left by the padding and on the bottom/right as far as the last
    # (possibly partial, ceil_mode) window reaches.
    bh = max((oh - 1) * sh + kh - h - ph, 0)
    bw = max((ow - 1) * sw + kw - w - pw, 0)
    xp = F.pad(x.reshape(n * c, 1, h, w), (pw, bw, ph, bh), value=float("-inf"))
    win = F.unfold(xp, (kh, kw), stride=(sh, sw))  # (n*c, kh*kw, oh*ow)
    k, l = win.shape[1], win.shape[2]
    m = win.detach().max(dim=1, keepdim=True).values
    tied = win.detach() == m
    rank = priority(k, l).to(win.device)  # (k, l) or (k, 1): smaller goes first
    score = torch.where(tied, -rank.to(win.dtype).expand_as(win), torch.full_like(win, float("-inf")))
    idx = score.argmax(dim=1, keepdim=True)
    out = win.gather(1, idx)
    return out.reshape(n, c, oh, ow)


def conventions(seed=0):
    """Priority functions: window position p first (cyclic row-major), last first, RANDOM
    random per-window priorities."""
    def cyclic(p):
        return lambda k, l: ((torch.arange(k) - p) % k).reshape(k, 1)

    def last(k, l):
        return (k - 1 - torch.arange(k)).reshape(k, 1)

    def random(s):
        def f(k, l):
            g = torch.Generator().manual_seed(s)
            return torch.rand(k, l, generator=g).argsort(dim=0).argsort(dim=0)
        return f

    return lambda k: [cyclic(p) for p in range(k)] + [last] + [random(seed + i) for i in range(RANDOM)]


@contextlib.contextmanager
def routed(priority):
    """Replace F.max_pool2d (which nn.MaxPool2d calls too) by the routed pool."""
    def pool(*a, **kw):
        return _pool(*a, priority=priority, **kw)
    F.max_pool2d = pool
    try:
        yield
    finally:
        F.max_pool2d = _max_pool2d


def tie_dependent(grad_fn, window, reduce=None):
    """grad_fn() -> float64 input gradient, computed with F.max_pool2d. window: positions per
    pooling window (k*k; the largest if several pools). reduce maps a gradient to what is compared
    (identity, or torch.sign for FGSM). Returns a bool tensor: True where the compared quantity
    differs between tie conventions, and checks that the routed pool reproduces PyTorch's own
    gradient under the first-element convention."""
    reduce = reduce or (lambda g: g)
    ref = grad_fn()
    with routed(conventions()(window)[0]):
        first = grad_fn()
    # Overlapping windows may sum their contributions in another order: allow float64 rounding.
    if (first - ref).abs().max() > 1e-12 * ref.abs().max():
        raise SystemExit("routed MaxPool with first-element priority does not reproduce PyTorch's gradient: "
                         "max abs diff %g" % (first - ref).abs().max())
    base = reduce(ref)
    mask = torch.zeros_like(base, dtype=torch.bool)
    for prio in conventions()(window)[1:]:
        with routed(prio):
            mask |= reduce(grad_fn()) != base
    return mask
