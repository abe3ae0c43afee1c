//! `sprout run`'s environment: --env over --inherit-env.

use std::process::Command;

/// The environment `sprout run ARGS` gives a program, as env(1) prints its environ (every
/// entry, duplicates included: a shell would keep one), with only HOME=/inherited in sprout's own.
fn run(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_sprout"))
        .arg("run")
        .args(args)
        .args(["--", "/usr/bin/env"])
        .env_clear()
        .env("HOME", "/inherited")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn an_env_flag_replaces_an_inherited_variable_of_the_same_name() {
    let env = run(&["--inherit-env", "--env", "HOME=/given", "--env", "HOMEX=1"]);
    let homes: Vec<&str> = env.lines().filter(|l| l.starts_with("HOME=")).collect();
    assert_eq!(homes, ["HOME=/given"], "{env}");
    assert!(env.lines().any(|l| l == "HOMEX=1"), "{env}");
    // Without --inherit-env there is nothing to replace.
    let env = run(&["--env", "HOME=/given"]);
    assert_eq!(env.lines().collect::<Vec<_>>(), ["HOME=/given"], "{env}");
}
