//! Keeps `weir_plugin.h` identical to the Rust types: compiles a C program that includes the
//! header and prints the size of every struct, the offset of every field and the value of every
//! constant, as the C compiler sees them, and compares each with what Rust says.

use std::fmt::Write as _;
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::Command;

use weir_plugin_abi::*;

/// `(struct, its size, [(field, offset)])`, from one list so C and Rust see the same names.
macro_rules! layouts {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {
        vec![$((
            stringify!($ty),
            size_of::<$ty>(),
            vec![$((stringify!($field), offset_of!($ty, $field))),*],
        )),*]
    };
}

/// A struct's name, size, and each field's name and offset.
type Layout = (&'static str, usize, Vec<(&'static str, usize)>);

macro_rules! constants {
    ($($rust:expr => $c:literal),* $(,)?) => {
        vec![$(($c, u64::from($rust))),*]
    };
}

#[test]
fn c_header_matches_rust_types() {
    let layouts: Vec<Layout> = layouts! {
        WeirStr { ptr, len }
        WeirBytes { ptr, len }
        WeirLibraryPrefix { magic, abi_major, abi_minor, struct_size, flags }
        WeirHostV1 { struct_size, max_log_level, ctx, log, emit, complete, counter_add, answer }
        WeirComponentV1 {
            struct_size, kind, signals, reserved, type_name, config_schema,
            create, start, consume, shutdown, destroy, pairs, reserved2,
        }
        WeirLibraryV1 { prefix, name, version, sdk_version, components, component_count }
    };
    let constants: Vec<(&str, u64)> = constants! {
        ABI_MAJOR => "WEIR_ABI_MAJOR",
        ABI_MINOR => "WEIR_ABI_MINOR",
        WEIR_PLUGIN_MAGIC => "WEIR_PLUGIN_MAGIC",
        WEIR_OK => "WEIR_OK",
        WEIR_PENDING => "WEIR_PENDING",
        WEIR_FULL => "WEIR_FULL",
        WEIR_RETRYABLE => "WEIR_RETRYABLE",
        WEIR_PERMANENT => "WEIR_PERMANENT",
        WEIR_INVALID_ARGUMENT => "WEIR_INVALID_ARGUMENT",
        WEIR_UNSUPPORTED => "WEIR_UNSUPPORTED",
        WEIR_SHUTTING_DOWN => "WEIR_SHUTTING_DOWN",
        WEIR_PANICKED => "WEIR_PANICKED",
        WEIR_INTERNAL => "WEIR_INTERNAL",
        WEIR_KIND_RECEIVER => "WEIR_KIND_RECEIVER",
        WEIR_KIND_PROCESSOR => "WEIR_KIND_PROCESSOR",
        WEIR_KIND_EXPORTER => "WEIR_KIND_EXPORTER",
        WEIR_KIND_CONNECTOR => "WEIR_KIND_CONNECTOR",
        WEIR_PAIR_TRACES_TRACES => "WEIR_PAIR_TRACES_TRACES",
        WEIR_PAIR_TRACES_METRICS => "WEIR_PAIR_TRACES_METRICS",
        WEIR_PAIR_TRACES_LOGS => "WEIR_PAIR_TRACES_LOGS",
        WEIR_PAIR_METRICS_TRACES => "WEIR_PAIR_METRICS_TRACES",
        WEIR_PAIR_METRICS_METRICS => "WEIR_PAIR_METRICS_METRICS",
        WEIR_PAIR_METRICS_LOGS => "WEIR_PAIR_METRICS_LOGS",
        WEIR_PAIR_LOGS_TRACES => "WEIR_PAIR_LOGS_TRACES",
        WEIR_PAIR_LOGS_METRICS => "WEIR_PAIR_LOGS_METRICS",
        WEIR_PAIR_LOGS_LOGS => "WEIR_PAIR_LOGS_LOGS",
        WEIR_SIGNAL_TRACES => "WEIR_SIGNAL_TRACES",
        WEIR_SIGNAL_METRICS => "WEIR_SIGNAL_METRICS",
        WEIR_SIGNAL_LOGS => "WEIR_SIGNAL_LOGS",
        WEIR_LOG_ERROR => "WEIR_LOG_ERROR",
        WEIR_LOG_WARN => "WEIR_LOG_WARN",
        WEIR_LOG_INFO => "WEIR_LOG_INFO",
        WEIR_LOG_DEBUG => "WEIR_LOG_DEBUG",
        WEIR_LOG_TRACE => "WEIR_LOG_TRACE",
        WEIR_LIBRARY_PANIC_UNWIND => "WEIR_LIBRARY_PANIC_UNWIND",
        WEIR_HOST_V1_0_SIZE => "WEIR_HOST_V1_0_SIZE",
        WEIR_COMPONENT_V1_0_SIZE => "WEIR_COMPONENT_V1_0_SIZE",
    };

    let mut program = String::from(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"weir_plugin.h\"\nint main(void) {\n",
    );
    let mut expected = String::new();
    for (ty, size, fields) in &layouts {
        writeln!(program, "  printf(\"{ty} %zu\\n\", sizeof({ty}));").unwrap();
        writeln!(expected, "{ty} {size}").unwrap();
        for (field, offset) in fields {
            writeln!(
                program,
                "  printf(\"{ty}.{field} %zu\\n\", offsetof({ty}, {field}));"
            )
            .unwrap();
            writeln!(expected, "{ty}.{field} {offset}").unwrap();
        }
    }
    for (name, value) in &constants {
        writeln!(
            program,
            "  printf(\"{name} %llu\\n\", (unsigned long long)({name}));"
        )
        .unwrap();
        writeln!(expected, "{name} {value}").unwrap();
    }
    // The entry point's type must accept what the SDK and the C example export.
    program.push_str("  WeirEntryV1 entry = 0; (void)entry;\n  return 0;\n}\n");

    let dir = std::env::temp_dir().join(format!("weir-abi-header-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("layout.c");
    let binary = dir.join("layout");
    std::fs::write(&source, program).unwrap();
    let include = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let out = Command::new(&cc)
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .output()
        .unwrap_or_else(|e| panic!("running the C compiler `{cc}`: {e}"));
    assert!(
        out.status.success(),
        "the header does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&binary).output().unwrap();
    assert!(run.status.success());
    let actual = String::from_utf8(run.stdout).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let mismatches: Vec<String> = expected
        .lines()
        .zip(actual.lines())
        .filter(|(e, a)| e != a)
        .map(|(e, a)| format!("rust: {e}    c: {a}"))
        .collect();
    assert!(
        mismatches.is_empty() && expected.lines().count() == actual.lines().count(),
        "weir_plugin.h differs from the Rust types:\n{}",
        mismatches.join("\n")
    );
}
