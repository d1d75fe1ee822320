"""Stage setup-data (distilbert-sentiment): write the generated review corpus.

    python python/sentiment/setup_data.py --params PARAMS.json --out OUTPUT_DIR

Params section "data" (CorpusConfig below) and "seed". Writes train.jsonl, val.jsonl and
test.jsonl ({"text": ..., "label": 0|1} per line, corpus.py) and corpus.json (sizes and
label balance). Each split comes from its own seed, so no review is shared by design
(a short one may repeat by chance: counted in corpus.json).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import lab
from sentiment.corpus import generate

SPLITS = ("train", "val", "test")


@dataclass
class CorpusConfig:
    n_train: int = 2000
    n_val: int = 300
    n_test: int = 300

    def __post_init__(self) -> None:
        for name in ("n_train", "n_val", "n_test"):
            if getattr(self, name) < 10:
                raise ValueError(f"{name} must be >= 10, got {getattr(self, name)}")


def parse_args(argv: list[str] | None = None):
    return lab.args("Write the generated sentiment corpus to OUT/{train,val,test}.jsonl.", argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    p = lab.params(args.params)
    cfg = lab.section(p, "data", CorpusConfig)
    seed = lab.seed(p)
    args.out.mkdir(parents=True, exist_ok=True)

    sizes = {"train": cfg.n_train, "val": cfg.n_val, "test": cfg.n_test}
    splits = {name: generate(sizes[name], seed * 3 + i) for i, name in enumerate(SPLITS)}
    seen = {r["text"] for r in splits["train"]}
    for name, rows in splits.items():
        with open(args.out / f"{name}.jsonl", "w", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    info = {
        "config": asdict(cfg), "seed": seed, "sizes": sizes,
        "positive": {n: sum(r["label"] for r in rows) for n, rows in splits.items()},
        "also_in_train": {n: sum(r["text"] in seen for r in splits[n]) for n in ("val", "test")},
    }
    (args.out / "corpus.json").write_text(json.dumps(info, indent=2) + "\n")
    print(f"corpus: train={cfg.n_train} val={cfg.n_val} test={cfg.n_test} "
          f"(positive: {info['positive']['train']}/{cfg.n_train} in train) -> {args.out}")


if __name__ == "__main__":
    main()
