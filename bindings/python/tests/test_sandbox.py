"""ABI 1.1's sandboxing keywords (issue 14): a Landlock ruleset, a seccomp listener handed to
the caller, a paused start; each checked from what the probe sees."""

import ctypes
import errno
import fcntl
import os
import signal
import socket
import struct
import tempfile

import pytest

import sprout
from conftest import parse_report, status_field


def run(probe, *commands, **keywords):
    r, w = os.pipe()
    try:
        process = sprout.spawn([probe, *commands], fds=(0, w, 2), **keywords)
    finally:
        os.close(w)
    with os.fdopen(r) as out:
        text = out.read()
    return parse_report(text), process.wait()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_landlock_ruleset_restricts_files_ports_and_signals(probe):
    assert sprout.landlock_abi_version() >= 6  # this machine's kernel has 7
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        os.chmod(directory, 0o755)
        allowed = os.path.join(directory, "x")
        with open(allowed, "w") as f:
            f.write("x")
        fd, dropped = sprout.landlock_ruleset(
            handled_fs=sprout._landlock.FS_ALL,
            handled_net=["bind_tcp"],
            scoped=["LANDLOCK_SCOPE_SIGNAL"],
            paths={"/usr": ["read_file", "read_dir", "execute"], directory: ["read_file", "read_dir"],
                   probe: ["read_file", "execute"]},
            ports={port: "bind_tcp"},
        )
        try:
            assert dropped == {"fs": [], "net": [], "scoped": []}
            commands = ["open", "/etc/passwd", "open", allowed, "bind", str(port), "bind", str(port + 1),
                        "kill", "ppid", "0"]
            for user in (None, 65534):  # as root, and a process of uid 65534
                got, code = run(probe, *commands, no_new_privs=True, landlock=fd, user=user)
                assert code == 0
                assert got["open"] == ["errno 13 (Permission denied)", "ok"], user
                assert got["bind"][0] == "ok" and got["bind"][1].startswith("errno 13 "), user
                assert got["kill"][0].startswith("errno 1 "), user
            # The ruleset's fd never reaches the program.
            got, _ = run(probe, "report", no_new_privs=True, landlock=fd)
            assert [int(line.split()[0]) for line in got["fd"]] == [0, 1, 2], got["fd"]
        finally:
            os.close(fd)
    got, _ = run(probe, "open", "/etc/passwd", "kill", "ppid", "0")
    assert got["open"] == ["ok"] and got["kill"] == ["ok"]


def test_landlock_ruleset_requests_are_checked():
    with pytest.raises(ValueError, match="unknown right"):
        sprout.landlock_ruleset(handled_fs=["read_everything"])
    with pytest.raises(FileNotFoundError) as e:
        sprout.landlock_ruleset(handled_fs=["read_file"], paths={"/nonexistent-sprout": ["read_file"]})
    assert e.value.stage == "landlock"
    with pytest.raises(OSError) as e:
        sprout.landlock_ruleset(handled_fs=["read_file"], paths={"/usr": ["execute"]})
    assert e.value.errno == errno.EINVAL
    with pytest.raises(ValueError):
        sprout.spawn(["true"], landlock_restrict_flags=1)


# struct seccomp_notif (80 bytes) and struct seccomp_notif_resp (24 bytes), their ioctls.
NOTIF = struct.Struct("=QIIiIQ6Q")
RESP = struct.Struct("=QqiI")
NOTIF_RECV = 0xC0502100
NOTIF_SEND = 0xC0182101
MKDIR_CALLS = {"x86_64": (83, 258), "aarch64": (34,)}[os.uname().machine]


def mkdir_to_listener():
    program = [(0x20, 0, 0, 0)]  # load seccomp_data.nr
    for nr in MKDIR_CALLS:
        program += [(0x15, 0, 1, nr), (0x06, 0, 0, 0x7FC00000)]  # == nr: SECCOMP_RET_USER_NOTIF
    return program + [(0x06, 0, 0, 0x7FFF0000)]  # allow


def answer(listener, pid, val, error):
    buf = bytearray(NOTIF.size)
    fcntl.ioctl(listener, NOTIF_RECV, buf)
    notif_id, notif_pid = NOTIF.unpack(buf)[:2]
    assert notif_pid == pid
    fcntl.ioctl(listener, NOTIF_SEND, bytearray(RESP.pack(notif_id, val, error, 0)))


def test_seccomp_listener_answers_the_childs_mkdir(probe):
    with tempfile.TemporaryDirectory() as directory:
        r, w = os.pipe()
        try:
            process = sprout.spawn(
                [probe, "mkdir", os.path.join(directory, "a"), "mkdir", os.path.join(directory, "b")],
                fds=(0, w, 2),
                no_new_privs=True,
                seccomp=mkdir_to_listener(),
                seccomp_flags=8,  # SECCOMP_FILTER_FLAG_NEW_LISTENER
            )
        finally:
            os.close(w)
        listener = process.seccomp_listener()
        try:
            with pytest.raises(OSError):
                process.seccomp_listener()  # once only
            answer(listener, process.pid, 0, -errno.EPERM)
            answer(listener, process.pid, 42, 0)
        finally:
            os.close(listener)
        with os.fdopen(r) as out:
            got = parse_report(out.read())
        assert process.wait() == 0
        assert got["mkdir"] == ["-1 errno=1", "42 errno=0"]
        assert os.listdir(directory) == []


def test_paused_process_is_visible_then_starts(probe):
    r, w = os.pipe()
    try:
        process = sprout.spawn([probe, "report"], fds=(0, w, 2), no_new_privs=True, paused=True)
    finally:
        os.close(w)
    with open(f"/proc/{process.pid}/status") as f:
        assert "NoNewPrivs:\t1\n" in f.read().replace(" ", "")
    os.close(process.pidfd())
    os.set_blocking(r, False)
    with pytest.raises(BlockingIOError):
        os.read(r, 1)  # the program has not run
    os.set_blocking(r, True)
    process.start()
    with os.fdopen(r) as out:
        got = parse_report(out.read())
    assert process.wait() == 0
    assert got["pid"] == [str(process.pid)]

    killed = sprout.spawn([probe, "report"], paused=True)
    killed.kill()
    assert killed.wait() == -signal.SIGKILL

    missing = sprout.spawn("/nonexistent-sprout-program", paused=True)
    with pytest.raises(FileNotFoundError) as e:
        missing.start()
    assert e.value.stage == "exec" and e.value.filename == "/nonexistent-sprout-program"
    with pytest.raises(ChildProcessError):
        missing.wait()  # a failed start leaves no process behind
