"""Shared fixtures: run stage scripts as subprocesses on tiny data into temp dirs.

The pipeline fixture runs setup-data -> preprocess -> train -> evaluate once per session
on 300 samples and 2 epochs, on CPU, the way magelab runs them (--params/--in/--out).
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PYTHON_DIR))  # for `import lab` in test_lab.py
# The stage scripts import lab and their packages from python/, which magelab
# puts first on PYTHONPATH; the scripts these tests start get it the same way.
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PYTHON_DIR), os.environ.get("PYTHONPATH", "")) if p)

SCRIPTS = {
    "setup-data": PYTHON_DIR / "digits" / "setup_data.py",
    "preprocess": PYTHON_DIR / "digits" / "preprocess.py",
    "train": PYTHON_DIR / "digits" / "train.py",
    "eval": PYTHON_DIR / "digits" / "evaluate.py",
    "plain": PYTHON_DIR / "examples" / "plain_train.py",
}

TINY_PARAMS: dict[str, Any] = {
    "seed": 7,
    "data": {"test_size": 0.2, "val_size": 0.1, "max_samples": 300},
    "train": {"lr": 0.01, "epochs": 2, "batch_size": 32, "hidden": 32, "device": "cpu"},
    "eval": {"batch_size": 16, "device": "cpu"},
}


def write_params(path: Path, **sections: dict[str, Any]) -> Path:
    """Write TINY_PARAMS with `sections` merged over it (seed=... replaces the seed)."""
    params = copy.deepcopy(TINY_PARAMS)
    for name, value in sections.items():
        if isinstance(value, dict):
            params.setdefault(name, {}).update(value)
        else:
            params[name] = value
    path.write_text(json.dumps(params))
    return path


def run_script(stage: str, *args: Any, check: bool = True) -> subprocess.CompletedProcess:
    """Run a stage script with sys.executable and no MAGELAB_* variables, as by hand."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAGELAB_")}
    proc = subprocess.run([sys.executable, str(SCRIPTS[stage]), *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=300)
    if check and proc.returncode != 0:
        pytest.fail(f"{stage} exited {proc.returncode}\n--- stdout\n{proc.stdout}"
                    f"\n--- stderr\n{proc.stderr}")
    return proc


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


@dataclass
class Pipeline:
    params: Path
    setup: Path
    preprocess: Path
    train: Path
    eval: Path
    stdout: dict[str, str]


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    root = tmp_path_factory.mktemp("pipeline")
    params = write_params(root / "params.json")
    dirs = {name: root / name for name in ("setup", "preprocess", "train", "eval")}
    stdout = {
        "setup": run_script("setup-data", "--params", params, "--out", dirs["setup"]).stdout,
        "preprocess": run_script("preprocess", "--params", params, "--in", dirs["setup"],
                                 "--out", dirs["preprocess"]).stdout,
        "train": run_script("train", "--params", params, "--in", dirs["preprocess"],
                            "--out", dirs["train"]).stdout,
        "eval": run_script("eval", "--params", params, "--in", dirs["preprocess"],
                           "--model", dirs["train"], "--out", dirs["eval"]).stdout,
    }
    return Pipeline(params=params, stdout=stdout, **dirs)
