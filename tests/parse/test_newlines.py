"""Newline counts in slices (numpy or not) equal `bytes.count` everywhere, slice edges included."""

import random

import pytest

from ddoctor.parse import newlines


def _data(n: int) -> bytes:
    rnd = random.Random(n)
    return bytes(rnd.choice(b"ab\n") for _ in range(n))


@pytest.fixture(params=["numpy", "plain"])
def engine(request, monkeypatch):
    if request.param == "plain":
        monkeypatch.setattr(newlines, "_numpy", lambda: None)
    elif newlines._numpy() is None:
        pytest.skip("numpy is not installed")
    monkeypatch.setattr(newlines, "SLICE", 64)
    return request.param


@pytest.mark.parametrize(("start", "end"), [(0, None), (0, 64), (1, 63), (63, 65), (0, 1000), (17, 999), (500, 500),
                                            (900, 5000)])
def test_the_count_is_bytes_count(engine, start, end):
    data = _data(1000)
    assert newlines.count_newlines(data, start, end) == data.count(b"\n", start, end)


def test_a_buffer_of_only_newlines(engine):
    assert newlines.count_newlines(b"\n" * 1000) == 1000
