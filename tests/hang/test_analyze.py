"""Rank stacks -> equivalence classes -> the rank that is not where the others wait."""

from ddoctor.hang.analyze import collective, group_stacks, stacks_from_tracebacks, user_frame, verdict
from ddoctor.model.hang import RankStack
from ddoctor.model.logs import ExceptionBlock, Frame, Traceback
from tests.hang.helpers import behind, dist, rank, user, waiting


def judge(stacks, **kw):
    groups = group_stacks(stacks)
    return groups, verdict(stacks, groups, **kw)


def test_ranks_with_one_stack_form_one_group():
    groups, _ = judge([waiting(0), waiting(1), waiting(2)])
    assert [g.ranks for g in groups] == [(0, 1, 2)]


def test_groups_come_largest_first():
    groups, _ = judge([waiting(0), behind(3), waiting(1), waiting(2)])
    assert [g.ranks for g in groups] == [(0, 1, 2), (3,)]


def test_the_rank_outside_the_collective_is_the_suspect():
    _, v = judge([waiting(0), waiting(1), waiting(2), behind(3)])
    assert v.kind == "behind"
    assert v.suspects == (3,)


def test_the_finding_names_both_places_as_file_and_line():
    _, v = judge([waiting(0), waiting(1), waiting(2), behind(3)])
    assert v.summary == "rank 3 is in `load_batch` at data.py:88; ranks 0-2 wait in all_reduce at train.py:120"


def test_the_next_step_names_the_code_path_that_skipped_the_collective():
    _, v = judge([waiting(0), behind(1)])
    assert v.next_steps[0].startswith("rank 1's code path never reached the all_reduce at train.py:120")


def test_different_collectives_are_a_mismatch_with_the_detail_step():
    _, v = judge([waiting(0), waiting(1), waiting(2, call="broadcast", line=130)])
    assert v.kind == "mismatch"
    assert v.suspects == (2,)
    assert "export TORCH_DISTRIBUTED_DEBUG=DETAIL" in v.commands


def test_one_collective_from_two_lines_is_a_mismatch():
    _, v = judge([waiting(0, line=120), waiting(1, line=140)])
    assert "all_reduce called from different lines" in v.summary


def test_an_even_split_names_no_suspect():
    _, v = judge([waiting(0), waiting(1, call="all_gather")])
    assert v.suspects == ()


def test_a_rank_behind_the_rendezvous_is_the_suspect():
    init = rank(0, dist("_create_c10d_store"), dist("init_process_group", 1892), user("main", 32))
    _, v = judge([init, behind(1)])
    assert v.summary.endswith("rank 0 waits in init_process_group at train.py:32")


def test_a_missing_rank_is_named():
    _, v = judge([waiting(0), waiting(2)], missing=(1,))
    assert v.kind == "missing"
    assert v.suspects == (1,)


def test_a_rank_that_is_gone_says_how_it_ended():
    gone = RankStack(pid=77, rank=1, source="none", exit="was killed by the kernel's OOM killer")
    _, v = judge([waiting(0), gone])
    assert v.summary.startswith("rank 1 is not running (was killed by the kernel's OOM killer)")


def test_every_rank_waiting_points_beyond_this_host():
    _, v = judge([waiting(0), waiting(1)], remote=(2, 3))
    assert v.kind == "all-waiting"
    assert "ranks 2-3 run on other hosts" in v.next_steps[0]


def test_no_stack_at_all_says_why():
    blind = RankStack(pid=5, rank=0, source="none", error="py-spy is not installed (pip install py-spy)",
                      state="sleeping")
    _, v = judge([blind])
    assert v.kind == "no-stacks"
    assert "py-spy is not installed" in v.summary


def test_a_rank_without_a_stack_beside_waiting_ranks_is_suspect():
    blind = RankStack(pid=5, rank=1, source="none", error="py-spy did not answer within 5 s", state="disk-sleep")
    _, v = judge([waiting(0), blind])
    assert v.suspects == (1,)


def test_nothing_running_is_said_plainly():
    _, v = judge([])
    assert v.summary == "no process of the job was running to examine"


def test_the_collective_is_named_as_the_user_called_it():
    frames = (dist("all_gather"), dist("all_gather_object", 2900), user("main", 5))
    assert collective(frames) == "all_gather_object"


def test_a_native_wait_counts_as_a_collective():
    assert collective((user("step", 3),), ("pthread_cond_wait", "c10d::Work::wait")) == "Work.wait"


def test_user_frame_skips_library_frames():
    assert user_frame((dist("all_reduce"), user("step", 9))) == user("step", 9)


def test_keyboard_interrupt_tracebacks_give_each_rank_a_stack():
    block = ExceptionBlock(type_name="KeyboardInterrupt", message="",
                           frames=(Frame(filename="train.py", lineno=1, function="<module>"),
                                   Frame(filename="data.py", lineno=88, function="load_batch")))
    stacks = stacks_from_tracebacks([Traceback(blocks=(block,), rank=3, start_line=1, end_line=5)])
    assert stacks[3].frames[0].function == "load_batch"
