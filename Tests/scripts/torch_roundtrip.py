"""Round trip with PyTorch: elman-dist trains and exports; PyTorch loads the file with
load_state_dict and must predict what elman-dist predicts.

    python Tests/scripts/torch_roundtrip.py [path/to/elman-dist]

Needs torch, numpy and safetensors' format (read here by hand, so only torch and numpy are
required). Not part of `launch/test.sh`, which must not depend on PyTorch.
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {k: torch.from_numpy(np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]], dtype=np.float32)
                                   .reshape(v["shape"]).copy()) for k, v in header.items()}
    return tensors, meta


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/release/elman-dist"
    work = tempfile.mkdtemp()
    run = lambda *a: subprocess.run([binary, *a], check=True, capture_output=True, text=True).stdout
    run("train", "--data", "sine", "--layers", "2", "--hidden", "12", "--seq-len", "10", "--steps", "50",
        "--quiet", "--checkpoint-dir", os.path.join(work, "ck"))
    exported = os.path.join(work, "model.safetensors")
    run("export", os.path.join(work, "ck"), "--out", exported)
    csv = run("predict", "--checkpoint", os.path.join(work, "ck")).strip().split("\n")[1:]
    ours = np.array([float(line.split(",")[2]) for line in csv])

    # Only the exported file: its metadata carries the model and the data pipeline.
    state, meta = read_safetensors(exported)
    m = json.loads(meta["elman_dist_model"])
    rnn = torch.nn.RNN(m["input_size"], m["hidden_size"], m["num_layers"], nonlinearity=m["nonlinearity"], batch_first=True)
    fc = torch.nn.Linear(m["hidden_size"], m["output_size"])
    rnn.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("rnn.")})
    fc.load_state_dict({k[3:]: v for k, v in state.items() if k.startswith("fc.")})

    # Raw data in, the data's units out: the same series (sine at x = 0, 0.1, ..., 99.9).
    T = m["seq_len"]
    f, t = m["feature_scaling"][0], m["target_scaling"]
    y = np.sin(np.arange(1000) * 0.1)
    z = (y - f["shift"]) / f["scale"]
    windows = np.stack([z[i:i + T] for i in range(len(z) - T)])[:, :, None]
    with torch.no_grad():
        out, _ = rnn(torch.tensor(windows, dtype=torch.float32))
        theirs = fc(out[:, -1, :]).numpy()[:, 0] * t["scale"] + t["shift"]
    diff = np.abs(theirs - ours).max()
    print(f"{len(ours)} predictions, max |PyTorch - elman-dist| = {diff:.2e}")
    sys.exit(0 if diff < 1e-4 else 1)


if __name__ == "__main__":
    main()
