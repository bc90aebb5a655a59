"""PyTorch baseline for `elman-dist bench`: the same model, loss, optimiser and shapes.

    python bench/pytorch_baseline.py --input-size 8 --hidden 128 --seq-len 32 --batch-size 64 --steps 200
    python bench/pytorch_baseline.py ... --processes 2        # DistributedDataParallel over gloo

torch.nn.RNN + torch.nn.Linear (head on the last step), MSE, Adam, random data, after a
warm-up; torch.set_num_threads(cores / processes). Prints one line ending in '<n> seq/s'
(the global batch per second), like elman-dist bench. Needs torch; nothing in CI runs it.
"""
import argparse
import os
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn


class Elman(nn.Module):
    def __init__(self, i, h, layers):
        super().__init__()
        self.rnn = nn.RNN(i, h, layers, batch_first=True)
        self.fc = nn.Linear(h, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1, :])


def run(rank, args, result):
    world = args.processes
    torch.set_num_threads(max(1, (args.cores or os.cpu_count()) // world))
    torch.manual_seed(0)
    model = Elman(args.input_size, args.hidden, args.layers)
    if world > 1:
        os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
        os.environ.setdefault("MASTER_PORT", "29517")
        dist.init_process_group("gloo", rank=rank, world_size=world)
        model = nn.parallel.DistributedDataParallel(model)
    local = args.batch_size // world + (1 if rank < args.batch_size % world else 0)
    x = torch.randn(local, args.seq_len, args.input_size)
    y = torch.randn(local, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    for _ in range(args.warmup):
        step()
    if world > 1:
        dist.barrier()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if world > 1:
        dist.barrier()
    elapsed = time.perf_counter() - start
    if rank == 0:
        result.put(elapsed / args.steps)
    if world > 1:
        dist.destroy_process_group()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--input-size", type=int, default=8)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--seq-len", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--cores", type=int, default=0, help="cores to use (default: all)")
    args = p.parse_args()
    ctx = mp.get_context("spawn")
    result = ctx.Queue()
    if args.processes == 1:
        run(0, args, result)
    else:
        mp.spawn(run, args=(args, result), nprocs=args.processes, join=True)
    per_step = result.get()
    print(f"torch {torch.__version__} I={args.input_size} H={args.hidden} L={args.layers} T={args.seq_len} "
          f"B={args.batch_size} processes={args.processes} threads={max(1, (args.cores or os.cpu_count()) // args.processes)}: "
          f"{per_step * 1e3:.3f} ms/step, {args.batch_size / per_step:.0f} seq/s")


if __name__ == "__main__":
    main()
