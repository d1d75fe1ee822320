"""Smoke tests: every stage script on tiny data, on CPU, asserting on what it writes."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY_PARAMS, Pipeline, read_json, run_script, write_params


def test_setup_data_writes_all_digits(pipeline: Pipeline) -> None:
    with np.load(pipeline.setup / "digits.npz") as data:
        X, y = data["X"], data["y"]
    assert X.shape == (1797, 64) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert sorted(np.unique(y)) == list(range(10))
    assert "1797 samples" in pipeline.stdout["setup"]


def test_preprocess_splits_subsample_stratified_and_standardised(pipeline: Pipeline) -> None:
    with np.load(pipeline.preprocess / "splits.npz") as data:
        s = {k: data[k] for k in data.files}
    sizes = {k: len(s[f"y_{k}"]) for k in ("train", "val", "test")}
    assert sum(sizes.values()) == TINY_PARAMS["data"]["max_samples"]
    assert sizes["test"] == 60 and sizes["val"] == 30
    for part in ("train", "val", "test"):
        assert s[f"X_{part}"].dtype == np.float32 and s[f"y_{part}"].dtype == np.int64
        assert sorted(np.unique(s[f"y_{part}"])) == list(range(10)), part
        assert np.isfinite(s[f"X_{part}"]).all(), part
    # Fitted on train only: train is centred with unit (or, for constant pixels, zero) std.
    np.testing.assert_allclose(s["X_train"].mean(axis=0), 0, atol=1e-5)
    assert set(np.round(s["X_train"].std(axis=0), 4)) <= {0.0, 1.0}
    scaler = read_json(pipeline.preprocess / "scaler.json")
    assert len(scaler["mean"]) == len(scaler["std"]) == 64
    assert min(scaler["std"]) > 0
    assert scaler["sizes"] == sizes


def test_train_writes_metrics_log_model_and_framework(pipeline: Pipeline) -> None:
    metrics = read_json(pipeline.train / "metrics.json")
    assert set(metrics) == {"val_accuracy", "val_loss", "train_loss"}
    assert all(isinstance(v, float) and math.isfinite(v) for v in metrics.values())
    assert 0 <= metrics["val_accuracy"] <= 1

    lines = (pipeline.train / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["step"] for r in records] == list(range(1, TINY_PARAMS["train"]["epochs"] + 1))
    for r in records:
        assert set(r) == {"step", "train_loss", "val_loss", "val_accuracy"}
        assert 0 <= r["val_accuracy"] <= 1
    assert {k: records[-1][k] for k in metrics} == metrics

    assert (pipeline.train / "model.pt").stat().st_size > 0
    framework = read_json(pipeline.train / "framework.json")
    assert framework["torch"] and framework["numpy"]
    assert framework["determinism"]["seed"] == TINY_PARAMS["seed"]
    assert "device: cpu" in pipeline.stdout["train"]
    assert "step 2: train_loss=" in pipeline.stdout["train"]


def test_evaluate_writes_test_metrics_and_confusion_matrix(pipeline: Pipeline) -> None:
    metrics = read_json(pipeline.eval / "metrics.json")
    assert set(metrics) == {"test_accuracy", "test_loss"}
    assert 0 <= metrics["test_accuracy"] <= 1 and math.isfinite(metrics["test_loss"])

    with np.load(pipeline.preprocess / "splits.npz") as data:
        y_test = data["y_test"]
    n_test = len(y_test)
    cm = read_json(pipeline.eval / "confusion_matrix.json")
    matrix = np.array(cm["matrix"])
    assert cm["labels"] == list(range(10)) and matrix.shape == (10, 10)
    assert matrix.sum() == n_test
    assert matrix.sum(axis=1).tolist() == np.bincount(y_test, minlength=10).tolist()
    assert np.trace(matrix) / n_test == pytest.approx(metrics["test_accuracy"])


def test_train_same_seed_gives_identical_metrics(pipeline: Pipeline, tmp_path: Path) -> None:
    again = tmp_path / "again"
    run_script("train", "--params", pipeline.params, "--in", pipeline.preprocess,
               "--out", again)
    assert (again / "metrics.json").read_bytes() == (pipeline.train / "metrics.json").read_bytes()
    assert (again / "metrics.jsonl").read_bytes() == (pipeline.train / "metrics.jsonl").read_bytes()

    other = tmp_path / "other-seed"
    params = write_params(tmp_path / "seed8.json", seed=8)
    run_script("train", "--params", params, "--in", pipeline.preprocess, "--out", other)
    assert (other / "metrics.json").read_bytes() != (pipeline.train / "metrics.json").read_bytes()


@pytest.mark.parametrize("stage,section,key", [
    ("preprocess", "data", "test_fraction"),
    ("train", "train", "learning_rate"),
    ("eval", "eval", "batchsize"),
])
def test_unknown_param_key_fails_naming_it(pipeline: Pipeline, tmp_path: Path, stage: str,
                                           section: str, key: str) -> None:
    params = write_params(tmp_path / "params.json", **{section: {key: 1}})
    out = tmp_path / "out"
    in_dir = pipeline.setup if stage == "preprocess" else pipeline.preprocess
    model = ["--model", pipeline.train] if stage == "eval" else []
    proc = run_script(stage, "--params", params, "--in", in_dir, *model, "--out", out,
                      check=False)
    assert proc.returncode != 0
    assert repr(key) in proc.stderr and "valid keys" in proc.stderr
    assert not (out / "metrics.json").exists()


@pytest.mark.parametrize("value,message", [
    (0, "epochs must be >= 1"),
    ("ten", "train.epochs: want int"),
])
def test_train_rejects_bad_values(pipeline: Pipeline, tmp_path: Path, value: object,
                                  message: str) -> None:
    params = write_params(tmp_path / "params.json", train={"epochs": value})
    proc = run_script("train", "--params", params, "--in", pipeline.preprocess,
                      "--out", tmp_path / "out", check=False)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_evaluate_without_model_fails_clearly(pipeline: Pipeline, tmp_path: Path) -> None:
    empty = tmp_path / "no-model"
    empty.mkdir()
    proc = run_script("eval", "--params", pipeline.params, "--in", pipeline.preprocess,
                      "--model", empty, "--out", tmp_path / "out", check=False)
    assert proc.returncode != 0
    assert f"{empty / 'model.pt'}: no such model checkpoint" in proc.stderr


def test_plain_train_prints_and_saves_results(tmp_path: Path) -> None:
    save = tmp_path / "nested" / "results.json"
    proc = run_script("plain", "--lr", "0.01", "--epochs", "3", "--save", save)
    lines = proc.stdout.splitlines()
    accuracy = [line for line in lines if re.fullmatch(r"accuracy=\d\.\d{4}", line)]
    loss = [line for line in lines if re.fullmatch(r"loss=\d+\.\d{4}", line)]
    assert len(accuracy) == 1 and len(loss) == 1, proc.stdout
    saved = read_json(save)
    assert f"accuracy={saved['accuracy']:.4f}" == accuracy[0]
    assert f"loss={saved['loss']:.4f}" == loss[0]
    assert 0.8 < saved["accuracy"] <= 1
