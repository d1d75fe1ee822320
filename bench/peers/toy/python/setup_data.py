"""setup-data stage of the peers benchmark's toy pipeline: writes its params as the data set.

Every tool runs it with the same flags:
    python python/setup_data.py --params params.json [--set data.n=3] --out OUT
"""
import argparse
import json
import os


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
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "data.json"), "w") as f:
        json.dump({"seed": p.get("seed", 0), "data": p.get("data", {})}, f)


if __name__ == "__main__":
    main()
