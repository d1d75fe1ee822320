"""MLflow side of the ledger benchmark: load runs into MLflow's SQLite tracking
store and time search_runs with the filter and order magelab's `runs` uses.

Called by `go run ./bench/ledger` with the venv it makes; by hand:

    python mlflow_bench.py load  --db runs.db --runs runs.jsonl [--client N]
    python mlflow_bench.py query --db runs.db --reps 7 [--expect ids.json]

runs.jsonl holds one run per line: id, experiment, started (unix ms), status,
duration_s, params (flat), metrics (flat). `load` logs the first N runs (default
500) through MlflowClient (create_run, log_batch, set_terminated: the fastest
public client path, one run per call) to measure that rate, and inserts the
rest directly with MLflow's own SQLAlchemy models in large transactions, as
the client would have written them, because the client path would take
hours for 100k runs on two cores. `query` prints one JSON object with the
timings.
"""

import argparse
import json
import os
import resource
import sys
import time
import uuid

STATUS = {"finished": "FINISHED", "failed": "FAILED", "interrupted": "KILLED", "running": "RUNNING"}
FILTER = "metrics.val_accuracy > 0.9 and params.`train.lr` = '0.01' and attributes.status = 'FINISHED'"
ORDER = ["metrics.val_accuracy DESC"]


def uri(db):
    return "sqlite:///" + os.path.abspath(db)


def read_runs(path):
    with open(path) as f:
        for line in f:
            yield json.loads(line)


def param_value(v):
    # MLflow params are strings; log_param(str(v)) is what users do.
    if isinstance(v, bool):
        return str(v)
    return str(v)


def experiments(client, names):
    ids = {}
    for name in sorted(names):
        exp = client.get_experiment_by_name(name)
        ids[name] = exp.experiment_id if exp else client.create_experiment(name)
    return ids


def load_client(client, runs, exp_ids):
    from mlflow.entities import Metric, Param, RunTag

    for r in runs:
        start = r["started"]
        run = client.create_run(exp_ids[r["experiment"]], start_time=start, tags={"magelab.id": r["id"]})
        rid = run.info.run_id
        client.log_batch(
            rid,
            metrics=[Metric(k, v, start, 0) for k, v in sorted(r["metrics"].items())],
            params=[Param(k, param_value(v)) for k, v in sorted(r["params"].items())],
            tags=[RunTag("magelab.status", r["status"])],
        )
        if r["status"] != "running":
            client.set_terminated(rid, STATUS[r["status"]], end_time=start + int(r["duration_s"] * 1000))


def load_direct(store, runs, exp_ids, batch=2000):
    """Insert rows the way SqlAlchemyStore.create_run/log_batch/set_terminated do."""
    from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag

    def flush(rows):
        with store.ManagedSessionMaker() as session:
            session.bulk_save_objects(rows)

    rows = []
    for r in runs:
        start = r["started"]
        rid = uuid.uuid4().hex
        status = STATUS[r["status"]]
        end = None if status == "RUNNING" else start + int(r["duration_s"] * 1000)
        exp = exp_ids[r["experiment"]]
        rows.append(SqlRun(
            run_uuid=rid, name=r["id"][-8:], source_type="LOCAL", source_name="", entry_point_name="",
            user_id="bench", status=status, start_time=start, end_time=end, source_version="",
            lifecycle_stage="active", artifact_uri="file:///tmp/mlruns/%s/%s/artifacts" % (exp, rid),
            experiment_id=int(exp),
        ))
        rows.append(SqlTag(key="magelab.id", value=r["id"], run_uuid=rid))
        rows.append(SqlTag(key="mlflow.runName", value=r["id"][-8:], run_uuid=rid))
        for k, v in sorted(r["params"].items()):
            rows.append(SqlParam(key=k, value=param_value(v), run_uuid=rid))
        for k, v in sorted(r["metrics"].items()):
            rows.append(SqlMetric(key=k, value=v, timestamp=start, step=0, is_nan=False, run_uuid=rid))
            rows.append(SqlLatestMetric(key=k, value=v, timestamp=start, step=0, is_nan=False, run_uuid=rid))
        if len(rows) >= batch * 50:
            flush(rows)
            rows = []
    if rows:
        flush(rows)


def cmd_load(a):
    import mlflow
    from mlflow.tracking import MlflowClient

    runs = list(read_runs(a.runs))
    client = MlflowClient(tracking_uri=uri(a.db))
    t = time.perf_counter()
    exp_ids = experiments(client, {r["experiment"] for r in runs})
    setup_s = time.perf_counter() - t
    n = min(a.client, len(runs))
    t = time.perf_counter()
    load_client(client, runs[:n], exp_ids)
    client_s = time.perf_counter() - t
    store = client._tracking_client.store
    t = time.perf_counter()
    load_direct(store, runs[n:], exp_ids)
    direct_s = time.perf_counter() - t
    print(json.dumps({
        "mlflow": mlflow.__version__, "runs": len(runs), "setup_s": setup_s,
        "client_runs": n, "client_s": client_s, "client_runs_per_s": n / client_s if client_s else None,
        "direct_runs": len(runs) - n, "direct_s": direct_s,
        "direct_runs_per_s": (len(runs) - n) / direct_s if direct_s else None,
        "db_bytes": os.path.getsize(a.db),
    }))


def cmd_query(a):
    t0 = time.perf_counter()
    import mlflow
    from mlflow.tracking import MlflowClient

    mlflow.set_tracking_uri(uri(a.db))
    client = MlflowClient()
    import_s = time.perf_counter() - t0
    exp_ids = [e.experiment_id for e in client.search_experiments()]
    samples, ids = [], None
    for _ in range(a.reps):
        t = time.perf_counter()
        runs = client.search_runs(exp_ids, filter_string=FILTER, order_by=ORDER, max_results=20)
        samples.append(time.perf_counter() - t)
        ids = [r.data.tags.get("magelab.id") for r in runs]
    t = time.perf_counter()
    df = mlflow.search_runs(exp_ids, filter_string=FILTER, order_by=ORDER, max_results=20)
    pandas_s = time.perf_counter() - t
    out = {
        "mlflow": mlflow.__version__, "import_s": import_s, "search_runs_s": samples,
        "mlflow_search_runs_pandas_s": pandas_s, "rows": len(df), "ids": ids,
        "first_call_s": samples[0] + import_s,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    lp = sub.add_parser("load")
    lp.add_argument("--db", required=True)
    lp.add_argument("--runs", required=True)
    lp.add_argument("--client", type=int, default=500, help="runs logged through MlflowClient")
    qp = sub.add_parser("query")
    qp.add_argument("--db", required=True)
    qp.add_argument("--reps", type=int, default=7)
    a = ap.parse_args()
    {"load": cmd_load, "query": cmd_query}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
