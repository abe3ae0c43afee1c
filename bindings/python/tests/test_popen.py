"""sprout.Popen and patch_subprocess: subprocess's behaviour, through sprout, checked on what
the probe reports about itself (CPython's own test_subprocess runs through it too: see
cpython_subprocess.py)."""

import os
import resource
import signal
import subprocess
import sys

import pytest

import sprout
import sprout.popen
from conftest import caller_ignored, parse_report, status_field


def probe_report(probe, *extra, popen=sprout.Popen, **keywords):
    keywords.setdefault("stdout", subprocess.PIPE)
    with popen([probe, "report", *extra], text=True, **keywords) as p:
        out, _ = p.communicate(timeout=60)
    return parse_report(out), p.returncode


def sig_bits(*signals):
    return f"{sum(1 << (s - 1) for s in signals):016x}"


def test_pipes_communicate_text_and_returncode():
    p = sprout.Popen(
        [sys.executable, "-c", "import sys; d = sys.stdin.read(); print(d.upper()); print('err', file=sys.stderr); sys.exit(5)"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = p.communicate("hello", timeout=60)
    assert (out, err, p.returncode) == ("HELLO\n", "err\n", 5)


def test_run_check_output_and_timeout_work_with_sprout_popen():
    assert sprout.Popen(["sh", "-c", "exit 0"]).wait() == 0
    p = sprout.Popen(["sleep", "60"])
    with pytest.raises(subprocess.TimeoutExpired):
        p.wait(timeout=0.05)
    p.kill()
    assert p.wait() == -signal.SIGKILL


def test_env_cwd_and_argv(probe, tmp_path):
    got, code = probe_report(probe, env={"ONLY": "this"}, cwd=tmp_path)
    assert code == 0
    assert got["env"] == ["ONLY=this"]
    assert got["cwd"] == [str(tmp_path)]


def test_cwd_none_is_the_callers_working_directory(probe, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    got, _ = probe_report(probe)
    assert got["cwd"] == [str(tmp_path)]


def test_fds_close_fds_and_pass_fds(probe):
    r, w = os.pipe()
    os.set_inheritable(r, True)  # inheritable, not passed: closed with close_fds=True
    r2, w2 = os.pipe()
    try:
        got, _ = probe_report(probe, pass_fds=[r2])
        fds = [int(line.split()[0]) for line in got["fd"]]
        assert r2 in fds and r not in fds and w2 not in fds
        got, _ = probe_report(probe, close_fds=False)
        fds = [int(line.split()[0]) for line in got["fd"]]
        assert r in fds and r2 not in fds  # r2 is close-on-exec
    finally:
        for fd in (r, w, r2, w2):
            os.close(fd)


def test_start_new_session(probe):
    got, _ = probe_report(probe, start_new_session=True)
    assert got["sid"] == got["pid"] == got["pgid"]
    got, _ = probe_report(probe)
    assert got["pgid"] == [str(os.getpgrp())]
    assert got["sid"] == [str(os.getsid(0))]


def test_process_group(probe):
    got, _ = probe_report(probe, process_group=0)
    assert got["pgid"] == got["pid"]
    assert got["sid"] == [str(os.getsid(0))]


def test_umask_minus_one_keeps_the_callers(probe):
    old = os.umask(0o027)
    try:
        got, _ = probe_report(probe)
        assert got["umask"] == ["0027"]
        got, _ = probe_report(probe, umask=0o002)
        assert got["umask"] == ["0002"]
    finally:
        os.umask(old)


def test_ignored_signals_stay_ignored_except_what_restore_signals_restores(probe):
    old = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    try:
        ignored = caller_ignored()
        assert ignored & int(sig_bits(signal.SIGUSR1, signal.SIGPIPE, signal.SIGXFSZ), 16)
        restored = int(sig_bits(signal.SIGPIPE, signal.SIGXFSZ), 16)
        got, _ = probe_report(probe)
        assert status_field(got, "SigIgn") == f"{ignored & ~restored:016x}"
        got, _ = probe_report(probe, restore_signals=False)
        assert status_field(got, "SigIgn") == f"{ignored:016x}"
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_the_calling_threads_signal_mask_is_inherited(probe):
    old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGUSR2])
    try:
        got, _ = probe_report(probe)
        assert status_field(got, "SigBlk") == sig_bits(signal.SIGUSR2)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def test_user_group_extra_groups(probe):
    if os.geteuid() != 0:
        pytest.skip("changing ids needs root")
    got, _ = probe_report(probe, user="nobody", group="nogroup", extra_groups=[])
    assert status_field(got, "Uid").split() == ["65534"] * 4
    assert status_field(got, "Gid").split() == ["65534"] * 4
    assert status_field(got, "Groups") == ""


def test_sandbox_keywords(probe):
    got, _ = probe_report(probe, rlimits={resource.RLIMIT_NOFILE: 32}, no_new_privs=True)
    assert status_field(got, "NoNewPrivs") == "1"
    assert "7 32 32" in got["rlimit"]


def test_landlock_keywords(probe):
    read = ["read_file", "read_dir", "execute"]
    # The program may read /proc and itself only.
    fd, _ = sprout.landlock_ruleset(handled_fs=sprout._landlock.FS_ALL, paths={"/proc": read, probe: read})
    try:
        command = [probe, "open", "/etc/passwd", "open", "/proc/self/status"]
        with sprout.Popen(command, stdout=subprocess.PIPE, text=True, landlock=fd, no_new_privs=True) as p:
            out, _ = p.communicate(timeout=60)
    finally:
        os.close(fd)
    assert p.returncode == 0
    assert parse_report(out)["open"] == ["errno 13 (Permission denied)", "ok"]


def test_container_id_keeps_the_process_in_the_librarys_table():
    label = f"popen-test-{os.getpid()}"
    p = sprout.Popen(["sleep", "60"], container_id=label)
    try:
        assert sprout.list_processes(label) == [p.pid]
        assert sprout.signal_container(label, signal.SIGTERM) == 1
    finally:
        assert p.wait(timeout=30) == -signal.SIGTERM
    assert sprout.list_processes(label) == []


def test_a_process_without_container_id_is_subprocesss_alone():
    p = sprout.Popen(["true"])
    assert p.pid not in sprout.list_processes()
    assert p.wait() == 0


def test_missing_program_and_cwd_raise_as_subprocess_does(tmp_path):
    with pytest.raises(FileNotFoundError) as e:
        sprout.Popen(["sprout-no-such-program", "arg"])
    assert e.value.filename == "sprout-no-such-program"
    assert e.value.strerror == os.strerror(2)
    assert e.value.stage == "exec"
    with pytest.raises(FileNotFoundError) as e:
        sprout.Popen(["true"], cwd=tmp_path / "missing")
    assert e.value.filename == tmp_path / "missing"
    assert e.value.stage == "chdir"


def test_the_first_error_other_than_enoent_is_reported(tmp_path):
    (tmp_path / "prog").mkdir()  # a directory: EACCES, remembered; then not found elsewhere
    with pytest.raises(PermissionError) as e:
        sprout.Popen(["prog"], env={"PATH": f"{tmp_path}:/nonexistent"})
    assert e.value.filename == "prog"


def test_preexec_fn_is_refused_with_a_clear_error():
    with pytest.raises(subprocess.SubprocessError, match="preexec_fn"):
        sprout.Popen(["true"], preexec_fn=lambda: None)


def test_bad_sandbox_keywords_raise_before_anything_starts():
    before = set(os.listdir("/proc/self/fd"))
    with pytest.raises(ValueError):
        sprout.Popen(["true"], stdout=subprocess.PIPE, rlimits={99: 1})
    assert set(os.listdir("/proc/self/fd")) == before


def test_patch_subprocess_routes_the_standard_library_through_sprout_and_unpatch_restores(probe):
    original = subprocess._fork_exec
    sprout.patch_subprocess()
    try:
        assert subprocess._fork_exec is sprout.popen.fork_exec
        assert subprocess._USE_POSIX_SPAWN is False
        sprout.patch_subprocess()  # idempotent
        out = subprocess.run([probe, "report"], capture_output=True, text=True, check=True).stdout
        assert parse_report(out)["pgid"] == [str(os.getpgrp())]
        with pytest.raises(subprocess.SubprocessError, match="preexec_fn"):
            subprocess.run(["true"], preexec_fn=lambda: None)
    finally:
        sprout.unpatch_subprocess()
    assert subprocess._fork_exec is original
    sprout.unpatch_subprocess()  # nothing to undo
    assert subprocess._fork_exec is original


def test_asyncio_subprocesses_go_through_sprout_once_patched(monkeypatch):
    import asyncio

    started = []
    real = sprout.popen._start_first
    monkeypatch.setattr(sprout.popen, "_start_first", lambda *a: started.append(real(*a)) or started[-1])

    async def main():
        p = await asyncio.create_subprocess_exec("sh", "-c", "echo hi; exit 4", stdout=asyncio.subprocess.PIPE)
        out, _ = await p.communicate()
        return out, p.returncode, p.pid

    sprout.patch_subprocess()
    try:
        out, code, pid = asyncio.run(main())
    finally:
        sprout.unpatch_subprocess()
    assert (out, code) == (b"hi\n", 4)
    assert started == [pid]
