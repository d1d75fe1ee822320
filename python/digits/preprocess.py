"""Stage preprocess: stratified train/val/test split and standardisation.

    python python/digits/preprocess.py --params PARAMS.json --in SETUP_OUT --out OUTPUT_DIR

Reads IN/digits.npz; params section "data" (DataConfig below) and "seed". Writes
splits.npz (X_train, y_train, X_val, y_val, X_test, y_test; X float32 standardised with
the train split's mean and std) and scaler.json (mean, std, split sizes).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import numpy as np
from sklearn.model_selection import train_test_split

import lab


@dataclass
class DataConfig:
    test_size: float = 0.2  # fraction of all samples held out for test
    val_size: float = 0.1  # fraction of all samples held out for validation
    max_samples: int | None = None  # stratified subsample before splitting (smoke tests)

    def __post_init__(self) -> None:
        if not 0 < self.test_size < 1:
            raise ValueError(f"test_size must be in (0, 1), got {self.test_size}")
        if not 0 < self.val_size < 1:
            raise ValueError(f"val_size must be in (0, 1), got {self.val_size}")
        if self.test_size + self.val_size >= 1:
            raise ValueError(
                f"test_size + val_size must be < 1, got {self.test_size} + {self.val_size}")
        if self.max_samples is not None and self.max_samples < 1:
            raise ValueError(f"max_samples must be >= 1 or null, got {self.max_samples}")


def parse_args(argv: list[str] | None = None):
    return lab.args("Split IN/digits.npz into standardised train/val/test sets.", argv,
                    required=("in",))


def split(X: np.ndarray, y: np.ndarray, cfg: DataConfig, seed: int) -> dict[str, np.ndarray]:
    """Return the stratified train/val/test arrays (val_size is a fraction of the whole)."""
    if cfg.max_samples is not None and cfg.max_samples < len(y):
        X, _, y, _ = train_test_split(X, y, train_size=cfg.max_samples, stratify=y,
                                      random_state=seed)
    X_rest, X_test, y_rest, y_test = train_test_split(
        X, y, test_size=cfg.test_size, stratify=y, random_state=seed)
    X_train, X_val, y_train, y_val = train_test_split(
        X_rest, y_rest, test_size=cfg.val_size / (1 - cfg.test_size), stratify=y_rest,
        random_state=seed)
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val,
            "X_test": X_test, "y_test": y_test}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    p = lab.params(args.params)
    cfg = lab.section(p, "data", DataConfig)
    seed = lab.seed(p)
    args.out.mkdir(parents=True, exist_ok=True)

    with np.load(args.in_dir / "digits.npz") as data:
        X, y = data["X"], data["y"]
    splits = split(X, y, cfg, seed)

    mean = splits["X_train"].mean(axis=0)
    std = splits["X_train"].std(axis=0)
    std[std < 1e-8] = 1.0  # constant pixels (the digits' borders): leave them centred
    for name in ("X_train", "X_val", "X_test"):
        splits[name] = ((splits[name] - mean) / std).astype(np.float32)
    for name in ("y_train", "y_val", "y_test"):
        splits[name] = splits[name].astype(np.int64)

    np.savez(args.out / "splits.npz", **splits)
    sizes = {k[2:]: int(len(v)) for k, v in splits.items() if k.startswith("y_")}
    scaler = {"mean": mean.tolist(), "std": std.tolist(), "sizes": sizes,
              "config": asdict(cfg), "seed": seed}
    (args.out / "scaler.json").write_text(json.dumps(scaler, indent=2) + "\n")

    print(f"splits: train={sizes['train']} val={sizes['val']} test={sizes['test']} "
          f"-> {args.out / 'splits.npz'}")


if __name__ == "__main__":
    main()
