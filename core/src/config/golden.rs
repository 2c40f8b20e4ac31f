//! Golden tests: every `testdata/*.yaml` is loaded against the test registry and what came out
//! (the errors, or the warnings and a summary of the config) is compared with the `.expected`
//! file beside it; `testdata/schema.json` holds the schema of the test registry.
//! `WEIR_BLESS=1 cargo test -p weir-core config::` rewrites the expected files.
//!
//! A case file may start with directives in comments:
//! `# set: key=value` passes a `--set`, `# merge: name.yaml` loads `testdata/merge/name.yaml`
//! after the case (in the order given).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Loaded, Source, testkit};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/config/testdata")
}

fn blessing() -> bool {
    std::env::var_os("WEIR_BLESS").is_some_and(|v| v != "0")
}

fn run_case(dir: &Path, name: &str, text: &str) -> String {
    let mut sources = vec![Source::Yaml {
        name: name.to_string(),
        text: text.to_string(),
    }];
    let mut sets = Vec::new();
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        if let Some(set) = line.strip_prefix("# set: ") {
            sets.push(set.to_string());
        } else if let Some(file) = line.strip_prefix("# merge: ") {
            let path = dir.join("merge").join(file);
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            sources.push(Source::Yaml {
                name: format!("merge/{file}"),
                text,
            });
        }
    }
    let env = testkit::env();
    match super::load_with_env(&sources, &sets, &testkit::registry(), &env) {
        Ok(loaded) => summary(&loaded),
        Err(errors) => errors
            .errors
            .iter()
            .map(|e| format!("error: {e}\n"))
            .collect(),
    }
}

/// What a valid config loaded as, in a form a reviewer can check by eye.
fn summary(loaded: &Loaded) -> String {
    let mut out = String::from("ok\n");
    for warning in &loaded.warnings {
        let _ = writeln!(out, "warning: {warning}");
    }
    let config = &loaded.config;
    for (section, components) in [
        ("receivers", &config.receivers),
        ("processors", &config.processors),
        ("exporters", &config.exporters),
    ] {
        for (id, entry) in components {
            let _ = writeln!(
                out,
                "{section}.{id} ({}): {}",
                entry.factory.type_name(),
                entry.raw
            );
            if let Some(helper) = &entry.helper {
                let q = &helper.sending_queue;
                let r = &helper.retry_on_failure;
                let _ = writeln!(
                    out,
                    "  queue enabled={} consumers={} size={}; retry enabled={} initial={:?} max_elapsed={:?}",
                    q.enabled,
                    q.num_consumers,
                    q.queue_size,
                    r.enabled,
                    r.initial_interval,
                    r.max_elapsed_time
                );
            }
        }
    }
    for (id, p) in &config.service.pipelines {
        let list = |ids: &[crate::component::ComponentId]| {
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            out,
            "pipeline {id}: receivers [{}] processors [{}] exporters [{}]",
            list(&p.receivers),
            list(&p.processors),
            list(&p.exporters)
        );
    }
    let t = &config.service.telemetry;
    let _ = writeln!(
        out,
        "telemetry: logs={} metrics={} address={}",
        t.logs.level,
        t.metrics.level,
        t.metrics.address.as_deref().unwrap_or("-")
    );
    for plugin in &config.plugins {
        let _ = writeln!(out, "plugin: {}", plugin.display());
    }
    out
}

/// Compares `actual` with the file, or rewrites it when blessing; returns a mismatch report.
fn check(path: &Path, actual: &str) -> Option<String> {
    if blessing() {
        if let Err(e) = std::fs::write(path, actual) {
            return Some(format!("{}: cannot write: {e}", path.display()));
        }
        return None;
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    (expected != actual).then(|| {
        format!(
            "--- {}\nexpected:\n{expected}\nactual:\n{actual}",
            path.display()
        )
    })
}

#[test]
fn every_testdata_case_matches_its_expected_output() {
    let dir = testdata();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("testdata directory")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 20,
        "expected the full set of golden cases, found {}",
        cases.len()
    );
    let mut mismatches = Vec::new();
    for case in &cases {
        let name = case
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let text = std::fs::read_to_string(case).expect("readable case");
        let actual = run_case(&dir, &name, &text);
        mismatches.extend(check(&case.with_extension("expected"), &actual));
    }
    assert!(
        mismatches.is_empty(),
        "{} golden mismatches (WEIR_BLESS=1 to accept):\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

#[test]
fn schema_of_the_test_registry_matches_golden() {
    let schema = super::schema(&testkit::registry());
    let actual = serde_json::to_string_pretty(&schema).expect("schema serializes") + "\n";
    let path = testdata().join("schema.json");
    if let Some(mismatch) = check(&path, &actual) {
        panic!("schema changed (WEIR_BLESS=1 to accept):\n{mismatch}");
    }
}
