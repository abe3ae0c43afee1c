//! `sprout`: the command-line front end of the library.
//!
//! `main` parses and dispatches; `run` and `exec` are the two ways to start a program,
//! `flags` turns the flags they share into a `Spec`, `oci` reads an OCI `process` object,
//! `names` reads what people type (capabilities, signals, users, ...), `relay` forwards
//! signals and relays a terminal until the program ends, `status` decides the exit code.

mod exec;
mod flags;
mod names;
mod oci;
mod relay;
mod run;
mod status;

use std::process::ExitCode;

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

#[derive(Subcommand)]
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
  Namespaces and cgroups:
    sprout run --unshare user,mnt,pid --uid-map 0:100000:65536 --gid-map 0:100000:65536 --uid 0 --gid 0 -- sh
    sprout run --join-ns net=/run/netns/blue -- ip addr
    sprout run --cgroup /sys/fs/cgroup/jobs/build -- make
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

fn main() -> ExitCode {
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
