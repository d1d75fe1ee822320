"""GPU checks shared by check_torch.py and check_tf.py: params, results, the report.

Each check script runs the same checks with its framework and writes OUTPUT_DIR/checks.json,
a list of {"name", "ok", "detail", "value", "unit"}. A check that raises is recorded as
failed (ok false, the error as detail) and the others still run: the script exits 0 and
the caller (`gpu:check`) decides, since a failed CUDA check only matters where a GPU is.
A check that does not apply (bf16 on a GPU without it) is ok with a detail starting
"skipped:" and a null value.
"""

from __future__ import annotations

import json
import math
import os
import resource
import sys
import tempfile
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

#: Detail of the cuda_available check on a machine without a usable CUDA device.
NO_CUDA = "no CUDA device: checks ran on CPU"

#: Shape of the random classification task of the training-loop check.
FEATURES = 128
CLASSES = 10


@dataclass
class CheckConfig:
    """Params section "train" of experiments/gpu-check.yaml."""

    matmul_size: int = 4096  # n of the timed n×n @ n×n matmuls on a GPU
    matmul_repeats: int = 10  # timed repeats after warm-up; the median is reported
    cpu_matmul_size: int = 1024  # matmul_size is capped to this on CPU, to stay in seconds
    steps: int = 50  # optimizer steps of the training loop
    batch_size: int = 256
    hidden: int = 1024  # width of the MLP's two hidden layers
    lr: float = 0.001
    device: str = "auto"  # auto | cpu | cuda | cuda:N

    def __post_init__(self) -> None:
        for name in ("matmul_size", "cpu_matmul_size"):
            if getattr(self, name) < 16:
                raise ValueError(f"{name} must be >= 16, got {getattr(self, name)}")
        if self.matmul_repeats < 1:
            raise ValueError(f"matmul_repeats must be >= 1, got {self.matmul_repeats}")
        if self.steps < 2:
            raise ValueError(f"steps must be >= 2 (the loss is compared), got {self.steps}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.hidden < 1:
            raise ValueError(f"hidden must be >= 1, got {self.hidden}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        if self.device not in ("auto", "cpu", "cuda") and not (
                self.device.startswith("cuda:") and self.device[5:].isdigit()):
            raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {self.device!r}")

    def matmul_n(self, on_gpu: bool) -> int:
        """The matmul size to use: matmul_size on a GPU, capped by cpu_matmul_size on CPU."""
        return self.matmul_size if on_gpu else min(self.matmul_size, self.cpu_matmul_size)


@dataclass
class Check:
    """One line of checks.json; metrics are extra numbers for metrics.json only."""

    name: str
    ok: bool
    detail: str
    value: float | int | None = None
    unit: str = ""
    metrics: dict[str, float] = field(default_factory=dict, repr=False)

    def record(self) -> dict[str, Any]:
        d = asdict(self)
        del d["metrics"]
        if d["value"] is not None and not math.isfinite(d["value"]):
            d["value"] = None  # checks.json is strict JSON: no NaN
        return d


def run(name: str, fn: Callable[[], Check]) -> Check:
    """Run one check; an exception makes it a failed check instead of a crash."""
    try:
        check = fn()
    except Exception as e:  # noqa: BLE001 - a broken GPU shows up as any error
        traceback.print_exc(file=sys.stderr)
        check = Check(name, False, f"{type(e).__name__}: {e}".strip())
    check.name = name
    return check


def tflops(n: int, seconds: float) -> float:
    """TFLOP/s of one n×n @ n×n matmul (2n³ floating-point operations) taking seconds."""
    return 2 * n**3 / seconds / 1e12


def loss_went_down(first: float, last: float) -> bool:
    return math.isfinite(first) and math.isfinite(last) and last < first


def train_check(first: float, last: float, steps: int, batch_size: int, hidden: int,
                seconds: float, where: str) -> Check:
    """The train_loop check from the loss on the first and the last batch."""
    ok = loss_went_down(first, last)
    verdict = "" if ok else " (did not go down)"
    return Check(
        "train_loop", ok,
        f"{steps} steps of batch {batch_size}, hidden {hidden} on {where}: loss "
        f"{first:.4f} -> {last:.4f}{verdict} in {seconds:.2f}s "
        f"({steps * batch_size / seconds:.0f} samples/s)",
        value=last if math.isfinite(last) else None, unit="loss",
        metrics={"train_loss_first": first, "train_loss_last": last},
    )


def rss_peak_mib() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def write_json(path: Path, value: Any) -> None:
    """Write value to path as strict JSON, atomically (a temp file, then os.replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f, indent=2, allow_nan=False)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write(out_dir: Path, checks: list[Check]) -> None:
    """Write out_dir/checks.json and print the checks as a table."""
    write_json(Path(out_dir) / "checks.json", [c.record() for c in checks])
    width = max(len(c.name) for c in checks)
    for c in checks:
        value = "" if c.value is None else f" {c.value:.4g} {c.unit}"
        print(f"{c.name:<{width}}  {'ok  ' if c.ok else 'FAIL'}{value}  {c.detail}", flush=True)


def metrics(checks: list[Check], **more: float) -> dict[str, float]:
    """The finite numbers of the checks' metrics, for lab.summary."""
    out: dict[str, float] = {}
    for c in checks:
        out.update(c.metrics)
    out.update(more)
    return {k: v for k, v in out.items() if v is not None and math.isfinite(v)}
