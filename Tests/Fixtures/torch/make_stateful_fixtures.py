"""Reference trajectories for stateful truncated BPTT, computed by PyTorch.

The loop is PyTorch's word_language_model (examples/word_language_model/main.py): the
training stream is cut into B lanes (`batchify`), step k feeds rows i .. i+s-1 of every
lane with i = k*T and s = min(T, L-1-i) (`get_batch`), the hidden state starts at zero each
epoch and is carried, detached, from step to step (`repackage_hidden`), and the loss is the
mean over all B*s targets. Nothing is shuffled.

Two cases, each one .safetensors file (tensors under PyTorch's state_dict names; the
metadata key "config" holds the case as JSON):

- stateful_2layer_ce_adam_clip: a character stream of 5 classes, one-hot inputs,
  2-layer tanh RNN + Linear on every step, cross-entropy, Adam with gradient clipping,
  4 lanes, T = 8 (the last chunk of each epoch is 1 step long), 3 epochs.
- stateful_sine_sgd_t1: a sine wave, 1-layer tanh RNN + Linear, MSE, plain SGD, one lane,
  T = 1 (the from-scratch tutorial: the state carried step to step), 2 epochs.

Training runs in float64 from the float32 initial weights and data; the results are stored
as float32. Tensors: the initial weights (rnn.*, fc.*), "data" (the stream), and
"expected.losses" (one per step), "expected.hidden" (the carried state after the last step,
(layers, B, H)) and "expected.<name>" (the final weights).

Regenerate: python3 make_stateful_fixtures.py (needs torch and safetensors).
"""
import json
import math

import torch
import torch.nn as nn
from safetensors.torch import save_file

torch.manual_seed(20261121)


class Elman(nn.Module):
    def __init__(self, i, h, o, layers):
        super().__init__()
        self.rnn = nn.RNN(i, h, layers, nonlinearity="tanh", batch_first=True)
        self.fc = nn.Linear(h, o)

    def forward(self, x, h):
        out, h = self.rnn(x, h)
        return self.fc(out), h


def batchify(data, lanes):
    """data (N, ...) -> (B, L, ...): lane b holds rows b*L .. b*L+L-1; the rest is dropped."""
    length = data.size(0) // lanes
    return data.narrow(0, 0, length * lanes).reshape(lanes, length, *data.shape[1:])


def train(name, data, inputs, targets, classes, hidden, layers, lanes, bptt, epochs, optimizer, clip=None):
    """inputs(chunk) -> x (B, s, I); targets(chunk) -> y; classes: outputs for CE, None for MSE."""
    out_size = classes or 1
    in_size = classes or 1
    model32 = Elman(in_size, hidden, out_size, layers)
    initial = {k: v.detach().clone().float().contiguous() for k, v in model32.state_dict().items()}
    model = Elman(in_size, hidden, out_size, layers).double()
    model.load_state_dict({k: v.double() for k, v in initial.items()})
    opt = optimizer(model.parameters())
    source = batchify(data, lanes)
    length = source.size(1)
    losses = []
    h = None
    for _ in range(epochs):
        h = torch.zeros(layers, lanes, hidden, dtype=torch.float64)
        for i in range(0, length - 1, bptt):
            s = min(bptt, length - 1 - i)
            x = inputs(source[:, i:i + s])
            y = targets(source[:, i + 1:i + 1 + s])
            h = h.detach()
            opt.zero_grad()
            out, h = model(x, h)
            if classes:
                loss = nn.functional.cross_entropy(out.reshape(-1, classes), y.reshape(-1))
            else:
                loss = nn.functional.mse_loss(out, y)
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            losses.append(loss.item())
    tensors = dict(initial)
    tensors["data"] = data.clone().contiguous()
    tensors["expected.losses"] = torch.tensor(losses, dtype=torch.float32)
    tensors["expected.hidden"] = h.detach().float().contiguous()
    for k, v in model.state_dict().items():
        tensors["expected." + k] = v.detach().float().contiguous()
    config = dict(hidden=hidden, layers=layers, lanes=lanes, seq_len=bptt, epochs=epochs, classes=classes,
                  steps=len(losses), rows=data.size(0), optimizer=repr(opt).replace("\n", " "), clip=clip)
    save_file(tensors, name + ".safetensors", metadata={"config": json.dumps(config)})
    print(name, config["steps"], "steps, last loss", losses[-1])


# A stream of 5 classes with structure (a noisy cycle), so training has something to learn.
V = 5
stream = torch.tensor([(k + (1 if torch.rand(()) < 0.2 else 0)) % V for k in range(203)], dtype=torch.int64)
train("stateful_2layer_ce_adam_clip", stream,
      inputs=lambda chunk: nn.functional.one_hot(chunk, V).double(),
      targets=lambda chunk: chunk,
      classes=V, hidden=6, layers=2, lanes=4, bptt=8, epochs=3,
      optimizer=lambda p: torch.optim.Adam(p, lr=0.01), clip=0.5)

sine = torch.tensor([math.sin(0.1 * k) for k in range(100)], dtype=torch.float32)
train("stateful_sine_sgd_t1", sine,
      inputs=lambda chunk: chunk.double().unsqueeze(-1),
      targets=lambda chunk: chunk.double().unsqueeze(-1),
      classes=None, hidden=10, layers=1, lanes=1, bptt=1, epochs=2,
      optimizer=lambda p: torch.optim.SGD(p, lr=0.05))
