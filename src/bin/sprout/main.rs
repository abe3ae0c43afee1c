//! `sprout`: the command-line front end of the library.
//!
//! `main` parses and dispatches; `run` and `exec` are the two ways to start a program,
//! `flags` turns the flags they share into a `Spec`, `oci` reads an OCI `process` object,
//! `names` reads what people type (capabilities, signals, users, ...), `relay` forwards
//! signals and relays a terminal until the program ends, `status` decides the exit code.
#![cfg_attr(not(test), no_main)]

mod attrs;
mod exec;
mod flags;
mod landlock;
mod names;
mod oci;
mod relay;
mod run;
mod status;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sprout",
    version,
    about = "Start a process with exactly the properties asked for",
    after_help = "Exit status: the program's; 128+N when signal N ended it; 127 when it was not \
                  found, 126 when it could not be run, 125 when sprout refused the request."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// `defer`: a subcommand's flags are built only when it is the one invoked (clap otherwise
/// builds every flag of every subcommand to parse any of them, a tenth of sprout's own
/// start-up; BENCHMARKS.md).
#[derive(Subcommand)]
#[command(defer = true)]
enum Command {
    /// Run a program and exit with its exit status.
    #[command(after_help = RUN_EXAMPLES)]
    Run(Box<run::RunArgs>),
    /// Run a program inside a running container (or beside a process): in its namespaces,
    /// cgroups and resource limits, as `runc exec` does.
    #[command(after_help = EXEC_EXAMPLES)]
    Exec(Box<exec::ExecArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

const RUN_EXAMPLES: &str = "\
Examples:
  Program and environment:
    sprout run --env PATH=/usr/bin:/bin --cwd /tmp -- sh -c 'pwd; env'
    sprout run --inherit-env --env LANG=C -- make
  Identity and capabilities:
    sprout run --uid nobody --cap-drop all -- id
    sprout run --uid 1000 --gid 1000 --groups 27,100 -- id
    sprout run --uid 1000 --gid 1000 --cap-drop all --cap-add net_bind_service -- ./server
  Limits and security:
    sprout run --rlimit nofile=1024:4096 --rlimit core=0 --umask 077 --no-new-privs -- sh
    sprout run --seccomp filter.bpf --no-new-privs -- ./untrusted
    sprout run --no-new-privs --landlock-ro /usr --landlock-rw /tmp/work --landlock-bind 8080 -- ./server
  Scheduling and process attributes (chrt, ionice, taskset, choom, setarch):
    sprout run --nice 10 --ioprio idle --cpus 0-1 --oom-score-adj 500 -- make
    sprout run --sched fifo:10 --pgroup new --sigmask INT -- ./rt-task
    sprout run --personality addr-no-randomize --ptrace -- ./debuggee
  Namespaces and cgroups:
    sprout run --unshare user,mnt,pid --uid-map 0:100000:65536 --gid-map 0:100000:65536 --uid 0 --gid 0 -- sh
    sprout run --join-ns net=/run/netns/blue -- ip addr
    sprout run --cgroup /sys/fs/cgroup/jobs/build -- make
    sprout run --unshare uts --hostname box --chroot /srv/root --cwd / -- sh
  Process object (OCI runtime spec), stdio and terminal:
    sprout run --process process.json
    sprout run --tty -- bash
    sprout run --fd 3=5 --fd 0=- -- prog
    sprout run --new-session -- untrusted-tool";

const EXEC_EXAMPLES: &str = "\
Examples:
    sprout exec --state <(runc state web) --process process.json
    sprout exec --pid 4242 --uid 1000 --gid 1000 --cap-drop all -- ps aux
    sprout exec --pid 4242 --ns net,mnt -- ip addr
    sprout exec --pid 4242 --tty -- sh";

/// The C entry point rather than std's `fn main`: std's start-up for a `fn main` (the main
/// thread's stack guard, which glibc finds by reading /proc/self/maps; an alternate signal
/// stack; a poll of fds 0-2) costs some 0.13 ms of CPU, a quarter of sprout's own start-up
/// (BENCHMARKS.md). Of what it does, sprout needs only SIGPIPE ignored, so that writing to a
/// closed stdout is an error rather than death with the terminal left raw; and it flushes
/// stdout itself. A panic is caught here, after the guards it unwinds through (the raw terminal
/// among them) have done their work, and exits 125.
#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    // SAFETY: signal() with a constant disposition, before any other thread exists.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    let code = std::panic::catch_unwind(sprout_main).unwrap_or(125);
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::ffi::c_int::from(code)
}

#[cfg_attr(test, allow(dead_code))]
fn sprout_main() -> u8 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return status::usage_error(error),
    };
    status::exit(match cli.command {
        Command::Run(args) => run::main(*args),
        Command::Exec(args) => exec::main(*args),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "sprout", &mut std::io::stdout());
            Ok(0)
        }
    })
}
