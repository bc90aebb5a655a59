"""22 monthly US employment series (vega_datasets' us-employment.csv, BLS data, 2006-2015):
96 months to train, the next 24 scored one step ahead, each forecast from the months before it.

One global elman-dist model of every series (a wide file, --series-columns), one elman-dist
model per series, NeuralForecast's RNN as a global model (when neuralforecast is installed),
the last value, and the last value plus the mean change of the last 6 months, all with
defaults, all scored here the same way: MASE scaled by each series' in-sample naive MAE over
the 96 training months, averaged across series (the M4 convention).

Usage: python3 bench/employment.py path/to/elman-dist [ROUNDS]
"""

import json, os, subprocess, sys, tempfile, time

import numpy as np
import pandas as pd

TRAIN, TEST = 96, 24


def data_file():
    try:
        import vega_datasets
    except ImportError:
        sys.exit("skipped: the employment panel comes with vega_datasets (pip install vega_datasets)")
    return os.path.join(os.path.dirname(vega_datasets.__file__), "_data", "us-employment.csv")


def mase(wide, maes):
    """Mean across series of MAE / in-sample naive MAE (first TRAIN months)."""
    return np.mean([maes[c] / np.mean(np.abs(np.diff(wide[c].to_numpy()[:TRAIN]))) for c in maes])


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def elman_global(bin, wide, cols, work, full, train):
    ck = os.path.join(work, "global")
    start = time.time()
    run(bin, "train", "--data", train, "--series-columns", ",".join(cols), "--quiet", "--checkpoint-dir", ck)
    seconds = time.time() - start
    j = json.loads(run(bin, "eval", "--checkpoint", ck, "--data", full, "--test-size", str(TEST), "--json"))
    return mase(wide, {s["id"]: s["mae"] for s in j["series"]}), seconds


def elman_per_series(bin, wide, cols, work, full, train):
    maes, start = {}, time.time()
    for c in cols:
        ck = os.path.join(work, "one-" + c)
        run(bin, "train", "--data", train, "--target", c, "--quiet", "--checkpoint-dir", ck)
        j = json.loads(run(bin, "eval", "--checkpoint", ck, "--data", full, "--test-size", str(TEST), "--json"))
        maes[c] = j["mae"]
    return mase(wide, maes), time.time() - start


def neuralforecast(wide, cols):
    try:
        from neuralforecast import NeuralForecast
        from neuralforecast.models import RNN
    except ImportError:
        return None
    import logging, warnings

    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    long = wide.melt(id_vars="month", value_vars=cols, var_name="unique_id", value_name="y")
    long = long.rename(columns={"month": "ds"})
    long["ds"] = pd.to_datetime(long["ds"])
    start = time.time()
    model = RNN(h=1, enable_progress_bar=False, logger=False, enable_model_summary=False)
    nf = NeuralForecast(models=[model], freq="MS", local_scaler_type="standard")
    cv = nf.cross_validation(long, n_windows=TEST, step_size=1, refit=False)
    seconds = time.time() - start
    maes = {c: float(np.mean(np.abs(g["y"] - g["RNN"]))) for c, g in cv.groupby("unique_id")}
    return mase(wide, maes), seconds


def main():
    bin = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    wide = pd.read_csv(data_file())
    cols = list(wide.columns[1:23])  # nonfarm ... government; not month, not nonfarm_change
    last = {c: float(np.mean(np.abs(np.diff(wide[c].to_numpy()[TRAIN - 1 :])))) for c in cols}
    drift = {}
    for c in cols:
        y = wide[c].to_numpy()
        f = [y[t - 1] + (y[t - 1] - y[t - 7]) / 6 for t in range(TRAIN, TRAIN + TEST)]
        drift[c] = float(np.mean(np.abs(y[TRAIN:] - f)))
    print(f"last value: mean MASE {mase(wide, last):.3f}; last value + mean change of 6 months: {mase(wide, drift):.3f}")
    with tempfile.TemporaryDirectory() as work:
        full, train = os.path.join(work, "full.csv"), os.path.join(work, "train.csv")
        wide.to_csv(full, index=False)
        wide.iloc[:TRAIN].to_csv(train, index=False)
        for r in range(rounds):
            checkpoints = os.path.join(work, f"round-{r + 1}")
            g, gs = elman_global(bin, wide, cols, checkpoints, full, train)
            p, ps = elman_per_series(bin, wide, cols, checkpoints, full, train)
            line = f"round {r + 1}: elman-dist global {g:.3f} in {gs:.1f} s; one model per series {p:.3f} in {ps:.1f} s"
            n = neuralforecast(wide, cols)
            line += f"; NeuralForecast RNN {n[0]:.3f} in {n[1]:.1f} s" if n else "; NeuralForecast not installed"
            print(line, flush=True)


if __name__ == "__main__":
    main()
