"""Round trip with PyTorch through the README's own snippet: elman-dist trains and exports a model
of levels, a model of changes and a model of seasonal changes (--season 24); the README's Python
block, run as written beside the exported file, must forecast what `elman-dist predict --input`
forecasts (levels and changes: its example gives T + 1 values), and its `forecast` function must
reproduce `elman-dist predict` on every 25th window of the training data (all three).

    python3 Tests/scripts/torch_roundtrip.py [path/to/elman-dist]

Needs torch and safetensors. Run by the end-to-end test `PyTorchRoundTripTests` where torch is
installed (it skips, saying so, where it is not).
"""
import contextlib
import csv
import io
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(ROOT, "examples", "data", "seattle-temps.csv")


def readme_snippet():
    """The README's Python block under "Loading in PyTorch", exactly as a user copies it."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    start = text.index("```python\n", text.index("Loading in PyTorch")) + len("```python\n")
    return text[start:text.index("```", start)]


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "elman-dist")
    run = lambda *a: subprocess.run([binary, *a], check=True, capture_output=True, text=True).stdout
    with open(DATA, newline="") as f:
        temps = [float(r["temp"]) for r in csv.DictReader(f)]
    snippet = readme_snippet()
    worst = 0.0
    for kind, flags in (("levels", ["--no-difference"]), ("changes", []), ("seasonal", ["--season", "24"])):
        work = tempfile.mkdtemp()
        ck = os.path.join(work, "ck")
        run("train", "--data", DATA, "--target", "temp", "--steps", "40", "--quiet", "--checkpoint-dir", ck, *flags)
        run("export", ck, "--out", os.path.join(work, "temps.safetensors"))

        # The snippet as written, in the folder of the exported file: it prints the next hour.
        scope, printed = {}, io.StringIO()
        cwd = os.getcwd()
        os.chdir(work)
        try:
            with contextlib.redirect_stdout(printed):
                # The example call at its end gives 17 values: too few for a seasonal model.
                code = snippet if "--season" not in flags else snippet[:snippet.index("\n# The last")]
                exec(compile(code, "README.md", "exec"), scope)
        finally:
            os.chdir(cwd)
        forecast, T = scope["forecast"], scope["meta"]["seq_len"]
        lag = {"levels": 0, "changes": 1, "seasonal": 24}[kind]
        if kind != "seasonal":  # the README's example gives 17 values: T + 1
            theirs = float(printed.getvalue().split()[-1])
            values = "45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61"
            ours = float(run("predict", "--checkpoint", ck, "--input", values).split()[-1].split(",")[1])
            diff = abs(theirs - ours)
            print(f"{kind}: README snippet {theirs:.6f}, predict --input {ours:.6f}, |difference| {diff:.2e}")
            worst = max(worst, diff)

        # The snippet's forecast() on the windows of the training data, against `predict`.
        rows = list(csv.DictReader(io.StringIO(run("predict", "--checkpoint", ck))))[::25]
        for r in rows:
            row = int(r["row"])  # the target's row in the file's data rows
            mine = forecast(temps[row - T - lag:row])
            worst = max(worst, abs(mine - float(r["predicted"])))
        print(f"{kind}: {len(rows)} windows compared")
    print(f"max |PyTorch - elman-dist| = {worst:.2e}")
    sys.exit(0 if worst < 1e-4 else 1)


if __name__ == "__main__":
    main()
