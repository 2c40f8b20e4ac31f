//! Configuration of the `health_check` extension: otelcol's names and defaults, with Weir's
//! reading of `check_collector_pipeline` (see [`CheckPipelineConfig`]).

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};
use weir_core::component::ComponentConfig;
use weir_core::exporter::{DurationString, humantime_serde, parse_duration};

/// Serves an HTTP health check: 200 while Weir's pipelines run (and, with
/// `check_collector_pipeline`, while exporters deliver and queues have room), 503 otherwise.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct HealthCheckConfig {
    /// `host:port` to serve the health check on. The default listens on loopback only, as
    /// otelcol does; use `0.0.0.0:13133` for probes from other hosts (Kubernetes kubelets reach
    /// the pod's address). Port 0 picks a free port.
    pub endpoint: String,
    /// URL path the health check answers on; other paths get 404.
    pub path: String,
    /// Weir's checks of the pipelines themselves; without them the health check reports only
    /// whether the pipelines are running.
    pub check_collector_pipeline: CheckPipelineConfig,
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        HealthCheckConfig {
            endpoint: "localhost:13133".to_string(),
            path: "/".to_string(),
            check_collector_pipeline: CheckPipelineConfig::default(),
        }
    }
}

/// otelcol's legacy `check_collector_pipeline`, read Weir's way: Weir knows since when each
/// exporter has been failing, so the threshold is a duration rather than a count of failures.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CheckPipelineConfig {
    /// Report unhealthy (503) while an exporter has been failing for longer than
    /// `exporter_failure_threshold`, or while an exporter's sending queue is full. Off by
    /// default, as in otelcol.
    pub enabled: bool,
    /// How often exporters and queues are checked; probes are answered from the latest check.
    /// (otelcol reads `interval` as the window it counts failures in; Weir has no such window.)
    #[serde(with = "humantime_serde")]
    #[schemars(with = "DurationString")]
    pub interval: Duration,
    /// How long an exporter may keep failing — its exports failing and being retried, with no
    /// success since the first failure — before Weir reports unhealthy. A duration such as
    /// `5m`; failures are timed in whole seconds, so unhealthy may come up to a second (plus
    /// `interval`) late. A plain number (otelcol's count of failures) is refused.
    #[serde(
        serialize_with = "humantime_serde::serialize",
        deserialize_with = "duration_text"
    )]
    #[schemars(with = "DurationString")]
    pub exporter_failure_threshold: Duration,
}

impl Default for CheckPipelineConfig {
    fn default() -> Self {
        CheckPipelineConfig {
            enabled: false,
            interval: Duration::from_secs(5),
            exporter_failure_threshold: Duration::from_secs(5 * 60),
        }
    }
}

/// A duration written as text: a bare number here is most likely otelcol's failure count,
/// which would silently mean nanoseconds if read as a duration.
fn duration_text<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Text(String),
        Number(serde_json::Number),
    }
    match Raw::deserialize(d)? {
        Raw::Text(text) => parse_duration(&text).map_err(serde::de::Error::custom),
        Raw::Number(n) => Err(serde::de::Error::custom(format!(
            "`{n}` is not a duration: Weir reads exporter_failure_threshold as how long an \
             exporter may keep failing, such as `5m` (otelcol's count of failures is not supported)"
        ))),
    }
}

impl ComponentConfig for HealthCheckConfig {
    fn validate(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        if self.endpoint.trim().is_empty() {
            problems.push("endpoint must be `host:port`".to_string());
        }
        if !self.path.starts_with('/') {
            problems.push(format!("path `{}` must start with `/`", self.path));
        }
        let check = &self.check_collector_pipeline;
        if check.enabled && check.interval.is_zero() {
            problems.push("check_collector_pipeline.interval must be more than 0".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<HealthCheckConfig, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_otelcols() {
        let config = parse(serde_json::json!({})).unwrap();
        assert_eq!(config.endpoint, "localhost:13133");
        assert_eq!(config.path, "/");
        assert!(!config.check_collector_pipeline.enabled);
        assert_eq!(
            config.check_collector_pipeline.exporter_failure_threshold,
            Duration::from_secs(300)
        );
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn reads_the_pipeline_check() {
        let config = parse(serde_json::json!({
            "path": "/health",
            "check_collector_pipeline": {
                "enabled": true, "interval": "100ms", "exporter_failure_threshold": "1m30s"
            }
        }))
        .unwrap();
        let check = &config.check_collector_pipeline;
        assert!(check.enabled);
        assert_eq!(check.interval, Duration::from_millis(100));
        assert_eq!(check.exporter_failure_threshold, Duration::from_secs(90));
    }

    #[test]
    fn an_otelcol_failure_count_is_refused_with_the_reason() {
        let error = parse(serde_json::json!({
            "check_collector_pipeline": { "exporter_failure_threshold": 5 }
        }))
        .unwrap_err();
        assert!(error.contains("is not a duration"), "{error}");
        assert!(error.contains("`5m`"), "{error}");
    }

    #[test]
    fn validate_reports_every_problem() {
        let config = HealthCheckConfig {
            endpoint: " ".into(),
            path: "health".into(),
            check_collector_pipeline: CheckPipelineConfig {
                enabled: true,
                interval: Duration::ZERO,
                ..CheckPipelineConfig::default()
            },
        };
        let problems = config.validate().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn serializes_durations_as_text() {
        let value = serde_json::to_value(HealthCheckConfig::default()).unwrap();
        assert_eq!(
            value["check_collector_pipeline"]["exporter_failure_threshold"],
            "300s"
        );
        assert_eq!(value["check_collector_pipeline"]["interval"], "5s");
    }
}
