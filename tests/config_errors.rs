//! Golden tests of `weir validate`: each `tests/testdata/config_errors/*.yaml` must make the
//! real binary print exactly the text in the `.expected` file beside it (exit code, stdout, and
//! stderr with log timestamps removed). `WEIR_BLESS=1 cargo test --test config_errors` rewrites
//! the expected files from the binary; review the diff before committing it.
//!
//! A case may start with `# set: key=value` comment lines, each passed as `--set`. Cases run
//! with the test file's directory as working directory and the file name as `--config`, so the
//! locations in the messages read `name.yaml:line:col`.
//!
//! Also: every example under `configs/` validates.

mod common;

use std::path::{Path, PathBuf};

use common::weir::{repo_root, run_cli, run_cli_env};

fn cases_dir() -> PathBuf {
    repo_root().join("tests/testdata/config_errors")
}

fn blessing() -> bool {
    std::env::var_os("WEIR_BLESS").is_some_and(|v| v != "0")
}

/// Drops the RFC 3339 timestamp `tracing` puts at the start of each log line.
fn without_timestamps(stderr: &str) -> String {
    stderr
        .lines()
        .map(|line| match line.split_once(' ') {
            Some((first, rest))
                if first.len() > 20 && first.ends_with('Z') && first.as_bytes()[4] == b'-' =>
            {
                rest.trim_start()
            }
            _ => line,
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Variables the env cases rely on, removed whatever the environment says.
const UNSET: &[(&str, Option<&str>)] = &[
    ("WEIR_E2E_UNSET_ENDPOINT", None),
    ("WEIR_E2E_UNSET_BACKEND", None),
    ("WEIR_E2E_UNSET_TOKEN", None),
];

/// Runs `weir validate` on one case, with the `--set`s its header asks for.
fn validate_case(dir: &Path, file: &str) -> common::weir::CliOutput {
    let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut args = vec![
        "validate".to_string(),
        "--config".to_string(),
        file.to_string(),
    ];
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        if let Some(set) = line.strip_prefix("# set: ") {
            args.push("--set".to_string());
            args.push(set.to_string());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_cli_env(&args, Some(dir), UNSET)
}

/// What `weir validate` printed for one case, in the `.expected` format.
fn run_case(dir: &Path, file: &str) -> String {
    let out = validate_case(dir, file);
    let code = out
        .code
        .map_or("killed by a signal".to_string(), |c| c.to_string());
    format!(
        "exit code: {code}\n--- stdout ---\n{}--- stderr ---\n{}",
        out.stdout,
        without_timestamps(&out.stderr)
    )
}

#[test]
fn validate_prints_the_expected_message_for_every_config_error_case() {
    let dir = cases_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/testdata/config_errors exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    assert!(names.len() >= 10, "the golden cases are missing: {names:?}");
    let mut failures = Vec::new();
    for name in &names {
        let actual = run_case(&dir, name);
        let expected_path = dir.join(name.replace(".yaml", ".expected"));
        if blessing() {
            std::fs::write(&expected_path, &actual).expect("writing the expected file");
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{name}:\n--- expected ---\n{expected}--- actual ---\n{actual}"
            )),
            Err(_) => failures.push(format!(
                "{name}: no .expected file (run with WEIR_BLESS=1)\n{actual}"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

#[test]
fn every_config_error_case_exits_1_or_is_valid_with_a_warning() {
    // Independent of the golden text: the cases are errors (exit 1, "invalid configuration:"
    // and one `file:line:col: path: message` line per problem) except the warning case.
    let dir = cases_dir();
    for entry in std::fs::read_dir(&dir)
        .expect("cases dir")
        .filter_map(|e| e.ok())
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".yaml") {
            continue;
        }
        let out = validate_case(&dir, &name);
        if name == "missing_env_var_warning.yaml" {
            assert_eq!(out.code, Some(0), "{name}: {out:?}");
            assert!(
                out.stderr.contains("WEIR_E2E_UNSET_TOKEN"),
                "{name}: no warning naming the variable: {out:?}"
            );
            continue;
        }
        assert_eq!(out.code, Some(1), "{name}: {out:?}");
        let all = format!("{}{}", out.stdout, out.stderr);
        let problems: Vec<&str> = all
            .lines()
            .skip_while(|l| !l.starts_with("invalid configuration:"))
            .skip(1)
            .collect();
        assert!(
            !problems.is_empty(),
            "{name}: no problem listed after `invalid configuration:`:\n{all}"
        );
        for line in problems.iter().filter(|l| !l.trim().is_empty()) {
            assert!(
                line.starts_with(&format!("{name}:"))
                    || line.starts_with(&format!("warning: {name}:"))
                    || line.starts_with("--set "),
                "{name}: a problem line does not say where it is: {line:?}"
            );
        }
    }
}

#[test]
fn every_example_under_configs_is_valid() {
    let dir = repo_root().join("configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("configs/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no example configs under {}",
        dir.display()
    );
    for file in files {
        let path = file.to_string_lossy().into_owned();
        let out = run_cli(&["validate", "--config", &path], None);
        assert_eq!(
            out.code,
            Some(0),
            "{path} is not valid:\n{}{}",
            out.stdout,
            out.stderr
        );
        assert_eq!(out.stdout.trim(), "configuration is valid", "{path}");
    }
}

fn validate_text(yaml: &str) -> common::weir::CliOutput {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("case.yaml"), yaml).expect("writing the case");
    run_cli_env(
        &["validate", "--config", "case.yaml"],
        Some(dir.path()),
        UNSET,
    )
}

#[test]
fn validate_reports_every_bad_field_of_one_component_not_just_one() {
    // DESIGN §4: validation "reports every problem"; one typo must not hide the next.
    let out = validate_text(
        "receivers:\n  otlp:\n    protocols:\n      http:\nexporters:\n  otlphttp:\n    endpoint: http://127.0.0.1:4318\n    encoding: xml\n    compression: brotli\nservice:\n  pipelines:\n    logs:\n      receivers: [otlp]\n      exporters: [otlphttp]\n",
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains("case.yaml:8:15: exporters.otlphttp.encoding"),
        "the `encoding: xml` problem is not reported:\n{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("case.yaml:9:18: exporters.otlphttp.compression"),
        "the `compression: brotli` problem is not reported:\n{}",
        out.stderr
    );
}

#[test]
fn validate_names_the_unset_variable_that_left_a_required_field_empty() {
    // The endpoint is empty only because the variable is unset; the user must learn which.
    let out = validate_text(
        "receivers:\n  otlp:\n    protocols:\n      grpc:\nexporters:\n  otlp:\n    endpoint: ${env:WEIR_E2E_UNSET_BACKEND}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [otlp]\n",
    );
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains("WEIR_E2E_UNSET_BACKEND"),
        "nothing says the endpoint came from an unset variable:\n{}",
        out.stderr
    );
}
