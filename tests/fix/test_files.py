"""Reading and writing files without losing anything, and which files a directory walk takes."""

import errno
import os
import stat

import pytest

from ddoctor.fix import files
from ddoctor.fix.engine import select_rules
from ddoctor.fix.files import ChangedSinceRead, NotRegularFile, iter_python_files, read_source, write_source
from ddoctor.fix.runner import fix_file, fix_paths

NCCL = 'import torch.distributed as dist\ndist.init_process_group("nccl")\n'
RULES = select_rules(None, None)


def _fix(path, write=True):
    return fix_file(path, rules=RULES, unsafe=True, write=write)


def test_crlf_and_bom_are_kept(tmp_path):
    f = tmp_path / "t.py"
    f.write_bytes(b"\xef\xbb\xbf" + NCCL.replace("\n", "\r\n").encode())
    assert _fix(f).written
    data = f.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfimport torch\r\n")
    assert data.count(b"\r\n") == data.count(b"\n")


def test_a_coding_cookie_is_honoured(tmp_path):
    f = tmp_path / "t.py"
    f.write_bytes(("# -*- coding: latin-1 -*-\n" + NCCL + 'name = "caf\xe9"\n').encode("latin-1"))
    assert _fix(f).written
    assert 'name = "caf\xe9"'.encode("latin-1") in f.read_bytes()


def test_mode_and_owner_are_kept(tmp_path):
    f = tmp_path / "t.py"
    f.write_text(NCCL)
    f.chmod(0o751)
    if os.geteuid() == 0:
        os.chown(f, 1234, 4321)
    _fix(f)
    st = f.stat()
    assert stat.S_IMODE(st.st_mode) == 0o751
    assert (st.st_uid, st.st_gid) == ((1234, 4321) if os.geteuid() == 0 else (os.getuid(), st.st_gid))


def test_no_temp_file_is_left(tmp_path):
    f = tmp_path / "t.py"
    f.write_text(NCCL)
    _fix(f)
    assert [p.name for p in tmp_path.iterdir()] == ["t.py"]


def test_a_symlink_is_written_through_to_its_target(tmp_path):
    target = tmp_path / "real.py"
    target.write_text(NCCL)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    assert _fix(link).written
    assert link.is_symlink()
    assert '"gloo"' in target.read_text()


def test_an_other_owners_file_is_rewritten_in_place(tmp_path, monkeypatch):
    """Where chown is refused (not root, someone else's file) the inode, and so the owner, is kept."""
    f = tmp_path / "t.py"
    f.write_text(NCCL)
    before = f.stat()

    def refuse(*_a, **_k):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    real_fstat = os.fstat

    def fstat_of_another_owner(fd):
        st = real_fstat(fd)
        if os.readlink(f"/proc/self/fd/{fd}") != str(f):
            return st
        return _Owned(st, before.st_uid + 1)

    monkeypatch.setattr(files.os, "chown", refuse)
    monkeypatch.setattr(files.os, "fstat", fstat_of_another_owner)
    assert _fix(f).written
    assert f.stat().st_ino == before.st_ino
    assert '"gloo"' in f.read_text()


class _Owned:
    """A stat result that names another owner."""

    def __init__(self, st, uid):
        self._st, self.st_uid = st, uid

    def __getattr__(self, name):
        return getattr(self._st, name)


def test_hard_links_stay_linked(tmp_path):
    f = tmp_path / "t.py"
    f.write_text(NCCL)
    other = tmp_path / "same.py"
    os.link(f, other)
    _fix(f)
    assert '"gloo"' in other.read_text()


def test_a_file_changed_since_it_was_read_is_not_replaced(tmp_path):
    f = tmp_path / "t.py"
    f.write_text(NCCL)
    src = read_source(f)
    f.write_text(NCCL + "# an edit made meanwhile\n")
    with pytest.raises(ChangedSinceRead):
        write_source(src, src.text.replace('"nccl"', '"gloo"'))
    assert f.read_text().endswith("# an edit made meanwhile\n")


def test_a_change_of_the_same_size_within_the_same_tick_is_seen(tmp_path):
    f = tmp_path / "t.py"
    f.write_text(NCCL)
    src = read_source(f)
    st = f.stat()
    f.write_text(NCCL.replace("nccl", "NCCL"))
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    with pytest.raises(ChangedSinceRead):
        write_source(src, src.text)


@pytest.mark.timeout(20)
def test_a_fifo_is_skipped_without_waiting(tmp_path):
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)
    res = _fix(fifo)
    assert res.skipped == "not a regular file (a FIFO)"


def test_a_symlink_to_dev_zero_is_skipped(tmp_path):
    link = tmp_path / "zero.py"
    link.symlink_to("/dev/zero")
    assert _fix(link).skipped == "not a regular file (a character device)"


def test_read_source_refuses_a_directory(tmp_path):
    with pytest.raises(NotRegularFile):
        read_source(tmp_path)


def test_one_unwritable_file_is_an_error_and_the_others_are_fixed(tmp_path, monkeypatch):
    bad = tmp_path / "a_bad.py"
    good = tmp_path / "b_good.py"
    bad.write_text(NCCL)
    good.write_text(NCCL)
    real_mkstemp = files.tempfile.mkstemp

    def mkstemp(*a, prefix="", **k):
        if "a_bad" in prefix:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkstemp(*a, prefix=prefix, **k)

    monkeypatch.setattr(files.tempfile, "mkstemp", mkstemp)
    results = list(fix_paths([str(tmp_path)], rules=RULES, unsafe=True, write=True))
    assert [(r.path.rsplit("/", 1)[-1], r.written, r.error) for r in results] == [
        ("a_bad.py", False, "cannot write: Permission denied"), ("b_good.py", True, None)]
    assert bad.read_text() == NCCL


def test_a_full_disk_leaves_the_file_and_no_temp(tmp_path, monkeypatch):
    f = tmp_path / "t.py"
    f.write_text(NCCL)

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "fsync", full)
    res = _fix(f)
    assert res.error == "cannot write: No space left on device"
    assert f.read_text() == NCCL
    assert [p.name for p in tmp_path.iterdir()] == ["t.py"]


def test_an_unreadable_file_is_an_error(tmp_path, monkeypatch):
    f = tmp_path / "t.py"
    f.write_text(NCCL)

    def denied(*_a, **_k):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(files.os, "open", denied)
    assert _fix(f).error == "cannot read: Permission denied"


def test_undecodable_bytes_are_an_error(tmp_path):
    f = tmp_path / "t.py"
    f.write_bytes(b"x = '\xff\xfe'\n")
    assert _fix(f).error.startswith("cannot decode")


def test_check_mode_never_writes(tmp_path):
    f = tmp_path / "t.py"
    f.write_text(NCCL)
    res = _fix(f, write=False)
    assert res.diff
    assert f.read_text() == NCCL


# -- discovery ---------------------------------------------------------------------------------------
def _tree(root, names):
    for name in names:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x = 1\n")


def _walked(root):
    return [p.relative_to(root).as_posix() for p in iter_python_files([str(root)])]


def test_gitignore_is_honoured_at_every_level(tmp_path):
    _tree(tmp_path, ["a.py", "build/gen.py", "pkg/m_pb2.py", "pkg/keep_pb2.py", "pkg/sub/b.py", "pkg/sub/tmp.py",
                     ".venv/lib/x.py", "notes.txt"])
    (tmp_path / ".gitignore").write_text("build/\n*_pb2.py\n!keep_pb2.py\n")
    (tmp_path / "pkg" / "sub" / ".gitignore").write_text("tmp.py\n")
    assert _walked(tmp_path) == ["a.py", "pkg/keep_pb2.py", "pkg/sub/b.py"]


def test_gitignore_above_the_walked_directory_counts_inside_a_work_tree(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("generated/\n")
    _tree(tmp_path, ["src/generated/x.py", "src/y.py"])
    assert _walked(tmp_path / "src") == ["y.py"]


def test_gitignore_above_is_not_read_outside_a_work_tree(tmp_path):
    (tmp_path / ".gitignore").write_text("src/\n*.py\n")
    _tree(tmp_path, ["src/y.py"])
    assert _walked(tmp_path / "src") == ["y.py"]


def test_a_file_named_on_the_command_line_is_taken_even_if_ignored(tmp_path):
    (tmp_path / ".gitignore").write_text("*.py\n")
    _tree(tmp_path, ["x.py"])
    assert list(iter_python_files([str(tmp_path / "x.py")])) == [tmp_path / "x.py"]


def test_symlinked_directories_are_not_followed(tmp_path):
    _tree(tmp_path, ["real/a.py"])
    (tmp_path / "loop").symlink_to(tmp_path)
    assert _walked(tmp_path) == ["real/a.py"]


def test_one_file_reached_twice_is_fixed_once(tmp_path):
    _tree(tmp_path, ["a.py"])
    (tmp_path / "b.py").symlink_to(tmp_path / "a.py")
    assert len(list(fix_paths([str(tmp_path), str(tmp_path / "a.py")], rules=RULES, unsafe=True,
                              write=False))) == 1
