"""Which PyTorch wheel index fits a driver, and the exact pip command to install it."""

from __future__ import annotations

# CUDA flavours PyTorch has published wheel indexes for (download.pytorch.org/whl/cuXYZ).
WHEEL_CUDA = ((11, 8), (12, 1), (12, 4), (12, 6), (12, 8), (12, 9), (13, 0))
# Linux driver that fully supports each CUDA release (NVIDIA's CUDA toolkit release notes).
DRIVER_FOR_CUDA = {(11, 8): "520.61.05", (12, 1): "530.30.02", (12, 4): "550.54.14", (12, 6): "560.28.03",
                   (12, 8): "570.26", (12, 9): "575.51.03", (13, 0): "580.65.06"}
INDEX = "https://download.pytorch.org/whl/{tag}"


def parse_cuda(version: str | None) -> tuple[int, int] | None:
    if not version:
        return None
    parts = version.split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        return None


def best_wheel_for_driver(driver_cuda: tuple[int, int] | None) -> tuple[int, int] | None:
    """The newest wheel CUDA that this driver supports (never newer than the driver)."""
    if driver_cuda is None:
        return None
    fitting = [c for c in WHEEL_CUDA if c <= driver_cuda]
    return fitting[-1] if fitting else None


def wheel_tag(cuda: tuple[int, int] | None) -> str:
    return "cpu" if cuda is None else f"cu{cuda[0]}{cuda[1]}"


def pip_install_torch(python: str, cuda: tuple[int, int] | None, torch_version: str | None = None) -> str:
    base = (torch_version or "").split("+")[0]
    spec = f"torch=={base}" if base else "torch"
    return (f"{python} -m pip install --force-reinstall {spec} "
            f"--index-url {INDEX.format(tag=wheel_tag(cuda))}")


def driver_needed(cuda: tuple[int, int] | None) -> str | None:
    """The minimum Linux driver for `cuda` (the next known release at or above it)."""
    if cuda is None:
        return None
    known = [c for c in sorted(DRIVER_FOR_CUDA) if c >= cuda]
    return DRIVER_FOR_CUDA[known[0]] if known else None
