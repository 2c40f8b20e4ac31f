//! A discovered target's labels through `relabel_configs` into the target's own, as
//! Prometheus's `PopulateLabels` does it: discovered labels plus the scrape config's
//! defaults, relabelled, `__meta_*` removed, `instance` defaulted to `__address__`.

use super::{Labels, Rule, apply, get, set};

/// What the scrape config adds to a target's labels when the target does not set them.
#[derive(Clone, Debug, Default)]
pub struct ScrapeDefaults {
    /// `job_name`, as `job`.
    pub job: String,
    /// `scrape_interval` as Prometheus writes durations (`15s`, `1m`), as `__scrape_interval__`.
    pub scrape_interval: String,
    /// `scrape_timeout` likewise, as `__scrape_timeout__`.
    pub scrape_timeout: String,
    /// `metrics_path`, as `__metrics_path__`.
    pub metrics_path: String,
    /// `scheme`, as `__scheme__`.
    pub scheme: String,
    /// `params`: the first value of each, as `__param_<name>`.
    pub params: Vec<(String, Vec<String>)>,
}

/// Why a target that relabelling kept cannot be scraped.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("no address")]
    NoAddress,
    #[error("`{0}` is not a valid hostname")]
    InvalidAddress(String),
}

/// The labels relabelling starts from: the target's, then its group's where the target has
/// none of that name, then the scrape config's defaults where still unset.
pub fn discovered_labels(target: &Labels, group: &Labels, defaults: &ScrapeDefaults) -> Labels {
    let mut out = target.clone();
    for (name, value) in group {
        if !target.iter().any(|(n, _)| n == name) {
            set(&mut out, name, value.clone());
        }
    }
    let scrape = [
        ("job", &defaults.job),
        ("__scrape_interval__", &defaults.scrape_interval),
        ("__scrape_timeout__", &defaults.scrape_timeout),
        ("__metrics_path__", &defaults.metrics_path),
        ("__scheme__", &defaults.scheme),
    ];
    for (name, value) in scrape {
        if get(&out, name).is_empty() {
            set(&mut out, name, value.clone());
        }
    }
    for (param, values) in &defaults.params {
        let name = format!("__param_{param}");
        if let Some(first) = values.first()
            && get(&out, &name).is_empty()
        {
            set(&mut out, &name, first.clone());
        }
    }
    out
}

/// Runs `relabel_configs` over discovered labels: `Ok(None)` when a rule dropped the target,
/// else its labels with `__meta_*` gone and `instance` defaulted to `__address__`. Other `__`
/// labels stay: the scrape URL is made of them; [`series_labels`] leaves them out.
pub fn target_labels(discovered: Labels, rules: &[Rule]) -> Result<Option<Labels>, TargetError> {
    let Some(mut labels) = apply(rules, discovered) else {
        return Ok(None);
    };
    let address = get(&labels, "__address__").to_string();
    if address.is_empty() {
        return Err(TargetError::NoAddress);
    }
    if address.contains('/') {
        return Err(TargetError::InvalidAddress(address));
    }
    labels.retain(|(n, _)| !n.starts_with("__meta_"));
    if get(&labels, "instance").is_empty() {
        set(&mut labels, "instance", address);
    }
    Ok(Some(labels))
}

/// The target labels its series carry: all but those starting with `__`.
pub fn series_labels(target: &Labels) -> Labels {
    target
        .iter()
        .filter(|(n, _)| !n.starts_with("__"))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relabel::{RelabelConfig, compile};

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn defaults() -> ScrapeDefaults {
        ScrapeDefaults {
            job: "node".into(),
            scrape_interval: "15s".into(),
            scrape_timeout: "10s".into(),
            metrics_path: "/metrics".into(),
            scheme: "http".into(),
            params: vec![("module".into(), vec!["if_mib".into(), "other".into()])],
        }
    }

    fn rules(json: &str) -> Vec<Rule> {
        let configs: Vec<RelabelConfig> = serde_json::from_str(json).unwrap();
        compile(&configs, "relabel_configs").unwrap()
    }

    #[test]
    fn target_labels_win_over_group_labels_and_defaults_fill_the_rest() {
        let d = discovered_labels(
            &labels(&[("__address__", "a:9100"), ("env", "prod")]),
            &labels(&[("env", "dev"), ("team", "core"), ("job", "custom")]),
            &defaults(),
        );
        let get = |n: &str| super::get(&d, n).to_string();
        assert_eq!(get("env"), "prod");
        assert_eq!(get("team"), "core");
        assert_eq!(get("job"), "custom");
        assert_eq!(get("__metrics_path__"), "/metrics");
        assert_eq!(get("__scrape_interval__"), "15s");
        assert_eq!(get("__param_module"), "if_mib");
    }

    #[test]
    fn instance_defaults_to_the_address_and_meta_labels_go() {
        let d = discovered_labels(
            &labels(&[("__address__", "a:9100"), ("__meta_zone", "eu")]),
            &Labels::new(),
            &defaults(),
        );
        let out = target_labels(
            d,
            &rules(r#"[{"source_labels": ["__meta_zone"], "target_label": "zone"}]"#),
        )
        .unwrap()
        .unwrap();
        let mut series = series_labels(&out);
        series.sort();
        assert_eq!(
            series,
            labels(&[("instance", "a:9100"), ("job", "node"), ("zone", "eu")])
        );
        assert!(out.iter().any(|(n, _)| n == "__scheme__"));
        assert!(!out.iter().any(|(n, _)| n == "__meta_zone"));
    }

    #[test]
    fn a_relabelled_address_becomes_the_instance_unless_instance_is_set() {
        let d = discovered_labels(
            &labels(&[("__address__", "a")]),
            &Labels::new(),
            &defaults(),
        );
        let out = target_labels(
            d.clone(),
            &rules(
                r#"[{"source_labels": ["__address__"], "target_label": "__address__",
                     "replacement": "$1:9100"}]"#,
            ),
        )
        .unwrap()
        .unwrap();
        assert_eq!(super::get(&out, "instance"), "a:9100");
        let out = target_labels(
            d,
            &rules(r#"[{"target_label": "instance", "replacement": "x"}]"#),
        )
        .unwrap()
        .unwrap();
        assert_eq!(super::get(&out, "instance"), "x");
    }

    #[test]
    fn dropped_targets_and_bad_addresses_are_told_apart() {
        let d = discovered_labels(
            &labels(&[("__address__", "a:1")]),
            &Labels::new(),
            &defaults(),
        );
        let drop = rules(r#"[{"source_labels": ["job"], "regex": "node", "action": "drop"}]"#);
        assert_eq!(target_labels(d, &drop), Ok(None));
        let no_address = discovered_labels(&Labels::new(), &Labels::new(), &defaults());
        assert_eq!(target_labels(no_address, &[]), Err(TargetError::NoAddress));
        let slash = discovered_labels(
            &labels(&[("__address__", "http://a:1")]),
            &Labels::new(),
            &defaults(),
        );
        assert!(matches!(
            target_labels(slash, &[]),
            Err(TargetError::InvalidAddress(_))
        ));
    }
}
