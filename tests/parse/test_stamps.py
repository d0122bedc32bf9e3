"""Line stamps: which formats are read, and that only stamps of one format compare."""

from ddoctor.parse.stamps import GLOG, ISO, VLLM, line_time


def test_glog_stamps_with_and_without_a_padded_month() -> None:
    padded = line_time("E0325 20:57:27.620000 2606 site-packages/torch/distributed/elastic/multiprocessing/api.py:869]")
    unpadded = line_time("[E626 05:06:30.929096625 ProcessGroupNCCL.cpp:632] [Rank 2] Watchdog caught ...")
    assert padded is not None and padded[0] == GLOG
    assert unpadded is not None and unpadded[0] == GLOG
    assert padded[1] < unpadded[1]  # March before June


def test_later_time_of_day_orders_after() -> None:
    early = line_time("[E626 05:06:30.929096625 ProcessGroupNCCL.cpp:632] timeout")
    late = line_time("[E626 05:14:36.393067540 ProcessGroupNCCL.cpp:1743] watchdog got stuck")
    assert early is not None and late is not None and early[1] < late[1]


def test_iso_and_vllm_stamps() -> None:
    iso = line_time("[2024-01-01 10:00:00,123] [INFO] [launch.py:347:main] Process 1234 exits")
    assert iso is not None and iso[0] == ISO
    assert line_time("2024-01-01T10:00:00.5Z worker 1")[0] == ISO  # type: ignore[index]
    assert line_time("ERROR 03-25 12:23:00 [engine.py:448] RuntimeError")[0] == VLLM  # type: ignore[index]


def test_lines_without_a_stamp_and_impossible_dates() -> None:
    assert line_time("Epoch 1: 100%|####| 10/10") is None
    assert line_time("RuntimeError: CUDA error: out of memory") is None
    assert line_time("[E1399 10:00:00 x]") is None  # no 13th month
    assert line_time("") is None
