"""sprout's failures as Python's OSError subclasses."""

import os

from ._lib import lib


def stage_name(stage):
    return lib.sprout_stage_name(stage).decode()


def spawn_error(rc, err, filename=None, strerror=None):
    """The OSError for a failed call: the subclass Python picks for the errno
    (FileNotFoundError, PermissionError, ...), with `errno`, `filename`, `strerror` (sprout's
    message unless given) and the extra attributes `stage` ("exec", "chdir", ...) and
    `sprout_message` (the library's whole message, e.g. "exec: nosuch (searched PATH): No such
    file or directory")."""
    code = err.code or -rc
    message = err.message.decode(errors="replace")
    e = OSError(code, strerror or message or os.strerror(code), *(() if filename is None else (filename,)))
    e.stage = stage_name(err.stage)
    e.sprout_message = message
    return e


def call_error(rc, what):
    """The OSError for a failed call that reports no sprout_error (signal, pidfd, ...)."""
    e = OSError(-rc, f"{what}: {os.strerror(-rc)}")
    e.stage = None
    e.sprout_message = None
    return e
