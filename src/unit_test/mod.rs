//! `weir test --config FILE CASES...`: unit tests of a config, as Vector's `vector test`.
//! Each case feeds OTLP JSON (what an OTLP/HTTP JSON client sends) through the processors of
//! one pipeline, in order, each flushed after the input (so `batch` lets go), and checks what
//! comes out: how many items (spans, data points, log records), and OTTL conditions that all,
//! any or none of them must meet (span context for traces, datapoint for metrics, log for
//! logs). A failure prints what was expected, what came out (as OTLP JSON) and the first item
//! that broke a condition.
//!
//! - `cases.rs`: the cases file (YAML or JSON) and its checks;
//! - this file: running the processors and judging the output.

mod cases;

use std::path::Path;
use std::sync::Arc;

use weir_core::batch::json::{decode_json, encode_json};
use weir_core::batch::{Batch, BatchMeta, Request, Signal};
use weir_core::component::{Built, CreateSettings, Kind, Processor};
use weir_core::config::Config;
use weir_ottl::Condition;

pub use cases::{Case, load_cases};

/// What one case found wrong; empty when it passed.
pub type Problems = Vec<String>;

/// Runs every case against `config`; each case's name and its problems.
pub fn run_all(config: &Config, cases: &[Case], base: &Path) -> Vec<(String, Problems)> {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return vec![("(runtime)".into(), vec![format!("cannot start: {e}")])],
    };
    cases
        .iter()
        .map(|case| {
            let problems = runtime.block_on(run_case(config, case, base));
            (case.name.clone(), problems)
        })
        .collect()
}

async fn run_case(config: &Config, case: &Case, base: &Path) -> Problems {
    let Some((pid, pipeline)) = config
        .service
        .pipelines
        .iter()
        .find(|(pid, _)| pid.to_string() == case.pipeline)
    else {
        let known: Vec<String> = config
            .service
            .pipelines
            .keys()
            .map(ToString::to_string)
            .collect();
        return vec![format!(
            "no pipeline `{}` in the config (there are: {})",
            case.pipeline,
            known.join(", ")
        )];
    };
    let signal = pid.signal;
    let input = match case.input_bytes(base) {
        Ok(bytes) => bytes,
        Err(e) => return vec![e],
    };
    let request = match decode_json(signal, &input) {
        Ok(r) => r,
        Err(e) => return vec![format!("input is not OTLP/JSON {signal}: {e}")],
    };
    let conditions = match case.expect.compile(context_of(signal)) {
        Ok(c) => c,
        Err(problems) => return problems,
    };
    let mut batches = vec![Batch::from_request(request, Arc::new(BatchMeta::default()))];
    for id in &pipeline.processors {
        let Some(entry) = config.processors.get(id) else {
            return vec![format!("processor `{id}` is not defined")];
        };
        let settings = CreateSettings {
            id: id.clone(),
            signal: Some(signal),
            pipeline: Some(pid.to_string()),
            host: Default::default(),
        };
        let mut processor: Box<dyn Processor> = match entry.factory.build(&entry.config, &settings)
        {
            Ok(Built::Processor(p)) => p,
            Ok(_) => return vec![format!("`{id}` is not a {}", Kind::Processor)],
            Err(e) => return vec![format!("processor `{id}` cannot be built: {e}")],
        };
        let mut out = Vec::new();
        for batch in batches {
            if let Err(e) = processor.process(batch, &mut out).await {
                return vec![format!("processor `{id}` failed: {e}")];
            }
        }
        if let Err(e) = processor.flush(&mut out).await {
            return vec![format!("processor `{id}` failed when flushed: {e}")];
        }
        batches = out;
    }
    let mut outputs = Vec::new();
    for batch in &batches {
        match batch.decoded() {
            Ok(request) => outputs.push(request),
            Err(e) => return vec![format!("output is not valid OTLP: {e}")],
        }
    }
    conditions.judge(signal, &outputs)
}

fn context_of(signal: Signal) -> weir_ottl::Context {
    match signal {
        Signal::Traces => weir_ottl::Context::Span,
        Signal::Metrics => weir_ottl::Context::DataPoint,
        Signal::Logs => weir_ottl::Context::Log,
    }
}

/// Compiled expectations of one case.
pub struct Compiled {
    count: Option<usize>,
    all: Vec<(String, Condition)>,
    any: Vec<(String, Condition)>,
    none: Vec<(String, Condition)>,
}

/// Calls `each` with every item of the output as an OTTL record, and a way to describe it
/// (for a failure's report).
fn items(
    outputs: &[Arc<Request>],
    mut each: impl FnMut(&dyn weir_ottl::Record, &dyn Fn() -> String),
) {
    use weir_ottl::decoded::{DataPointView, LogView, SpanView};
    for request in outputs {
        match &**request {
            Request::Traces(r) => {
                for rs in &r.resource_spans {
                    let resource = rs.resource.clone().unwrap_or_default();
                    for ss in &rs.scope_spans {
                        let scope = ss.scope.clone().unwrap_or_default();
                        for span in &ss.spans {
                            let view = SpanView {
                                resource: &resource,
                                scope: &scope,
                                span,
                            };
                            each(&view, &|| serde_json::to_string(span).unwrap_or_default());
                        }
                    }
                }
            }
            Request::Metrics(r) => {
                for rm in &r.resource_metrics {
                    let resource = rm.resource.clone().unwrap_or_default();
                    for sm in &rm.scope_metrics {
                        let scope = sm.scope.clone().unwrap_or_default();
                        for metric in &sm.metrics {
                            for index in 0..weir_core::batch::point_count(metric) {
                                let view = DataPointView {
                                    resource: &resource,
                                    scope: &scope,
                                    metric,
                                    index,
                                };
                                each(&view, &|| format!("{} point {index}", metric.name));
                            }
                        }
                    }
                }
            }
            Request::Logs(r) => {
                for rl in &r.resource_logs {
                    let resource = rl.resource.clone().unwrap_or_default();
                    for sl in &rl.scope_logs {
                        let scope = sl.scope.clone().unwrap_or_default();
                        for log in &sl.log_records {
                            let view = LogView {
                                resource: &resource,
                                scope: &scope,
                                log,
                            };
                            each(&view, &|| serde_json::to_string(log).unwrap_or_default());
                        }
                    }
                }
            }
        }
    }
}

impl Compiled {
    fn judge(&self, signal: Signal, outputs: &[Arc<Request>]) -> Problems {
        let mut problems = Vec::new();
        let mut total = 0usize;
        let mut any_held = vec![false; self.any.len()];
        let mut first_broken: Vec<Option<String>> = vec![None; self.all.len() + self.none.len()];
        let mut eval_errors = Vec::new();
        items(outputs, |record, describe| {
            total += 1;
            for (i, (text, condition)) in self.all.iter().enumerate() {
                match condition.evaluate(record) {
                    Ok(true) => {}
                    Ok(false) => {
                        first_broken[i].get_or_insert_with(describe);
                    }
                    Err(e) => eval_errors.push(format!("`{text}`: {e}")),
                }
            }
            for (i, (text, condition)) in self.none.iter().enumerate() {
                match condition.evaluate(record) {
                    Ok(false) => {}
                    Ok(true) => {
                        first_broken[self.all.len() + i].get_or_insert_with(describe);
                    }
                    Err(e) => eval_errors.push(format!("`{text}`: {e}")),
                }
            }
            for (i, (text, condition)) in self.any.iter().enumerate() {
                match condition.evaluate(record) {
                    Ok(held) => any_held[i] |= held,
                    Err(e) => eval_errors.push(format!("`{text}`: {e}")),
                }
            }
        });
        let noun = match signal {
            Signal::Traces => "spans",
            Signal::Metrics => "data points",
            Signal::Logs => "log records",
        };
        if let Some(want) = self.count
            && want != total
        {
            problems.push(format!("expected {want} {noun} out, got {total}"));
        }
        for (i, (text, _)) in self.all.iter().enumerate() {
            if let Some(item) = &first_broken[i] {
                problems.push(format!("`{text}` (all) is false for {item}"));
            }
        }
        for (i, (text, _)) in self.none.iter().enumerate() {
            if let Some(item) = &first_broken[self.all.len() + i] {
                problems.push(format!("`{text}` (none) is true for {item}"));
            }
        }
        for (i, (text, _)) in self.any.iter().enumerate() {
            if !any_held[i] {
                problems.push(format!(
                    "`{text}` (any) is false for every one of the {total} {noun}"
                ));
            }
        }
        eval_errors.dedup();
        problems.extend(eval_errors);
        if !problems.is_empty() {
            let output: Vec<String> = outputs
                .iter()
                .map(|r| String::from_utf8_lossy(&encode_json(r)).into_owned())
                .collect();
            problems.push(format!("output: [{}]", output.join(", ")));
        }
        problems
    }
}
