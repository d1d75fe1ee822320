"""Stage eval (distilbert-sentiment): score the fine-tuned model on held-out reviews.

    python python/sentiment/evaluate.py --params PARAMS.json --in SETUP_OUT \
        --model TRAIN_OUT --out OUTPUT_DIR

Reads IN/test.jsonl and MODEL/model (the train stage's save_pretrained output, loaded
with the same from_pretrained code); params section "eval" (EvalConfig below). Writes
metrics.json (test_accuracy, test_f1), predictions.jsonl (text, label, predicted) and
framework.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import torch
import transformers

import lab
from sentiment.model import MODEL_DIR, load, predict, read_split, scores


@dataclass
class EvalConfig:
    batch_size: int = 128
    max_length: int = 64
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int | None = None  # CPU threads; None: torch's default

    def __post_init__(self) -> None:
        if self.batch_size < 1 or self.max_length < 8:
            raise ValueError("batch_size must be >= 1 and max_length >= 8")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 or null, got {self.threads}")


def parse_args(argv: list[str] | None = None):
    return lab.args("Evaluate MODEL/model on IN/test.jsonl.", argv, required=("in", "model"))


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    p = lab.params(args.params)
    cfg = lab.section(p, "eval", EvalConfig)
    dev = lab.device(cfg.device)
    if cfg.threads is not None:
        torch.set_num_threads(cfg.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    model_dir = args.model / MODEL_DIR
    if not (model_dir / "config.json").is_file():
        raise SystemExit(f"{model_dir}: no fine-tuned model; pass --model the train stage's "
                         "output directory (python/sentiment/train.py writes model/ there)")
    tokenizer, model = load(model_dir)
    model.to(dev)
    texts, labels = read_split(args.in_dir, "test")
    preds = predict(model, tokenizer, texts, cfg.batch_size, cfg.max_length, dev)
    with open(args.out / "predictions.jsonl", "w", encoding="utf-8") as f:
        for text, label, pred in zip(texts, labels, preds):
            f.write(json.dumps({"text": text, "label": label, "predicted": pred}) + "\n")
    test = scores(labels, preds)
    lab.write_framework(args.out, device=dev, transformers=transformers.__version__)
    lab.summary(args.out, test_accuracy=test["accuracy"], test_f1=test["f1"])


if __name__ == "__main__":
    main()
