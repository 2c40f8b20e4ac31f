//! The `probabilistic_sampler` processor on the encoded batch: config defaults and errors
//! here; spans in [`traces`], log records in [`logs`]. Where a figure comes from otelcol-contrib's
//! own tests or from its algorithm, the test says so.

mod logs;
mod traces;

use std::sync::Arc;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use serde_json::json;
use weir_core::batch::{BatchMeta, Request};
use weir_core::component::ComponentConfig;

use super::*;

fn kv(key: &str, value: Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        key_strindex: 0,
    }
}

fn s(text: &str) -> Value {
    Value::StringValue(text.to_string())
}

/// A config from its YAML-equivalent JSON, validated.
fn config(body: serde_json::Value) -> ProbabilisticSamplerConfig {
    let config: ProbabilisticSamplerConfig = serde_json::from_value(body).expect("parses");
    config.validate().expect("valid");
    config
}

/// What otelcol's tests mean by `&Config{...}`: no factory defaults (`fail_closed: false`, and
/// their precision 0, full precision, is 14 here).
fn bare(pct: f32, mode: SamplerMode) -> ProbabilisticSamplerConfig {
    ProbabilisticSamplerConfig {
        sampling_percentage: pct,
        mode,
        fail_closed: false,
        sampling_precision: 14,
        ..ProbabilisticSamplerConfig::default()
    }
}

fn batch(request: &Request) -> Batch {
    Batch::from_encoded(
        request.signal(),
        request.encode_to_bytes(),
        Arc::new(BatchMeta::default()),
    )
    .expect("a valid request")
}

/// Runs `config` on `request`: the decoded output (`None`: nothing kept).
fn run(config: &ProbabilisticSamplerConfig, request: &Request) -> Option<Request> {
    let mut processor = ProbabilisticSamplerProcessor::new(config);
    let out = processor.apply(batch(request)).expect("processes")?;
    let decoded = Request::decode(request.signal(), &out.to_bytes()).expect("decodes");
    assert_eq!(out.items(), decoded.item_count(), "item count follows");
    Some(decoded)
}

/// A deterministic generator (splitmix64) for tests that need many ids.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn trace_id(&mut self) -> [u8; 16] {
        let mut id = [0; 16];
        id[..8].copy_from_slice(&self.next().to_be_bytes());
        id[8..].copy_from_slice(&self.next().to_be_bytes());
        id
    }
}

#[test]
fn defaults_are_otelcols() {
    let config: ProbabilisticSamplerConfig = serde_json::from_value(json!({})).unwrap();
    assert_eq!(config.sampling_percentage, 0.0);
    assert_eq!(config.hash_seed, 0);
    assert_eq!(config.mode, SamplerMode::HashSeed);
    assert!(config.fail_closed);
    assert_eq!(config.sampling_precision, 4);
    assert_eq!(config.attribute_source, AttributeSource::TraceId);
    assert!(config.validate().is_ok());
    let parsed = |body| serde_json::from_value::<ProbabilisticSamplerConfig>(body).is_ok();
    assert!(parsed(
        json!({"mode": "proportional", "attribute_source": "traceID"})
    ));
    assert!(!parsed(json!({"mode": "downsample"})));
    assert!(!parsed(json!({"attribute_source": "traceid"})));
    assert!(!parsed(json!({"hash_seed": -1})));
    assert!(!parsed(json!({"sampling_rate": 5})));
}

#[test]
fn bad_configs_say_which_field() {
    let problems = |body| {
        serde_json::from_value::<ProbabilisticSamplerConfig>(body)
            .unwrap()
            .validate()
            .unwrap_err()
    };
    assert_eq!(
        problems(json!({"sampling_percentage": -1})),
        ["sampling_percentage must not be negative (-1)"]
    );
    assert_eq!(
        problems(json!({"sampling_percentage": 1e-16})),
        ["sampling_percentage 0.0000000000000001 is too small: the least is 100 * 2^-56"]
    );
    assert_eq!(
        problems(json!({"sampling_precision": 0})),
        ["sampling_precision must be from 1 to 14 hex digits, not 0"]
    );
    assert_eq!(
        problems(json!({"sampling_precision": 15})),
        ["sampling_precision must be from 1 to 14 hex digits, not 15"]
    );
    assert_eq!(
        problems(json!({"attribute_source": "record"})),
        ["attribute_source `record` needs from_attribute: the attribute to hash"]
    );
    let refused = problems(json!({
        "mode": "equalizing", "hash_seed": 7, "from_attribute": "id", "sampling_percentage": 5
    }));
    assert_eq!(refused.len(), 2);
    assert!(refused[0].starts_with("hash_seed is used only in mode `hash_seed`"));
    assert!(refused[1].starts_with("from_attribute is used only in mode `hash_seed`"));
    assert_eq!(
        problems(json!({"mode": "proportional", "attribute_source": "record"})),
        ["attribute_source `record` is used only in mode `hash_seed`, not `proportional`"]
    );
    // Above 100 % is allowed and means 100 %, as otelcol's README says.
    assert!(
        config(json!({"sampling_percentage": 250}))
            .validate()
            .is_ok()
    );
}
