"""Apply one string function to every string inside a value, rebuilding what holds them.

The output layer uses it to redact secrets and neutralise control characters in a whole result
before any renderer sees it, so no renderer can forget a field.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from types import MappingProxyType
from typing import TypeVar

T = TypeVar("T")


def map_strings(obj: T, fn: Callable[[str], str], *, keys: bool = True) -> T:
    """`obj` with `fn` applied to each string: dataclasses (frozen or not), tuples, lists and dicts are
    rebuilt; enums (Status is a str enum) and other values are kept. `keys`: map dict keys as well."""
    if isinstance(obj, enum.Enum):
        return obj
    if isinstance(obj, str):
        return fn(obj)  # type: ignore[return-value]
    if isinstance(obj, tuple):
        return tuple(map_strings(x, fn, keys=keys) for x in obj)  # type: ignore[return-value]
    if isinstance(obj, list):
        return [map_strings(x, fn, keys=keys) for x in obj]  # type: ignore[return-value]
    if isinstance(obj, (dict, MappingProxyType)):
        items = {(fn(k) if keys and isinstance(k, str) else k): map_strings(v, fn, keys=keys) for k, v in obj.items()}
        return MappingProxyType(items) if isinstance(obj, MappingProxyType) else items  # type: ignore[return-value]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {f.name: map_strings(getattr(obj, f.name), fn, keys=keys) for f in dataclasses.fields(obj)
                   if f.init}
        return dataclasses.replace(obj, **changes)
    return obj
