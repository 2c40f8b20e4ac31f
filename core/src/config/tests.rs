//! Loader tests that need more than a golden file: the typed result, real files, the public
//! error types, and several sources at once.

use serde_json::json;

use super::testkit::{self, load};
use super::*;
use crate::batch::Signal;
use crate::component::ComponentId;

const MINIMAL: &str = "
receivers:
  otlp:
exporters:
  debug:
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
";

fn id(s: &str) -> ComponentId {
    s.parse().unwrap()
}

fn messages(result: Result<Loaded, ConfigErrors>) -> Vec<String> {
    match result {
        Ok(_) => panic!("expected errors"),
        Err(e) => e.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn minimal_config_loads_with_defaults() {
    let loaded = load(&[MINIMAL], &[]).unwrap();
    let config = &loaded.config;
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(config.receivers[&id("otlp")].raw, json!({}));
    assert_eq!(
        config.exporters[&id("debug")].helper,
        Some(Default::default())
    );
    assert_eq!(config.receivers[&id("otlp")].helper, None);
    let traces = PipelineId {
        signal: Signal::Traces,
        name: None,
    };
    assert_eq!(
        config.service.pipelines[&traces].receivers,
        vec![id("otlp")]
    );
    assert_eq!(config.service.telemetry, Telemetry::default());
    assert_eq!(config.service.telemetry.logs.level, "info");
    assert_eq!(config.service.telemetry.metrics.level, "normal");
}

#[test]
fn alias_finds_the_factory_and_the_id_stays_as_written() {
    let yaml = MINIMAL
        .replace("  debug:\n", "  otlp_grpc/x:\n    endpoint: h:1\n")
        .replace("[debug]", "[otlp_grpc/x]");
    let loaded = load(&[&yaml], &[]).unwrap();
    let entry = &loaded.config.exporters[&id("otlp_grpc/x")];
    assert_eq!(entry.factory.type_name(), "otlp");
}

#[test]
fn pipeline_ids_display_and_order_by_signal_then_name() {
    let a = PipelineId {
        signal: Signal::Traces,
        name: Some("2".into()),
    };
    let b = PipelineId {
        signal: Signal::Traces,
        name: None,
    };
    let c = PipelineId {
        signal: Signal::Logs,
        name: None,
    };
    assert_eq!(a.to_string(), "traces/2");
    assert_eq!(b.to_string(), "traces");
    let mut ids = vec![c.clone(), a.clone(), b.clone()];
    ids.sort();
    assert_eq!(ids, vec![b, a, c]);
}

#[test]
fn later_sources_and_sets_win() {
    let overlay = "exporters:\n  debug:\n    verbosity: detailed\n";
    let loaded = load(&[MINIMAL, overlay], &["exporters.debug.verbosity=normal"]).unwrap();
    assert_eq!(
        loaded.config.exporters[&id("debug")].raw,
        json!({"verbosity": "normal"})
    );
    let loaded = load(&[MINIMAL, overlay], &[]).unwrap();
    assert_eq!(
        loaded.config.exporters[&id("debug")].raw,
        json!({"verbosity": "detailed"})
    );
}

#[test]
fn errors_in_a_second_source_name_that_source() {
    let overlay = "exporters:\n  debug:\n    verbosty: detailed\n";
    assert_eq!(
        messages(load(&[MINIMAL, overlay], &[])),
        vec!["b.yaml:3:5: exporters.debug: unknown field `verbosty`; did you mean `verbosity`?"]
    );
}

#[test]
fn set_errors_name_the_argument() {
    assert_eq!(
        messages(load(&[MINIMAL], &["processors.batch.send_batch_size=lots"])),
        vec![
            "--set processors.batch.send_batch_size=lots: processors.batch.send_batch_size: invalid type: string \"lots\", expected u32",
        ]
    );
}

#[test]
fn env_values_are_typed_and_missing_ones_warn() {
    let yaml = format!(
        "{MINIMAL}processors:\n  batch:\n    send_batch_size: ${{env:BATCH}}\n    timeout: ${{env:NOT_SET:-5s}}\n    send_batch_max_size: ${{env:ALSO_NOT_SET}}\n"
    );
    let yaml = yaml.replace(
        "      exporters: [debug]",
        "      processors: [batch]\n      exporters: [debug]",
    );
    let loaded = load(&[&yaml], &[]).unwrap();
    assert_eq!(
        loaded.config.processors[&id("batch")].raw,
        json!({"send_batch_size": 512, "timeout": "5s"})
    );
    assert_eq!(
        loaded.warnings,
        vec![
            "a.yaml:16:26: processors.batch.send_batch_max_size: environment variable `ALSO_NOT_SET` is not set; using an empty value"
        ]
    );
}

#[test]
fn real_files_are_read_and_missing_ones_reported() {
    let dir = std::env::temp_dir().join(format!("weir-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.yaml");
    std::fs::write(&path, MINIMAL).unwrap();
    let registry = testkit::registry();
    let env = testkit::env();
    assert!(load_with_env(&[Source::File(path.clone())], &[], &registry, &env).is_ok());
    let missing = dir.join("missing.yaml");
    let errors = load_with_env(&[Source::File(missing.clone())], &[], &registry, &env).unwrap_err();
    assert_eq!(errors.errors.len(), 1);
    assert!(matches!(errors.errors[0].problem, Problem::Read(_)));
    assert!(
        errors
            .to_string()
            .starts_with(&format!("{}: cannot read the file", missing.display()))
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn errors_are_typed_sorted_and_displayed_one_per_line() {
    let yaml = "
receivers:
  otlpp:
exporters:
  debug:
    verbosity: loud
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
";
    let errors = load(&[yaml], &[]).unwrap_err();
    let text = errors.to_string();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        vec![
            "a.yaml:3:3: receivers: unknown receiver type `otlpp`; did you mean `otlp`?",
            "a.yaml:6:16: exporters.debug.verbosity: unknown variant `loud`; expected one of `basic`, `normal`, `detailed`",
            "a.yaml:10:19: service.pipelines.traces.receivers: `otlp` is not defined under receivers; did you mean `otlpp`?",
        ]
    );
    let first = &errors.errors[0];
    assert_eq!(
        first.location.as_ref().map(|l| (l.line, l.column)),
        Some((3, 3))
    );
    assert_eq!(first.path, "receivers");
    assert!(
        matches!(&first.problem, Problem::Unknown { hint: Hint::DidYouMean(s), .. } if s == "otlp")
    );
}

#[test]
fn no_source_is_an_error_not_a_panic() {
    let errors = load(&[], &[]).unwrap_err();
    assert_eq!(errors.to_string(), "no config given");
}

#[test]
fn hostile_input_is_refused_without_panicking() {
    let deep = "[".repeat(10_000);
    assert!(messages(load(&[&deep], &[]))[0].contains("invalid YAML"));
    let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
    assert!(messages(load(&[laughs], &[]))[0].contains("nodes after expanding aliases"));
    for text in [
        "",
        "~",
        "- a",
        "a",
        ":",
        "{",
        "\t",
        "receivers: [",
        "service: {pipelines: {traces: 3}}",
    ] {
        let _ = load(&[text], &["=", "a=", "::=1", ".=2"]);
        let _ = load(&[text], &[]);
    }
}

#[test]
fn schema_describes_components_by_type_and_alias() {
    let schema = schema(&testkit::registry());
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    let exporters = &schema["properties"]["exporters"]["patternProperties"];
    assert!(
        exporters.get("^(otlp|otlp_grpc)(/.+)?$").is_some(),
        "{exporters}"
    );
    let otlp = &schema["$defs"]["exporter.otlp"];
    assert!(otlp["properties"]["endpoint"]["description"].is_string());
    assert!(
        otlp["properties"]["sending_queue"]["$ref"]
            .as_str()
            .unwrap()
            .starts_with("#/$defs/exporterhelper.")
    );
    // Every $ref resolves inside the document.
    fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, c) in m {
                    if k == "$ref" {
                        out.extend(c.as_str().map(str::to_string));
                    } else {
                        refs(c, out);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|c| refs(c, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&schema, &mut all);
    assert!(!all.is_empty());
    for r in all {
        let name = r
            .strip_prefix("#/$defs/")
            .unwrap_or_else(|| panic!("external ref {r}"));
        assert!(schema["$defs"].get(name).is_some(), "dangling {r}");
    }
}

#[test]
fn an_unset_variable_in_an_anchor_warns_for_each_component_using_it() {
    let yaml = format!(
        "{MINIMAL}processors:\n  batch/a: &b\n    timeout: 1s\n    send_batch_size: ${{env:UNSET}}\n  batch/b: *b\n"
    );
    let yaml = yaml.replace("[debug]", "[debug]\n      processors: [batch/a, batch/b]");
    let loaded = load(&[&yaml], &[]).unwrap();
    let unset = "send_batch_size: environment variable `UNSET` is not set; using an empty value";
    assert_eq!(
        loaded.warnings,
        vec![
            format!("a.yaml:15:22: processors.batch/a.{unset}"),
            format!("a.yaml:15:22: processors.batch/b.{unset}")
        ]
    );
    assert_eq!(
        loaded.config.processors[&id("batch/b")].raw,
        json!({"timeout": "1s"})
    );
}

/// Damaged configs (edits of the kinds a hand-edited file gets) load or come back as errors
/// that render, and never panic; the fuzz target `config_yaml` does the same on any text.
mod damaged {
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::{Index, select};

    use super::load;

    const BASE: &str = "
receivers:
  otlp: &grpc
    protocols:
      grpc:
        endpoint: 0.0.0.0:${env:OTLP_PORT}
  otlp/2: *grpc
processors:
  batch:
    send_batch_size: ${BATCH}
    timeout: 1s
  memory_limiter: {check_interval: 1s, limit_mib: 512}
exporters:
  otlp:
    endpoint: ${env:BACKEND:-localhost:4317}
    sending_queue: {enabled: true, queue_size: 10}
    retry_on_failure: {enabled: true}
  debug: {}
service:
  pipelines:
    traces:
      receivers: [otlp, otlp/2]
      processors: [memory_limiter, batch]
      exporters: [otlp, debug]
    metrics/x:
      receivers: [otlp]
      exporters: [debug]
";

    /// Pieces of YAML and of Weir's own syntax, so edits make near-valid configs.
    const TOKENS: &[&str] = &[
        "\n",
        "  ",
        ": ",
        "- ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a ",
        "*a",
        "<<: *grpc",
        "!!str ",
        "${",
        "${env:",
        ":-",
        "}",
        "$$",
        "'",
        "\"",
        "#",
        "|",
        ">",
        "~",
        "null",
        "-1",
        "99999999999999999999",
        "receivers",
        "otlp/",
        "batch",
        "::",
        "\t",
        "?",
        "%YAML 1.2\n---\n",
    ];

    #[derive(Clone, Debug)]
    enum Edit {
        Insert(Index, &'static str),
        Delete(Index, usize),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            (any::<Index>(), select(TOKENS)).prop_map(|(i, t)| Edit::Insert(i, t)),
            (any::<Index>(), 1..12usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn damaged_configs_load_or_report_errors(
            edits in vec(edit(), 1..6),
            set in proptest::option::of((select(TOKENS), select(TOKENS))),
        ) {
            let mut text: Vec<char> = BASE.chars().collect();
            for edit in &edits {
                match edit {
                    Edit::Insert(at, token) => {
                        let at = at.index(text.len() + 1);
                        text.splice(at..at, token.chars());
                    }
                    Edit::Delete(at, n) => {
                        let at = at.index(text.len());
                        text.drain(at..(at + n).min(text.len()));
                    }
                }
            }
            let text: String = text.into_iter().collect();
            let sets: Vec<String> = set
                .map(|(key, value)| format!("processors::batch::{key}={value}"))
                .into_iter()
                .collect();
            let sets: Vec<&str> = sets.iter().map(String::as_str).collect();
            if let Err(errors) = load(&[&text], &sets) {
                prop_assert!(!errors.errors.is_empty(), "an error without a problem");
                prop_assert!(!errors.to_string().is_empty());
            }
        }
    }
}
