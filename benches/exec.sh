#!/bin/sh
# benches/exec.sh [RUNS]: `sprout exec` against `runc exec`, `crun exec` and `setpriv …
# nsenter …`, each starting the same static do-nothing program in the same kind of busybox
# container, whole commands as a shell would run them, interleaved, RUNS rounds (default 40);
# and `sprout run` against a minimal C launcher (posix_spawn + waitpid) of the same program,
# for the CLI's own start-up. Prints medians, spreads and ratios (the table in BENCHMARKS.md).
#
# As root, after `cargo build --release --bin sprout`. Needs runc, busybox-static and cc;
# crun when available (Debian's crun 1.8 refuses a hybrid cgroup host, so everything here runs
# in a private mount namespace where the cgroup2 mount is moved away from /sys/fs/cgroup/unified:
# the runtimes then see cgroup v1 only, and sprout finds cgroup2 wherever it is mounted).
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "benches/exec.sh: run as root" >&2; exit 1; }
[ -x target/release/sprout ] || { echo "benches/exec.sh: cargo build --release --bin sprout first" >&2; exit 1; }

if [ "${SPROUT_BENCH_INNER:-}" != 1 ]; then
    SPROUT_BENCH_INNER=1 exec unshare -m --propagation private "$0" "$@"
fi
if mountpoint -q /sys/fs/cgroup/unified 2>/dev/null; then
    mkdir -p /run/sprout-bench-cgroup2
    mount --move /sys/fs/cgroup/unified /run/sprout-bench-cgroup2
fi
exec python3 benches/exec.py "${1:-40}"
