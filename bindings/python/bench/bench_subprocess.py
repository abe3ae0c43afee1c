"""subprocess against sprout, side by side in one process.

For each case, the three ways to start and wait for a static do-nothing program run
interleaved (one of each in turn, N times per round): `subprocess.run`, `sprout.Popen(...)
.wait()` (communicate() with a pipe) and `sprout.spawn(...).wait()`. Each round gives the
median time of each, and the ratios to subprocess's; the report is the median ratio over the
rounds with its spread (min-max), so that a noisy, shared machine shows as spread rather
than as a wrong number.

Cases: plain; with user=/group= (CPython then forks instead of vforking); with stdout=PIPE;
and with user= after the interpreter allocated and touched 1 GiB (what fork copies).

Usage (as root, for user=): python bench_subprocess.py [--rounds R] [--n N] [--program PATH]
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import sprout

NOBODY = 65534


def static_true(directory):
    source = os.path.join(directory, "true.c")
    with open(source, "w") as f:
        f.write("int main(void) { return 0; }\n")
    program = os.path.join(directory, "true")
    subprocess.run(["cc", "-O2", "-static", "-o", program, source], check=True)
    os.chmod(directory, 0o755)
    return program


def variants(program, ids, pipe):
    """The three ways, as functions that start the program and wait for it."""
    keywords = dict(user=NOBODY, group=NOBODY) if ids else {}
    args = [program]
    if pipe:

        def run_subprocess():
            subprocess.run(args, stdout=subprocess.PIPE, **keywords)

        def run_popen():
            sprout.Popen(args, stdout=subprocess.PIPE, **keywords).communicate()

        def run_spawn():
            r, w = os.pipe()
            try:
                process = sprout.spawn(args, fds=(0, w, 2), **keywords)
            finally:
                os.close(w)
            with os.fdopen(r, "rb") as out:
                out.read()
            process.wait()

    else:

        def run_subprocess():
            subprocess.run(args, **keywords)

        def run_popen():
            sprout.Popen(args, **keywords).wait()

        def run_spawn():
            sprout.spawn(args, **keywords).wait()

    return [("subprocess.run", run_subprocess), ("sprout.Popen", run_popen), ("sprout.spawn", run_spawn)]


def measure(ways, rounds, n):
    """Per round, each way's median seconds; interleaved call by call."""
    per_round = []
    for _ in range(rounds):
        times = {name: [] for name, _ in ways}
        for _ in range(n):
            for name, run in ways:
                start = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - start)
        per_round.append({name: statistics.median(t) for name, t in times.items()})
    return per_round


def summary(case, per_round):
    base = [r["subprocess.run"] for r in per_round]
    line = [case, f"{statistics.median(base) * 1e3:.2f} ms"]
    for name in ("sprout.Popen", "sprout.spawn"):
        ratios = [r[name] / r["subprocess.run"] for r in per_round]
        line.append(f"{statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f})")
    return "| " + " | ".join(line) + " |"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--program")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        program = options.program or static_true(directory)
        ids = os.geteuid() == 0
        print(f"# {sys.version.split()[0]}, libsprout {sprout.library_version()}, load {os.getloadavg()[0]:.1f}")
        print("| case | subprocess.run (median) | sprout.Popen / subprocess | sprout.spawn / subprocess |")
        print("|---|---|---|---|")
        cases = [("plain", False, False), ("stdout=PIPE", False, True)]
        if ids:
            cases.append(("user=, group=", True, False))
        for case, with_ids, pipe in cases:
            print(summary(case, measure(variants(program, with_ids, pipe), options.rounds, options.n)), flush=True)
        if ids:
            heap = bytearray(1 << 30)
            heap[:: 4096] = b"\1" * (len(heap) // 4096)  # touch every page
            n = max(10, options.n // 10)  # fork at 1 GiB takes tens of ms
            print(summary("user=, 1 GiB heap", measure(variants(program, True, False), options.rounds, n)), flush=True)
            del heap
        print(f"# load {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
