"""Deferred regexes behave as compiled ones, and every one that ddoctor's modules make is valid."""

import importlib
import pkgutil
import re

import pytest

import ddoctor
from ddoctor import lazyre
from ddoctor.lazyre import lazy_re


def test_every_pattern_made_at_import_compiles():
    skip = ("ddoctor.smoke.rank", "ddoctor.ranks.worker", "ddoctor.live.rank")  # rank-side modules import torch
    for mod in pkgutil.walk_packages(ddoctor.__path__, "ddoctor."):
        if not mod.name.startswith(skip):
            importlib.import_module(mod.name)
    assert lazyre.CREATED
    for p in lazyre.CREATED:
        assert isinstance(p.compiled, re.Pattern), p.pattern


def test_it_is_not_compiled_until_used():
    p = lazy_re(r"a(b)c")
    assert p._rx is None
    assert p.search("xabc").group(1) == "b"


@pytest.mark.parametrize(("method", "args", "expected"), [
    ("match", ("abc",), "a"), ("fullmatch", ("a",), "a"), ("search", ("xa",), "a"),
])
def test_match_methods(method, args, expected):
    assert getattr(lazy_re("a"), method)(*args).group(0) == expected


def test_the_other_methods_and_flags():
    p = lazy_re("a", re.I)
    assert (p.sub("-", "AaB"), p.findall("AaB"), p.split("bAb"), [m.start() for m in p.finditer("aA")]) == (
        "--B", ["A", "a"], ["b", "b"], [0, 1])
