"""Which torch device and precision a model runs on.

"auto" picks CUDA, then Apple MPS, then the CPU. An explicit "cpu", "cuda", "cuda:N" or "mps" is
honoured or refused with a `DeviceError` that says why: we never silently run somewhere else than
asked. torch is imported only inside the functions, so importing this module stays cheap (the
spectral-only app never loads torch).
"""

from __future__ import annotations

import os
import re

from desktop.core.errors import SoundalikeError

_VALID = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class DeviceError(SoundalikeError, ValueError):
    """An unknown device name, or a device this machine / this torch build does not have."""


def check_device_name(preference: str) -> str:
    """Normalise `preference` ("Auto" -> "auto"); refuse unknown names without importing torch."""
    name = str(preference or "auto").strip().lower()
    if not _VALID.match(name):
        raise DeviceError(f"unknown device {preference!r}: use auto, cpu, cuda, cuda:N or mps")
    return name


def resolve_device(preference: str = "auto") -> str:
    """The torch device string to use: "cuda"/"cuda:N", "mps" or "cpu"."""
    name = check_device_name(preference)
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if _mps_available(torch):
            return "mps"
        return "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {name!r} requested but torch {torch.__version__} sees no CUDA GPU; "
                              "use device 'auto' or 'cpu'")
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= torch.cuda.device_count():
            raise DeviceError(f"device {name!r} requested but only {torch.cuda.device_count()} CUDA GPU(s) exist")
    if name == "mps" and not _mps_available(torch):
        raise DeviceError("device 'mps' requested but Apple Metal (MPS) is not available here; use 'auto' or 'cpu'")
    return name


def _mps_available(torch) -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def cpu_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup affinity where the OS reports it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def cpu_has_fast_bf16() -> bool:
    """True when the CPU computes bfloat16 natively (AVX512-BF16 or AMX), so bf16 autocast is a win.

    `torch.backends.cpu.get_cpu_capability()` only says "AVX512" even on CPUs with AVX512-BF16 (it names
    the kernel set torch dispatches to), so ask torch.cpu's feature probes; without native bf16,
    autocast emulates it and runs slower than fp32.
    """
    import torch

    probes = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")
    for probe in probes:
        fn = getattr(torch.cpu, probe, None)
        try:
            if fn is not None and fn():
                return True
        except Exception:  # a private probe: treat any failure as "no"
            pass
    return False


def pick_precision(device: str, precision: str = "auto") -> str:
    """"fp32", "fp16" or "bf16" for `device`. "auto": fp16 on CUDA, bf16 on CPUs with native bf16, else fp32."""
    p = str(precision or "auto").strip().lower()
    if p not in ("auto", "fp32", "fp16", "bf16"):
        raise DeviceError(f"unknown precision {precision!r}: use auto, fp32, fp16 or bf16")
    kind = device.split(":")[0]
    if p == "auto":
        if kind == "cuda":
            return "fp16"
        if kind == "cpu" and cpu_has_fast_bf16():
            return "bf16"
        return "fp32"
    if p == "fp16" and kind == "cpu":
        raise DeviceError("precision 'fp16' needs a GPU (cuda or mps); on the CPU use fp32 or bf16")
    return p
