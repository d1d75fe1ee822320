"""train stage of the peers benchmark's toy pipeline: sleeps train.sleep seconds, then writes metrics.

The metrics go where each tool looks for them: OUT/metrics.json (magelab, DVC),
"name: value" lines on stdout (Guild's output scalars) and, when MLflow started
the run (MLFLOW_RUN_ID is set), mlflow.log_metrics: MLflow reads nothing else.

Every tool runs it with the same flags:
    python python/train.py --params params.json [--set train.sleep=1] --in IN --out OUT
"""
import argparse
import json
import os
import time


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--params", required=True, help="JSON: {seed, data: {...}, train: {...}}")
    ap.add_argument("--set", action="append", default=[], help="section.key=JSON value, over --params")
    ap.add_argument("--in", dest="in_dir")
    ap.add_argument("--out", required=True)
    return ap.parse_args()


def load_params(a):
    with open(a.params) as f:
        p = json.load(f)
    for kv in a.set:
        key, value = kv.split("=", 1)
        section, name = key.split(".", 1)
        p.setdefault(section, {})[name] = json.loads(value)
    return p


def main():
    a = parse_args()
    p = load_params(a)
    with open(os.path.join(a.in_dir, "data.json")) as f:
        data = json.load(f)
    t = p.get("train", {})
    time.sleep(float(t.get("sleep", 0)))
    score = float(t.get("lr", 0)) * float(t.get("hidden", 0)) + float(data["data"].get("n", 0))
    metrics = {"score": score, "loss": 1 / (1 + score)}
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "metrics.json"), "w") as f:
        json.dump(metrics, f)
    for name, value in metrics.items():
        print("%s: %s" % (name, value))
    if os.environ.get("MLFLOW_RUN_ID"):
        import mlflow

        mlflow.log_metrics(metrics)


if __name__ == "__main__":
    main()
