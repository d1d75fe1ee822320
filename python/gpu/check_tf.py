"""Check that TensorFlow can use the GPU: devices, timed matmuls, a Keras fit, memory.

    python python/gpu/check_tf.py --params PARAMS.json --out OUTPUT_DIR

Run by `gpu:check` when TensorFlow is installed (python/requirements-tf.txt), with the
params of experiments/gpu-check.yaml: section "train" (gpu.CheckConfig) and "seed";
--in is accepted and unused. The same checks as check_torch.py, with TensorFlow:

- cuda_available: TensorFlow was built with CUDA and lists a GPU (without one: ok false,
  detail "no CUDA device: checks ran on CPU", and every other check runs on CPU);
- devices: tf.config.list_physical_devices("GPU") with name and compute capability;
- matmul_fp32, matmul_bf16: chains of CHAIN n×n matmuls after warm-up (one sync per
  chain, so eager dispatch overlaps the GPU's work), the median of matmul_repeats
  chains as TFLOP/s, and the first rows checked against a float64 NumPy product;
- train_loop: a Keras fit of an MLP on a random but learnable task, `steps` batches; the
  loss of the untrained model on the first batch must exceed that of the trained model on
  the last batch (the time includes tracing the graph);
- peak_memory: tf.config.experimental.get_memory_info on a GPU, peak RSS on CPU.

GPU memory growth is turned on, so TensorFlow takes what it uses rather than the whole
device. Writes checks.json, metrics.json (as check_torch.py) and framework.json (TensorFlow,
Keras, CUDA and cuDNN versions; torch is never imported here). A failed
check still exits 0; bad params or a crash exit non-zero.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # warnings stay; most INFO lines go
import tensorflow as tf

import lab

import gpu

WARMUP = 2  # untimed chains first: kernels are picked and the clocks ramp up
CHAIN = 5  # matmuls per timed chain
CHECKED_ROWS = 64
TOLERANCE = {"fp32": 5e-3, "bf16": 2e-2}  # relative; fp32 allows TF32


def parse_args(argv: list[str] | None = None):
    return lab.args("Check that TensorFlow can use the GPU (or run the same checks on CPU).",
                    argv)


def select_device(pref: str, gpus: list) -> str:
    """Make only the wanted GPU visible (none for cpu); return "/GPU:0" or "/CPU:0".

    Must run before TensorFlow initialises its runtime (before the first op).
    """
    index = 0 if pref in ("auto", "cuda") else int(pref[5:]) if pref != "cpu" else None
    if pref != "auto" and index is not None and index >= len(gpus):
        raise RuntimeError(f"device {pref!r} requested but TensorFlow sees {len(gpus)} "
                           "GPU(s) (check CUDA_VISIBLE_DEVICES, and tensorflow[and-cuda])")
    if index is None or not gpus:
        tf.config.set_visible_devices([], "GPU")
        return "/CPU:0"
    tf.config.set_visible_devices([gpus[index]], "GPU")
    tf.config.experimental.set_memory_growth(gpus[index], True)
    return "/GPU:0"


def describe(device) -> str:
    """Describe a physical GPU: "GPU:0: NVIDIA H200, compute 9.0"."""
    details = tf.config.experimental.get_device_details(device)
    cc = details.get("compute_capability")
    compute = f", compute {cc[0]}.{cc[1]}" if cc else ""
    name = device.name.removeprefix("/physical_device:")
    return f"{name}: {details.get('device_name', '?')}{compute}"


def check_cuda(gpus: list, dev: str) -> gpu.Check:
    if not gpus:
        return gpu.Check("cuda_available", False, gpu.NO_CUDA)
    build = tf.sysconfig.get_build_info()
    detail = f"TensorFlow {tf.__version__} built for CUDA {build.get('cuda_version')}"
    if dev.startswith("/CPU"):
        detail += "; device=cpu was asked for, so the checks ran on CPU"
    return gpu.Check("cuda_available", True, detail)


def check_devices(gpus: list) -> gpu.Check:
    if not gpus:
        build = tf.sysconfig.get_build_info()
        cuda = build.get("cuda_version") if build.get("is_cuda_build") else None
        detail = (f"no GPU visible to TensorFlow {tf.__version__} (CUDA build: "
                  f"{cuda or 'none'}; a GPU needs `pip install tensorflow[and-cuda]`)")
        return gpu.Check("devices", True, detail, value=0, unit="devices")
    return gpu.Check("devices", True, "; ".join(describe(g) for g in gpus), value=len(gpus),
                 unit="devices")


def time_chain(a: tf.Tensor, b: tf.Tensor, repeats: int) -> float:
    """Median seconds of one matmul, timed as chains of CHAIN (c = c @ b) after warm-up."""
    def chain() -> None:
        c = a
        for _ in range(CHAIN):
            c = tf.matmul(c, b)
        c[0, 0].numpy()  # waits for the chain

    for _ in range(WARMUP):
        chain()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        chain()
        times.append((time.perf_counter() - t) / CHAIN)
    return statistics.median(times)


def bf16_unsupported(gpus: list, dev: str) -> str:
    """Why bf16 is skipped on this GPU, or "" when it is supported (or on CPU)."""
    if dev.startswith("/CPU") or not gpus:
        return ""
    cc = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability")
    if cc and tuple(cc) < (8, 0):
        return (f"skipped: compute capability {cc[0]}.{cc[1]} has no native bf16 "
                "(needs 8.0, Ampere or newer)")
    return ""


def check_matmul(label: str, cfg: gpu.CheckConfig, dev: str, visible: list) -> gpu.Check:
    dtype = {"fp32": tf.float32, "bf16": tf.bfloat16}[label]
    if label == "bf16" and (why := bf16_unsupported(visible, dev)):
        return gpu.Check(f"matmul_{label}", True, why, unit="TFLOP/s")
    n = cfg.matmul_n(dev.startswith("/GPU"))
    with tf.device(dev):
        # Scaled by 1/sqrt(n), so a chain of products keeps its magnitude.
        a = tf.cast(tf.random.normal((n, n)) / n**0.5, dtype)
        b = tf.cast(tf.random.normal((n, n)) / n**0.5, dtype)
        try:
            seconds = time_chain(a, b, cfg.matmul_repeats)
        except (tf.errors.NotFoundError, tf.errors.UnimplementedError) as e:
            if label != "bf16":
                raise
            return gpu.Check(f"matmul_{label}", True, f"skipped: no bf16 matmul kernel on {dev}: "
                         f"{e.message.splitlines()[0]}", unit="TFLOP/s")
        rows = min(CHECKED_ROWS, n)
        got = tf.cast(tf.matmul(a[:rows], b), tf.float64).numpy()
    want = (tf.cast(a[:rows], tf.float64).numpy() @ tf.cast(b, tf.float64).numpy())
    error = float(np.linalg.norm(got - want) / np.linalg.norm(want))
    ok = error < TOLERANCE[label]
    rate = gpu.tflops(n, seconds)
    return gpu.Check(
        f"matmul_{label}", ok,
        f"{n}x{n} {label} on {dev}: median {seconds * 1e3:.3f} ms of {cfg.matmul_repeats} "
        f"chains of {CHAIN}, relative error {error:.1e}"
        f"{'' if ok else f' (over {TOLERANCE[label]:.0e}: wrong results)'}",
        value=rate, unit="TFLOP/s", metrics={f"tflops_{label}": rate})


def check_train(cfg: gpu.CheckConfig, dev: str, seed: int) -> gpu.Check:
    """Keras fit on random batches labelled by a fixed random linear teacher."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((cfg.steps * cfg.batch_size, gpu.FEATURES), dtype=np.float32)
    y = (x @ rng.standard_normal((gpu.FEATURES, gpu.CLASSES), dtype=np.float32)).argmax(axis=1)
    layers = tf.keras.layers
    with tf.device(dev):
        model = tf.keras.Sequential([
            tf.keras.Input((gpu.FEATURES,)),
            layers.Dense(cfg.hidden, activation="relu"),
            layers.Dense(cfg.hidden, activation="relu"),
            layers.Dense(gpu.CLASSES),
        ])
        model.compile(optimizer=tf.keras.optimizers.Adam(cfg.lr),
                      loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        head, tail = slice(0, cfg.batch_size), slice(-cfg.batch_size, None)
        first = float(model.evaluate(x[head], y[head], verbose=0))
        started = time.perf_counter()
        model.fit(x, y, batch_size=cfg.batch_size, epochs=1, shuffle=False, verbose=0)
        seconds = time.perf_counter() - started
        last = float(model.evaluate(x[tail], y[tail], verbose=0))
    return gpu.train_check(first, last, cfg.steps, cfg.batch_size, cfg.hidden, seconds, dev)


def check_memory(dev: str) -> gpu.Check:
    if dev.startswith("/GPU"):
        peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20
        detail = f"{peak:.0f} MiB at most in use by TensorFlow on {dev}"
    else:
        peak = gpu.rss_peak_mib()
        detail = f"peak resident memory of this process: {peak:.0f} MiB"
    return gpu.Check("peak_memory", peak > 0, detail, value=peak, unit="MiB",
                 metrics={"peak_memory_mib": peak})


def write_framework(out: Path, dev: str, gpus: list) -> None:
    """Write OUTPUT_DIR/framework.json for TensorFlow.

    Not lab.write_framework: that imports torch when it is installed, which would load
    torch's CUDA libraries (cuDNN, cuBLAS) into TensorFlow's process beside its own.
    """
    build = tf.sysconfig.get_build_info()
    gpu.write_json(out / "framework.json", {
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "numpy": np.__version__,
        "tensorflow": tf.__version__,
        "keras": tf.keras.__version__,
        "tensorflow_cuda": build.get("cuda_version") if build.get("is_cuda_build") else None,
        "tensorflow_cudnn": build.get("cudnn_version") if build.get("is_cuda_build") else None,
        "cuda_available": bool(gpus),
        "devices": [describe(g) for g in gpus],
        "device": dev,
    })


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    p = lab.params(args.params)
    cfg = lab.section(p, "train", gpu.CheckConfig)
    seed = lab.seed(p)
    gpus = tf.config.list_physical_devices("GPU")
    dev = select_device(cfg.device, gpus)
    visible = tf.config.get_visible_devices("GPU")
    tf.keras.utils.set_random_seed(seed)  # Python, NumPy and TensorFlow
    print(f"device: {dev}", flush=True)
    args.out.mkdir(parents=True, exist_ok=True)

    checks = [
        gpu.run("cuda_available", lambda: check_cuda(gpus, dev)),
        gpu.run("devices", lambda: check_devices(gpus)),
        gpu.run("matmul_fp32", lambda: check_matmul("fp32", cfg, dev, visible)),
        gpu.run("matmul_bf16", lambda: check_matmul("bf16", cfg, dev, visible)),
        gpu.run("train_loop", lambda: check_train(cfg, dev, seed)),
        gpu.run("peak_memory", lambda: check_memory(dev)),
    ]
    gpu.write(args.out, checks)
    try:
        write_framework(args.out, dev, gpus)
    except Exception as e:  # noqa: BLE001 - a broken device must not hide the checks
        print(f"warning: framework.json: {type(e).__name__}: {e}", file=sys.stderr)
    lab.summary(args.out, **gpu.metrics(checks, cuda_device_count=len(gpus)))


if __name__ == "__main__":
    main()
