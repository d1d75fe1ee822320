"""Guild side of the peers benchmark's query figures: write N runs into a Guild home.

    python guild_gen.py --template RUN_DIR --runs runs.jsonl --home GUILD_HOME

Each run is a copy of TEMPLATE (a run that `guild run` made of the toy
pipeline: its source code snapshot, .guild/opref, attrs and all) with its own
id, flags, label, times and exit status written by Guild's own Run.write_attr,
and its metrics as scalars in a TF event file written by Guild's own
SummaryWriter, which is where `guild run` puts output scalars. `guild runs` and
`guild compare` then read them as any other run.
"""
import argparse
import glob
import json
import os
import shutil

from guild import run as runlib
from guild import summary

EXIT = {"finished": 0, "failed": 1, "interrupted": -15}


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--template", required=True)
    ap.add_argument("--runs", required=True)
    ap.add_argument("--home", required=True)
    return ap.parse_args()


def write_run(template, home, r):
    run_id = r["id"].replace("-", "")
    path = os.path.join(home, "runs", run_id)
    shutil.copytree(template, path)
    for f in glob.glob(os.path.join(path, ".guild", "events.out.tfevents.*")):
        os.remove(f)
    run = runlib.Run(run_id, path)
    started = r["started"] * 1000  # µs, as Guild stores times
    flags = dict(r["params"])
    run.write_attr("id", run_id)
    run.write_attr("initialized", started)
    run.write_attr("started", started)
    run.write_attr("stopped", started + int(r["duration_s"] * 1e6))
    run.write_attr("exit_status", EXIT[r["status"]])
    run.write_attr("flags", flags)
    run.write_attr("label", " ".join("%s=%s" % (k, v) for k, v in sorted(flags.items())))
    with summary.SummaryWriter(run.guild_path()) as w:
        for name, value in sorted(r["metrics"].items()):
            w.add_scalar(name, value, 0)


def main():
    a = parse_args()
    n = 0
    with open(a.runs) as f:
        for line in f:
            write_run(a.template, a.home, json.loads(line))
            n += 1
    print(json.dumps({"runs": n}))


if __name__ == "__main__":
    main()
