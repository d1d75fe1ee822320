"""Stage train (digits-sklearn): fit a scikit-learn classifier on the digits splits.

    python python/digits/train_sklearn.py --params PARAMS.json --in PREPROCESS_OUT --out OUTPUT_DIR

Reads IN/splits.npz and IN/scaler.json (the preprocess stage's output); params section
"train" (SklearnConfig below) and "seed". The classifier is fitted inside a Pipeline
(StandardScaler -> classifier) on the raw pixels, recovered from the standardised splits
with the scaler, so the saved model takes raw rows: what `serve` receives. Writes
model.joblib, metrics.json (val_accuracy, train_accuracy; no timings, so that a rerun
matches),
sample_request.json (a few raw test rows as a /predict request, with their labels) and
framework.json.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import lab
from digits.sklearn_model import save_model

ESTIMATORS = ("svc", "logistic_regression", "random_forest")


@dataclass
class SklearnConfig:
    estimator: str = "svc"  # svc | logistic_regression | random_forest
    C: float = 10.0  # svc, logistic_regression: inverse regularisation strength
    gamma: float | str = "scale"  # svc: RBF width, a number or "scale" | "auto"
    max_iter: int = 1000  # logistic_regression
    n_estimators: int = 200  # random_forest
    max_depth: int | None = None  # random_forest
    sample_rows: int = 8  # raw test rows written to sample_request.json

    def __post_init__(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {', '.join(ESTIMATORS)}, "
                             f"got {self.estimator!r}")
        if not self.C > 0:
            raise ValueError(f"C must be > 0, got {self.C}")
        if isinstance(self.gamma, str) and self.gamma not in ("scale", "auto"):
            raise ValueError(f"gamma must be a number > 0, 'scale' or 'auto', got {self.gamma!r}")
        if not isinstance(self.gamma, str) and not self.gamma > 0:
            raise ValueError(f"gamma must be > 0, got {self.gamma}")
        if self.max_iter < 1 or self.n_estimators < 1:
            raise ValueError("max_iter and n_estimators must be >= 1")
        if self.max_depth is not None and self.max_depth < 1:
            raise ValueError(f"max_depth must be >= 1 or null, got {self.max_depth}")
        if self.sample_rows < 0:
            raise ValueError(f"sample_rows must be >= 0, got {self.sample_rows}")


def parse_args(argv: list[str] | None = None):
    return lab.args("Fit a scikit-learn classifier on IN/splits.npz.", argv, required=("in",))


def classifier(cfg: SklearnConfig, seed: int):
    """Return the unfitted classifier cfg names."""
    if cfg.estimator == "svc":
        return SVC(C=cfg.C, gamma=cfg.gamma, random_state=seed)
    if cfg.estimator == "logistic_regression":
        return LogisticRegression(C=cfg.C, max_iter=cfg.max_iter, random_state=seed)
    return RandomForestClassifier(n_estimators=cfg.n_estimators, max_depth=cfg.max_depth,
                                  random_state=seed, n_jobs=1)


def load_raw(in_dir: Path) -> dict[str, np.ndarray]:
    """Load the splits and undo the preprocess stage's standardisation (raw pixels)."""
    scaler = json.loads((in_dir / "scaler.json").read_text())
    mean, std = np.asarray(scaler["mean"]), np.asarray(scaler["std"])
    with np.load(in_dir / "splits.npz") as data:
        splits = {k: data[k] for k in data.files}
    for part in ("train", "val", "test"):
        splits[f"X_{part}"] = np.round(splits[f"X_{part}"] * std + mean, 4) + 0.0  # no -0.0
    return splits


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    p = lab.params(args.params)
    cfg = lab.section(p, "train", SklearnConfig)
    seed = lab.seed(p)
    determinism = lab.seed_everything(seed, deterministic=False)
    args.out.mkdir(parents=True, exist_ok=True)

    data = load_raw(args.in_dir)
    model = Pipeline([("scale", StandardScaler()), ("clf", classifier(cfg, seed))])
    started = time.perf_counter()
    model.fit(data["X_train"], data["y_train"])
    fit_seconds = time.perf_counter() - started
    train_accuracy = float(model.score(data["X_train"], data["y_train"]))
    val_accuracy = float(model.score(data["X_val"], data["y_val"]))
    print(f"fitted {cfg.estimator} on {len(data['y_train'])} rows in {fit_seconds:.2f}s",
          flush=True)

    save_model(model, args.out)
    rows = data["X_test"][:cfg.sample_rows]
    (args.out / "sample_request.json").write_text(json.dumps(
        {"inputs": rows.tolist(), "labels": data["y_test"][:cfg.sample_rows].tolist()}) + "\n")
    lab.write_framework(args.out, determinism=determinism, sklearn=sklearn.__version__)
    lab.summary(args.out, val_accuracy=val_accuracy, train_accuracy=train_accuracy)


if __name__ == "__main__":
    main()
