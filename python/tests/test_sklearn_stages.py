"""Smoke tests of the digits-sklearn stages (train_sklearn.py, evaluate_sklearn.py) on the
tiny preprocess output of the shared pipeline fixture, on CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pytest
from conftest import PYTHON_DIR, Pipeline, read_json, write_params

TRAIN = PYTHON_DIR / "digits" / "train_sklearn.py"
EVAL = PYTHON_DIR / "digits" / "evaluate_sklearn.py"


def run(script: Path, *args, check: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGELAB_")}
    proc = subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)
    if check and proc.returncode != 0:
        pytest.fail(f"{script.name} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def trained(pipeline: Pipeline, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sklearn") / "train"
    params = out.parent / "params.json"
    params.write_text(json.dumps({"seed": 7, "train": {"estimator": "svc", "C": 10.0,
                                                       "gamma": "scale", "sample_rows": 5}}))
    run(TRAIN, "--params", params, "--in", pipeline.preprocess, "--out", out)
    return out


def test_train_saves_a_pipeline_that_takes_raw_pixels(trained: Path) -> None:
    metrics = read_json(trained / "metrics.json")
    assert set(metrics) == {"val_accuracy", "train_accuracy"}
    assert 0.5 < metrics["val_accuracy"] <= 1
    sample = read_json(trained / "sample_request.json")
    X = np.array(sample["inputs"])
    assert X.shape == (5, 64)
    # Raw digits pixels are whole numbers from 0 to 16, not standardised values.
    assert X.min() >= 0 and X.max() <= 16 and np.allclose(X, np.round(X), atol=1e-3)
    model = joblib.load(trained / "model.joblib")
    assert model.n_features_in_ == 64 and list(model.classes_) == list(range(10))
    assert (model.predict(X) == np.array(sample["labels"])).mean() >= 0.6
    assert read_json(trained / "framework.json")["sklearn"]


def test_evaluate_scores_the_test_split(pipeline: Pipeline, trained: Path, tmp_path: Path) -> None:
    params = write_params(tmp_path / "params.json")
    run(EVAL, "--params", params, "--in", pipeline.preprocess, "--model", trained,
        "--out", tmp_path / "eval")
    metrics = read_json(tmp_path / "eval" / "metrics.json")
    assert set(metrics) == {"test_accuracy", "test_f1_macro"}
    cm = read_json(tmp_path / "eval" / "confusion_matrix.json")
    with np.load(pipeline.preprocess / "splits.npz") as data:
        n_test = len(data["y_test"])
    matrix = np.array(cm["matrix"])
    assert matrix.sum() == n_test
    assert np.trace(matrix) / n_test == pytest.approx(metrics["test_accuracy"])


@pytest.mark.parametrize("train, message", [
    ({"estimator": "xgboost"}, "estimator must be one of svc, logistic_regression, random_forest"),
    ({"C": 0}, "C must be > 0"),
    ({"gamma": "wide"}, "gamma must be a number > 0, 'scale' or 'auto'"),
    ({"n_trees": 3}, "unknown key(s) 'n_trees'"),
])
def test_train_rejects_bad_params(pipeline: Pipeline, tmp_path: Path, train: dict,
                                  message: str) -> None:
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"seed": 1, "train": train}))
    proc = run(TRAIN, "--params", params, "--in", pipeline.preprocess, "--out", tmp_path / "o",
               check=False)
    assert proc.returncode != 0 and message in proc.stderr


def test_evaluate_without_model_says_what_to_do(pipeline: Pipeline, tmp_path: Path) -> None:
    params = write_params(tmp_path / "params.json")
    proc = run(EVAL, "--params", params, "--in", pipeline.preprocess, "--model", tmp_path,
               "--out", tmp_path / "eval", check=False)
    assert proc.returncode != 0
    assert "no such model" in proc.stderr and "digits-sklearn" in proc.stderr
