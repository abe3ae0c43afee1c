//! Spawn cost, side by side in one process: sprout against the kernel's floor (a raw
//! `clone(CLONE_VM|CLONE_VFORK)` + execve) and against the usual launchers, at two caller
//! sizes, interleaved round by round so that drift hits every variant alike, also with the
//! caller forking a copy (which exits at once) before each spawn; then throughput across
//! threads and the library's memory per tracked process.
//!
//! Run (as root, for the credential and namespace variants): `cargo bench --bench spawn`.
//! `SPROUT_BENCH_ROUNDS` (default 1000; a third of that at the large size) sets the rounds,
//! `SPROUT_BENCH_RSS_GIB` (default 4) the large caller's touched anonymous memory, and
//! `SPROUT_BENCH_PROGRAM=bare` starts a program without the C library (see benches/);
//! `SPROUT_BENCH_ONLY=many-fds` runs only the comparison of closing ~20,000 fds with
//! close_range and with its fallback, `=abi11` the ABI 1.1 properties, `=sandbox` issue 14's
//! Landlock, seccomp listener and paused start, `=fork` only the case of the caller
//! that forks between spawns. `SPROUT_BENCH_FIFO=PRIORITY` runs the whole benchmark (and so
//! every process it starts) under SCHED_FIFO at that priority: on a machine shared with other
//! work, waiting for a CPU otherwise dominates the wall-clock times (the kernel's RT throttling
//! still leaves the other tasks 5% of each CPU).

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{CString, c_char, c_void};
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sprout::{Capabilities, Credentials, Namespace, Rlimit, Spec};

/// Counts the bytes the process holds on the heap, to measure what the library keeps per
/// tracked process.
struct CountingAlloc;

static HEAP_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HEAP_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded to the system allocator with the caller's layout.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HEAP_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: forwarded to the system allocator with the caller's pointer and layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAlloc = CountingAlloc;

/// The do-nothing program: a static C program, or with `bare` one without the C library.
fn build_nothing(bare: bool) -> CString {
    let (name, flags): (&str, &[&str]) = if bare {
        ("nothing_bare", &["-static", "-nostdlib", "-O2", "-o"])
    } else {
        ("nothing", &["-static", "-O2", "-o"])
    };
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("bench-{name}"));
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("benches/{name}.c"));
    let status = Command::new("cc")
        .args(flags)
        .arg(&out)
        .arg(&source)
        .status()
        .expect("cc runs");
    assert!(status.success(), "building {}", source.display());
    CString::new(out.into_os_string().into_encoded_bytes()).unwrap()
}

/// What every variant starts: the program, its argv and an empty environment.
struct Target {
    path: CString,
    argv: [*const c_char; 2],
    envp: [*const c_char; 1],
}

// The pointers point into `path`, which lives as long as the Target; nothing mutates them.
unsafe impl Sync for Target {}

impl Target {
    fn new(path: CString) -> Box<Target> {
        let mut target = Box::new(Target {
            path,
            argv: [std::ptr::null(); 2],
            envp: [std::ptr::null()],
        });
        target.argv[0] = target.path.as_ptr();
        target
    }
}

fn waitpid(pid: i32) {
    let mut status = 0;
    // SAFETY: waits for a child this process just started.
    while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EINTR)
        );
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status:#x}"
    );
}

/// What the kernel's own work for the full profile is: the system calls sprout's child makes
/// for it, made directly, with nothing else.
struct RawProfile {
    last_capability: u32,
    seccomp: libc::sock_fprog,
}

// The filter pointer points into a Vec that lives as long as the RawProfile.
unsafe impl Sync for RawProfile {}

/// The floor: the kernel's clone + execve + wait, with nothing else done (or only the full
/// profile's system calls).
fn raw_clone(target: &Target, extra_flags: i32, profile: Option<&RawProfile>) {
    let pid = raw_clone_child(target, extra_flags, profile, None);
    waitpid(pid);
}

/// The floor plus every system call a plain sprout spawn and wait make, bare: the calling
/// thread's signals blocked around the clone, a pidfd (CLONE_PIDFD) waited on and closed, and in
/// the child every signal to SIG_DFL, close_range from fd 3, chdir("/"), umask 022 and an empty
/// signal mask. Against it, sprout plain shows what its own code costs.
fn raw_clone_plain(target: &Target) {
    fn plain_steps() {
        let default: [u64; 4] = [libc::SIG_DFL as u64, 0, 0, 0];
        let empty: u64 = 0;
        // SAFETY: raw system calls on this stack's data; failures are left to show in the
        // program's status (none is expected).
        unsafe {
            for signal in 1..=64 {
                if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                    libc::syscall(libc::SYS_rt_sigaction, signal, default.as_ptr(), 0, 8);
                }
            }
            libc::syscall(libc::SYS_close_range, 3, u32::MAX, 0);
            libc::syscall(libc::SYS_chdir, c"/".as_ptr());
            libc::syscall(libc::SYS_umask, 0o022);
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &raw const empty,
                0,
                8,
            );
        }
    }
    let all: u64 = !0;
    let mut old: u64 = 0;
    let mut pidfd = -1;
    // SAFETY: the calling thread's mask, from and to this stack.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &raw const all,
            &raw mut old,
            8,
        )
    };
    let pid = raw_clone_child_with_pidfd(target, 0, None, Some(plain_steps), Some(&mut pidfd));
    // SAFETY: as above; then a wait on the pidfd just made, which is closed after.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &raw const old,
            0,
            8,
        );
        let mut info: libc::siginfo_t = std::mem::zeroed();
        assert_eq!(
            libc::waitid(libc::P_PIDFD, pidfd as u32, &mut info, libc::WEXITED),
            0
        );
        assert_eq!(info.si_status(), 0, "pid {pid}");
        libc::close(pidfd);
    }
}

/// Starts the raw clone's child, which runs `step` (system calls only) before execve, and
/// returns its pid.
fn raw_clone_child(
    target: &Target,
    extra_flags: i32,
    profile: Option<&RawProfile>,
    step: Option<fn()>,
) -> i32 {
    raw_clone_child_with_pidfd(target, extra_flags, profile, step, None)
}

/// `raw_clone_child`, also storing a pidfd of the child (CLONE_PIDFD) in `pidfd` if given.
fn raw_clone_child_with_pidfd(
    target: &Target,
    extra_flags: i32,
    profile: Option<&RawProfile>,
    step: Option<fn()>,
    pidfd: Option<&mut i32>,
) -> i32 {
    struct Arg<'a> {
        target: &'a Target,
        profile: Option<&'a RawProfile>,
        step: Option<fn()>,
    }
    extern "C" fn child(arg: *mut c_void) -> i32 {
        // SAFETY: `arg` is the Arg, alive while the parent is suspended (CLONE_VFORK).
        let Arg {
            target,
            profile,
            step,
        } = unsafe { &*(arg as *const Arg) };
        // SAFETY: plain system calls on data that outlives the child; on failure it exits.
        unsafe {
            if let Some(profile) = profile {
                apply_raw_profile(profile);
            }
            if let Some(step) = step {
                step();
            }
            libc::execve(
                target.path.as_ptr(),
                target.argv.as_ptr(),
                target.envp.as_ptr(),
            );
            libc::_exit(127)
        }
    }
    thread_local! {
        static STACK: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0; 64 * 1024]);
    }
    let arg = Arg {
        target,
        profile,
        step,
    };
    let pid = STACK.with_borrow_mut(|stack| {
        // SAFETY: the child runs on its own 64 KiB stack, shares our memory only until it
        // execs (CLONE_VFORK suspends us until then), and only makes system calls.
        unsafe {
            let top = stack.as_mut_ptr().add(stack.len() & !15);
            let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD | extra_flags;
            match pidfd {
                // CLONE_PIDFD stores the pidfd where clone's parent_tid would go.
                Some(pidfd) => libc::clone(
                    child,
                    top.cast(),
                    flags | libc::CLONE_PIDFD,
                    (&raw const arg).cast_mut().cast(),
                    pidfd as *mut i32,
                ),
                None => libc::clone(child, top.cast(), flags, (&raw const arg).cast_mut().cast()),
            }
        }
    });
    assert!(pid > 0, "clone: {}", std::io::Error::last_os_error());
    pid
}

/// The full profile (see `full_profile`) as bare system calls; exits 126 on any failure.
///
/// # Safety
/// Only for the child of `raw_clone`.
unsafe fn apply_raw_profile(profile: &RawProfile) {
    let check = |ret: libc::c_long| {
        if ret < 0 {
            // SAFETY: ends the child.
            unsafe { libc::_exit(126) }
        }
    };
    // SAFETY: system calls on constants and on data the profile keeps alive.
    unsafe {
        for (resource, value) in [(libc::RLIMIT_NOFILE, 256), (libc::RLIMIT_CORE, 0)] {
            let limit = libc::rlimit64 {
                rlim_cur: value,
                rlim_max: value,
            };
            check(libc::syscall(libc::SYS_prlimit64, 0, resource, &limit, 0));
        }
        libc::syscall(libc::SYS_umask, 0o077);
        for cap in 0..=profile.last_capability {
            check(libc::syscall(
                libc::SYS_prctl,
                libc::PR_CAPBSET_DROP,
                cap,
                0,
                0,
                0,
            ));
        }
        let groups = [65534u32];
        check(libc::syscall(libc::SYS_setgroups, 1, groups.as_ptr()));
        check(libc::syscall(libc::SYS_setresgid, 65534, 65534, 65534));
        check(libc::syscall(libc::SYS_setresuid, 65534, 65534, 65534));
        let mut header = [0x2008_0522u32, 0];
        let data = [0u32; 6];
        check(libc::syscall(
            libc::SYS_capset,
            header.as_mut_ptr(),
            data.as_ptr(),
        ));
        check(libc::syscall(
            libc::SYS_prctl,
            libc::PR_SET_NO_NEW_PRIVS,
            1,
            0,
            0,
            0,
        ));
        check(libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            0,
            &profile.seccomp,
        ));
    }
}

fn posix_spawn(target: &Target) {
    let mut pid = 0;
    // SAFETY: NUL-terminated arrays, no file actions or attributes.
    let rc = unsafe {
        libc::posix_spawn(
            &mut pid,
            target.path.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            target.argv.as_ptr().cast(),
            target.envp.as_ptr().cast(),
        )
    };
    assert_eq!(rc, 0);
    waitpid(pid);
}

fn fork_exec(target: &Target) {
    // SAFETY: the child only calls execve and _exit, both async-signal-safe.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        unsafe {
            libc::execve(
                target.path.as_ptr(),
                target.argv.as_ptr(),
                target.envp.as_ptr(),
            );
            libc::_exit(127)
        }
    }
    assert!(pid > 0);
    waitpid(pid);
}

fn std_command(target: &Target, with_ids: bool) {
    use std::os::unix::process::CommandExt;
    let path = std::ffi::OsStr::from_bytes(target.path.as_bytes());
    let mut command = Command::new(path);
    command.env_clear();
    if with_ids {
        // SAFETY: getuid/getgid cannot fail.
        command
            .uid(unsafe { libc::getuid() })
            .gid(unsafe { libc::getgid() });
    }
    assert!(command.status().unwrap().success());
}

use std::os::unix::ffi::OsStrExt;

fn sprout_run(spec: &Spec) {
    let process = sprout::spawn(spec).unwrap_or_else(|e| panic!("sprout: {e}"));
    let status = sprout::wait(process.pid, None).unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "status {status:#x}"
    );
}

/// The sandbox profile of the "full" variant: another uid with a supplementary group, empty
/// capability sets, two rlimits, no_new_privs, a umask and a small seccomp filter.
fn full_profile(plain: &Spec) -> Spec {
    let mut spec = plain.clone();
    spec.credentials = Some(Credentials {
        uid: 65534,
        gid: 65534,
        groups: vec![65534],
    });
    spec.capabilities = Some(Capabilities::default());
    spec.rlimits = vec![
        Rlimit {
            resource: libc::RLIMIT_NOFILE as i32,
            soft: 256,
            hard: 256,
        },
        Rlimit {
            resource: libc::RLIMIT_CORE as i32,
            soft: 0,
            hard: 0,
        },
    ];
    spec.no_new_privs = true;
    spec.umask = 0o077;
    spec.seccomp_filter = small_seccomp_filter();
    spec
}

/// Allow everything on x86_64 but ptrace, which fails with EPERM.
fn small_seccomp_filter() -> Vec<libc::sock_filter> {
    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let ret = libc::BPF_RET | libc::BPF_K;
    vec![
        stmt(load, 4), // seccomp_data.arch
        jump(AUDIT_ARCH_X86_64, 1, 0),
        stmt(ret, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(load, 0), // seccomp_data.nr
        jump(libc::SYS_ptrace as u32, 0, 1),
        stmt(ret, libc::SECCOMP_RET_ERRNO | libc::EPERM as u32),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
    ]
}

fn namespaced(plain: &Spec) -> Spec {
    let mut spec = plain.clone();
    spec.namespaces = [
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
    ]
    .into_iter()
    .map(|kind| Namespace { kind, fd: None })
    .collect();
    spec
}

const NS_FLAGS: i32 =
    libc::CLONE_NEWPID | libc::CLONE_NEWNS | libc::CLONE_NEWUTS | libc::CLONE_NEWIPC;

struct Variant<'a> {
    name: &'static str,
    /// The raw clone doing the same work, where that differs from the plain floor.
    same_work: Option<&'static str>,
    run: Box<dyn Fn() + 'a>,
    samples: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs every variant once per round, in a new random order each round (a slow variant must
/// not always precede the same one), and prints p50, p90 and the ratio of p50s to the floor
/// and to the raw clone doing the same work. Returns the p50 of each variant by name.
/// `before_each`, if any, runs before each variant's spawn, untimed.
fn compare(
    title: &str,
    variants: &mut [Variant],
    rounds: usize,
    before_each: Option<&dyn Fn()>,
) -> Vec<(&'static str, Duration)> {
    let warmup = (rounds / 10).max(5);
    let mut order: Vec<usize> = (0..variants.len()).collect();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for round in 0..warmup + rounds {
        for i in (1..order.len()).rev() {
            // xorshift64: a fixed, dependency-free sequence is random enough to vary the order.
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            order.swap(i, (seed % (i as u64 + 1)) as usize);
        }
        for &index in &order {
            let variant = &mut variants[index];
            if let Some(before) = before_each {
                before();
            }
            let start = Instant::now();
            (variant.run)();
            let took = start.elapsed();
            if round >= warmup {
                variant.samples.push(took);
            }
        }
    }
    let p50s: Vec<(&'static str, Duration)> = variants
        .iter_mut()
        .map(|v| {
            v.samples.sort_unstable();
            (v.name, percentile(&v.samples, 0.5))
        })
        .collect();
    let p50_of = |name: &str| {
        p50s.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| *d)
            .unwrap()
    };
    println!("\n### {title} ({rounds} rounds, interleaved)\n");
    println!("| variant | p50 ms | p90 ms | p50 / floor | p50 / raw clone doing the same work |");
    println!("|---|---:|---:|---:|---:|");
    for v in variants.iter() {
        let p50 = percentile(&v.samples, 0.5);
        let ratio = |base: Duration| p50.as_secs_f64() / base.as_secs_f64();
        let same_work = v
            .same_work
            .map_or(String::new(), |name| format!("{:.3}", ratio(p50_of(name))));
        println!(
            "| {} | {:.3} | {:.3} | {:.3} | {same_work} |",
            v.name,
            ms(p50),
            ms(percentile(&v.samples, 0.9)),
            ratio(p50_of(FLOOR)),
        );
    }
    p50s
}

const FLOOR: &str = "floor: raw clone(VM|VFORK) + execve";
const RAW_FULL: &str = "raw clone + the full profile's system calls";
const POSIX_SPAWN: &str = "posix_spawn (glibc)";
const SPROUT_PLAIN: &str = "sprout plain";
const NS_FLOOR: &str = "raw clone + new PID/mount/UTS/IPC namespaces";
const RAW_PLAIN: &str = "raw clone + sprout plain's system calls";

/// The variants to compare; `full` and `ns` are `None` where this machine cannot run them
/// (not root), and `slow` adds the fork-based launchers.
fn variants<'a>(
    target: &'a Target,
    plain: &'a Spec,
    full: Option<(&'a Spec, &'a RawProfile)>,
    ns: Option<&'a Spec>,
    slow: bool,
) -> Vec<Variant<'a>> {
    let v = |name, same_work, run: Box<dyn Fn() + 'a>| Variant {
        name,
        same_work,
        run,
        samples: Vec::new(),
    };
    let mut list = vec![
        v(FLOOR, None, Box::new(|| raw_clone(target, 0, None))),
        v(POSIX_SPAWN, None, Box::new(|| posix_spawn(target))),
        v(
            "Rust std Command",
            None,
            Box::new(|| std_command(target, false)),
        ),
        v(RAW_PLAIN, None, Box::new(|| raw_clone_plain(target))),
        v(
            SPROUT_PLAIN,
            Some(RAW_PLAIN),
            Box::new(|| sprout_run(plain)),
        ),
    ];
    if let Some((full, raw)) = full {
        list.push(v(
            RAW_FULL,
            None,
            Box::new(|| raw_clone(target, 0, Some(raw))),
        ));
        list.push(v(
            "sprout full profile",
            Some(RAW_FULL),
            Box::new(|| sprout_run(full)),
        ));
    }
    if let Some(ns) = ns {
        list.push(v(
            NS_FLOOR,
            None,
            Box::new(|| raw_clone(target, NS_FLAGS, None)),
        ));
        list.push(v(
            "sprout + new PID/mount/UTS/IPC namespaces",
            Some(NS_FLOOR),
            Box::new(|| sprout_run(ns)),
        ));
    }
    if slow {
        list.push(v("fork + execve", None, Box::new(|| fork_exec(target))));
        list.push(v(
            "Rust std Command .uid().gid()",
            None,
            Box::new(|| std_command(target, true)),
        ));
    }
    list
}

/// What a caller that forks now and then (helper children, `multiprocessing` with fork, test
/// runners) does between two spawns: a copy of itself that exits at once and is reaped.
fn fork_and_reap() {
    // SAFETY: the copy only calls _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: ends the copy at once.
        unsafe { libc::_exit(0) };
    }
    assert!(pid > 0, "fork: {}", std::io::Error::last_os_error());
    waitpid(pid);
}

/// The variants of the "caller forks between spawns" case.
fn forking_variants<'a>(target: &'a Target, plain: &'a Spec) -> Vec<Variant<'a>> {
    let v = |name, run: Box<dyn Fn() + 'a>| Variant {
        name,
        same_work: None,
        run,
        samples: Vec::new(),
    };
    vec![
        v(FLOOR, Box::new(|| raw_clone(target, 0, None))),
        v(POSIX_SPAWN, Box::new(|| posix_spawn(target))),
        v(SPROUT_PLAIN, Box::new(|| sprout_run(plain))),
    ]
}

/// The "caller forks between spawns" case at the caller's present size; returns sprout plain's
/// p50 over posix_spawn's and over the floor's.
fn compare_forking(target: &Target, plain: &Spec, rounds: usize) -> (f64, f64) {
    let p50s = compare(
        &format!(
            "caller RSS {} MiB, forking a copy (which exits at once, reaped) before each spawn",
            rss_kib() / 1024
        ),
        &mut forking_variants(target, plain),
        rounds,
        Some(&fork_and_reap),
    );
    let p50 = |name: &str| p50s.iter().find(|(n, _)| *n == name).unwrap().1;
    let sprout = p50(SPROUT_PLAIN).as_secs_f64();
    (
        sprout / p50(POSIX_SPAWN).as_secs_f64(),
        sprout / p50(FLOOR).as_secs_f64(),
    )
}

/// `spec` when sprout can run it here, else `None` after saying why.
fn usable(name: &str, spec: Spec) -> Option<Spec> {
    match sprout::run(&spec) {
        Ok(_) => Some(spec),
        Err(error) => {
            println!("{name}: not measured: {error}");
            None
        }
    }
}

/// Touches `gib` GiB of anonymous memory, so that a fork has that many page tables to copy.
fn grow_rss(gib: usize) -> Vec<u8> {
    let mut memory = vec![0u8; gib << 30];
    for page in memory.chunks_mut(4096) {
        page[0] = 1;
    }
    memory
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

const SLICES: usize = 6;
const SLICE: Duration = Duration::from_millis(500);

/// Spawns per second of each variant with `threads` threads spawning at once, measured in
/// alternating slices so that drift hits both alike.
fn throughput(threads: usize, variants: [&(dyn Fn() + Sync); 2]) -> [f64; 2] {
    let mut counts = [0u64; 2];
    let mut times = [Duration::ZERO; 2];
    for slice in 0..SLICES * 2 {
        let which = slice % 2;
        let stop = AtomicBool::new(false);
        let count = AtomicU64::new(0);
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    while !stop.load(Ordering::Relaxed) {
                        variants[which]();
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
            std::thread::sleep(SLICE);
            stop.store(true, Ordering::Relaxed);
        });
        counts[which] += count.load(Ordering::Relaxed);
        times[which] += start.elapsed();
    }
    [0, 1].map(|i| counts[i] as f64 / times[i].as_secs_f64())
}

/// Heap bytes the library holds per tracked process, and after they are all waited for.
fn memory_per_process(plain: &Spec) {
    const N: usize = 1000;
    let mut pids = Vec::with_capacity(N);
    sprout_run(plain); // first-use allocations (the table itself, this thread's stack area)
    let before = HEAP_BYTES.load(Ordering::Relaxed);
    for _ in 0..N {
        pids.push(sprout::spawn(plain).unwrap().pid);
    }
    let live = HEAP_BYTES.load(Ordering::Relaxed);
    for pid in &pids {
        sprout::wait(*pid, None).unwrap();
    }
    let after = HEAP_BYTES.load(Ordering::Relaxed);
    println!("\n### Library memory per tracked process\n");
    println!(
        "{N} live (unwaited) processes: {:.0} heap bytes each; after waiting for all: {:+} bytes in all",
        (live - before) as f64 / N as f64,
        after - before
    );
}

fn main() {
    // `cargo bench` passes --bench; nothing else is accepted.
    let rounds: usize = std::env::var("SPROUT_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let big_gib: usize = std::env::var("SPROUT_BENCH_RSS_GIB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);

    let bare = std::env::var("SPROUT_BENCH_PROGRAM").is_ok_and(|p| p == "bare");
    let target = Target::new(build_nothing(bare));
    let plain = Spec::new(vec![target.path.clone()]);
    if std::env::var("SPROUT_BENCH_ONLY").is_ok_and(|only| only == "many-fds") {
        many_fds(&plain, (rounds / 10).max(30));
        return;
    }
    if std::env::var("SPROUT_BENCH_ONLY").is_ok_and(|only| only == "abi11") {
        abi11_properties(&target, &plain, rounds);
        return;
    }
    let full = usable("sprout full profile", full_profile(&plain));
    let filter = small_seccomp_filter();
    let raw = RawProfile {
        last_capability: std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .unwrap()
            .trim()
            .parse()
            .unwrap(),
        seccomp: libc::sock_fprog {
            len: filter.len() as u16,
            filter: filter.as_ptr().cast_mut(),
        },
    };
    let full = full.as_ref().map(|spec| (spec, &raw));
    let ns = usable("sprout + namespaces", namespaced(&plain));

    println!("## sprout spawn benchmark\n");
    println!("machine: {}", machine());
    if let Some(priority) = std::env::var("SPROUT_BENCH_FIFO")
        .ok()
        .and_then(|p| p.parse::<i32>().ok())
    {
        let param = libc::sched_param {
            sched_priority: priority,
        };
        // SAFETY: sched_setscheduler on this process with a param on this stack.
        let set = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
        assert_eq!(set, 0, "SCHED_FIFO: {}", std::io::Error::last_os_error());
        println!("scheduling: SCHED_FIFO, priority {priority}");
    }

    if std::env::var("SPROUT_BENCH_ONLY").is_ok_and(|only| only == "sandbox") {
        sandboxing(&target, &plain, rounds, big_gib);
        return;
    }
    let big_rounds = (rounds / 3).max(30);
    if std::env::var("SPROUT_BENCH_ONLY").is_ok_and(|only| only == "fork") {
        let forking_small = compare_forking(&target, &plain, rounds);
        let memory = grow_rss(big_gib);
        let forking_big = compare_forking(&target, &plain, big_rounds);
        drop(memory);
        print_forking(big_gib, forking_small, forking_big);
        return;
    }

    let small = compare(
        &format!("caller RSS {} MiB", rss_kib() / 1024),
        &mut variants(&target, &plain, full, ns.as_ref(), true),
        rounds,
        None,
    );
    let forking_small = compare_forking(&target, &plain, rounds);

    let memory = grow_rss(big_gib);
    let big = compare(
        &format!("caller RSS {} MiB", rss_kib() / 1024),
        &mut variants(&target, &plain, full, ns.as_ref(), true),
        big_rounds,
        None,
    );
    let forking_big = compare_forking(&target, &plain, big_rounds);
    drop(memory);
    print_forking(big_gib, forking_small, forking_big);

    let p50 =
        |set: &[(&str, Duration)], name: &str| set.iter().find(|(n, _)| *n == name).unwrap().1;
    let growth = |name| p50(&big, name).as_secs_f64() / p50(&small, name).as_secs_f64();
    println!(
        "\nat {big_gib} GiB / at small RSS, p50: sprout plain {:.3}, floor {:.3}, \
         posix_spawn {:.3}, fork + execve {:.1}",
        growth(SPROUT_PLAIN),
        growth(FLOOR),
        growth(POSIX_SPAWN),
        growth("fork + execve"),
    );

    println!(
        "\n### Throughput: spawns per second, all threads together \
         ({SLICES} alternating slices of {} ms per variant)\n",
        SLICE.as_millis()
    );
    println!("| threads | floor | sprout plain | sprout / floor | sprout / sprout with 1 thread |");
    println!("|---:|---:|---:|---:|---:|");
    let mut one_thread = 0.0;
    for threads in [1, 2, 4, 8] {
        let [floor, spawned] = throughput(
            threads,
            [&|| raw_clone(&target, 0, None), &|| sprout_run(&plain)],
        );
        if threads == 1 {
            one_thread = spawned;
        }
        println!(
            "| {threads} | {floor:.0} | {spawned:.0} | {:.2} | {:.2} |",
            spawned / floor,
            spawned / one_thread
        );
    }

    memory_per_process(&plain);

    many_fds(&plain, (rounds / 10).max(30));

    abi11_properties(&target, &plain, rounds);

    sandboxing(&target, &plain, rounds, big_gib);
}

/// Issue 14's features beside the spawns they add to, at a small caller and at `big_gib` GiB:
/// a paused spawn then started (its handshake: a socket pair, the pause and the verdict, and
/// the copy of the request) beside the plain spawn; Landlock's restriction and a seccomp
/// filter with its listener taken beside the same spawn with no_new_privs alone (and with the
/// filter alone). Each variant spawns and waits.
fn sandboxing(target: &Target, plain: &Spec, rounds: usize, big_gib: usize) {
    use sprout::landlock::{ACCESS_FS_ALL, ACCESS_FS_EXECUTE, ACCESS_FS_READ_FILE};
    use sprout::landlock::{Access, Beneath, PathRule, Ruleset};
    use std::os::fd::AsRawFd;

    let mut paused = plain.clone();
    paused.paused = true;
    let mut nnp = plain.clone();
    nnp.no_new_privs = true;
    // A ruleset that handles every file right and allows only the program.
    let ruleset = Ruleset {
        handled: Access {
            fs: ACCESS_FS_ALL,
            ..Access::default()
        },
        paths: vec![PathRule {
            beneath: Beneath::Path(target.path.clone()),
            access: ACCESS_FS_READ_FILE | ACCESS_FS_EXECUTE,
        }],
        ..Ruleset::default()
    }
    .create();
    let landlocked = ruleset.as_ref().ok().map(|(fd, _)| {
        let mut spec = nnp.clone();
        spec.landlock = Some(sprout::Landlock {
            ruleset: fd.as_raw_fd(),
            restrict_flags: 0,
        });
        spec
    });
    if let Err(error) = &ruleset {
        println!("Landlock: not measured: {error}");
    }
    let mut filtered = nnp.clone();
    filtered.seccomp_filter = small_seccomp_filter();
    let mut listened = filtered.clone();
    listened.seccomp_flags = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;

    const PAUSED: &str = "sprout paused, then started";
    const NNP: &str = "sprout + no_new_privs";
    const LANDLOCK: &str = "sprout + no_new_privs + Landlock";
    const FILTER: &str = "sprout + no_new_privs + seccomp filter";
    const LISTENER: &str = "sprout + no_new_privs + seccomp filter + its listener";
    fn v<'a>(name: &'static str, run: Box<dyn Fn() + 'a>) -> Variant<'a> {
        Variant {
            name,
            same_work: None,
            run,
            samples: Vec::new(),
        }
    }
    let variants = || {
        let mut list = vec![
            v(FLOOR, Box::new(|| raw_clone(target, 0, None))),
            v("sprout plain", Box::new(|| sprout_run(plain))),
            v(
                PAUSED,
                Box::new(|| {
                    let process = sprout::spawn(&paused).unwrap();
                    sprout::start(process.pid).unwrap();
                    let status = sprout::wait(process.pid, None).unwrap();
                    assert!(libc::WIFEXITED(status), "status {status:#x}");
                }),
            ),
            v(NNP, Box::new(|| sprout_run(&nnp))),
            v(FILTER, Box::new(|| sprout_run(&filtered))),
            v(
                LISTENER,
                Box::new(|| {
                    let process = sprout::spawn(&listened).unwrap();
                    drop(sprout::seccomp_listener(process.pid).unwrap());
                    let status = sprout::wait(process.pid, None).unwrap();
                    assert!(libc::WIFEXITED(status), "status {status:#x}");
                }),
            ),
        ];
        if let Some(spec) = &landlocked {
            list.push(v(LANDLOCK, Box::new(move || sprout_run(spec))));
        }
        list
    };
    let small = compare(
        &format!("Issue 14 features, caller RSS {} MiB", rss_kib() / 1024),
        &mut variants(),
        rounds,
        None,
    );
    let memory = grow_rss(big_gib);
    let big = compare(
        &format!("Issue 14 features, caller RSS {} MiB", rss_kib() / 1024),
        &mut variants(),
        (rounds / 3).max(30),
        None,
    );
    drop(memory);
    let us = |set: &[(&str, Duration)], name: &str| {
        set.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| d.as_secs_f64() * 1e6)
    };
    println!(
        "\n| feature | beside | small caller: µs more, ratio | {big_gib} GiB caller: µs more, ratio |"
    );
    println!("|---|---|---:|---:|");
    for (feature, base) in [
        (PAUSED, "sprout plain"),
        (LANDLOCK, NNP),
        (FILTER, NNP),
        (LISTENER, FILTER),
    ] {
        let cell = |set: &[(&str, Duration)]| match (us(set, feature), us(set, base)) {
            (Some(with), Some(without)) => {
                format!("{:+.1}, {:.3}", with - without, with / without)
            }
            _ => "-".to_owned(),
        };
        println!("| {feature} | {base} | {} | {} |", cell(&small), cell(&big));
    }
}

/// Spawn + wait of `plain` with about 20,000 fds open, closed by close_range or, in a thread
/// whose seccomp filter refuses close_range (as older container profiles do), by the
/// fallback: two threads, each spawning once per round when asked, in a new random order each
/// round. The filter stays on its thread (no TSYNC), so the other one uses close_range.
fn many_fds(plain: &Spec, rounds: usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit on a struct on this stack.
    unsafe {
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        limit.rlim_cur = limit.rlim_max.min(20_064);
        libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
    }
    // Room for the pidfds, pipes and stack areas of the spawns themselves.
    let wanted = (limit.rlim_cur as usize).saturating_sub(64).min(20_000);
    let mut files = Vec::new();
    while files.len() < wanted {
        match std::fs::File::open("/dev/null") {
            Ok(file) => files.push(file),
            Err(_) => break,
        }
    }
    let open = files.len();

    let run = |refuse_close_range: bool| {
        let (ask, asked) = std::sync::mpsc::channel::<()>();
        let (tell, told) = std::sync::mpsc::channel::<Duration>();
        std::thread::Builder::new()
            .spawn({
                let plain = plain.clone();
                move || {
                    if refuse_close_range {
                        refuse_close_range_on_this_thread();
                    }
                    for () in asked {
                        let start = Instant::now();
                        sprout_run(&plain);
                        tell.send(start.elapsed()).unwrap();
                    }
                }
            })
            .unwrap();
        (ask, told)
    };
    let workers = [run(false), run(true)];
    let mut samples = [Vec::new(), Vec::new()];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let warmup = (rounds / 10).max(3);
    for round in 0..warmup + rounds {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let first = (seed % 2) as usize;
        for which in [first, 1 - first] {
            workers[which].0.send(()).unwrap();
            let took = workers[which].1.recv().unwrap();
            if round >= warmup {
                samples[which].push(took);
            }
        }
    }
    let names = ["close_range", "fallback (close_range refused by seccomp)"];
    println!("\n### Closing the caller's fds: {open} open ({rounds} rounds, interleaved)\n");
    println!("| variant | p50 ms | p90 ms | p50 / close_range |");
    println!("|---|---:|---:|---:|");
    for v in &mut samples {
        v.sort_unstable();
    }
    let base = percentile(&samples[0], 0.5);
    for (name, v) in names.iter().zip(&samples) {
        let p50 = percentile(v, 0.5);
        println!(
            "| {name} | {:.3} | {:.3} | {:.2} |",
            ms(p50),
            ms(percentile(v, 0.9)),
            p50.as_secs_f64() / base.as_secs_f64()
        );
    }
    drop(workers);
    drop(files);
}

/// A seccomp filter on the calling thread only: close_range fails with EPERM.
fn refuse_close_range_on_this_thread() {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let filter = [
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0), // seccomp_data.nr
        libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt: 0,
            jf: 1,
            k: libc::SYS_close_range as u32,
        },
        stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        ),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    let program = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr().cast_mut(),
    };
    // SAFETY: no_new_privs and a filter for this thread; the kernel copies the program.
    unsafe {
        assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
        assert_eq!(
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &program
            ),
            0,
            "seccomp: {}",
            std::io::Error::last_os_error()
        );
    }
}

fn print_forking(big_gib: usize, small: (f64, f64), big: (f64, f64)) {
    println!(
        "\nforking a copy before each spawn, sprout plain p50 / posix_spawn p50: {:.3} at small \
         RSS, {:.3} at {big_gib} GiB; / floor p50: {:.3}, {:.3}",
        small.0, big.0, small.1, big.1
    );
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap().trim().to_string())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    format!("{cpu}, {cpus} CPUs, Linux {}", kernel.trim())
}

/// What each property of ABI 1.1 costs: sprout with it against sprout plain, beside a raw
/// clone making the same system calls against the floor, interleaved. A property should cost
/// sprout no more than its system calls cost the raw clone (the difference of differences is
/// noise), and a plain spawn nothing for the fields it leaves unset.
fn abi11_properties(target: &Target, plain: &Spec, rounds: usize) {
    type Property = (&'static str, fn(&mut Spec), Option<fn()>, i32);
    let properties: [Property; 12] = [
        (
            "pgid: a new group",
            |s| s.process_group = Some(sprout::ProcessGroup::New),
            Some(|| unsafe {
                libc::syscall(libc::SYS_setpgid, 0, 0);
            }),
            0,
        ),
        (
            "sigmask",
            |s| s.signal_mask = 1 << (libc::SIGUSR1 - 1),
            Some(|| unsafe {
                let mask: u64 = 1 << (libc::SIGUSR1 - 1);
                libc::syscall(libc::SYS_rt_sigprocmask, libc::SIG_SETMASK, &mask, 0, 8);
            }),
            0,
        ),
        (
            "keep ignored signals",
            |s| s.keep_ignored_signals = true,
            None,
            0,
        ),
        ("keep umask", |s| s.keep_umask = true, None, 0),
        (
            "oom_score_adj 500",
            |s| s.oom_score_adj = Some(500),
            Some(|| unsafe {
                let fd = libc::open(
                    c"/proc/self/oom_score_adj".as_ptr(),
                    libc::O_WRONLY | libc::O_CLOEXEC,
                );
                libc::write(fd, b"500".as_ptr().cast(), 3);
                libc::close(fd);
            }),
            0,
        ),
        (
            "sched: SCHED_BATCH nice 5",
            |s| {
                s.scheduler = Some(sprout::Scheduler {
                    policy: libc::SCHED_BATCH as u32,
                    nice: 5,
                    ..Default::default()
                })
            },
            Some(|| unsafe {
                let attr: [u32; 12] = [48, libc::SCHED_BATCH as u32, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0];
                libc::syscall(libc::SYS_sched_setattr, 0, attr.as_ptr(), 0);
            }),
            0,
        ),
        (
            "ioprio: best-effort 4",
            |s| s.io_priority = Some(sprout::IoPriority { class: 2, level: 4 }),
            Some(|| unsafe {
                libc::syscall(libc::SYS_ioprio_set, 1, 0, 2 << 13 | 4);
            }),
            0,
        ),
        (
            "cpu_set: CPU 0",
            |s| s.cpu_affinity = vec![1],
            Some(|| unsafe {
                let set: u64 = 1;
                let mut got = [0u64; 16];
                libc::syscall(libc::SYS_sched_setaffinity, 0, 8, &set);
                libc::syscall(libc::SYS_sched_getaffinity, 0, 128, got.as_mut_ptr());
            }),
            0,
        ),
        (
            "personality: ADDR_NO_RANDOMIZE",
            |s| s.personality = Some(0x0040000),
            Some(|| unsafe {
                libc::syscall(libc::SYS_personality, 0x0040000);
            }),
            0,
        ),
        (
            "root directory /",
            |s| s.root = Some(sprout::Root::Path(c"/".to_owned())),
            Some(|| unsafe {
                libc::syscall(libc::SYS_chroot, c"/".as_ptr());
                libc::syscall(libc::SYS_chdir, c"/".as_ptr());
            }),
            0,
        ),
        (
            "hostname, new UTS namespace",
            |s| {
                s.namespaces = vec![Namespace {
                    kind: libc::CLONE_NEWUTS,
                    fd: None,
                }];
                s.hostname = Some(c"bench".to_owned());
            },
            Some(|| unsafe {
                libc::syscall(libc::SYS_sethostname, c"bench".as_ptr(), 5);
            }),
            libc::CLONE_NEWUTS,
        ),
        (
            "ptrace (stop at exec, detach)",
            |s| s.ptrace = true,
            Some(|| unsafe {
                libc::syscall(libc::SYS_ptrace, libc::PTRACE_TRACEME, 0, 0, 0);
            }),
            0,
        ),
    ];
    let specs: Vec<Option<Spec>> = properties
        .iter()
        .map(|(name, set, _, _)| {
            let mut spec = plain.clone();
            set(&mut spec);
            usable(&format!("sprout + {name}"), spec)
        })
        .collect();
    fn v<'a>(
        name: &'static str,
        same_work: Option<&'static str>,
        run: Box<dyn Fn() + 'a>,
    ) -> Variant<'a> {
        Variant {
            name,
            same_work,
            run,
            samples: Vec::new(),
        }
    }
    let mut variants = vec![
        v(FLOOR, None, Box::new(|| raw_clone(target, 0, None))),
        v("sprout plain", None, Box::new(|| sprout_run(plain))),
    ];
    let names: Vec<(&'static str, &'static str)> = properties
        .iter()
        .map(|(name, ..)| {
            let leaked = |text: String| &*Box::leak(text.into_boxed_str());
            (
                leaked(format!("sprout + {name}")),
                leaked(format!("raw clone + {name}")),
            )
        })
        .collect();
    for ((property, spec), (sprout_name, raw_name)) in properties.iter().zip(&specs).zip(&names) {
        let Some(spec) = spec else { continue };
        let (name, _, step, flags) = *property;
        let traced = name.starts_with("ptrace");
        variants.push(v(
            raw_name,
            None,
            Box::new(move || {
                let pid = raw_clone_child(target, flags, None, step);
                if traced {
                    detach_at_exec(pid);
                }
                waitpid(pid);
            }),
        ));
        variants.push(v(
            sprout_name,
            Some(raw_name),
            Box::new(move || {
                let process = sprout::spawn(spec).unwrap_or_else(|e| panic!("sprout: {e}"));
                if traced {
                    detach_at_exec(process.pid);
                }
                let status = sprout::wait(process.pid, None).unwrap();
                assert!(libc::WIFEXITED(status), "status {status:#x}");
            }),
        ));
    }
    let p50s = compare(
        "ABI 1.1 properties, each beside its own system calls",
        &mut variants,
        rounds,
        None,
    );
    let p50 = |name: &str| {
        p50s.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| d.as_secs_f64() * 1e6)
    };
    let (floor, sprout_plain) = (p50(FLOOR).unwrap(), p50("sprout plain").unwrap());
    println!("\n| property | sprout + it − sprout plain, µs | raw clone + its calls − floor, µs |");
    println!("|---|---:|---:|");
    for (sprout_name, raw_name) in &names {
        if let (Some(with), Some(raw)) = (p50(sprout_name), p50(raw_name)) {
            let property = sprout_name.trim_start_matches("sprout + ");
            println!(
                "| {property} | {:+.1} | {:+.1} |",
                with - sprout_plain,
                raw - floor
            );
        }
    }
}

/// A traced child's stop at its exec: wait for it (__WALL: it is a tracee), then detach.
fn detach_at_exec(pid: i32) {
    let mut status = 0;
    // SAFETY: waits for and detaches from a child this thread traces.
    unsafe {
        while libc::waitpid(pid, &mut status, libc::__WALL) < 0 {}
        assert!(libc::WIFSTOPPED(status), "status {status:#x}");
        libc::ptrace(libc::PTRACE_DETACH, pid, 0, 0);
    }
}
