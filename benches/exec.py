"""The measuring half of benches/exec.sh (which sets up the mount namespace of a cgroup layout
and runs this: `exec.py RUNS LAYOUT`).

Builds a busybox bundle with a static do-nothing program, starts one runc and (when there is
crun) one crun container from it, then times whole commands, one of each kind per round, the
order rotating every round, and prints medians, quartiles and ratios as Markdown. A runtime
that cannot start a container here is left out, with its error. Containers and files are
removed on every way out.
"""

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 40
LAYOUT = sys.argv[2] if len(sys.argv) > 2 else "v1"
LAYOUTS = {
    "v1": "cgroup v1 only (the cgroup2 mount moved away)",
    "v2": "cgroup v2 only (cgroup2 alone at /sys/fs/cgroup)",
}
ROOT = os.getcwd()
SPROUT = os.path.join(ROOT, "target/release/sprout")


def run(*args, **kw):
    return subprocess.run(args, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def bundle(tmp):
    rootfs = os.path.join(tmp, "bundle/rootfs")
    for sub in ("bin", "etc", "proc", "dev", "sys", "tmp"):
        os.makedirs(os.path.join(rootfs, sub))
    shutil.copy(shutil.which("busybox"), os.path.join(rootfs, "bin/busybox"))
    for applet in ("sh", "sleep"):
        os.symlink("busybox", os.path.join(rootfs, "bin", applet))
    run("cc", "-static", "-O2", "-o", os.path.join(rootfs, "nothing"), os.path.join(ROOT, "benches/nothing.c"))
    bundle_dir = os.path.join(tmp, "bundle")
    run("runc", "spec", cwd=bundle_dir)
    path = os.path.join(bundle_dir, "config.json")
    with open(path) as f:
        config = json.load(f)
    config["process"]["terminal"] = False
    config["process"]["args"] = ["/bin/sleep", "100000"]
    config["root"]["readonly"] = False
    with open(path, "w") as f:
        json.dump(config, f)
    return bundle_dir


def installed(binary, tmp, name):
    """A copy of `binary`, as installing it makes one. The file cargo's linker wrote costs
    some 0.2 ms more CPU per exec here than a byte-identical copy of it (measured with this
    script's timing; the C launcher, a small file, shows no such difference), which is not
    what users run."""
    path = os.path.join(tmp, name)
    shutil.copy(binary, path)
    return path


def start(runtime, state, name, bundle_dir):
    """The container's pid, or None (after saying why) when the runtime cannot start it."""
    # Not a pipe for stderr: the container's process would hold it open.
    with tempfile.TemporaryFile() as stderr:
        done = subprocess.run([runtime, "--root", state, "run", "-d", name], cwd=bundle_dir,
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr)
        stderr.seek(0)
        error = stderr.read().decode(errors="replace").strip().splitlines()
    if done.returncode != 0:
        print(f"- {runtime} left out: `{runtime} run` fails here: {error[-1] if error else done.returncode}\n")
        subprocess.run([runtime, "--root", state, "delete", "-f", name],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return None
    out = run(runtime, "--root", state, "state", name).stdout
    return json.loads(out)["pid"]


def timed(argv):
    """Wall-clock ms, and CPU ms (user + system) of the command and every process it waited
    for: what the command costs the machine, much less sensitive than the wall clock to other
    work on a shared machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    begin = time.perf_counter_ns()
    done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter_ns() - begin
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{argv}: exit {done.returncode}: {done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed / 1e6, cpu * 1e3


def quartiles(values):
    q = statistics.quantiles(values, n=4)
    return q[0], q[2]


def main():
    tmp = tempfile.mkdtemp(prefix="sprout-bench-exec-")
    tag = f"sprout-bench-{os.getpid()}"
    started = []
    print(f"## Layout {LAYOUT}: {LAYOUTS[LAYOUT]}\n")
    try:
        bundle_dir = bundle(tmp)
        nothing_host = os.path.join(bundle_dir, "rootfs/nothing")
        launcher = os.path.join(tmp, "launch_once")
        run("cc", "-O2", "-o", launcher, os.path.join(ROOT, "benches/launch_once.c"))
        sprout = installed(SPROUT, tmp, "sprout")
        runc_state = os.path.join(tmp, "runc")
        runc_pid = start("runc", runc_state, tag, bundle_dir)
        if runc_pid is None:
            raise SystemExit(f"benches/exec.py: runc cannot start a container in layout {LAYOUT}")
        started.append(("runc", runc_state, tag))
        print(f"The runc container's /proc/PID/cgroup: "
              f"{', '.join(open(f'/proc/{runc_pid}/cgroup').read().split())}\n")
        commands = {
            "runc exec": ["runc", "--root", runc_state, "exec", tag, "/nothing"],
            "setpriv + nsenter": ["setpriv", "--reuid=0", "--regid=0", "--clear-groups",
                                  "nsenter", "-t", str(runc_pid), "-a", "/nothing"],
            "sprout exec": [sprout, "exec", "--pid", str(runc_pid), "--", "/nothing"],
            "sprout run": [sprout, "run", "--", nothing_host],
            "C launcher (posix_spawn)": [launcher, nothing_host],
        }
        baseline = os.environ.get("SPROUT_BENCH_BASELINE")
        if baseline:  # another build of sprout, e.g. of the commit before a change
            baseline = installed(baseline, tmp, "sprout-baseline")
            commands["sprout exec (baseline)"] = [baseline, "exec", "--pid", str(runc_pid), "--", "/nothing"]
        if shutil.which("crun"):
            crun_state = os.path.join(tmp, "crun")
            if start("crun", crun_state, tag, bundle_dir) is not None:
                started.append(("crun", crun_state, tag))
                commands["crun exec"] = ["crun", "--root", crun_state, "exec", tag, "/nothing"]
        names = list(commands)
        times = {name: [] for name in names}
        for name in names:  # warm caches once
            timed(commands[name])
        for round_ in range(RUNS):
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for name in order:
                times[name].append(timed(commands[name]))
        report(times, RUNS)
    finally:
        for runtime, state, name in started:
            subprocess.run([runtime, "--root", state, "delete", "-f", name],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


def table(times, what):
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"| command | {what}: median | p25-p75 | sprout exec / this |")
    print("|---|---|---|---|")
    for name, values in times.items():
        low, high = quartiles(values)
        ratio = median["sprout exec"] / median[name]
        print(f"| {name} | {median[name]:.2f} | {low:.2f}-{high:.2f} | {ratio:.3f} |")
    print()
    for other in ("crun exec", "runc exec", "setpriv + nsenter", "sprout exec (baseline)"):
        if other in times:
            per_round = sorted(s / o for s, o in zip(times["sprout exec"], times[other]))
            low, high = quartiles(per_round)
            print(f"- {what}, sprout exec / {other}, per round: median {statistics.median(per_round):.3f}, "
                  f"p25-p75 {low:.3f}-{high:.3f}")
    overhead = [s - c for s, c in zip(times["sprout run"], times["C launcher (posix_spawn)"])]
    low, high = quartiles(overhead)
    print(f"- {what}, sprout run minus the C launcher, per round: median {statistics.median(overhead):.3f} ms, "
          f"p25-p75 {low:.3f}-{high:.3f} ms")
    print()


def report(times, runs):
    print(f"{runs} rounds, each command once per round, order rotating; ms per whole command\n")
    table({name: [w for w, _ in values] for name, values in times.items()}, "wall ms")
    table({name: [c for _, c in values] for name, values in times.items()}, "CPU ms")


if __name__ == "__main__":
    main()
