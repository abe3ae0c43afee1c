#!/bin/sh
# benches/exec.sh [RUNS] [LAYOUT...]: `sprout exec` against `runc exec`, `crun exec` and
# `setpriv … nsenter …`, each starting the same static do-nothing program in the same kind of
# busybox container, whole commands as a shell would run them, interleaved, RUNS rounds
# (default 40); and `sprout run` against a minimal C launcher (posix_spawn + waitpid) of the
# same program, for the CLI's own start-up. Prints medians, spreads and ratios (the tables in
# BENCHMARKS.md), once per cgroup layout (default: both):
#
#   v1  cgroup v1 only: the container is in a cgroup of each v1 hierarchy, which `sprout exec`
#       joins one by one before the program runs (9 here). This host is hybrid (v1 controllers
#       plus cgroup2 at /sys/fs/cgroup/unified), and Debian's crun 1.8 refuses a hybrid host, so
#       the cgroup2 mount is moved away from /sys/fs/cgroup/unified in a private mount
#       namespace: the runtimes see v1 only, and sprout finds cgroup2 wherever it is mounted.
#   v2  cgroup v2 only, the most common host today: in a private mount namespace cgroup2 alone
#       is mounted at /sys/fs/cgroup (as tests/c_variants.rs runs the C cgroup tests); the
#       container's cgroup is a cgroup2 directory, which `sprout exec` starts the program in
#       at birth (CLONE_INTO_CGROUP).
#
# SPROUT_BENCH_BASELINE=PATH adds `PATH exec` (another build of sprout, e.g. of the commit
# before a change) to the same rounds.
#
# As root, after `cargo build --release --bin sprout`. Needs runc, busybox-static, cc and
# python3; crun when available (a runtime that cannot start a container in a layout is left out
# of that layout's table, with its error).
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "benches/exec.sh: run as root" >&2; exit 1; }
[ -x target/release/sprout ] || { echo "benches/exec.sh: cargo build --release --bin sprout first" >&2; exit 1; }

runs=${1:-40}
if [ -z "${SPROUT_BENCH_LAYOUT:-}" ]; then
    [ $# -gt 0 ] && shift
    for layout in ${*:-v1 v2}; do
        case $layout in
        v1 | v2) SPROUT_BENCH_LAYOUT=$layout unshare -m --propagation private "$0" "$runs" ;;
        *) echo "benches/exec.sh: layout $layout: give v1 or v2" >&2; exit 1 ;;
        esac
    done
    exit 0
fi

case $SPROUT_BENCH_LAYOUT in
v1)
    if ! grep -q ' - cgroup cgroup ' /proc/self/mountinfo; then
        echo "## Layout v1: skipped (no cgroup v1 hierarchy is mounted on this host)"
        exit 0
    fi
    if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
        mkdir -p /run/sprout-bench-cgroup2
        mount --move /sys/fs/cgroup/unified /run/sprout-bench-cgroup2
    fi
    ;;
v2)
    umount --lazy /sys/fs/cgroup 2>/dev/null || true
    mount -t cgroup2 cgroup2 /sys/fs/cgroup
    ;;
esac
exec python3 benches/exec.py "$runs" "$SPROUT_BENCH_LAYOUT"
