"""sprout for Python: start processes through libsprout (ctypes, no compiler needed).

- `spawn(args, ...)` starts a program with an exact set of properties (ids, capabilities,
  rlimits, seccomp, namespaces, cgroup, fd layout, ...) and returns a `Process`.
- `Popen` is subprocess.Popen started through sprout, with spawn's sandbox keywords too.
- `patch_subprocess()` routes the standard library's subprocess through sprout;
  `unpatch_subprocess()` undoes it.

The library is loaded from $SPROUT_LIBRARY (a path) when set, else from what
ctypes.util.find_library("sprout") finds, else as libsprout.so.1.
"""

from ._lib import lib as _library
from .popen import Popen, patch_subprocess, unpatch_subprocess
from ._landlock import landlock_abi_version, landlock_ruleset
from ._spawn import Process, Tty, list_processes, openpty, signal_container, spawn

__all__ = [
    "spawn",
    "Popen",
    "patch_subprocess",
    "unpatch_subprocess",
    "Process",
    "Tty",
    "openpty",
    "list_processes",
    "signal_container",
    "abi_version",
    "library_version",
    "landlock_ruleset",
    "landlock_abi_version",
]


def abi_version():
    """The ABI generation of the loaded library (1)."""
    return _library.sprout_abi_version()


def library_version():
    """The loaded library's version, e.g. "0.1.0"."""
    return _library.sprout_version().decode()
