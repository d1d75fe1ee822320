"""Stage eval: score a trained digits MLP on the test split.

    python python/digits/evaluate.py --params PARAMS.json --in PREPROCESS_OUT \
        --model TRAIN_OUT --out OUTPUT_DIR

Reads IN/splits.npz (X_test, y_test) and MODEL/model.pt; params section "eval"
(EvalConfig below). Writes metrics.json (test_accuracy, test_loss), confusion_matrix.json
({"labels": [...], "matrix": rows = true label, columns = predicted label}) and
framework.json.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

import lab
from digits.model import load_checkpoint


@dataclass
class EvalConfig:
    batch_size: int = 256
    device: str = "auto"  # auto | cpu | cuda | cuda:N

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.device not in ("auto", "cpu", "cuda") and not (
                self.device.startswith("cuda:") and self.device[5:].isdigit()):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")


def parse_args(argv: list[str] | None = None):
    return lab.args("Evaluate MODEL/model.pt on the test split of IN/splits.npz.", argv,
                    required=("in", "model"))


@torch.no_grad()
def predict(model: nn.Module, X: torch.Tensor, y: torch.Tensor, batch_size: int,
            dev: str) -> tuple[float, np.ndarray]:
    """Return (mean cross-entropy, predicted labels) over X in batches."""
    total, preds = 0.0, []
    for start in range(0, len(y), batch_size):
        xb, yb = X[start:start + batch_size].to(dev), y[start:start + batch_size].to(dev)
        logits = model(xb)
        total += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
        preds.append(logits.argmax(dim=1).cpu())
    return total / len(y), torch.cat(preds).numpy()


def confusion(y_true: np.ndarray, y_pred: np.ndarray, classes: int) -> np.ndarray:
    """Return the classes x classes count matrix, rows true labels, columns predictions."""
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    p = lab.params(args.params)
    cfg = lab.section(p, "eval", EvalConfig)
    dev = lab.device(cfg.device)
    print(f"device: {lab.describe_device(dev)}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)

    model = load_checkpoint(args.model, dev)
    with np.load(args.in_dir / "splits.npz") as data:
        X, y = torch.from_numpy(data["X_test"]), torch.from_numpy(data["y_test"])
    test_loss, y_pred = predict(model, X, y, cfg.batch_size, dev)
    y_true = y.numpy()
    test_accuracy = float((y_pred == y_true).mean())

    classes = model.config["classes"]
    matrix = confusion(y_true, y_pred, classes)
    (args.out / "confusion_matrix.json").write_text(json.dumps(
        {"labels": list(range(classes)), "matrix": matrix.tolist()}) + "\n")
    lab.write_framework(args.out, device=dev)
    lab.summary(args.out, test_accuracy=test_accuracy, test_loss=test_loss)


if __name__ == "__main__":
    main()
