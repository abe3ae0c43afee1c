//! The library installed the way a user installs it (`install.sh`), into a prefix of this
//! test run, from the libraries this `cargo test` built.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::c::{built_libraries, check, root};

pub struct Installed {
    pub prefix: PathBuf,
    /// A libdir other than the default, so that a test shows pkg-config follows it.
    pub libdir: PathBuf,
    pub includedir: PathBuf,
    pub pkgconfigdir: PathBuf,
}

/// Installs once per test binary, into target/tmp/install-<binary>, emptied first.
pub fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let binary = std::env::current_exe().unwrap();
        let name = binary.file_stem().unwrap().to_string_lossy().into_owned();
        let prefix = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("install-{name}"));
        let _ = std::fs::remove_dir_all(&prefix);
        check(
            Command::new(root().join("install.sh"))
                .arg("--prefix")
                .arg(&prefix)
                .args(["--libdir", "lib64", "--from"])
                .arg(built_libraries()),
        );
        Installed {
            libdir: prefix.join("lib64"),
            includedir: prefix.join("include"),
            pkgconfigdir: prefix.join("lib64/pkgconfig"),
            prefix,
        }
    })
}

impl Installed {
    /// `command` with PKG_CONFIG_PATH naming the installed sprout.pc, as a user sets it for a
    /// prefix outside pkg-config's default search path.
    pub fn with_pkg_config<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        let mut path = OsString::from(&self.pkgconfigdir);
        if let Some(old) = std::env::var_os("PKG_CONFIG_PATH") {
            path.push(":");
            path.push(old);
        }
        command.env("PKG_CONFIG_PATH", path)
    }

    /// `command` finding the installed libsprout.so.1 at run time (LD_LIBRARY_PATH).
    pub fn with_library_path<'a>(&self, command: &'a mut Command) -> &'a mut Command {
        command.env("LD_LIBRARY_PATH", &self.libdir)
    }

    /// The words pkg-config prints for `args`.
    pub fn pkg_config(&self, args: &[&str]) -> Vec<String> {
        let out = check(self.with_pkg_config(Command::new("pkg-config").args(args).arg("sprout")));
        out.split_whitespace().map(str::to_owned).collect()
    }

    pub fn lib(&self, name: &str) -> PathBuf {
        self.libdir.join(name)
    }
}

/// Whether `path` is a symbolic link whose target is `target`, as written.
pub fn links_to(path: &Path, target: &str) -> bool {
    std::fs::read_link(path).is_ok_and(|t| t == Path::new(target))
}
