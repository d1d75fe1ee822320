"""Stage train: fit the digits MLP with Adam and report validation metrics.

    python python/digits/train.py --params PARAMS.json --in PREPROCESS_OUT --out OUTPUT_DIR

Reads IN/splits.npz; params section "train" (TrainConfig below) and "seed". Writes
metrics.jsonl (per epoch: train_loss, val_loss, val_accuracy), metrics.json (the last
epoch's val_accuracy, val_loss, train_loss), model.pt and framework.json. On CPU two
runs with the same params and thread count give byte-identical metrics.json.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

import lab
from digits.model import MLP, save_checkpoint


@dataclass
class TrainConfig:
    lr: float = 0.01
    epochs: int = 30
    batch_size: int = 64
    hidden: int = 128
    dropout: float = 0.0
    weight_decay: float = 0.0
    device: str = "auto"  # auto | cpu | cuda | cuda:N

    def __post_init__(self) -> None:
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {self.hidden}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.device not in ("auto", "cpu", "cuda") and not (
                self.device.startswith("cuda:") and self.device[5:].isdigit()):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")


def parse_args(argv: list[str] | None = None):
    return lab.args("Train the digits MLP on IN/splits.npz.", argv, required=("in",))


def load_splits(in_dir: Path, device: str) -> dict[str, torch.Tensor]:
    """Load splits.npz as tensors on device."""
    with np.load(in_dir / "splits.npz") as data:
        return {k: torch.from_numpy(data[k]).to(device) for k in data.files}


@torch.no_grad()
def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Return (mean cross-entropy, accuracy) of model on X, y."""
    model.eval()
    logits = model(X)
    loss = nn.functional.cross_entropy(logits, y).item()
    accuracy = (logits.argmax(dim=1) == y).float().mean().item()
    return loss, accuracy


def train_epoch(model: nn.Module, opt: torch.optim.Optimizer, X: torch.Tensor,
                y: torch.Tensor, batch_size: int, gen: torch.Generator) -> float:
    """One pass over X, y in a seeded shuffled order; return the mean training loss."""
    model.train()
    order = torch.randperm(len(y), generator=gen).to(X.device)
    total = 0.0
    for start in range(0, len(y), batch_size):
        idx = order[start:start + batch_size]
        loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return total / len(y)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    p = lab.params(args.params)
    cfg = lab.section(p, "train", TrainConfig)
    seed = lab.seed(p)
    determinism = lab.seed_everything(seed)
    dev = lab.device(cfg.device)
    print(f"device: {lab.describe_device(dev)}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.jsonl").unlink(missing_ok=True)  # a rerun starts a fresh log

    data = load_splits(args.in_dir, dev)
    classes = int(torch.cat([data["y_train"], data["y_val"]]).max()) + 1
    model = MLP(data["X_train"].shape[1], cfg.hidden, classes, cfg.dropout).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    gen = torch.Generator().manual_seed(seed)  # shuffling, on CPU so every device agrees

    started = time.perf_counter()
    for epoch in range(1, cfg.epochs + 1):
        train_loss = train_epoch(model, opt, data["X_train"], data["y_train"],
                                 cfg.batch_size, gen)
        val_loss, val_accuracy = evaluate(model, data["X_val"], data["y_val"])
        lab.log(args.out, epoch, train_loss=train_loss, val_loss=val_loss,
                val_accuracy=val_accuracy)
    print(f"trained {cfg.epochs} epochs in {time.perf_counter() - started:.1f}s", flush=True)

    save_checkpoint(model, args.out)
    lab.write_framework(args.out, determinism=determinism, device=dev)
    lab.summary(args.out, val_accuracy=val_accuracy, val_loss=val_loss, train_loss=train_loss)


if __name__ == "__main__":
    main()
