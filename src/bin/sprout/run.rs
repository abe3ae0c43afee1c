//! `sprout run`: start a program with the properties the flags (or a process object) give,
//! relay signals (and a terminal), and exit as it did.

use std::path::Path;

use clap::Args;

use crate::flags::{Context, ProcessFlags};
use crate::relay;
use crate::status::Outcome;

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub flags: ProcessFlags,
    /// The program and its arguments; a name without '/' is searched in the PATH of the new
    /// environment (or a default PATH when it has none).
    #[arg(last = true, value_name = "PROG ARGS")]
    pub argv: Vec<String>,
}

pub fn main(args: RunArgs) -> Outcome<u8> {
    let launch = args.flags.launch(
        &args.argv,
        &Context {
            root: Path::new("/"),
            base_env: None,
            base_caps: None,
            base_credentials: None,
        },
    )?;
    relay::run(launch, None)
}
