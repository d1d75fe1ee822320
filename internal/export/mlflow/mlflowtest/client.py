"""MLflow's own Python client, run by the mlflow export's tests and bench/export.

    python client.py dump EXPERIMENT [EXPERIMENT ...]
        prints one JSON object: for each experiment its id and runs, each run with
        its info, params, tags, latest metrics, every metric's history
        (get_metric_history), its artifacts (list_artifacts, recursively) and the
        sha256 of each artifact as download_artifacts fetched it. Runs are read
        eight at a time.

    python client.py log FILE EXPERIMENT
        logs the runs of FILE (JSON lines: start_ms, end_ms, status, params,
        tags, metrics as [key, value, timestamp_ms, step]) into EXPERIMENT the way
        a user of MLflow's client does it: create_run, one log_batch per 1000
        metrics, set_terminated. Prints {"runs": N, "seconds": S}.

The tracking server comes from MLFLOW_TRACKING_URI (and MLFLOW_TRACKING_USERNAME,
MLFLOW_TRACKING_PASSWORD when it wants them), as for any MLflow client.
"""

import hashlib
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.tracking import MlflowClient


def artifacts(client, run_id, path=None):
    out = {}
    for f in client.list_artifacts(run_id, path):
        if f.is_dir:
            out.update(artifacts(client, run_id, f.path))
        else:
            out[f.path] = {"size": f.file_size}
    return out


def read_run(client, r):
    info = r.info
    history = {}
    for key in r.data.metrics:
        history[key] = [[m.step, m.timestamp, m.value] for m in client.get_metric_history(info.run_id, key)]
    files = artifacts(client, info.run_id)
    if files:
        with tempfile.TemporaryDirectory() as tmp:
            local = client.download_artifacts(info.run_id, "", tmp)
            for path, meta in files.items():
                with open(os.path.join(local, path), "rb") as f:
                    meta["sha256"] = hashlib.sha256(f.read()).hexdigest()
    return {
        "run_id": info.run_id,
        "name": info.run_name,
        "status": info.status,
        "start_time": info.start_time,
        "end_time": info.end_time,
        "lifecycle_stage": info.lifecycle_stage,
        "params": r.data.params,
        "tags": r.data.tags,
        "metrics": r.data.metrics,
        "history": history,
        "artifacts": files,
    }


def dump(names):
    client = MlflowClient()
    result, todo = {}, []
    for name in names:
        exp = client.get_experiment_by_name(name)
        if exp is None:
            result[name] = None
            continue
        result[name] = {"id": exp.experiment_id, "runs": []}
        for r in client.search_runs([exp.experiment_id], run_view_type=ViewType.ALL, max_results=50000):
            todo.append((name, r))
    with ThreadPoolExecutor(max_workers=8) as pool:
        for (name, _), run in zip(todo, pool.map(lambda job: read_run(client, job[1]), todo)):
            result[name]["runs"].append(run)
    print(json.dumps(result))


def log(path, name):
    client = MlflowClient()
    exp = client.get_experiment_by_name(name)
    exp_id = exp.experiment_id if exp else client.create_experiment(name)
    with open(path) as f:
        runs = [json.loads(line) for line in f]
    start = time.perf_counter()
    for r in runs:
        run = client.create_run(exp_id, start_time=r["start_ms"], tags=r["tags"])
        rid = run.info.run_id
        metrics = [Metric(k, v, ts, step) for k, v, ts, step in r["metrics"]]
        params = [Param(k, v) for k, v in r["params"].items()]
        client.log_batch(rid, metrics=metrics, params=params, tags=[])
        client.set_terminated(rid, r["status"], end_time=r["end_ms"])
    print(json.dumps({"runs": len(runs), "seconds": time.perf_counter() - start}))


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "dump":
        dump(args)
    elif cmd == "log":
        log(args[0], args[1])
    else:
        sys.exit(f"unknown command {cmd!r}: want dump or log")


if __name__ == "__main__":
    main()
