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
def test_marks_give_bytes_count_before_every_position(engine, monkeypatch, size):
    monkeypatch.setattr(newlines, "MASK_MIN", 64)
    data = _data(size)
    positions = [0, 3, 2, 1, size - 1, size // 3, size // 2, size, size + 50, -5]
    got = newlines.marks(data, positions)
    for p in positions:
        q = min(max(p, 0), size)
        assert got[q] == data.count(b"\n", 0, q), p


def test_marks_for_a_longer_buffer_after_a_shorter_one(engine, monkeypatch):
    monkeypatch.setattr(newlines, "MASK_MIN", 64)
    short, long = _data(100), _data(3000)
    assert newlines.marks(short, [100]) == {100: short.count(b"\n")}
    assert newlines.marks(long, [3000]) == {3000: long.count(b"\n")}
    assert newlines.marks(bytearray(short), [50, 100]) == {50: short.count(b"\n", 0, 50), 100: short.count(b"\n")}
