use super::{Action, FieldError, Labels, RelabelConfig, Rule, apply, compile, hashmod};

fn rules(json: &str) -> Vec<Rule> {
    let configs: Vec<RelabelConfig> = serde_json::from_str(json).unwrap();
    compile(&configs, "relabel_configs").unwrap()
}

fn errors(json: &str) -> Vec<FieldError> {
    let configs: Vec<RelabelConfig> = serde_json::from_str(json).unwrap();
    compile(&configs, "relabel_configs").unwrap_err()
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn sorted(mut l: Labels) -> Labels {
    l.sort();
    l
}

fn run(json: &str, input: &[(&str, &str)]) -> Option<Labels> {
    apply(&rules(json), labels(input)).map(sorted)
}

#[test]
fn address_is_copied_to_instance_with_the_default_regex_and_replacement() {
    let out = run(
        r#"[{"source_labels": ["__address__"], "target_label": "instance"}]"#,
        &[("__address__", "10.0.0.1:9100")],
    );
    assert_eq!(
        out.unwrap(),
        labels(&[
            ("__address__", "10.0.0.1:9100"),
            ("instance", "10.0.0.1:9100")
        ])
    );
}

#[test]
fn replace_expands_numbered_and_named_groups() {
    let out = run(
        r#"[{"source_labels": ["__address__"], "regex": "(?P<host>[^:]+):(\\d+)",
             "target_label": "host", "replacement": "${host}/$2/${1}x"}]"#,
        &[("__address__", "db:5432")],
    )
    .unwrap();
    assert!(out.contains(&("host".into(), "db/5432/dbx".into())));
}

#[test]
fn a_dollar_name_runs_to_the_end_of_the_word_as_in_go() {
    // `$1x` names group `1x`, which does not exist: the value is empty, so the label goes.
    let out = run(
        r#"[{"source_labels": ["a"], "regex": "(.*)", "target_label": "a", "replacement": "$1x"}]"#,
        &[("a", "v")],
    )
    .unwrap();
    assert!(out.is_empty());
    let out = run(
        r#"[{"source_labels": ["a"], "target_label": "b", "replacement": "$$1 $ ${} $01"}]"#,
        &[("a", "v")],
    )
    .unwrap();
    assert!(out.contains(&("b".into(), "$1 $ ${} ".into())));
}

#[test]
fn source_labels_join_with_the_separator_and_missing_labels_are_empty() {
    let out = run(
        r#"[{"source_labels": ["a", "missing", "b"], "target_label": "joined"},
            {"source_labels": ["a", "b"], "separator": "", "target_label": "glued"}]"#,
        &[("a", "1"), ("b", "2")],
    )
    .unwrap();
    assert!(out.contains(&("joined".into(), "1;;2".into())));
    assert!(out.contains(&("glued".into(), "12".into())));
}

#[test]
fn regexes_are_anchored_at_both_ends() {
    let keep = r#"[{"source_labels": ["env"], "regex": "prod", "action": "keep"}]"#;
    assert!(run(keep, &[("env", "prod")]).is_some());
    assert!(run(keep, &[("env", "preprod")]).is_none());
    assert!(run(keep, &[("env", "production")]).is_none());
}

#[test]
fn dot_matches_a_newline_as_in_prometheus() {
    let keep = r#"[{"source_labels": ["m"], "regex": "a.b", "action": "keep"}]"#;
    assert!(run(keep, &[("m", "a\nb")]).is_some());
}

#[test]
fn drop_removes_series_by_metric_name() {
    let drop = r#"[{"source_labels": ["__name__"], "regex": "go_.*", "action": "drop"}]"#;
    assert!(run(drop, &[("__name__", "go_goroutines")]).is_none());
    assert!(run(drop, &[("__name__", "up")]).is_some());
}

#[test]
fn replace_can_rename_a_metric_through_its_name_label() {
    let out = run(
        r#"[{"source_labels": ["__name__"], "regex": "old_(.*)", "target_label": "__name__",
             "replacement": "new_$1"}]"#,
        &[("__name__", "old_requests_total")],
    );
    assert_eq!(out.unwrap(), labels(&[("__name__", "new_requests_total")]));
}

#[test]
fn keepequal_and_dropequal_compare_with_the_target_label() {
    let keep =
        r#"[{"source_labels": ["__meta_port"], "target_label": "port", "action": "keepequal"}]"#;
    assert!(run(keep, &[("__meta_port", "80"), ("port", "80")]).is_some());
    assert!(run(keep, &[("__meta_port", "80"), ("port", "81")]).is_none());
    let drop = r#"[{"source_labels": ["a"], "target_label": "b", "action": "DropEqual"}]"#;
    assert!(run(drop, &[("a", "x"), ("b", "x")]).is_none());
    assert!(run(drop, &[("a", "x"), ("b", "y")]).is_some());
}

#[test]
fn hashmod_shards_exactly_as_prometheus_does() {
    // Expected values: md5 by Python's hashlib, last 8 bytes big-endian, mod the modulus.
    assert_eq!(hashmod("", 10), 8);
    assert_eq!(hashmod("abc", 7), 0);
    assert_eq!(hashmod("10.0.0.1:9100", 4), 1);
    assert_eq!(hashmod("node-a;9100", 1000), 339);
    let out = run(
        r#"[{"source_labels": ["__address__", "node"], "modulus": 3, "target_label": "__tmp_hash",
             "action": "hashmod"},
            {"source_labels": ["__tmp_hash"], "regex": "2", "action": "keep"}]"#,
        &[("__address__", "10.0.0.1:9100"), ("node", "node")],
    )
    .unwrap();
    assert!(out.contains(&("__tmp_hash".into(), "2".into())));
}

#[test]
fn labelmap_copies_meta_labels_under_new_names() {
    let out = run(
        r#"[{"regex": "__meta_kubernetes_pod_label_(.+)", "action": "labelmap"}]"#,
        &[
            ("__meta_kubernetes_pod_label_app", "web"),
            ("__meta_kubernetes_pod_label_tier", "front"),
            ("job", "k8s"),
        ],
    )
    .unwrap();
    assert_eq!(
        out,
        labels(&[
            ("__meta_kubernetes_pod_label_app", "web"),
            ("__meta_kubernetes_pod_label_tier", "front"),
            ("app", "web"),
            ("job", "k8s"),
            ("tier", "front"),
        ])
    );
}

#[test]
fn labeldrop_and_labelkeep_match_label_names() {
    let out = run(
        r#"[{"regex": "__meta_.*", "action": "labeldrop"}]"#,
        &[("__meta_a", "1"), ("job", "j")],
    );
    assert_eq!(out.unwrap(), labels(&[("job", "j")]));
    let out = run(
        r#"[{"regex": "job|instance", "action": "labelkeep"}]"#,
        &[("a", "1"), ("job", "j"), ("instance", "i")],
    );
    assert_eq!(out.unwrap(), labels(&[("instance", "i"), ("job", "j")]));
}

#[test]
fn lowercase_and_uppercase_write_the_joined_value() {
    let out = run(
        r#"[{"source_labels": ["Env"], "target_label": "env", "action": "lowercase"},
            {"source_labels": ["Env"], "target_label": "ENV", "action": "uppercase"}]"#,
        &[("Env", "Prod")],
    )
    .unwrap();
    assert!(out.contains(&("env".into(), "prod".into())));
    assert!(out.contains(&("ENV".into(), "PROD".into())));
}

#[test]
fn writing_an_empty_value_removes_the_label() {
    let out = run(
        r#"[{"target_label": "env", "replacement": ""}]"#,
        &[("env", "prod"), ("job", "j")],
    );
    assert_eq!(out.unwrap(), labels(&[("job", "j")]));
}

#[test]
fn a_target_that_expands_to_an_invalid_name_is_skipped() {
    let out = run(
        r#"[{"source_labels": ["k"], "regex": "(.*)", "target_label": "$1", "replacement": "v"}]"#,
        &[("k", "not-a-name")],
    );
    assert_eq!(out.unwrap(), labels(&[("k", "not-a-name")]));
}

#[test]
fn no_match_leaves_the_labels_alone() {
    let out = run(
        r#"[{"source_labels": ["a"], "regex": "x", "target_label": "b", "replacement": "y"}]"#,
        &[("a", "z")],
    );
    assert_eq!(out.unwrap(), labels(&[("a", "z")]));
}

#[test]
fn defaults_are_prometheus_defaults_and_action_is_case_insensitive() {
    let c: RelabelConfig = serde_json::from_str(r#"{"action": "HashMod"}"#).unwrap();
    assert_eq!(c.action, Action::HashMod);
    let c: RelabelConfig = serde_json::from_str("{}").unwrap();
    assert_eq!(c.action, Action::Replace);
    assert_eq!(c.separator, None);
}

#[test]
fn unknown_fields_and_actions_are_refused() {
    let e = serde_json::from_str::<RelabelConfig>(r#"{"target": "x"}"#).unwrap_err();
    assert!(e.to_string().contains("unknown field `target`"), "{e}");
    let e = serde_json::from_str::<RelabelConfig>(r#"{"action": "rename"}"#).unwrap_err();
    assert!(
        e.to_string().contains("unknown relabel action `rename`"),
        "{e}"
    );
}

#[test]
fn every_invalid_field_is_reported_with_its_path() {
    let errs = errors(
        r#"[{"source_labels": ["a"], "target_label": "ok"},
            {"regex": "(", "target_label": "x"},
            {"action": "hashmod", "source_labels": ["a"], "target_label": "t"},
            {"source_labels": ["a"]},
            {"source_labels": ["a"], "target_label": "1bad"},
            {"action": "labeldrop", "regex": "x", "source_labels": ["a"], "replacement": "y"},
            {"action": "lowercase", "source_labels": ["a"], "target_label": "t", "replacement": "r"},
            {"action": "keepequal", "source_labels": ["a"], "target_label": "t", "regex": "x"},
            {"action": "labelmap", "regex": "(.*)", "replacement": "-$1"},
            {"source_labels": ["bad-name"], "target_label": "t"},
            {"action": "hashmod", "source_labels": ["a"], "target_label": "t$1", "modulus": 2}]"#,
    );
    let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "relabel_configs[1].regex",
            "relabel_configs[2].modulus",
            "relabel_configs[3].target_label",
            "relabel_configs[4].target_label",
            "relabel_configs[5].source_labels",
            "relabel_configs[5].replacement",
            "relabel_configs[6].replacement",
            "relabel_configs[7].regex",
            "relabel_configs[8].replacement",
            "relabel_configs[9].source_labels[0]",
            "relabel_configs[10].target_label",
        ],
        "{errs:#?}"
    );
    assert!(errs[1].message.contains("non-zero modulus"));
    assert!(errs[2].message.contains("requires a target_label"));
}

#[test]
fn replace_accepts_a_templated_target_label() {
    let out = run(
        r#"[{"source_labels": ["k"], "regex": "(\\w+)=(\\w+)", "target_label": "tag_$1",
             "replacement": "$2"}]"#,
        &[("k", "team=core")],
    )
    .unwrap();
    assert!(out.contains(&("tag_team".into(), "core".into())));
}

#[test]
fn metric_relabelling_sees_the_sample_name_as_name_label() {
    let e = crate::parse(b"http_requests_total{code=\"500\"} 3\nup 1\n", None).unwrap();
    let rules = rules(
        r#"[{"source_labels": ["__name__", "code"], "regex": "http_.*;5..", "action": "drop"}]"#,
    );
    let kept: Vec<_> = e
        .all_samples()
        .iter()
        .filter_map(|s| apply(&rules, super::sample_labels(&e, s)))
        .collect();
    assert_eq!(kept, [labels(&[("__name__", "up")])]);
}

mod properties {
    use proptest::prelude::*;

    use super::super::{Action, RelabelConfig, apply, compile, hashmod};

    fn action() -> impl Strategy<Value = Action> {
        prop::sample::select(vec![
            Action::Replace,
            Action::Keep,
            Action::Drop,
            Action::KeepEqual,
            Action::DropEqual,
            Action::HashMod,
            Action::LabelMap,
            Action::LabelDrop,
            Action::LabelKeep,
            Action::Lowercase,
            Action::Uppercase,
        ])
    }

    proptest! {
        #[test]
        fn any_config_either_fails_to_compile_or_applies_without_panicking(
            act in action(),
            regex in proptest::option::of("[a-z_.*()$\\\\{}\\[\\]|?+^QEdwsb1-]{0,12}"),
            target in proptest::option::of("[a-z_$0-9{}]{0,8}"),
            replacement in proptest::option::of("[a-z_$0-9{}]{0,8}"),
            sources in proptest::option::of(proptest::collection::vec("[a-z_]{1,4}", 0..3)),
            modulus in proptest::option::of(0u64..5),
            labels in proptest::collection::vec(("[a-z_]{1,4}", "\\PC{0,6}"), 0..6),
        ) {
            let config = RelabelConfig {
                source_labels: sources,
                separator: None,
                target_label: target,
                regex,
                modulus,
                replacement,
                action: act,
            };
            if let Ok(rules) = compile(&[config], "r") {
                let _ = apply(&rules, labels);
            }
        }

        #[test]
        fn hashmod_is_below_its_modulus(value in "\\PC{0,20}", modulus in 1u64..u64::MAX) {
            prop_assert!(hashmod(&value, modulus) < modulus);
        }
    }
}
