"""Smoke tests of the GPU checks (python/gpu/): run on CPU with tiny params into temp dirs.

check_tf.py runs only where tensorflow is importable (python/requirements-tf.txt).
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import gpu
import lab
import pytest
from conftest import PYTHON_DIR, read_json

REPO = PYTHON_DIR.parent
NAMES = ["cuda_available", "devices", "matmul_fp32", "matmul_bf16", "train_loop", "peak_memory"]
METRICS = {"tflops_fp32", "tflops_bf16", "train_loss_first", "train_loss_last",
           "peak_memory_mib", "cuda_device_count"}
TINY = {"matmul_size": 256, "cpu_matmul_size": 128, "matmul_repeats": 3, "steps": 30,
        "batch_size": 64, "hidden": 64, "lr": 0.01, "device": "cpu"}


def check_script(name: str, tmp_path: Path, train: dict[str, Any],
                 check: bool = True) -> subprocess.CompletedProcess:
    """Run python/gpu/NAME with {"seed": 3, "train": train} into tmp_path/out, as by hand."""
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"seed": 3, "train": train}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGELAB_")}
    proc = subprocess.run(
        [sys.executable, str(PYTHON_DIR / "gpu" / name), "--params", str(params),
         "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=300)
    if check and proc.returncode != 0:
        pytest.fail(f"{name} exited {proc.returncode}\n--- stdout\n{proc.stdout}"
                    f"\n--- stderr\n{proc.stderr}")
    return proc


def assert_cpu_checks(out: Path, stdout: str) -> dict[str, dict[str, Any]]:
    """The contract of checks.json and metrics.json for a run with device cpu."""
    records = read_json(out / "checks.json")
    assert [r["name"] for r in records] == NAMES
    for r in records:
        assert set(r) == {"name", "ok", "detail", "value", "unit"}, r
        assert isinstance(r["ok"], bool) and r["detail"], r
        assert re.search(rf"^{r['name']} +({'ok' if r['ok'] else 'FAIL'})", stdout, re.M), r
    checks = {r["name"]: r for r in records}
    cuda, devices = checks["cuda_available"], checks["devices"]
    assert cuda["ok"] == (devices["value"] > 0)
    if not cuda["ok"]:
        assert cuda["detail"] == "no CUDA device: checks ran on CPU"
    for name in NAMES[1:]:
        assert checks[name]["ok"], checks[name]
    for label in ("fp32", "bf16"):
        mm = checks[f"matmul_{label}"]
        assert mm["unit"] == "TFLOP/s" and math.isfinite(mm["value"]) and mm["value"] > 0
        assert mm["detail"].startswith(f"128x128 {label} on "), mm  # capped by cpu_matmul_size
    assert checks["peak_memory"]["unit"] == "MiB" and checks["peak_memory"]["value"] > 0

    metrics = read_json(out / "metrics.json")
    assert set(metrics) == METRICS
    assert all(math.isfinite(v) for v in metrics.values())
    assert metrics["train_loss_last"] < metrics["train_loss_first"]
    assert metrics["tflops_fp32"] == checks["matmul_fp32"]["value"]
    assert metrics["cuda_device_count"] == devices["value"]
    assert "tflops_fp32=" in stdout
    return checks


def test_check_torch_on_cpu(tmp_path: Path) -> None:
    proc = check_script("check_torch.py", tmp_path, TINY)
    out = tmp_path / "out"
    checks = assert_cpu_checks(out, proc.stdout)
    assert checks["train_loop"]["detail"].startswith("30 steps of batch 64, hidden 64 on cpu")
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [3, 6, 9, 12, 15, 18, 21, 24, 27, 30]
    framework = read_json(out / "framework.json")
    assert framework["device"] == "cpu" and framework["torch"]
    assert framework["determinism"]["seed"] == 3


def test_check_tf_on_cpu(tmp_path: Path) -> None:
    pytest.importorskip("tensorflow")
    proc = check_script("check_tf.py", tmp_path, TINY)
    out = tmp_path / "out"
    assert_cpu_checks(out, proc.stdout)
    framework = read_json(out / "framework.json")
    assert framework["device"] == "/CPU:0" and framework["tensorflow"] and framework["keras"]
    assert "torch" not in framework  # torch is kept out of TensorFlow's process


@pytest.mark.parametrize("train,message", [
    ({"matmul_sise": 64}, "unknown key(s) 'matmul_sise' (did you mean 'matmul_size'?)"),
    ({"steps": 1}, "steps must be >= 2"),
    ({"matmul_size": 8}, "matmul_size must be >= 16"),
    ({"lr": "fast"}, "train.lr: want float"),
    ({"device": "tpu"}, "device must be auto, cpu, cuda or cuda:N"),
])
def test_check_torch_rejects_bad_params(tmp_path: Path, train: dict, message: str) -> None:
    proc = check_script("check_torch.py", tmp_path, {**TINY, **train}, check=False)
    assert proc.returncode != 0
    assert message in proc.stderr
    assert not (tmp_path / "out" / "checks.json").exists()


def test_experiment_params_are_valid_and_cpu_capped() -> None:
    text = (REPO / "experiments" / "gpu-check.yaml").read_text()
    assert re.search(r"^  train: python/gpu/check_torch\.py$", text, re.M)
    body = re.search(r"^train: \{(.*)\}$", text, re.M).group(1)
    train = {k: json.loads(v) if v != "auto" else v
             for k, v in (item.split(": ") for item in body.split(", "))}
    cfg = lab.section({"train": train}, "train", gpu.CheckConfig)
    assert cfg.matmul_n(on_gpu=True) == 4096
    assert cfg.matmul_n(on_gpu=False) == 1024


def test_a_failing_check_is_recorded_and_the_script_still_exits_normally(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = PYTHON_DIR / "gpu" / "check_torch.py"
    spec = importlib.util.spec_from_file_location("check_torch", path)
    check_torch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_torch)

    def broken(*args: Any) -> None:
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(check_torch, "check_matmul", broken)
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"seed": 3, "train": TINY}))
    check_torch.main(["--params", str(params), "--out", str(tmp_path / "out")])

    checks = {r["name"]: r for r in read_json(tmp_path / "out" / "checks.json")}
    for name in ("matmul_fp32", "matmul_bf16"):
        assert checks[name] == {"name": name, "ok": False, "value": None, "unit": "",
                                "detail": "RuntimeError: CUDA error: an illegal memory "
                                          "access was encountered"}
    assert checks["train_loop"]["ok"]
    metrics = read_json(tmp_path / "out" / "metrics.json")
    assert "tflops_fp32" not in metrics and "train_loss_last" in metrics


@pytest.mark.parametrize("first,last,ok", [
    (2.3, 0.5, True),
    (2.3, 2.3, False),
    (2.3, float("nan"), False),
])
def test_train_check_needs_the_loss_to_go_down(first: float, last: float, ok: bool) -> None:
    check = gpu.train_check(first, last, steps=10, batch_size=4, hidden=8, seconds=0.5,
                            where="cpu")
    assert check.ok is ok
    assert ("did not go down" in check.detail) is not ok
    assert check.record()["value"] == (last if math.isfinite(last) else None)  # strict JSON
