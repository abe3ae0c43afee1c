"""Shared fixtures: the header and the probe program the tests check against.

tests/python.rs runs these tests against a fresh install (SPROUT_LIBRARY, SPROUT_INCLUDE_DIR
and SPROUT_PROBE point into it); run by hand from a clone they fall back to the clone's
include/ and build c-tests/probe.c themselves (SPROUT_LIBRARY must name a built library).
"""

import os
import pathlib
import subprocess
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def header():
    """The sprout.h the installed library came with."""
    return pathlib.Path(os.environ.get("SPROUT_INCLUDE_DIR", REPO / "include")) / "sprout.h"


@pytest.fixture(scope="session")
def probe():
    """c-tests/probe.c built static: it reports its own state as the kernel shows it. In a
    directory every uid can reach, for the tests that run it as another user."""
    given = os.environ.get("SPROUT_PROBE")
    if given:
        yield given
        return
    with tempfile.TemporaryDirectory() as directory:
        os.chmod(directory, 0o755)
        out = os.path.join(directory, "probe")
        subprocess.run(
            ["cc", "-std=c99", "-O1", "-static", "-o", out, str(REPO / "c-tests/probe.c")],
            check=True,
        )
        yield out


def parse_report(text):
    """The probe's `report`: each key's values, in order."""
    report = {}
    for line in text.splitlines():
        if line == "end":
            break
        key, _, value = line.partition("=")
        report.setdefault(key, []).append(value)
    return report


def caller_ignored():
    """The signals this process ignores (SigIgn of /proc/self/status), as a bit set: what
    may come from whoever started the tests too."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("SigIgn:"):
                return int(line.split()[1], 16)
    raise KeyError("SigIgn")


def status_field(report, name):
    """The value of a /proc/self/status line of the probe, e.g. "Uid"."""
    for line in report["status"]:
        key, _, value = line.partition(":")
        if key == name:
            return value.strip()
    raise KeyError(name)

