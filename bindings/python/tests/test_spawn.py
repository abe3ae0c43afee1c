"""sprout.spawn and Process: each keyword checked from outside, on what the probe (a static
program that reports its own state as the kernel shows it) or /proc says."""

import asyncio
import os
import resource
import select
import signal
import subprocess
import threading
import time

import pytest

import sprout
from conftest import caller_ignored, parse_report, status_field


def report(probe, *extra_commands, fds=None, **keywords):
    """Spawns the probe with `report` on a pipe for stdout; its parsed report and exit code."""
    r, w = os.pipe()
    try:
        layout = (0, w, 2) if fds is None else fds(w)
        process = sprout.spawn([probe, "report", *extra_commands], fds=layout, **keywords)
    finally:
        os.close(w)
    with os.fdopen(r) as out:
        text = out.read()
    return parse_report(text), process.wait()


def test_argv_env_and_cwd_are_exactly_those_given(probe):
    got, code = report(probe, env={"A": "1", "B": "two words"}, cwd="/tmp")
    assert code == 0
    assert got["arg"] == [probe, "report"]
    assert got["env"] == ["A=1", "B=two words"]
    assert got["cwd"] == ["/tmp"]


def test_env_none_is_the_callers_environment_and_cwd_none_is_root(probe, monkeypatch):
    monkeypatch.setenv("SPROUT_TEST_MARK", "inherited")
    got, _ = report(probe)
    assert "SPROUT_TEST_MARK=inherited" in got["env"]
    assert got["cwd"] == ["/"]


def test_fds_map_caller_fds_to_slots_and_close_every_other(probe):
    extra_r, extra_w = os.pipe()  # not close-on-exec, and not given: must not leak
    os.set_inheritable(extra_r, True)
    try:
        got, _ = report(probe, fds=lambda w: (None, w, None, w))
    finally:
        os.close(extra_r)
        os.close(extra_w)
    fds = [line.split()[0] for line in got["fd"]]
    assert fds == ["1", "3"]


def test_user_group_and_extra_groups_by_name_and_id(probe):
    if os.geteuid() != 0:
        pytest.skip("changing ids needs root")
    got, _ = report(probe, user="nobody", group=65534, extra_groups=["nogroup", 4242])
    assert status_field(got, "Uid").split() == ["65534"] * 4
    assert status_field(got, "Gid").split() == ["65534"] * 4
    assert sorted(status_field(got, "Groups").split()) == ["4242", "65534"]


def test_user_alone_keeps_the_callers_groups_as_subprocess_does(probe):
    if os.geteuid() != 0:
        pytest.skip("changing ids needs root")
    got, _ = report(probe, user=65534)
    assert status_field(got, "Uid").split() == ["65534"] * 4
    assert status_field(got, "Gid").split() == [str(os.getegid())] * 4
    assert sorted(map(int, status_field(got, "Groups").split())) == sorted(os.getgroups())


def test_umask_capabilities_rlimits_and_no_new_privs(probe):
    keywords = dict(umask=0o077, rlimits={resource.RLIMIT_NOFILE: 64, resource.RLIMIT_CORE: (0, resource.RLIM_INFINITY)}, no_new_privs=True)
    if os.geteuid() == 0:
        keywords.update(user=65534, group=65534, extra_groups=[], capabilities=["CAP_NET_BIND_SERVICE", "net_raw"])
    got, _ = report(probe, **keywords)
    assert got["umask"] == ["0077"]
    rlimits = {int(r): (s, h) for r, s, h in (line.split() for line in got["rlimit"])}
    assert rlimits[resource.RLIMIT_NOFILE] == ("64", "64")
    assert rlimits[resource.RLIMIT_CORE] == ("0", str(2**64 - 1))
    assert status_field(got, "NoNewPrivs") == "1"
    if os.geteuid() == 0:
        want = f"{(1 << 10) | (1 << 13):016x}"
        for field in ("CapEff", "CapPrm", "CapInh", "CapBnd", "CapAmb"):
            assert status_field(got, field) == want, field


def test_capability_sets_given_one_by_one(probe):
    if os.geteuid() != 0:
        pytest.skip("capabilities need root")
    got, _ = report(probe, capabilities={"bounding": ["CAP_KILL", "CAP_CHOWN"], "permitted": [0], "effective": ["chown"]})
    assert status_field(got, "CapBnd") == f"{(1 << 5) | 1:016x}"
    # execve gives a root program bounding | inheritable
    assert status_field(got, "CapPrm") == f"{(1 << 5) | 1:016x}"
    assert status_field(got, "CapInh") == f"{0:016x}"
    assert status_field(got, "CapAmb") == f"{0:016x}"


def test_seccomp_program_filters_the_process(probe):
    # Allow everything but getppid (110 on x86_64, 173 on aarch64), which fails with EPERM.
    getppid = 110 if os.uname().machine == "x86_64" else 173
    program = [
        (0x20, 0, 0, 0),  # ld [0] (nr)
        (0x15, 0, 1, getppid),  # jeq getppid
        (0x06, 0, 0, 0x00050000 | 1),  # ret ERRNO(EPERM)
        (0x06, 0, 0, 0x7FFF0000),  # ret ALLOW
    ]
    r, w = os.pipe()
    process = sprout.spawn([probe, "try-getppid"], fds=(0, w, 2), seccomp=program, no_new_privs=True)
    os.close(w)
    with os.fdopen(r) as out:
        assert out.read().strip() == "getppid=-1 errno=1"
    assert process.wait() == 0


def test_new_namespaces_and_id_maps(probe):
    if os.geteuid() != 0:
        pytest.skip("id maps of other ids need root")
    got, _ = report(
        probe,
        namespaces=["user", "uts"],
        uid_map=[(0, 100000, 65536)],
        gid_map=[(0, 100000, 65536)],
        user=0,
        group=0,
        extra_groups=[],
    )
    ns = dict(line.split(" -> ") for line in got["ns"])
    assert ns["user"] != os.readlink("/proc/self/ns/user")
    assert ns["uts"] != os.readlink("/proc/self/ns/uts")
    assert ns["net"] == os.readlink("/proc/self/ns/net")
    assert status_field(got, "Uid").split() == ["0"] * 4  # inside


def test_joined_namespace_by_path(probe):
    if os.geteuid() != 0:
        pytest.skip("joining a namespace needs root")
    holder = subprocess.Popen(["unshare", "--uts", "sleep", "60"])
    try:
        path = f"/proc/{holder.pid}/ns/uts"
        deadline = time.monotonic() + 10
        while os.readlink(path) == os.readlink("/proc/self/ns/uts") and time.monotonic() < deadline:
            time.sleep(0.01)
        got, _ = report(probe, namespaces={"uts": path})
        assert dict(line.split(" -> ") for line in got["ns"])["uts"] == os.readlink(path)
    finally:
        holder.kill()
        holder.wait()


def cgroup2_mount():
    with open("/proc/self/mountinfo") as mounts:
        for line in mounts:
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2":
                return fields[4]
    return None


def test_cgroup_by_path(probe):
    mount = cgroup2_mount()
    if os.geteuid() != 0 or mount is None:
        pytest.skip("needs root and a cgroup2 mount")
    path = os.path.join(mount, f"sprout-python-test-{os.getpid()}")
    os.mkdir(path)
    try:
        r, w = os.pipe()
        process = sprout.spawn([probe, "wait"], fds=(r, 1, 2), cgroup=path)
        os.close(r)
        try:
            with open(os.path.join(path, "cgroup.procs")) as procs:
                assert procs.read().split() == [str(process.pid)]
        finally:
            os.close(w)
            process.wait()
    finally:
        os.rmdir(path)


def test_pdeathsig_comes_when_the_spawning_thread_ends():
    started = []
    thread = threading.Thread(target=lambda: started.append(sprout.spawn(["sleep", "60"], pdeathsig=signal.SIGKILL)))
    thread.start()
    thread.join()
    assert started[0].wait(timeout=30) == -signal.SIGKILL


def test_container_id_lists_and_signals_the_processes_of_a_container():
    label = f"python-test-{os.getpid()}"
    processes = [sprout.spawn(["sleep", "60"], container_id=label) for _ in range(2)]
    assert sprout.list_processes(label) == sorted(p.pid for p in processes)
    assert sprout.signal_container(label, signal.SIGTERM) == 2
    assert [p.wait() for p in processes] == [-signal.SIGTERM] * 2
    assert sprout.list_processes(label) == []


def test_a_missing_program_is_file_not_found_with_filename_and_stage():
    with pytest.raises(FileNotFoundError) as e:
        sprout.spawn(["sprout-no-such-program"])
    assert e.value.errno == 2
    assert e.value.filename == "sprout-no-such-program"
    assert e.value.stage == "exec"
    assert "sprout-no-such-program" in e.value.sprout_message


def test_a_program_that_is_not_executable_is_permission_error(tmp_path):
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o644)  # no x bit: EACCES, even for root
    with pytest.raises(PermissionError) as e:
        sprout.spawn([str(script)])
    assert e.value.filename == str(script)
    assert e.value.stage == "exec"


def test_a_missing_working_directory_names_it():
    with pytest.raises(FileNotFoundError) as e:
        sprout.spawn(["true"], cwd="/sprout-no-such-dir")
    assert e.value.filename == "/sprout-no-such-dir"
    assert e.value.stage == "chdir"


def test_what_the_library_refuses_names_its_stage():
    # A uts namespace file given as the net namespace to join: only the library can tell.
    with pytest.raises(OSError) as e:
        sprout.spawn(["true"], namespaces={"net": "/proc/self/ns/uts"})
    assert e.value.errno == 22
    assert e.value.stage == "args"
    assert "namespaces[0]" in e.value.sprout_message


@pytest.mark.parametrize(
    "keywords, error",
    [
        (dict(args=[]), ValueError),
        (dict(args=["true\0"]), ValueError),
        (dict(args=[1]), TypeError),
        (dict(env={"A=B": "1"}), ValueError),
        (dict(env=["A=1"]), TypeError),
        (dict(user="sprout-no-such-user"), ValueError),
        (dict(group=-1), ValueError),
        (dict(group=1.5), TypeError),
        (dict(extra_groups="wheel"), TypeError),
        (dict(umask=0o1000), ValueError),
        (dict(capabilities=["CAP_NO_SUCH"]), ValueError),
        (dict(capabilities={"effectiv": []}), ValueError),
        (dict(capabilities="CAP_KILL"), TypeError),
        (dict(rlimits={99: 1}), ValueError),
        (dict(rlimits={resource.RLIMIT_NOFILE: (10, 5)}), ValueError),
        (dict(rlimits=[(7, 1)]), TypeError),
        (dict(seccomp=b"\0" * 7), ValueError),
        (dict(seccomp=[(1, 2)]), TypeError),
        (dict(namespaces=["users"]), ValueError),
        (dict(uid_map=[(0, -1, 1)]), ValueError),
        (dict(pdeathsig=0), ValueError),
        (dict(container_id=b"x"), TypeError),
        (dict(fds=(0, "1")), TypeError),
        (dict(fds=(0, -2)), ValueError),
        (dict(cgroup=1.0), TypeError),
        (dict(process_group=-1), ValueError),
        (dict(sigmask=[0]), ValueError),
        (dict(sigdefault=[signal.SIGPIPE]), ValueError),
        (dict(oom_score_adj=1001), ValueError),
        (dict(scheduler={"prio": 1}), ValueError),
        (dict(scheduler=[1]), TypeError),
        (dict(ioprio=("realtime", 0)), ValueError),
        (dict(ioprio=(2, 8)), ValueError),
        (dict(cpus=[]), ValueError),
        (dict(cpus=[-1]), ValueError),
        (dict(root=1.5), TypeError),
    ],
)
def test_bad_arguments_raise_before_anything_starts(keywords, error):
    keywords.setdefault("args", ["true"])
    before = sprout.list_processes()
    with pytest.raises(error):
        sprout.spawn(**keywords)
    assert sprout.list_processes() == before


def test_wait_with_timeout_poll_and_signals():
    process = sprout.spawn(["sleep", "60"])
    assert process.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        process.wait(timeout=0.05)
    process.terminate()
    assert process.wait(timeout=30) == -signal.SIGTERM
    assert process.poll() == -signal.SIGTERM
    process.kill()  # after the wait: nothing, as subprocess does


def test_exit_status_and_context_manager_waits():
    with sprout.spawn(["sh", "-c", "exit 7"]) as process:
        pass
    assert process.returncode == 7


def test_pidfd_becomes_readable_when_the_process_ends():
    process = sprout.spawn(["sleep", "0.1"])
    fd = process.pidfd()
    try:
        assert select.select([fd], [], [], 30)[0] == [fd]
        assert process.poll() == 0
    finally:
        os.close(fd)


def test_pidfd_with_asyncio_add_reader_and_wait_async():
    async def main():
        loop = asyncio.get_running_loop()
        first = sprout.spawn(["sh", "-c", "exit 3"])
        fd = first.pidfd()
        ended = loop.create_future()
        loop.add_reader(fd, ended.set_result, True)
        try:
            await asyncio.wait_for(ended, 30)
        finally:
            loop.remove_reader(fd)
            os.close(fd)
        second = sprout.spawn(["sleep", "0.05"])
        return first.wait(), await asyncio.wait_for(second.wait_async(), 30)

    assert asyncio.run(main()) == (3, 0)


def test_a_pseudo_terminal_becomes_the_controlling_terminal(probe):
    master, slave = sprout.openpty(rows=30, cols=100)
    try:
        process = sprout.spawn([probe, "tty", "wait"], fds=(slave, slave, slave))
        os.close(slave)
        assert process.tty is not None
        with process.tty as tty:
            assert tty.foreground() == process.pid
            tty.resize(40, 120)
            out = b""
            while b"devtty=" not in out or not out.endswith(b"\n"):
                out += os.read(master, 1024)
            assert b"devtty=ok" in out
            tty.signal_foreground(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        os.close(master)


def test_abi_1_1_process_group(probe):
    got, _ = report(probe, process_group=0)
    assert got["pgid"] == got["pid"]


def test_abi_1_1_sigmask_kept_ignored_signals_and_umask(probe):
    got, _ = report(probe, sigmask=[signal.SIGUSR2], umask=0o011)
    assert status_field(got, "SigBlk") == f"{1 << (signal.SIGUSR2 - 1):016x}"
    assert got["umask"] == ["0011"]
    old_umask = os.umask(0o027)
    old_handler = signal.signal(signal.SIGUSR1, signal.SIG_IGN)
    try:
        got, _ = report(probe, umask=-1, keep_ignored_signals=True, sigdefault=[signal.SIGPIPE])
        ignored = caller_ignored()  # SIGUSR1, and SIGPIPE and SIGXFSZ, which Python ignores
        assert ignored & (1 << (signal.SIGUSR1 - 1))
        assert status_field(got, "SigIgn") == f"{ignored & ~(1 << (signal.SIGPIPE - 1)):016x}"
        assert got["umask"] == ["0027"]
        got, _ = report(probe)
        assert status_field(got, "SigIgn") == f"{0:016x}"
        assert got["pgid"] == [str(os.getpgrp())]
    finally:
        os.umask(old_umask)
        signal.signal(signal.SIGUSR1, old_handler)


def test_a_process_dropped_without_wait_is_reaped_by_a_later_spawn():
    process = sprout.spawn(["true"])
    pid = process.pid
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # it has ended, not reaped
    del process
    import gc

    gc.collect()
    sprout.spawn(["true"]).wait()
    assert pid not in sprout.list_processes()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def started_waiting(probe, **keywords):
    """The probe, blocked on its stdin until `release()`: its Process and release."""
    r, w = os.pipe()
    try:
        process = sprout.spawn([probe, "wait"], fds=(r, 1, 2), **keywords)
    finally:
        os.close(r)

    def release():
        os.close(w)
        return process.wait(timeout=60)

    return process, release


def test_abi_1_1_oom_score_adj_scheduling_affinity_and_personality(probe):
    cpu = sorted(os.sched_getaffinity(0))[-1]
    process, release = started_waiting(
        probe,
        oom_score_adj=500,
        scheduler={"policy": os.SCHED_BATCH, "nice": 7},
        ioprio=("idle", 0),
        cpus=[cpu],
        personality=0x0040000,  # ADDR_NO_RANDOMIZE
    )
    try:
        with open(f"/proc/{process.pid}/oom_score_adj") as f:
            assert f.read().strip() == "500"
        assert os.sched_getscheduler(process.pid) == os.SCHED_BATCH
        assert os.getpriority(os.PRIO_PROCESS, process.pid) == 7
        assert os.sched_getaffinity(process.pid) == {cpu}
        with open(f"/proc/{process.pid}/personality") as f:
            assert int(f.read(), 16) == 0x0040000
        ionice = subprocess.run(["ionice", "-p", str(process.pid)], capture_output=True, text=True)
        assert ionice.stdout.strip() == "idle"
    finally:
        assert release() == 0


def test_abi_1_1_hostname_and_domainname_of_a_new_uts_namespace():
    r, w = os.pipe()
    process = sprout.spawn(
        ["cat", "/proc/sys/kernel/hostname", "/proc/sys/kernel/domainname"],
        fds=(0, w, 2),
        namespaces=["uts"],
        hostname="sprout-host",
        domainname="sprout-domain",
    )
    os.close(w)
    with os.fdopen(r) as out:
        assert out.read().split() == ["sprout-host", "sprout-domain"]
    assert process.wait() == 0


def test_abi_1_1_root_directory_by_path_and_fd(probe, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "probe").write_bytes(open(probe, "rb").read())
    (root / "probe").chmod(0o755)
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for given in (str(root), fd):
            r, w = os.pipe()
            process = sprout.spawn(["/probe", "wait"], fds=(r, 1, 2), root=given)
            os.close(r)
            try:
                assert os.readlink(f"/proc/{process.pid}/root") == str(root)
            finally:
                os.close(w)
                assert process.wait(timeout=60) == 0
    finally:
        os.close(fd)
    with pytest.raises(FileNotFoundError) as e:
        sprout.spawn(["/probe"], root=tmp_path / "missing")
    assert e.value.filename == tmp_path / "missing"


def test_abi_1_1_ptrace_stops_the_program_at_its_first_instruction(probe):
    process = sprout.spawn([probe, "exit", "0"], ptrace=True)
    try:
        with open(f"/proc/{process.pid}/status") as f:
            status = dict(line.split(":\t", 1) for line in f.read().splitlines())
        assert status["TracerPid"].strip() == str(threading.get_native_id())
    finally:
        process.kill()
        process.wait(timeout=60)
