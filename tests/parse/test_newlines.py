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


@pytest.mark.parametrize("size", [10, 5000])
def test_a_counter_answers_every_span_like_bytes_count(engine, monkeypatch, size):
    monkeypatch.setattr(newlines, "MASK_MIN", 64)
    data = _data(size)
    count = newlines.counter(data)
    for start, end in [(0, size), (0, 0), (3, 2), (1, size - 1), (size // 3, size // 2), (0, size + 50)]:
        assert count(start, end) == data.count(b"\n", start, end), (start, end)


def test_a_counter_for_a_longer_buffer_after_a_shorter_one(engine, monkeypatch):
    monkeypatch.setattr(newlines, "MASK_MIN", 64)
    short, long = _data(100), _data(3000)
    assert newlines.counter(short)(0, 100) == short.count(b"\n")
    assert newlines.counter(long)(0, 3000) == long.count(b"\n")
    assert newlines.counter(bytearray(short))(0, 100) == short.count(b"\n")
