"""CPython's own Lib/test/test_subprocess.py, run with the standard library's subprocess
routed through sprout (sprout.patch_subprocess()).

Every test runs, except those listed in NOT_FOR_SPROUT: each needs something sprout
deliberately does not do, and the reason is given (the README lists them too). The last line
is "N passed, M failed, K skipped"; the exit status is 1 when a test failed.

With --popen, subprocess.Popen itself is replaced by sprout.Popen instead (so run, call,
check_output and the tests' own Popen calls make sprout.Popen objects): the same tests for
sprout.Popen's own spawning step.

Usage: python cpython_subprocess.py [-v] [--popen] [TEST_NAME_SUBSTRING ...]
"""

import sys
import unittest

import sprout

# test id suffix (Class.method) -> why sprout does not do what it needs.
PREEXEC_FN = "needs preexec_fn, which sprout refuses (no Python code can run in a process that shares the caller's memory before exec)"
NOT_FOR_SPROUT = {
    "POSIXProcessTestCase.test_preexec": PREEXEC_FN,
    "POSIXProcessTestCase.test_preexec_exception": PREEXEC_FN,
    "POSIXProcessTestCase.test_preexec_errpipe_does_not_double_close_pipes": PREEXEC_FN,
    "POSIXProcessTestCase.test_preexec_gc_module_failure": PREEXEC_FN,
    "POSIXProcessTestCase.test_preexec_fork_failure": PREEXEC_FN,
    "POSIXProcessTestCase.test_close_fds_after_preexec": PREEXEC_FN,
    "POSIXProcessTestCase.test_surrogates_error_message": PREEXEC_FN,
}

# With --popen only: tests that reach into subprocess's internals where sprout.Popen does not
# pass, so they test the harness, not sprout.Popen.
MOCKS_INTERNALS = (
    "replaces subprocess.Popen._wait with a mock, then runs its own subclass of the original "
    "Popen class, which the mock does not reach"
)
NOT_FOR_SPROUT_POPEN = {
    "MiscTests.test_call_keyboardinterrupt_no_kill": MOCKS_INTERNALS,
    "MiscTests.test_context_manager_keyboardinterrupt_no_kill": MOCKS_INTERNALS,
    "MiscTests.test_run_keyboardinterrupt_no_kill": MOCKS_INTERNALS,
    "ProcessTestCase.test__use_vfork": "mocks subprocess._fork_exec, which sprout.Popen does not call",
    "ProcessTestCaseNoPoll.test__use_vfork": "mocks subprocess._fork_exec, which sprout.Popen does not call",
}


def skip_listed(suite, listed):
    """Replaces each test of `suite` named in `listed` by a skip with its reason; returns the
    listed ids that matched no test (a stale list fails the run)."""
    unmatched = set(listed)
    for test in _tests(suite):
        name = test.id().split(".", 2)[-1]  # test.test_subprocess.Class.method
        reason = listed.get(name)
        if reason is not None:
            unmatched.discard(name)
            method = getattr(test, test._testMethodName)
            setattr(test, test._testMethodName, unittest.skip(f"sprout: {reason}")(method))
    return unmatched


def _tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from _tests(item)
        else:
            yield item


def selected(suite, patterns):
    out = unittest.TestSuite()
    for test in _tests(suite):
        if not patterns or any(p in test.id() for p in patterns):
            out.addTest(test)
    return out


def main(argv):
    verbose = "-v" in argv
    patterns = [a for a in argv if a not in ("-v", "--popen")]
    import subprocess

    import test.test_subprocess as module

    listed = dict(NOT_FOR_SPROUT)
    if "--popen" in argv:
        subprocess.Popen = sprout.Popen
        listed.update(NOT_FOR_SPROUT_POPEN)
    else:
        sprout.patch_subprocess()
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    unmatched = skip_listed(suite, listed)
    suite = selected(suite, patterns)
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2 if verbose else 1)
    result = runner.run(suite)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    passed = result.testsRun - failed - skipped
    if unmatched and not patterns:
        print(f"tests listed to skip that do not exist: {sorted(unmatched)}")
        failed += len(unmatched)
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
