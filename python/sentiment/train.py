"""Stage train (distilbert-sentiment): fine-tune DistilBERT for binary sentiment.

    python python/sentiment/train.py --params PARAMS.json --in SETUP_OUT --out OUTPUT_DIR

Reads IN/train.jsonl and IN/val.jsonl; params section "train" (FineTuneConfig below) and
"seed". Loads model_name with from_pretrained (a hub id or a local directory); with
offline: true it first builds a tiny DistilBERT and a WordPiece tokenizer from the
training texts into OUTPUT_DIR/base-model and loads that instead. Fine-tunes with AdamW
and writes metrics.jsonl (per epoch: train_loss, val_accuracy, val_f1), metrics.json
(the last epoch's), model/ (the fine-tuned model and tokenizer, save_pretrained) and
framework.json.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import transformers

import lab
from sentiment.model import (
    BASE_DIR,
    MODEL_DIR,
    batches,
    build_tiny,
    load,
    predict,
    read_split,
    scores,
)


@dataclass
class FineTuneConfig:
    model_name: str = "distilbert-base-uncased"  # hub id or local checkpoint directory
    offline: bool = False  # build a tiny DistilBERT from the corpus instead (no hub)
    lr: float | None = None  # None: 5e-5 for a checkpoint, 1e-3 for the tiny model
    epochs: int = 3
    batch_size: int = 32
    max_length: int = 64  # tokens per text, [CLS] and [SEP] included
    weight_decay: float = 0.01
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    threads: int | None = None  # CPU threads; None: 1 for the tiny model, else torch's default
    # The tiny model (offline: true): vocabulary, width, layers, attention heads.
    vocab_size: int = 1000
    tiny_dim: int = 64
    tiny_layers: int = 2
    tiny_heads: int = 2

    def __post_init__(self) -> None:
        if not self.model_name:
            raise ValueError("model_name must name a hub model or a local directory")
        if self.lr is not None and not self.lr > 0:
            raise ValueError(f"lr must be > 0 or null, got {self.lr}")
        for name in ("epochs", "batch_size", "vocab_size", "tiny_dim", "tiny_layers", "tiny_heads"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.max_length < 8:
            raise ValueError(f"max_length must be >= 8, got {self.max_length}")
        if self.tiny_dim % self.tiny_heads:
            raise ValueError(f"tiny_dim ({self.tiny_dim}) must be a multiple of tiny_heads "
                             f"({self.tiny_heads})")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be >= 1 or null, got {self.threads}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")

    @property
    def learning_rate(self) -> float:
        if self.lr is not None:
            return self.lr
        return 1e-3 if self.offline else 5e-5

    @property
    def cpu_threads(self) -> int | None:
        # The tiny model's matrices are too small to share among threads: a second
        # one mostly spin-waits, and on a busy machine that costs several times the
        # work (measured: 16 s of CPU with one thread, 102 s with two, 4 epochs).
        if self.threads is not None:
            return self.threads
        return 1 if self.offline else None


def parse_args(argv: list[str] | None = None):
    return lab.args("Fine-tune DistilBERT on IN/train.jsonl.", argv, required=("in",))


def source(cfg: FineTuneConfig, texts: list[str], out: Path, seed: int) -> str:
    """Return what to load from_pretrained: model_name, or the tiny model built offline."""
    if not cfg.offline:
        return cfg.model_name
    base = build_tiny(texts, out / BASE_DIR, vocab_size=cfg.vocab_size, dim=cfg.tiny_dim,
                      layers=cfg.tiny_layers, heads=cfg.tiny_heads, max_length=cfg.max_length,
                      seed=seed)
    print(f"offline: built a tiny DistilBERT (dim {cfg.tiny_dim}, {cfg.tiny_layers} layers) and "
          f"a WordPiece tokenizer from {len(texts)} texts in {base}", flush=True)
    return str(base)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    p = lab.params(args.params)
    cfg = lab.section(p, "train", FineTuneConfig)
    seed = lab.seed(p)
    determinism = lab.seed_everything(seed)
    dev = lab.device(cfg.device)
    if cfg.cpu_threads is not None:
        torch.set_num_threads(cfg.cpu_threads)
    print(f"device: {lab.describe_device(dev)}, {torch.get_num_threads()} CPU thread(s)", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.jsonl").unlink(missing_ok=True)  # a rerun starts a fresh log

    texts, labels = read_split(args.in_dir, "train")
    val_texts, val_labels = read_split(args.in_dir, "val")
    tokenizer, model = load(source(cfg, texts, args.out, seed))
    model.to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(seed)

    started = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        total, n = 0.0, 0
        order = torch.randperm(len(texts), generator=gen)
        for ids, mask, y in batches(tokenizer, texts, labels, cfg.batch_size, cfg.max_length, order):
            out = model(input_ids=ids.to(dev), attention_mask=mask.to(dev), labels=y.to(dev))
            opt.zero_grad(set_to_none=True)
            out.loss.backward()
            opt.step()
            total, n = total + out.loss.item() * len(y), n + len(y)
        val = scores(val_labels, predict(model, tokenizer, val_texts, 128, cfg.max_length, dev))
        lab.log(args.out, epoch, train_loss=total / n, val_accuracy=val["accuracy"],
                val_f1=val["f1"])
    print(f"fine-tuned {cfg.epochs} epochs in {time.perf_counter() - started:.1f}s", flush=True)

    model.save_pretrained(args.out / MODEL_DIR)
    tokenizer.save_pretrained(args.out / MODEL_DIR)
    lab.write_framework(args.out, determinism=determinism, device=dev,
                        threads=torch.get_num_threads(),
                        transformers=transformers.__version__, model_source=cfg.model_name
                        if not cfg.offline else "offline tiny DistilBERT")
    lab.summary(args.out, val_accuracy=val["accuracy"], val_f1=val["f1"], train_loss=total / n)


if __name__ == "__main__":
    main()
