"""MLflow side of the peers benchmark's query figures: one search of the store, as one process.

    python mlflow_query.py --db mlflow.db --mode list|query

list: the 20 newest runs (search_runs ordered by start time); query: the runs
with val_accuracy > 0.9, train.lr = 0.01 and status FINISHED, best 20 by
val_accuracy: what magelab's `runs` and `runs -where ... -sort ... -limit 20`
do. It prints one JSON line: the import time, the first search and a second
one in the same process (warm), and the runs found (their magelab ids).
"""
import argparse
import json
import os
import time

FILTER = "metrics.val_accuracy > 0.9 and params.`train.lr` = '0.01' and attributes.status = 'FINISHED'"


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--mode", choices=["list", "query"], required=True)
    return ap.parse_args()


def main():
    a = parse_args()
    t0 = time.perf_counter()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri="sqlite:///" + os.path.abspath(a.db))
    import_s = time.perf_counter() - t0
    if a.mode == "list":
        kw = {"order_by": ["attributes.start_time DESC"]}
    else:
        kw = {"filter_string": FILTER, "order_by": ["metrics.val_accuracy DESC"]}
    times, ids = [], []
    for _ in range(2):
        t = time.perf_counter()
        exps = [e.experiment_id for e in client.search_experiments()]
        runs = client.search_runs(exps, max_results=20, **kw)
        times.append(time.perf_counter() - t)
        ids = [r.data.tags.get("magelab.id") for r in runs]
    print(json.dumps({"import_s": import_s, "first_s": times[0], "warm_s": times[1], "ids": ids}))


if __name__ == "__main__":
    main()
