"""PyTorch side of bench/char_model.sh: elman-dist's stateful character model, loop for loop.

    python3 bench/pytorch_char_model.py TEXT [--hidden 256 --layers 2 --seq-len 64 --lanes 64 --epochs 2]

The text's characters are classes (one-hot inputs, as elman-dist's); the last --val-fraction of
them is held out. Training reads --lanes lanes of the rest (PyTorch word_language_model's
batchify), chunks of --seq-len steps, the hidden state carried and detached, from zero each
epoch; torch.nn.RNN + torch.nn.Linear on every step, cross-entropy, Adam, gradient norm clipped.
Validation after each epoch reads the held-out rows as elman-dist does: max(1, min(lanes,
rows / (100 · seq-len))) lanes, each from zero. Prints the times and the last validation
cross-entropy on one line. Needs torch; nothing in CI runs it.
"""
import argparse
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def lanes_of(data, lanes):
    length = len(data) // lanes
    return data[: lanes * length].view(lanes, length)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("text")
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--lanes", type=int, default=64)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--clip", type=float, default=5.0)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    started = time.perf_counter()
    text = open(a.text, encoding="utf-8").read()
    vocabulary = sorted(set(text))
    index = {c: i for i, c in enumerate(vocabulary)}
    data = torch.tensor([index[c] for c in text], dtype=torch.long)
    V, T = len(vocabulary), a.seq_len
    held = round(len(data) * a.val_fraction)
    train, val = lanes_of(data[: len(data) - held], a.lanes), data[len(data) - held :]
    val_lanes = lanes_of(val, max(1, min(a.lanes, held // (100 * T))))

    rnn = nn.RNN(V, a.hidden, a.layers, batch_first=True)
    fc = nn.Linear(a.hidden, V)
    params = list(rnn.parameters()) + list(fc.parameters())
    opt = torch.optim.Adam(params, lr=a.lr)

    def chunks(length):
        return [(i, min(T, length - 1 - i)) for i in range(0, length - 1, T)]

    train_seconds = val_seconds = 0.0
    val_loss = float("nan")
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        h = torch.zeros(a.layers, a.lanes, a.hidden)
        for i, s in chunks(train.shape[1]):
            x = F.one_hot(train[:, i : i + s], V).float()
            y = train[:, i + 1 : i + 1 + s]
            out, h = rnn(x, h.detach())
            loss = F.cross_entropy(fc(out).reshape(-1, V), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, a.clip)
            opt.step()
        t1 = time.perf_counter()
        with torch.no_grad():
            h = torch.zeros(a.layers, val_lanes.shape[0], a.hidden)
            total, count = 0.0, 0
            for i, s in chunks(val_lanes.shape[1]):
                out, h = rnn(F.one_hot(val_lanes[:, i : i + s], V).float(), h)
                y = val_lanes[:, i + 1 : i + 1 + s]
                total += F.cross_entropy(fc(out).reshape(-1, V), y.reshape(-1), reduction="sum").item()
                count += y.numel()
            val_loss = total / count
        train_seconds += t1 - t0
        val_seconds += time.perf_counter() - t1
    print(
        f"pytorch: {V} classes, {train.numel()} training and {held} validation rows; "
        f"training {train_seconds:.2f} s, validation {val_seconds:.2f} s, total {time.perf_counter() - started:.2f} s; "
        f"validation cross-entropy {val_loss:.4f}"
    )


if __name__ == "__main__":
    main()
