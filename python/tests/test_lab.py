"""Unit tests for python/lab.py, in process."""

from __future__ import annotations

import json
import math
import platform
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

import lab


@dataclass
class Cfg:
    lr: float = 0.1
    epochs: int = 3
    name: str = "x"
    limit: int | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {self.epochs}")


# --- flags and params ---------------------------------------------------------------


def test_args_parses_the_contract_flags() -> None:
    a = lab.args("d", ["--params", "p.json", "--out", "o", "--in", "i", "--model", "m"])
    assert (a.params, a.out, a.in_dir, a.model) == (Path("p.json"), Path("o"), Path("i"),
                                                    Path("m"))
    a = lab.args("d", ["--params", "p.json", "--out", "o"])
    assert a.in_dir is None and a.model is None


@pytest.mark.parametrize("argv,required", [
    (["--out", "o"], ()),
    (["--params", "p"], ()),
    (["--params", "p", "--out", "o"], ("in",)),
    (["--params", "p", "--out", "o", "--in", "i"], ("in", "model")),
])
def test_args_missing_required_flag_is_usage_error(argv: list[str], required: tuple) -> None:
    with pytest.raises(SystemExit) as e:
        lab.args("d", argv, required=required)
    assert e.value.code == 2


def test_params_reads_object(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text('{"seed": 1, "train": {"lr": 0.5}}')
    assert lab.params(path) == {"seed": 1, "train": {"lr": 0.5}}


@pytest.mark.parametrize("text,message", [
    ('{"seed": 1,', "invalid JSON at line 1"),
    ("[1, 2]", "want a JSON object, got list"),
])
def test_params_bad_file_names_it(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as e:
        lab.params(path)
    assert str(path) in str(e.value)


def test_params_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.json"):
        lab.params(tmp_path / "nope.json")


@pytest.mark.parametrize("value", [True, -1, 2**32, "42", 1.5])
def test_seed_rejects_non_integers(value: object) -> None:
    with pytest.raises(ValueError, match="seed"):
        lab.seed({"seed": value})


def test_seed_defaults() -> None:
    assert lab.seed({}) == 42 and lab.seed({"seed": 0}) == 0


def test_section_missing_gives_defaults() -> None:
    assert lab.section({}, "train", Cfg) == Cfg()
    assert lab.section({"train": None}, "train", Cfg) == Cfg()


def test_section_builds_typed_values() -> None:
    cfg = lab.section({"train": {"lr": 1, "epochs": 5, "limit": None}}, "train", Cfg)
    assert cfg == Cfg(lr=1.0, epochs=5, limit=None)
    assert isinstance(cfg.lr, float)
    assert lab.section({"train": {"limit": 7}}, "train", Cfg).limit == 7


def test_section_unknown_key_names_it_and_the_valid_ones() -> None:
    with pytest.raises(ValueError) as e:
        lab.section({"train": {"lrr": 1, "epochs": 2}}, "train", Cfg)
    msg = str(e.value)
    assert "'lrr'" in msg and "'train'" in msg and "did you mean 'lr'?" in msg
    assert "valid keys: epochs, limit, lr, name" in msg


@pytest.mark.parametrize("raw,message", [
    ({"epochs": "3"}, "train.epochs: want int"),
    ({"epochs": True}, "train.epochs: want int"),
    ({"epochs": 2.5}, "train.epochs: want int"),
    ({"lr": "fast"}, "train.lr: want float"),
    ({"name": 3}, "train.name: want str"),
    ({"limit": 1.5}, "train.limit: want int | null"),
    ({"epochs": 0}, "params section 'train': epochs must be >= 1"),
])
def test_section_rejects_bad_values(raw: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("|", r"\|")):
        lab.section({"train": raw}, "train", Cfg)


def test_section_not_a_mapping() -> None:
    with pytest.raises(ValueError, match="want a mapping, got list"):
        lab.section({"train": [1]}, "train", Cfg)


# --- metrics ------------------------------------------------------------------------


def test_log_appends_one_line_per_call_and_prints(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "new" / "dir"
    lab.log(out, 3, train_loss=0.12344, val_accuracy=0.95)
    lab.log(out, 4, train_loss=float("nan"), count=7)
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [
        {"step": 3, "train_loss": 0.12344, "val_accuracy": 0.95},
        {"step": 4, "train_loss": None, "count": 7},
    ]
    printed = capsys.readouterr().out.splitlines()
    assert printed == ["step 3: train_loss=0.1234 val_accuracy=0.9500",
                       "step 4: train_loss=nan count=7"]


@pytest.mark.parametrize("step,metrics,error", [
    (1, {"loss": "low"}, TypeError),
    (1, {"ok": True}, TypeError),
    ("1", {"loss": 0.1}, TypeError),
    (1, {"step": 2}, ValueError),
])
def test_log_rejects_bad_input(tmp_path: Path, step: object, metrics: dict,
                               error: type) -> None:
    with pytest.raises(error):
        lab.log(tmp_path, step, **metrics)
    assert not (tmp_path / "metrics.jsonl").exists()


def test_summary_writes_flat_json_and_prints(tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    lab.summary(out, accuracy=0.5, n=3)
    assert json.loads((out / "metrics.json").read_text()) == {"accuracy": 0.5, "n": 3}
    assert capsys.readouterr().out.splitlines() == ["accuracy=0.5", "n=3"]
    assert [p.name for p in out.iterdir()] == ["metrics.json"]  # no temp file left


def test_summary_accepts_numpy_scalars(tmp_path: Path) -> None:
    np = pytest.importorskip("numpy")
    lab.summary(tmp_path, a=np.float32(0.25), b=np.int64(4))
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"a": 0.25, "b": 4}


@pytest.mark.parametrize("value,error,message", [
    (float("nan"), ValueError, "'bad' is nan"),
    (float("inf"), ValueError, "'bad' is inf"),
    ("0.9", TypeError, "got str"),
    (True, TypeError, "got bool"),
    (None, TypeError, "got NoneType"),
])
def test_summary_rejects_non_finite_and_non_numbers(tmp_path: Path, value: object,
                                                    error: type, message: str) -> None:
    lab.summary(tmp_path, good=1.0)
    before = (tmp_path / "metrics.json").read_bytes()
    with pytest.raises(error, match=message):
        lab.summary(tmp_path, ok=0.5, bad=value)
    assert (tmp_path / "metrics.json").read_bytes() == before  # untouched
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


# --- seeding, device, versions ------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Let seed_everything set env vars and torch flags; restore them afterwards."""
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    yield monkeypatch
    try:
        import torch
    except ImportError:
        return
    torch.use_deterministic_algorithms(False)


def test_seed_everything_repeats_random_streams(clean_env: pytest.MonkeyPatch) -> None:
    settings = lab.seed_everything(5)
    first = random.random()
    lab.seed_everything(5)
    assert random.random() == first
    assert settings["seed"] == 5 and settings["deterministic"] is True
    import os
    assert os.environ["PYTHONHASHSEED"] == "5"
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"


def test_seed_everything_keeps_existing_cublas_config(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    assert lab.seed_everything(1)["cublas_workspace_config"] == ":16:8"


def test_seed_everything_seeds_torch_and_makes_it_deterministic(
        clean_env: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    settings = lab.seed_everything(11)
    a = torch.rand(3)
    lab.seed_everything(11)
    assert torch.equal(a, torch.rand(3))
    assert torch.are_deterministic_algorithms_enabled()
    assert settings["torch"] and settings["torch_deterministic_algorithms"]
    assert settings["cudnn_deterministic"] is True and settings["cudnn_benchmark"] is False


def test_seed_everything_not_deterministic_leaves_torch_flags(
        clean_env: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch")
    settings = lab.seed_everything(11, deterministic=False)
    assert not torch.are_deterministic_algorithms_enabled()
    assert settings["cublas_workspace_config"] is None


def test_device_cpu_and_bad_names() -> None:
    assert lab.device("cpu") == "cpu"
    for bad in ("gpu", "cuda:x", "CUDA", ""):
        with pytest.raises(ValueError, match="want auto, cpu, cuda or cuda:N"):
            lab.device(bad)


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch):
    torch = pytest.importorskip("torch")

    def set_gpus(n: int) -> None:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: n > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: n)
    return set_gpus


def test_device_without_cuda(fake_cuda) -> None:
    fake_cuda(0)
    assert lab.device("auto") == "cpu"
    for pref in ("cuda", "cuda:0"):
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            lab.device(pref)


def test_device_with_cuda(fake_cuda) -> None:
    fake_cuda(2)
    assert lab.device("auto") == "cuda"
    assert lab.device("cuda") == "cuda"
    assert lab.device("cuda:1") == "cuda:1"
    assert lab.device("cpu") == "cpu"
    with pytest.raises(RuntimeError, match="only 2 CUDA device"):
        lab.device("cuda:2")


def test_write_framework_records_versions(tmp_path: Path) -> None:
    info = lab.write_framework(tmp_path, device="cpu")
    on_disk = json.loads((tmp_path / "framework.json").read_text())
    assert on_disk == info
    assert on_disk["python"] == platform.python_version()
    for key in ("platform", "numpy", "torch", "torch_cuda", "cudnn", "cuda_available",
                "devices"):
        assert key in on_disk
    assert on_disk["device"] == "cpu"
    try:
        import torch
    except ImportError:
        assert on_disk["torch"] is None
    else:
        assert on_disk["torch"] == torch.__version__
        assert on_disk["cuda_available"] == torch.cuda.is_available()
    assert not any(isinstance(v, float) and math.isnan(v) for v in on_disk.values())
