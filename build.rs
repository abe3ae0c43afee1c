//! Generates the C header from src/ffi with cbindgen, and gives the shared library its SONAME
//! and a version script that exports only `sprout_*`.
//!
//! The header is written to `$OUT_DIR/sprout.h`; `include/sprout.h` is the committed copy that
//! C callers and the C tests use, and a test fails when the two differ. Refresh the committed
//! copy with `SPROUT_UPDATE_HEADER=1 cargo build`.

use std::env;
use std::path::PathBuf;

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());

    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=sprout.map");
    println!("cargo:rerun-if-env-changed=SPROUT_UPDATE_HEADER");

    let config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .expect("cbindgen.toml is readable and valid");
    let bindings = cbindgen::generate_with_config(&root, config)
        .expect("cbindgen understands src/ffi (see the error above)");
    bindings.write_to_file(out.join("sprout.h"));
    if env::var_os("SPROUT_UPDATE_HEADER").is_some() {
        bindings.write_to_file(root.join("include/sprout.h"));
    }

    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libsprout.so.1");
    println!(
        "cargo:rustc-cdylib-link-arg=-Wl,--version-script={}",
        root.join("sprout.map").display()
    );
}
