"""How the library is found: $SPROUT_LIBRARY first, then ctypes.util.find_library, then
libsprout.so.1 through the dynamic loader; an ImportError naming all three otherwise."""

import os
import subprocess
import sys

import pytest

import sprout

SHOW_LOADED = "import sprout; print(sprout._lib.lib._name)"


def python(code, **env):
    environ = {k: v for k, v in os.environ.items() if k not in ("SPROUT_LIBRARY", "LD_LIBRARY_PATH")}
    environ.update(env)
    return subprocess.run([sys.executable, "-c", code], env=environ, capture_output=True, text=True)


def test_sprout_library_names_the_file_loaded(tmp_path):
    copy = tmp_path / "libsprout-copy.so"
    copy.write_bytes(open(sprout._lib.lib._name, "rb").read())
    out = python("import sprout; print(open('/proc/self/maps').read())", SPROUT_LIBRARY=str(copy))
    assert out.returncode == 0, out.stderr
    assert str(copy) in out.stdout


def test_a_sprout_library_that_cannot_be_loaded_is_an_import_error_without_fallback(tmp_path):
    library_dir = os.path.dirname(os.path.realpath(sprout._lib.lib._name))
    missing = tmp_path / "missing.so"
    out = python(SHOW_LOADED, SPROUT_LIBRARY=str(missing), LD_LIBRARY_PATH=library_dir)
    assert out.returncode != 0
    assert "ImportError" in out.stderr
    assert f"$SPROUT_LIBRARY={missing}" in out.stderr
    assert "not tried, as $SPROUT_LIBRARY is set" in out.stderr


def test_without_sprout_library_the_loader_finds_libsprout_so_1(tmp_path):
    (tmp_path / "libsprout.so.1").symlink_to(os.path.realpath(sprout._lib.lib._name))
    out = python("import sprout; print(open('/proc/self/maps').read())", LD_LIBRARY_PATH=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert os.path.realpath(sprout._lib.lib._name) in out.stdout


def test_nothing_found_is_an_import_error_naming_all_three_ways():
    if python("import ctypes.util; print(ctypes.util.find_library('sprout'))").stdout.strip() != "None":
        pytest.skip("a libsprout is installed system-wide: the loader would find it")
    out = python(SHOW_LOADED, LD_LIBRARY_PATH="/nonexistent")
    assert out.returncode != 0
    assert "ImportError: sprout: cannot load the sprout C library" in out.stderr
    assert "$SPROUT_LIBRARY: not set" in out.stderr
    assert 'ctypes.util.find_library("sprout")' in out.stderr
    assert "libsprout.so.1 (the dynamic loader's search)" in out.stderr


def test_the_package_under_test_is_the_installed_one():
    # tests/python.rs installs the package with pip and runs these tests outside the source
    # tree: what they import must be that install, not bindings/python/sprout.
    if not os.environ.get("SPROUT_EXPECT_INSTALLED"):
        pytest.skip("run by hand from the source tree")
    assert "site-packages" in sprout.__file__, sprout.__file__
