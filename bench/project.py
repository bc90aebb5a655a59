#!/usr/bin/env python3
"""Projects step time and scaling efficiency to 8, 16 and 64 nodes (bench/README.md).

Reads bench/cluster.sh's output on stdin: the all-reduce's times by message size for each
link (measured between two hosts, `bench --allreduce`) and each bench shape's step time on one
node. It fits t = α + β·n to the sizes of 64 KiB and up, weighting each by 1/t² (relative
error: 64 KiB and 32 MiB count alike), as `bench --allreduce` prints it. Model (no overlap):

  ring all-reduce over p nodes of n bytes:  T_ar(p) = 2(p−1)·a + 2(p−1)/p · n · b
      with a = α/2 (a p = 2 ring is two messages) and b = β from the two-host fit;
  a step with global batch G:               t(p) = c·G/p + T_ar(p)
      with c the measured time per sequence on one node (the bench shape's step / B);
  scaling efficiency:                       E(p) = c·G / (p · t(p))
  global batch for E = 90%:                 G = 9 · p · T_ar(p) / c
"""
import re
import sys

NODES = (8, 16, 64)


def parameters(I, H, L):
    p = H * I + H * H + 2 * H
    p += (L - 1) * (2 * H * H + 2 * H)
    return p + H + 1  # the head: one output


def fit(points, smallest=64 << 10):
    """Weighted least squares of t on n over the points of at least `smallest` bytes."""
    used = [(n, t, 1 / t ** 2) for n, t in points if n >= smallest]
    sw = sum(w for _, _, w in used)
    sx = sum(w * n for n, _, w in used)
    sy = sum(w * t for _, t, w in used)
    sxx = sum(w * n * n for n, _, w in used)
    sxy = sum(w * n * t for n, t, w in used)
    beta = (sw * sxy - sx * sy) / (sw * sxx - sx * sx)
    return (sy - beta * sx) / sw, beta


def main():
    samples, shapes = {}, {}
    link = None
    for line in sys.stdin:
        if line.startswith("## link:"):
            link = line.split(":", 1)[1].strip()
        m = re.search(r"allreduce ranks=2 bytes=(\d+): ([0-9.]+) ms", line)
        if m and link:
            samples.setdefault(link, []).append((int(m.group(1)), float(m.group(2)) * 1e-3))
        m = re.search(r"one node: bench I=(\d+) H=(\d+) L=(\d+) T=(\d+) B=(\d+) .*?: ([0-9.]+) ms/step", line)
        if m:
            I, H, L, T, B = (int(m.group(k)) for k in range(1, 6))
            shapes[(I, H, L, T, B)] = float(m.group(6)) * 1e-3
    fits = [(link, *fit(points)) for link, points in samples.items()]
    if not fits or not shapes:
        sys.exit("project.py: no fit or no one-node line on stdin (run bench/cluster.sh)")
    for link, alpha, beta in fits:
        a, b = max(alpha, 0) / 2, beta
        print(f"\n**{link}** (α = {alpha * 1e6:.0f} µs, β = {beta * 1e9:.3f} ns/byte; each node keeps the bench batch B)\n")
        print("| shape I/H/L/T/B | gradient | one node | " + " | ".join(f"{p} nodes: step, efficiency" for p in NODES)
              + " | " + " | ".join(f"G for 90% at {p}" for p in NODES) + " |")
        print("| --- " * (3 + 2 * len(NODES)) + "|")
        for (I, H, L, T, B), step in sorted(shapes.items(), key=lambda kv: kv[1]):
            n = 4 * parameters(I, H, L)
            c = step / B
            cells, batches = [], []
            for p in NODES:
                t_ar = 2 * (p - 1) * a + 2 * (p - 1) / p * n * b
                t = c * B + t_ar  # G = B·p: each node computes B sequences
                cells.append(f"{t * 1e3:.2f} ms, {c * B / t:.0%}")
                batches.append(f"{9 * p * t_ar / c:,.0f}")
            print(f"| {I}/{H}/{L}/{T}/{B} | {n / 1024:,.0f} KiB | {step * 1e3:.2f} ms | " + " | ".join(cells)
                  + " | " + " | ".join(batches) + " |")


main()
