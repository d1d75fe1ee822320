"""The scikit-learn digits classifier and its file format, shared by train_sklearn.py,
evaluate_sklearn.py and the BentoML service (python/serve/service.py).

model.joblib holds a fitted sklearn Pipeline (StandardScaler -> classifier) that takes
raw pixel rows (64 numbers, 0..16, as scikit-learn's digits ship them): the scaling is
part of the model, so a client sends the same numbers the dataset has.
"""

from __future__ import annotations

from pathlib import Path

import joblib
from sklearn.base import BaseEstimator

MODEL_FILE = "model.joblib"


def save_model(model: BaseEstimator, out_dir: Path) -> Path:
    """Save the fitted pipeline to out_dir/model.joblib."""
    path = Path(out_dir) / MODEL_FILE
    joblib.dump(model, path)
    return path


def load_model(model_dir: Path) -> BaseEstimator:
    """Load out_dir/model.joblib, with an error that says what to do when it is missing."""
    path = Path(model_dir) / MODEL_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"{path}: no such model; pass the output directory of a run of "
            "experiments/digits-sklearn.yaml (python/digits/train_sklearn.py writes it)"
        )
    return joblib.load(path)
