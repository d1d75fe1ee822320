"""Check that PyTorch can use the GPU: devices, timed matmuls, a training loop, memory.

    python python/gpu/check_torch.py --params PARAMS.json --out OUTPUT_DIR

The train stage of experiments/gpu-check.yaml, run by `gpu:check`. Params: section
"train" (gpu.CheckConfig) and "seed"; --in is accepted and unused. Checks, in order:

- cuda_available: torch sees a CUDA device (on a machine without one: ok false, detail
  "no CUDA device: checks ran on CPU", and every other check runs on CPU);
- devices: name, compute capability and memory of each visible device;
- matmul_fp32, matmul_bf16: an n×n @ n×n matmul after warm-up, the median of
  matmul_repeats timings (CUDA events on a GPU) as TFLOP/s, and its first rows checked
  against a float64 product of the same inputs;
- train_loop: an MLP on a random but learnable task (labels from a random linear
  teacher), `steps` Adam steps; the loss must go down;
- peak_memory: torch.cuda.max_memory_allocated on a GPU, the process's peak RSS on CPU.

Writes checks.json (see python/gpu/__init__.py), metrics.json (tflops_fp32, tflops_bf16,
train_loss_first, train_loss_last, peak_memory_mib, cuda_device_count), metrics.jsonl
(the training loss) and framework.json. A failed check still exits 0: the verdict is the
caller's. Bad params or a crash exit non-zero.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from torch import nn

import lab

import gpu

WARMUP = 2  # untimed matmuls first: cuBLAS picks its kernels and the clocks ramp up
CHECKED_ROWS = 64  # rows of the product compared with a float64 reference
TOLERANCE = {torch.float32: 5e-3, torch.bfloat16: 2e-2}  # relative; fp32 allows TF32


def parse_args(argv: list[str] | None = None):
    return lab.args("Check that PyTorch can use the GPU (or run the same checks on CPU).",
                    argv)


def cuda_status() -> tuple[bool, str]:
    """Whether CUDA is usable, and the warning torch gave when it is not (old driver...)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = torch.cuda.is_available()
    return available, "; ".join(str(w.message).strip() for w in caught)


def check_cuda(available: bool, dev: str) -> gpu.Check:
    if not available:
        return gpu.Check("cuda_available", False, gpu.NO_CUDA)
    detail = f"torch {torch.__version__} built for CUDA {torch.version.cuda}"
    if dev == "cpu":
        detail += "; device=cpu was asked for, so the checks ran on CPU"
    return gpu.Check("cuda_available", True, detail)


def check_devices(available: bool, why: str) -> gpu.Check:
    if not available:
        build = torch.version.cuda or "none (a CPU-only build)"
        visible = os.environ.get("CUDA_VISIBLE_DEVICES")
        detail = (f"no CUDA device visible to torch {torch.__version__} (CUDA build: {build}"
                  f"{'; CUDA_VISIBLE_DEVICES=' + visible if visible is not None else ''})"
                  f"{': ' + why if why else ''}; CPU: {torch.get_num_threads()} threads")
        return gpu.Check("devices", True, detail, value=0, unit="devices")
    names = []
    for i in range(torch.cuda.device_count()):
        p = torch.cuda.get_device_properties(i)
        names.append(f"{i}: {p.name}, compute {p.major}.{p.minor}, "
                     f"{p.total_memory / 2**30:.1f} GiB")
    return gpu.Check("devices", bool(names), "; ".join(names) or "torch counts 0 devices",
                 value=len(names), unit="devices")


def sync(dev: str) -> None:
    if dev.startswith("cuda"):
        torch.cuda.synchronize(dev)


def time_matmul(a: torch.Tensor, b: torch.Tensor, repeats: int) -> float:
    """Median seconds of a @ b over repeats, after WARMUP untimed ones."""
    dev = str(a.device)
    for _ in range(WARMUP):
        a @ b
    sync(dev)
    times = []
    for _ in range(repeats):
        if dev.startswith("cuda"):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            a @ b
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t = time.perf_counter()
            a @ b
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def check_matmul(dtype: torch.dtype, cfg: gpu.CheckConfig, dev: str) -> gpu.Check:
    label = {torch.float32: "fp32", torch.bfloat16: "bf16"}[dtype]
    on_gpu = dev.startswith("cuda")
    if dtype == torch.bfloat16 and on_gpu and torch.cuda.get_device_capability(dev) < (8, 0):
        major, minor = torch.cuda.get_device_capability(dev)
        return gpu.Check(f"matmul_{label}", True,
                     f"skipped: compute capability {major}.{minor} has no native bf16 "
                     "(needs 8.0, Ampere or newer)", unit="TFLOP/s")
    n = cfg.matmul_n(on_gpu)
    a = torch.randn(n, n, device=dev).to(dtype) / n**0.5
    b = torch.randn(n, n, device=dev).to(dtype)
    seconds = time_matmul(a, b, cfg.matmul_repeats)
    rows = min(CHECKED_ROWS, n)
    got = (a[:rows] @ b).double()
    want = a[:rows].double() @ b.double()
    error = ((got - want).norm() / want.norm()).item()
    ok = error < TOLERANCE[dtype]
    rate = gpu.tflops(n, seconds)
    return gpu.Check(
        f"matmul_{label}", ok,
        f"{n}x{n} {label} on {lab.describe_device(dev)}: median {seconds * 1e3:.3f} ms of "
        f"{cfg.matmul_repeats}, relative error {error:.1e}"
        f"{'' if ok else f' (over {TOLERANCE[dtype]:.0e}: wrong results)'}",
        value=rate, unit="TFLOP/s", metrics={f"tflops_{label}": rate})


def mlp(hidden: int) -> nn.Module:
    return nn.Sequential(nn.Linear(gpu.FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                         nn.ReLU(), nn.Linear(hidden, gpu.CLASSES))


def check_train(cfg: gpu.CheckConfig, dev: str, out: Path) -> gpu.Check:
    """Adam on fresh random batches labelled by a fixed random linear teacher."""
    teacher = torch.randn(gpu.FEATURES, gpu.CLASSES, device=dev)
    model = mlp(cfg.hidden).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    every = max(1, cfg.steps // 10)
    losses = []
    sync(dev)
    started = time.perf_counter()
    for step in range(1, cfg.steps + 1):
        x = torch.randn(cfg.batch_size, gpu.FEATURES, device=dev)
        loss = nn.functional.cross_entropy(model(x), (x @ teacher).argmax(dim=1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % every == 0 or step == cfg.steps:
            lab.log(out, step, train_loss=losses[-1])
    seconds = time.perf_counter() - started
    return gpu.train_check(losses[0], losses[-1], cfg.steps, cfg.batch_size, cfg.hidden,
                       seconds, lab.describe_device(dev))


def check_memory(dev: str) -> gpu.Check:
    if dev.startswith("cuda"):
        peak = torch.cuda.max_memory_allocated(dev) / 2**20
        total = torch.cuda.get_device_properties(dev).total_memory / 2**30
        detail = f"{peak:.0f} MiB at most allocated by torch on {dev} ({total:.1f} GiB total)"
    else:
        peak = gpu.rss_peak_mib()
        detail = f"peak resident memory of this process: {peak:.0f} MiB"
    return gpu.Check("peak_memory", peak > 0, detail, value=peak, unit="MiB",
                 metrics={"peak_memory_mib": peak})


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    p = lab.params(args.params)
    cfg = lab.section(p, "train", gpu.CheckConfig)
    determinism = lab.seed_everything(lab.seed(p), deterministic=False)  # a speed check
    dev = lab.device(cfg.device)
    print(f"device: {lab.describe_device(dev)}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "metrics.jsonl").unlink(missing_ok=True)  # a rerun starts a fresh log

    available, why = cuda_status()
    if dev.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(dev)
    checks = [
        gpu.run("cuda_available", lambda: check_cuda(available, dev)),
        gpu.run("devices", lambda: check_devices(available, why)),
        gpu.run("matmul_fp32", lambda: check_matmul(torch.float32, cfg, dev)),
        gpu.run("matmul_bf16", lambda: check_matmul(torch.bfloat16, cfg, dev)),
        gpu.run("train_loop", lambda: check_train(cfg, dev, args.out)),
        gpu.run("peak_memory", lambda: check_memory(dev)),
    ]
    gpu.write(args.out, checks)
    try:
        lab.write_framework(args.out, determinism=determinism, device=dev)
    except Exception as e:  # noqa: BLE001 - a broken device must not hide the checks
        print(f"warning: framework.json: {type(e).__name__}: {e}", file=sys.stderr)
    count = torch.cuda.device_count() if available else 0
    lab.summary(args.out, **gpu.metrics(checks, cuda_device_count=count))


if __name__ == "__main__":
    main()
