# What the venv's frameworks see; run by `go tool mage gpu` as `python -c`.
# Prints one line: MAGELAB_FRAMEWORKS {json}. Standard library only; every
# framework is optional and an error importing it is reported, not raised.
import importlib.util
import json
import platform
import sys


def error(e):
    return {"error": f"{type(e).__name__}: {e}".strip()}


def torch_info():
    if importlib.util.find_spec("torch") is None:
        return None
    try:
        import torch
    except Exception as e:  # noqa: BLE001 - a broken install shows up as any error
        return error(e)
    info = {"version": torch.__version__, "cuda": torch.version.cuda,
            "cuda_available": False, "device_count": 0, "devices": [], "cudnn": None}
    try:
        info["cuda_available"] = bool(torch.cuda.is_available())
        if info["cuda_available"]:
            info["device_count"] = torch.cuda.device_count()
            info["devices"] = [torch.cuda.get_device_name(i) for i in range(info["device_count"])]
        if torch.backends.cudnn.is_available():
            info["cudnn"] = torch.backends.cudnn.version()
    except Exception as e:  # noqa: BLE001
        info.update(error(e))
    return info


def tensorflow_info():
    if importlib.util.find_spec("tensorflow") is None:
        return None
    try:
        import tensorflow as tf
    except Exception as e:  # noqa: BLE001
        return error(e)
    info = {"version": tf.__version__, "gpus": [], "built_with_cuda": False, "cuda": "", "cudnn": ""}
    try:
        info["built_with_cuda"] = bool(tf.test.is_built_with_cuda())
        build = tf.sysconfig.get_build_info()
        info["cuda"] = str(build.get("cuda_version") or "")
        info["cudnn"] = str(build.get("cudnn_version") or "")
        info["gpus"] = [d.name for d in tf.config.list_physical_devices("GPU")]
    except Exception as e:  # noqa: BLE001
        info.update(error(e))
    return info


report = {"python": platform.python_version(), "executable": sys.executable,
          "torch": torch_info(), "tensorflow": tensorflow_info()}
print("MAGELAB_FRAMEWORKS " + json.dumps(report), flush=True)
