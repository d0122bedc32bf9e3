"""Byte counts as people read them."""


def gib(n: int | float) -> str:
    return f"{n / 2**30:.1f} GiB"


def human_bytes(n: int | float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"
