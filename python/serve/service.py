"""BentoML service for a digits-sklearn run: `go tool mage serve` starts it as

    bentoml serve service:DigitsClassifier --working-dir python/serve \
        --arg model_dir=runs/ID/out --arg run_id=ID --arg experiment=NAME \
        --arg git_sha=SHA --arg git_dirty=false

It loads MODEL_DIR/model.joblib once and answers

- POST /predict   {"inputs": [[64 numbers], ...]} -> {"predictions": [class, ...],
  "run_id": ..., "git_sha": ...}; a row of the wrong length or a value that is not a
  finite number is a 400 with a message;
- POST /info      {} -> the run it serves: run_id, git_sha, git_dirty, experiment, model
  file, n_features, classes;
- GET /readyz, /healthz, /livez, /metrics: BentoML's own.

The arguments come from the command line (bentoml.use_arguments); by hand, model_dir is
enough.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import bentoml
import numpy as np
from bentoml.exceptions import InvalidArgument

from digits.sklearn_model import MODEL_FILE, load_model

ARGS = bentoml.use_arguments()
MAX_ROWS = 10_000  # per request: a bigger batch is a client bug, not a workload


def argument(name: str, default: str = "") -> str:
    """Return the --arg name=VALUE given to `bentoml serve`, or default."""
    return str(getattr(ARGS, name, default) or default)


@bentoml.service(name="magelab-digits", workers=1, traffic={"timeout": 30})
class DigitsClassifier:
    """Predicts digit classes from raw 8x8 pixel rows with a run's model.joblib."""

    def __init__(self) -> None:
        model_dir = Path(argument("model_dir", "."))
        self.model = load_model(model_dir)
        self.n_features = int(self.model.n_features_in_)
        self.run = {
            "run_id": argument("run_id") or None,
            "git_sha": argument("git_sha") or None,
            "git_dirty": argument("git_dirty") == "true",
            "experiment": argument("experiment") or None,
            "model": str(model_dir / MODEL_FILE),
            "n_features": self.n_features,
            "classes": [int(c) for c in self.model.classes_],
        }
        print(f"serving run {self.run['run_id']} (git {self.run['git_sha']}) "
              f"from {self.run['model']}", flush=True)

    @bentoml.api
    def predict(self, inputs: list[list[float]]) -> dict[str, Any]:
        """Predict the class of each row of 64 raw pixel values (0..16)."""
        X = self.check(inputs)
        predictions = self.model.predict(X)
        return {"predictions": [int(c) for c in predictions],
                "run_id": self.run["run_id"], "git_sha": self.run["git_sha"]}

    @bentoml.api
    def info(self) -> dict[str, Any]:
        """Say which run this service serves."""
        return self.run

    def check(self, inputs: list[list[float]]) -> np.ndarray:
        """Return inputs as an (n, n_features) array, or raise a 400 that says what is wrong."""
        if not inputs:
            raise InvalidArgument("inputs is empty: send at least one row of "
                                  f"{self.n_features} numbers")
        if len(inputs) > MAX_ROWS:
            raise InvalidArgument(f"inputs has {len(inputs)} rows; at most {MAX_ROWS} a request")
        for i, row in enumerate(inputs):
            if len(row) != self.n_features:
                raise InvalidArgument(f"inputs[{i}] has {len(row)} values, want "
                                      f"{self.n_features} (an 8x8 image, row by row)")
            if not all(math.isfinite(v) for v in row):
                raise InvalidArgument(f"inputs[{i}] holds a value that is not a finite number")
        return np.asarray(inputs, dtype=np.float64)
