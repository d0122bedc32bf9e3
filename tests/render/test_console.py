"""The shared text layout: prose wraps with a hanging indent, what people copy is never broken."""

from ddoctor.render.console import Lines, columns, plural, ranks_text
from ddoctor.render.options import Style

COMMAND = "torchrun --master_port 41877 --nproc_per_node 8 train.py --config configs/llama-7b-finetune.yaml"


def rendered(build, width=40) -> list[str]:
    out = Lines(Style(width=width))
    build(out)
    return out.render().splitlines()


def test_prose_wraps_to_the_width():
    lines = rendered(lambda o: o.prose("word " * 40, indent=2, hang=3))
    assert max(len(line) for line in lines) <= 40


def test_prose_continuation_lines_hang():
    lines = rendered(lambda o: o.prose("Fix: " + "word " * 20, indent=2, hang=3))
    assert all(line.startswith(" " * 5) for line in lines[1:])


def test_prose_first_line_starts_at_the_indent():
    assert rendered(lambda o: o.prose("Fix: " + "word " * 20, indent=2, hang=3))[0].startswith("  Fix: ")


def test_a_word_longer_than_the_line_is_kept_whole():
    path = "/very/long/path/" * 5 + "file.py"
    assert path in rendered(lambda o: o.prose(f"see {path} now"))


def test_a_command_wider_than_the_terminal_stays_on_one_line():
    assert rendered(lambda o: o.whole(f"$ {COMMAND}", indent=4)) == [f"    $ {COMMAND}"]


def test_code_lines_are_never_wrapped():
    code = 'backend = "nccl" if torch.cuda.is_available() and dist.is_nccl_available() else "gloo"'
    assert rendered(lambda o: o.code(code, indent=4)) == ["    " + code]


def test_markup_in_data_is_printed_as_written():
    assert rendered(lambda o: o.prose("pip show <package> [bold]x[/] :smile:")) == [
        "pip show <package> [bold]x[/] :smile:"]


def test_paragraphs_keep_their_breaks():
    assert rendered(lambda o: o.prose("one\n\ntwo")) == ["one", "", "two"]


def test_columns_align_the_leading_cells():
    lines = rendered(lambda o: columns(o, [(("a", "x"), "first"), (("long.id", "y"), "second")]))
    assert [line.index("first" if i == 0 else "second") for i, line in enumerate(lines)] == [12, 12]


def test_columns_wrap_the_last_cell_under_itself():
    lines = rendered(lambda o: columns(o, [(("id.one",), "word " * 15)]))
    assert all(line.startswith(" " * 8) for line in lines[1:])


def test_wide_leading_cells_put_the_prose_below():
    lines = rendered(lambda o: columns(o, [(("x" * 30,), "the description")]))
    assert lines == ["x" * 30, "    the description"]


def test_plural_forms():
    assert [plural(0, "warning"), plural(1, "warning"), plural(2, "process", "processes")] == [
        "0 warnings", "1 warning", "2 processes"]


def test_ranks_are_counted_in_words():
    assert [ranks_text([1], "…"), ranks_text([0, 1], "…")] == ["rank 1", "ranks 0,1"]


def test_a_long_rank_list_ends_with_its_count():
    assert ranks_text(range(20), "...", limit=3) == "ranks 0,1,2... (20 in all)"
