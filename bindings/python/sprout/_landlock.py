"""Landlock rulesets (sprout_landlock_create_ruleset) for spawn's `landlock` keyword."""

import ctypes
import os

from . import _lib, _spec
from ._errors import spawn_error
from ._lib import lib

#: LANDLOCK_ACCESS_FS_* of <linux/landlock.h>, by their uapi names without the prefix.
ACCESS_FS = {
    "execute": 1 << 0,
    "write_file": 1 << 1,
    "read_file": 1 << 2,
    "read_dir": 1 << 3,
    "remove_dir": 1 << 4,
    "remove_file": 1 << 5,
    "make_char": 1 << 6,
    "make_dir": 1 << 7,
    "make_reg": 1 << 8,
    "make_sock": 1 << 9,
    "make_fifo": 1 << 10,
    "make_block": 1 << 11,
    "make_sym": 1 << 12,
    "refer": 1 << 13,
    "truncate": 1 << 14,
    "ioctl_dev": 1 << 15,
}
#: LANDLOCK_ACCESS_NET_*.
ACCESS_NET = {"bind_tcp": 1 << 0, "connect_tcp": 1 << 1}
#: LANDLOCK_SCOPE_*.
SCOPE = {"abstract_unix_socket": 1 << 0, "signal": 1 << 1}

#: Every file right: what a sandbox handles.
FS_ALL = sum(ACCESS_FS.values())
#: Reading files and directories, and running files.
FS_READ = ACCESS_FS["execute"] | ACCESS_FS["read_file"] | ACCESS_FS["read_dir"]

_PREFIXES = {
    id(ACCESS_FS): "LANDLOCK_ACCESS_FS_",
    id(ACCESS_NET): "LANDLOCK_ACCESS_NET_",
    id(SCOPE): "LANDLOCK_SCOPE_",
}


def _bits(value, names, what):
    """An int, or an iterable of names (uapi names, any case, prefix optional), as bits."""
    if _spec.is_int(value):
        if value < 0 or value >= 1 << 64:
            raise ValueError(f"{what}: {value} is not a set of rights")
        return value
    if isinstance(value, (str, bytes)):
        value = [value]
    prefix = _PREFIXES[id(names)]
    bits = 0
    for name in value:
        if not isinstance(name, str):
            raise TypeError(f"{what}: expected an int or names, not {name!r}")
        key = name.upper()
        key = key[len(prefix):] if key.startswith(prefix) else key
        if key.lower() not in names:
            raise ValueError(f"{what}: unknown right {name!r} (expected {prefix}*: {', '.join(names)})")
        bits |= names[key.lower()]
    return bits


def _names(bits, names, prefix):
    return [prefix + name.upper() for name, bit in names.items() if bits & bit]


def landlock_abi_version():
    """The running kernel's Landlock ABI version; OSError (ENOSYS, EOPNOTSUPP) where Landlock
    is missing or off."""
    _lib.require_minor(1, "landlock_abi_version")
    version = lib.sprout_landlock_abi_version()
    if version < 0:
        raise OSError(-version, f"Landlock: {os.strerror(-version)}")
    return version


def landlock_ruleset(*, handled_fs=0, handled_net=0, scoped=0, paths=(), ports=(), best_effort=False):
    """Builds a Landlock ruleset in one call and returns `(fd, dropped)`: a close-on-exec fd
    the caller owns (for spawn's `landlock` keyword, any number of spawns; close it), and
    what best effort left out as {"fs": [...], "net": [...], "scoped": [...]} uapi names.

      handled_fs, handled_net, scoped  the rights the ruleset restricts (ints, or names such
                  as "read_file" / "LANDLOCK_ACCESS_FS_READ_FILE"; FS_ALL for every file right)
      paths       {path or fd: rights}, or (path or fd, rights) pairs: allowed beneath
      ports       {port: rights}, or (port, rights) pairs: "bind_tcp", "connect_tcp"
      best_effort leave out what this kernel cannot enforce instead of failing (strict:
                  OSError EOPNOTSUPP naming the right)
    """
    _lib.require_minor(1, "landlock_ruleset")
    keep = []
    c = _lib.LandlockRuleset()
    c.size = ctypes.sizeof(c)
    c.flags = _lib.LANDLOCK_BEST_EFFORT if best_effort else 0
    c.handled_access_fs = _bits(handled_fs, ACCESS_FS, "handled_fs")
    c.handled_access_net = _bits(handled_net, ACCESS_NET, "handled_net")
    c.scoped = _bits(scoped, SCOPE, "scoped")
    path_items = list(paths.items()) if hasattr(paths, "items") else list(paths)
    if path_items:
        rules = (_lib.LandlockPathRule * len(path_items))()
        for rule, (target, access) in zip(rules, path_items):
            rule.access = _bits(access, ACCESS_FS, f"paths[{target!r}]")
            if _spec.is_int(target):
                rule.fd = _spec.check_fd(target, "paths")
            else:
                encoded = _spec.fsencode(target, "paths")
                keep.append(encoded)
                rule.path = encoded
                rule.fd = -1
        c.paths = rules
        c.paths_len = len(rules)
    port_items = list(ports.items()) if hasattr(ports, "items") else list(ports)
    if port_items:
        rules = (_lib.LandlockPortRule * len(port_items))()
        for rule, (port, access) in zip(rules, port_items):
            rule.port = _spec.bounded(port, "ports", 0, 65535)
            rule.access = _bits(access, ACCESS_NET, f"ports[{port}]")
        c.ports = rules
        c.ports_len = len(rules)
    dropped = _lib.LandlockAccess()
    err = _lib.Error()
    fd = lib.sprout_landlock_create_ruleset(ctypes.byref(c), ctypes.byref(dropped), ctypes.byref(err))
    if fd < 0:
        raise spawn_error(fd, err)
    return fd, {
        "fs": _names(dropped.fs, ACCESS_FS, "LANDLOCK_ACCESS_FS_"),
        "net": _names(dropped.net, ACCESS_NET, "LANDLOCK_ACCESS_NET_"),
        "scoped": _names(dropped.scoped, SCOPE, "LANDLOCK_SCOPE_"),
    }
