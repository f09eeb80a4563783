"""PyTorch CPU figures to compare with `bayeslab bench --sampling` and `bayeslab bench
--mc-dropout`, run beside them (one thread).

Measures, on the pSGLD paper's MNIST net (784-400-400-10 ReLU, batch 100, random inputs),
idiomatic PyTorch steps in bayeslab's parametrisation (mean cross-entropy, learning rate lr,
prior precision 1 as weight decay 1/N with N = 60,000, temperature 1):
  - SGD:      torch.optim.SGD(lr, weight_decay=1/N)
  - SGLD:     the same SGD step, then p += sqrt(2 lr T / N) * randn_like(p) per tensor
  - RMSprop:  torch.optim.RMSprop(lr, alpha=0.99, eps=1e-5, weight_decay=1/N)
  - pSGLD:    V = aV + (1-a) g^2, G = 1/(eps + sqrt(V)), p -= lr G g, p += sqrt(2 lr T G / N) * randn_like(p)
and torch.randn's rate on 1M floats (in place, `normal_`); and evaluation passes over 10,000
random rows of the same net with nn.Dropout(0.5) after each hidden ReLU, under torch.no_grad(),
plain (net.eval()) and MC dropout (net.train(), softmax). Each figure is the best of 3 rounds,
as in bayeslab's benchmark, since the machines are shared.

Usage: python scripts/torch_sgmcmc_bench.py
"""
import math
import time

import torch
import torch.nn as nn

torch.set_num_threads(1)
torch.manual_seed(0)

N, LR, ALPHA, EPS, T = 60_000, 1e-3, 0.99, 1e-5, 1.0
WD = 1.0 / N


def rate(fn, min_time=1.0):
    """Calls per second of fn over at least min_time seconds, after a 0.2 s warm-up."""
    t = time.perf_counter()
    while time.perf_counter() - t < 0.2:
        fn()
    n, t = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - t
        if elapsed >= min_time:
            return n / elapsed


def mlp():
    return nn.Sequential(
        nn.Linear(784, 400), nn.ReLU(), nn.Linear(400, 400), nn.ReLU(), nn.Linear(400, 10)
    )


def dropout_mlp(p):
    return nn.Sequential(
        nn.Linear(784, 400), nn.ReLU(), nn.Dropout(p),
        nn.Linear(400, 400), nn.ReLU(), nn.Dropout(p),
        nn.Linear(400, 10),
    )


xb = torch.rand(100, 784)
yb = torch.randint(0, 10, (100,))
lossf = nn.CrossEntropyLoss()


def make_step(kind):
    net = mlp()
    params = list(net.parameters())
    opt = None
    if kind in ("sgd", "sgld"):
        opt = torch.optim.SGD(params, lr=LR, weight_decay=WD)
    if kind == "rmsprop":
        opt = torch.optim.RMSprop(params, lr=LR, alpha=ALPHA, eps=EPS, weight_decay=WD)
    V = [torch.zeros_like(p) for p in params]
    sigma = math.sqrt(2 * LR * T / N)

    def step():
        for p in params:
            p.grad = None
        lossf(net(xb), yb).backward()
        if opt is not None:
            opt.step()
        with torch.no_grad():
            if kind == "sgld":
                for p in params:
                    p.add_(torch.randn_like(p), alpha=sigma)
            elif kind == "psgld":
                for p, v in zip(params, V):
                    g = p.grad.add(p, alpha=WD)
                    v.mul_(ALPHA).addcmul_(g, g, value=1 - ALPHA)
                    G = v.sqrt().add_(EPS).reciprocal_()
                    p.addcmul_(G, g, value=-LR)
                    p.add_(torch.randn_like(p) * (G * sigma**2).sqrt_())

    return step


kinds = ("sgd", "sgld", "rmsprop", "psgld")
steps = {k: make_step(k) for k in kinds}
best = {k: 0.0 for k in kinds}
buf = torch.empty(1 << 20)
best_randn = 0.0
xt = torch.rand(10_000, 784)
dnet = dropout_mlp(0.5)


def plain_pass():
    dnet.eval()
    with torch.no_grad():
        dnet(xt).softmax(-1)


def mc_pass():
    dnet.train()
    with torch.no_grad():
        dnet(xt).softmax(-1)


best_plain = best_mc = 0.0
for _ in range(3):
    for k in kinds:
        best[k] = max(best[k], rate(steps[k]))
    best_randn = max(best_randn, rate(lambda: buf.normal_()) * buf.numel())
    best_plain = max(best_plain, rate(plain_pass, min_time=2.0))
    best_mc = max(best_mc, rate(mc_pass, min_time=2.0))

print(f"torch {torch.__version__}, {torch.get_num_threads()} thread")
print(f"randn (normal_ on 1M floats): {best_randn / 1e6:.0f} M normals/s")
for k in kinds:
    print(f"mlp 784-400-400-10 b100 step {k}: {best[k]:.1f} steps/s")
print(f"step time sgld / sgd: {best['sgd'] / best['sgld']:.3f}x")
print(f"step time psgld / rmsprop: {best['rmsprop'] / best['psgld']:.3f}x")
print(f"plain pass (eval), 10000 rows: {best_plain:.1f} passes/s")
print(f"mc-dropout pass, 10000 rows: {best_mc:.1f} passes/s")
print(f"T=100 mc-dropout / 100 plain passes: {best_plain / best_mc:.3f}x")
