"""Helpers for magelab stage scripts: flags, params, metrics, seeding, device, versions.

A stage script is run as

    python SCRIPT --params PARAMS.json --out OUTPUT_DIR [--in INPUT_DIR] [--model MODEL_DIR]

and writes OUTPUT_DIR/metrics.json (flat name -> number), optionally appending
OUTPUT_DIR/metrics.jsonl ({"step": n, "name": value, ...} per line). Everything else it
writes under OUTPUT_DIR is an artifact.

Standard library only: numpy and torch are imported inside the functions that use them,
and their absence is tolerated, so this file also works for scripts that need neither.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import json
import math
import numbers
import os
import platform
import random
import sys
import tempfile
import types
import typing
from pathlib import Path
from typing import Any

#: Environment variables magelab may set for a stage; all optional.
ENV_VARS = ("MAGELAB_RUN_ID", "MAGELAB_RUN_DIR", "MAGELAB_STAGE")


# --- flags and params ---------------------------------------------------------------


def parser(description: str, required: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """Return the argument parser every stage script shares.

    --params and --out are always required; name "in" or "model" in `required` to make
    those required too (preprocess, train and evaluate need --in; evaluate --model).
    """
    unknown = set(required) - {"in", "model"}
    if unknown:
        raise ValueError(f"lab.parser: unknown required flag(s) {sorted(unknown)}")
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--params", required=True, type=Path,
                   help="JSON file with the resolved experiment params")
    p.add_argument("--out", required=True, type=Path,
                   help="output directory (created if missing)")
    p.add_argument("--in", dest="in_dir", type=Path, default=None, required="in" in required,
                   help="the upstream stage's output directory")
    p.add_argument("--model", type=Path, default=None, required="model" in required,
                   help="the train stage's output directory (evaluate)")
    return p


def args(description: str, argv: list[str] | None = None,
         required: tuple[str, ...] = ()) -> argparse.Namespace:
    """Parse the shared stage flags from argv (default: sys.argv[1:]); see parser()."""
    return parser(description, required).parse_args(argv)


def params(path: str | os.PathLike) -> dict[str, Any]:
    """Load the params JSON file; errors name the file and, for bad JSON, the position."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FileNotFoundError(f"params file {path}: not found") from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(
            f"params file {path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}"
        ) from None
    if not isinstance(value, dict):
        raise ValueError(f"params file {path}: want a JSON object, got {type(value).__name__}")
    return value


def seed(p: dict[str, Any], default: int = 42) -> int:
    """Return the top-level "seed" of the params, checked to be an int in [0, 2**32)."""
    value = p.get("seed", default)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise ValueError(f"params seed: want an integer in [0, 2**32), got {value!r}")
    return value


def section(p: dict[str, Any], name: str, cls: type) -> Any:
    """Build the dataclass cls from the params section `name` (missing -> defaults).

    Keys the dataclass lacks are errors naming them and the valid keys; values are
    checked against the field types (int, float, str, bool, Optional[...]) and an int is
    accepted where a float is wanted. The dataclass's __post_init__ does the range checks.
    """
    raw = p.get(name)
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValueError(f"params section {name!r}: want a mapping, got {type(raw).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        hints = [m for k in unknown for m in difflib.get_close_matches(k, fields, n=1)]
        hint = f" (did you mean {', '.join(map(repr, hints))}?)" if hints else ""
        raise ValueError(
            f"params section {name!r}: unknown key(s) {', '.join(map(repr, unknown))}{hint}; "
            f"valid keys: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    values = {k: _typed(f"{name}.{k}", v, hints.get(k, Any)) for k, v in raw.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise ValueError(f"params section {name!r}: {e}") from None


def _typed(key: str, value: Any, hint: Any) -> Any:
    """Check value against a simple type hint, converting int to float where wanted."""
    if hint is Any:
        return value
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is type(None):
                continue
            try:
                return _typed(key, value, option)
            except ValueError:
                pass
        raise ValueError(f"params {key}: want {_hint_name(hint)}, got {value!r}")
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(hint)
    if ok is None:  # a type this checker does not know: leave it to __post_init__
        return value
    if not ok:
        raise ValueError(f"params {key}: want {_hint_name(hint)}, got {value!r}")
    return float(value) if hint is float else value


def _hint_name(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " | ".join(_hint_name(option) for option in typing.get_args(hint))
    return "null" if hint is type(None) else getattr(hint, "__name__", str(hint))


def context() -> dict[str, str | None]:
    """Return the MAGELAB_* variables magelab set for this stage (None when run by hand)."""
    return {name: os.environ.get(name) or None for name in ENV_VARS}


# --- metrics ------------------------------------------------------------------------


def log(out_dir: str | os.PathLike, step: int, /, **metrics: Any) -> None:
    """Append {"step": step, **metrics} to out_dir/metrics.jsonl and print it.

    A non-finite value (a diverged loss) is written as null rather than failing the run.
    """
    if isinstance(step, bool) or not isinstance(step, int):
        raise TypeError(f"lab.log: step must be an int, got {step!r}")
    if "step" in metrics:
        raise ValueError("lab.log: 'step' is the step argument, not a metric name")
    record: dict[str, Any] = {"step": step}
    for name, value in metrics.items():
        value = _number("lab.log", name, value)
        record[name] = value if math.isfinite(value) else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, allow_nan=False) + "\n"
    with open(out / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(line)
        f.flush()
    shown = " ".join(f"{k}={_show(v)}" for k, v in record.items() if k != "step")
    print(f"step {step}: {shown}", flush=True)


def summary(out_dir: str | os.PathLike, /, **metrics: Any) -> dict[str, int | float]:
    """Write the final metrics to out_dir/metrics.json atomically and print name=value.

    Every value must be a finite int or float (numpy scalars count; bool does not).
    """
    clean: dict[str, int | float] = {}
    for name, value in metrics.items():
        value = _number("lab.summary", name, value)
        if not math.isfinite(value):
            raise ValueError(f"lab.summary: metric {name!r} is {value}, want a finite number")
        clean[name] = value
    out = Path(out_dir)
    _write_json(out / "metrics.json", clean)
    for name, value in clean.items():
        print(f"{name}={json.dumps(value)}", flush=True)
    return clean


def _number(where: str, name: str, value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{where}: metric {name!r} must be an int or float, got {type(value).__name__} "
            f"{value!r} (call .item() on tensors)"
        )
    return int(value) if isinstance(value, numbers.Integral) else float(value)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "nan" if value is None else str(value)


def _write_json(path: Path, value: Any) -> None:
    """Write value as JSON to path via a temp file in the same directory + os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f, indent=2, allow_nan=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- seeding, device, versions ------------------------------------------------------


def seed_everything(seed: int, deterministic: bool = True) -> dict[str, Any]:
    """Seed random, numpy and torch (+CUDA) and, if deterministic, make torch deterministic.

    PYTHONHASHSEED is set for child processes (this interpreter's hash seed is already
    fixed). Returns what was set, for the run record.
    """
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    if deterministic:
        # cuBLAS needs this before its first call to be deterministic (CUDA >= 10.2).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    settings: dict[str, Any] = {
        "seed": seed,
        "deterministic": deterministic,
        "python_hash_seed": os.environ["PYTHONHASHSEED"],
        "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
        "numpy": False,
        "torch": False,
        "cuda": False,
    }
    try:
        import numpy as np
    except ImportError:
        pass
    else:
        np.random.seed(seed)
        settings["numpy"] = True
    try:
        import torch
    except ImportError:
        return settings
    torch.manual_seed(seed)  # also seeds every CUDA device
    settings["torch"] = True
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
        settings["cuda"] = True
    if deterministic:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    settings["torch_deterministic_algorithms"] = torch.are_deterministic_algorithms_enabled()
    settings["cudnn_deterministic"] = torch.backends.cudnn.deterministic
    settings["cudnn_benchmark"] = torch.backends.cudnn.benchmark
    return settings


def device(pref: str = "auto") -> str:
    """Resolve a device preference: "auto" -> "cuda" when available else "cpu".

    "cpu", "cuda" and "cuda:N" are returned verbatim; asking for CUDA without it is an error.
    """
    if pref == "cpu":
        return "cpu"
    if pref != "auto" and pref != "cuda" and not _is_cuda_index(pref):
        raise ValueError(f"device {pref!r}: want auto, cpu, cuda or cuda:N")
    try:
        import torch
    except ImportError:
        if pref == "auto":
            return "cpu"
        raise RuntimeError(f"device {pref!r} requested but torch is not installed") from None
    if not torch.cuda.is_available():
        if pref == "auto":
            return "cpu"
        raise RuntimeError(
            f"device {pref!r} requested but CUDA is not available "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}); "
            "use device: auto or cpu"
        )
    if pref == "auto":
        return "cuda"
    if _is_cuda_index(pref) and int(pref[5:]) >= torch.cuda.device_count():
        raise RuntimeError(
            f"device {pref!r} requested but only {torch.cuda.device_count()} CUDA device(s) "
            "are visible (check CUDA_VISIBLE_DEVICES)"
        )
    return pref


def _is_cuda_index(pref: str) -> bool:
    return pref.startswith("cuda:") and pref[5:].isdigit()


def describe_device(dev: str) -> str:
    """Return "cuda (NVIDIA H200)" for a CUDA device, "cpu" otherwise."""
    if not dev.startswith("cuda"):
        return dev
    import torch

    return f"{dev} ({torch.cuda.get_device_name(dev)})"


def write_framework(out_dir: str | os.PathLike, **extra: Any) -> dict[str, Any]:
    """Write out_dir/framework.json: Python, numpy, torch, CUDA, cuDNN and device names.

    Unknown values are null. Keyword arguments (e.g. determinism=seed_everything(...)) are
    added as extra top-level keys.
    """
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "numpy": None,
        "torch": None,
        "torch_cuda": None,
        "cudnn": None,
        "cuda_available": None,
        "devices": None,
    }
    try:
        import numpy as np
    except ImportError:
        pass
    else:
        info["numpy"] = np.__version__
    try:
        import torch
    except ImportError:
        pass
    else:
        info["torch"] = torch.__version__
        info["torch_cuda"] = torch.version.cuda
        cudnn = torch.backends.cudnn
        info["cudnn"] = cudnn.version() if cudnn.is_available() else None
        info["cuda_available"] = torch.cuda.is_available()
        count = torch.cuda.device_count() if info["cuda_available"] else 0
        info["devices"] = [torch.cuda.get_device_name(i) for i in range(count)]
    info.update(extra)
    _write_json(Path(out_dir) / "framework.json", info)
    return info
