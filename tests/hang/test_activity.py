"""The progress clock behind --hang-timeout: output counts, a progress bar redrawn at one count does not."""

from ddoctor.ranks.activity import ActivityClock


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def after(clock, seconds, chunk, activity):
    clock.t += seconds
    activity.feed(chunk)
    return activity.quiet()


def test_a_new_line_is_progress():
    c = Clock()
    a = ActivityClock(c)
    assert after(c, 10, b"step 1 loss 2.3\n", a) == 0


def test_a_bar_redrawn_at_the_same_count_is_no_progress():
    c = Clock()
    a = ActivityClock(c)
    a.feed(b"\rtrain: 37%|###7      | 37/100 [00:03<00:06, 11.1it/s]")
    assert after(c, 30, b"\rtrain: 37%|###7      | 37/100 [00:33<00:06,  1.1it/s]", a) == 30


def test_a_bar_that_moves_is_progress():
    c = Clock()
    a = ActivityClock(c)
    a.feed(b"\rtrain: 37%|###7      | 37/100 [00:03<00:06, 11.1it/s]")
    assert after(c, 30, b"\rtrain: 38%|###8      | 38/100 [00:33<00:06,  1.1it/s]", a) == 0


def test_silence_is_counted():
    c = Clock()
    a = ActivityClock(c)
    c.t = 12.5
    assert a.quiet() == 12.5


def test_a_rank_event_is_progress():
    c = Clock()
    a = ActivityClock(c)
    a.feed(b"\r 5/10 [")
    assert after(c, 9, b'@@ddoctor {"event": "phase", "rank": 0, "phase": "x"}\n', a) == 0


def test_a_huge_chunk_without_newlines_is_read_in_linear_time():
    c = Clock()
    a = ActivityClock(c)
    a.feed(b"\r 5/10 [")
    assert after(c, 9, b"x" * (4 << 20), a) == 0
