//! `sprout`: the command-line front end of the library.
//!
//! `sprout run [--env K=V]... [--inherit-env] [--cwd DIR] [--container ID] -- PROG ARGS...`
//! starts PROG with the caller's stdin, stdout and stderr and exits with its exit code
//! (128 + the signal number when a signal ended it).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "sprout",
    version,
    about = "Start a process with exactly the properties asked for"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a program and exit with its exit code.
    Run {
        /// Set an environment variable (the environment is otherwise empty).
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// Start from this process's environment (--env entries replace variables of the same
        /// name).
        #[arg(long)]
        inherit_env: bool,
        /// Working directory of the program.
        #[arg(long, value_name = "DIR", default_value = "/")]
        cwd: String,
        /// Label the process with a container id.
        #[arg(long, value_name = "ID")]
        container: Option<String>,
        /// The program and its arguments; a name without '/' is searched in the PATH of the
        /// new environment.
        #[arg(required = true, last = true, value_name = "PROG ARGS")]
        argv: Vec<String>,
    },
}

fn main() -> ExitCode {
    let Command::Run {
        env,
        inherit_env,
        cwd,
        container,
        argv,
    } = Cli::parse().command;
    match run(env, inherit_env, cwd, container, argv) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("sprout: {error}");
            ExitCode::from(127)
        }
    }
}

fn run(
    env: Vec<String>,
    inherit_env: bool,
    cwd: String,
    container: Option<String>,
    argv: Vec<String>,
) -> sprout::Result<u8> {
    let mut spec = sprout::Spec::from_strs(&argv)?;
    if inherit_env {
        spec.env = sprout::spec::caller_environment();
    }
    for entry in &env {
        // An --env entry replaces an inherited variable of the same name: the program would
        // otherwise see both, and getenv the inherited one first.
        let name = entry
            .split_once('=')
            .map_or(entry.as_str(), |(name, _)| name);
        spec.env
            .retain(|var| var.as_bytes().split(|&b| b == b'=').next() != Some(name.as_bytes()));
        spec.env.push(sprout::spec::cstring(entry, "--env")?);
    }
    spec.working_directory = sprout::spec::cstring(&cwd, "--cwd")?;
    spec.container_id = container;
    spec.fds = vec![Some(0), Some(1), Some(2)];
    spec.terminal = sprout::Terminal::Ignore;
    let status = sprout::run(&spec)?;
    Ok(if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status) as u8
    } else {
        128 + libc::WTERMSIG(status) as u8
    })
}
