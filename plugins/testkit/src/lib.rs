//! Finds or builds the plugin libraries Weir's tests and benchmarks load:
//!
//! - [`cdylib`]: a Rust plugin crate of the workspace. `cargo test --workspace` already builds
//!   them (they are `cdylib` + `rlib`, and their doc tests need the library), so in CI this only
//!   finds the `.so`; when it is missing or older than its sources (a test run on its own after
//!   an edit), it runs `cargo build -p` once, with the same target directory and profile;
//! - [`c_example`]: the C example plugin, compiled with the system C compiler;
//! - [`wrong_major`], [`no_entry`], [`panic_abort`], [`not_a_library`]: libraries the loader
//!   must refuse.
//!
//! Everything is built once per process (guarded by a lock) into the target directory.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists")
}

/// The target directory and profile directory name (`debug`, `release`) of the running test
/// or benchmark executable (`<target>/<profile>/deps/<exe>`).
fn target_and_profile() -> (PathBuf, String) {
    let exe = std::env::current_exe().expect("the current executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in <target>/<profile>/deps");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("debug")
        .to_string();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            profile_dir
                .parent()
                .expect("a target directory")
                .to_path_buf()
        });
    (target, profile)
}

/// Where this process keeps libraries it compiles itself.
fn fixture_dir() -> PathBuf {
    let (target, profile) = target_and_profile();
    let dir = target.join(profile).join("weir-plugin-fixtures");
    std::fs::create_dir_all(&dir).expect("creating the fixture directory");
    dir
}

fn built() -> &'static Mutex<HashMap<String, PathBuf>> {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    BUILT.get_or_init(Default::default)
}

/// Runs `make` once per `key` in this process and remembers its path.
fn once(key: &str, make: impl FnOnce() -> PathBuf) -> PathBuf {
    let mut built = built().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(key) {
        return path.clone();
    }
    let path = make();
    built.insert(key.to_string(), path.clone());
    path
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> Option<SystemTime> {
    let mut latest = modified(dir);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest(&path)
        } else {
            modified(&path)
        };
        latest = latest.max(time);
    }
    latest
}

/// The directory of a plugin package of this workspace.
fn package_dir(package: &str) -> PathBuf {
    let root = workspace_root();
    let dir = match package {
        "weir-plugin-fault" => root.join("plugins/fault"),
        other => root.join("plugins/examples").join(
            other
                .strip_prefix("weir-plugin-")
                .unwrap_or_else(|| panic!("{other} is not a plugin package")),
        ),
    };
    assert!(
        dir.join("Cargo.toml").exists(),
        "no package at {}",
        dir.display()
    );
    dir
}

/// The `.so` of a Rust plugin package of the workspace (`weir-plugin-redact`), built if it is
/// missing or older than its sources or the SDK's.
pub fn cdylib(package: &str) -> PathBuf {
    once(package, || {
        let (target, profile) = target_and_profile();
        let file = format!("lib{}.so", package.replace('-', "_"));
        let candidates = [
            target.join(&profile).join(&file),
            target.join(&profile).join("deps").join(&file),
        ];
        let root = workspace_root();
        let sources = [
            package_dir(package),
            root.join("plugins/sdk"),
            root.join("plugins/abi"),
        ]
        .iter()
        .filter_map(|d| newest(d))
        .max();
        let fresh =
            |path: &PathBuf| modified(path).is_some_and(|built| sources.is_none_or(|s| built >= s));
        if let Some(path) = candidates
            .iter()
            .filter(|p| fresh(p))
            .max_by_key(|p| modified(p))
        {
            return path.clone();
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let mut command = Command::new(cargo);
        command
            .current_dir(&root)
            .args(["build", "--quiet", "-p", package])
            .env("CARGO_TARGET_DIR", &target);
        if profile == "release" {
            command.arg("--release");
        }
        let status = command.status().expect("running cargo build");
        assert!(status.success(), "cargo build -p {package} failed");
        let path = candidates[0].clone();
        assert!(
            path.exists(),
            "cargo built {package} but {} is missing",
            path.display()
        );
        path
    })
}

/// Compiles C sources into a shared library with the system C compiler (`$CC` or `cc`).
fn compile_c(name: &str, source: &Path, defines: &[&str]) -> PathBuf {
    once(name, || {
        let out = fixture_dir().join(format!("lib{name}.so"));
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
        let mut command = Command::new(&cc);
        command
            .args([
                "-shared", "-fPIC", "-O2", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I",
            ])
            .arg(workspace_root().join("plugins/abi"));
        for define in defines {
            command.arg(format!("-D{define}"));
        }
        let output = command
            .arg("-o")
            .arg(&out)
            .arg(source)
            .output()
            .unwrap_or_else(|e| panic!("running the C compiler `{cc}`: {e}"));
        assert!(
            output.status.success(),
            "compiling {}:\n{}",
            source.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        out
    })
}

/// The C example plugin (`drop_spans` processor).
pub fn c_example() -> PathBuf {
    compile_c(
        "weir_drop_spans",
        &workspace_root().join("plugins/examples/c-drop-spans/drop_spans.c"),
        &[],
    )
}

/// A library whose descriptor is for ABI 2.3.
pub fn wrong_major() -> PathBuf {
    compile_c(
        "weir_odd_wrong_major",
        &workspace_root().join("plugins/testkit/fixtures/odd_library.c"),
        &["ODD_WRONG_MAJOR"],
    )
}

/// A shared library without the entry symbol.
pub fn no_entry() -> PathBuf {
    compile_c(
        "weir_odd_no_entry",
        &workspace_root().join("plugins/testkit/fixtures/odd_library.c"),
        &["ODD_NO_ENTRY"],
    )
}

/// A Rust plugin library built with `-C panic=abort` (by `rustc` directly: one file, no
/// dependencies, about a second).
pub fn panic_abort() -> PathBuf {
    once("panic_abort", || {
        let out = fixture_dir().join("libweir_odd_panic_abort.so");
        let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
        let output = Command::new(&rustc)
            .args([
                "--edition",
                "2024",
                "--crate-type",
                "cdylib",
                "-C",
                "panic=abort",
            ])
            .args(["--crate-name", "weir_odd_panic_abort", "-o"])
            .arg(&out)
            .arg(workspace_root().join("plugins/testkit/fixtures/abort_plugin.rs"))
            .output()
            .unwrap_or_else(|e| panic!("running `{rustc}`: {e}"));
        assert!(
            output.status.success(),
            "building the panic=abort fixture:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        out
    })
}

/// A file named like a library that is not one.
pub fn not_a_library() -> PathBuf {
    once("not_a_library", || {
        let out = fixture_dir().join("libweir_odd_text.so");
        std::fs::write(&out, "this is a text file, not an ELF shared object\n")
            .expect("writing the fixture");
        out
    })
}
