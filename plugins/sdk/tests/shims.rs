//! The shims as Weir sees them, through the test host: config parsing, emitting, panic
//! poisoning, early and late export completion, and the tracing bridge.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_plugin_sdk::abi;
use weir_plugin_sdk::testing::TestHost;
use weir_plugin_sdk::{Completion, Error, Exporter, Host, Processor, Signal};

/// Config of the test processor.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EchoConfig {
    /// Bytes equal to this make the processor panic.
    #[serde(default)]
    panic_on: Option<String>,
    /// Answer FULL instead of emitting.
    #[serde(default)]
    full: bool,
}

struct Echo {
    config: EchoConfig,
}

impl Processor for Echo {
    type Config = EchoConfig;
    const TYPE: &'static str = "echo";
    const SIGNALS: &'static [Signal] = Signal::ALL;

    fn create(config: EchoConfig, _host: Host) -> Result<Self, Error> {
        Ok(Echo { config })
    }

    fn process(&mut self, signal: Signal, data: &[u8], out: &Host) -> Result<(), Error> {
        if self.config.panic_on.as_deref().map(str::as_bytes) == Some(data) {
            panic!("asked to panic");
        }
        if self.config.full {
            return Err(Error::Full("busy".into()));
        }
        tracing::info!(bytes = data.len(), "echoing");
        out.emit(signal, &data[1..])
    }
}

#[test]
fn processor_emits_borrowed_range_and_logs_through_tracing() {
    let host = TestHost::new();
    let mut echo = host.processor::<Echo>(serde_json::json!({})).unwrap();
    assert_eq!(echo.consume(Signal::Logs, b"xabc"), abi::WEIR_OK);
    let emitted = host.emitted();
    assert_eq!(emitted.len(), 1);
    assert_eq!(emitted[0].data, b"abc");
    assert_eq!(emitted[0].signal, Signal::Logs);
    assert!(
        emitted[0].borrowed_input,
        "a sub-slice of the input is Weir's own buffer"
    );
    assert!(
        host.logs()
            .iter()
            .any(|(level, line)| *level == abi::WEIR_LOG_INFO && line == "echoing bytes=4"),
        "{:?}",
        host.logs()
    );
}

#[test]
fn bad_config_is_refused_by_create() {
    let host = TestHost::new();
    let err = host
        .processor::<Echo>(serde_json::json!({"nope": 1}))
        .err()
        .unwrap();
    assert_eq!(err, abi::WEIR_INVALID_ARGUMENT);
    assert!(
        host.logs()
            .iter()
            .any(|(_, l)| l.contains("unknown field `nope`"))
    );
}

#[test]
fn a_panic_poisons_the_instance_and_nothing_else() {
    let host = TestHost::new();
    let mut bad = host
        .processor::<Echo>(serde_json::json!({"panic_on": "boom"}))
        .unwrap();
    let mut good = host.processor::<Echo>(serde_json::json!({})).unwrap();
    assert_eq!(bad.consume(Signal::Traces, b"boom"), abi::WEIR_PANICKED);
    // Poisoned: even harmless input is refused from now on.
    assert_eq!(bad.consume(Signal::Traces, b"xok"), abi::WEIR_PANICKED);
    assert_eq!(bad.shutdown(), abi::WEIR_PANICKED);
    assert_eq!(good.consume(Signal::Traces, b"xok"), abi::WEIR_OK);
    assert!(
        host.logs()
            .iter()
            .any(|(level, l)| *level == abi::WEIR_LOG_ERROR
                && l.contains("asked to panic")
                && l.contains("poisoned"))
    );
    assert_eq!(host.counters().get("panics"), Some(&1));
}

#[test]
fn full_and_emit_refusals_come_back_as_statuses() {
    let host = TestHost::new();
    let mut full = host
        .processor::<Echo>(serde_json::json!({"full": true}))
        .unwrap();
    assert_eq!(full.consume(Signal::Metrics, b"xy"), abi::WEIR_FULL);
    let mut echo = host.processor::<Echo>(serde_json::json!({})).unwrap();
    host.answer_emits_with(abi::WEIR_FULL);
    assert_eq!(echo.consume(Signal::Metrics, b"xy"), abi::WEIR_FULL);
    assert!(host.emitted().is_empty());
}

#[test]
fn signals_map_to_the_abi_values() {
    for (signal, value) in [
        (Signal::Traces, abi::WEIR_SIGNAL_TRACES),
        (Signal::Metrics, abi::WEIR_SIGNAL_METRICS),
        (Signal::Logs, abi::WEIR_SIGNAL_LOGS),
    ] {
        assert_eq!(signal.to_abi(), value);
        assert_eq!(Signal::from_abi(value), Some(signal));
    }
    // A set of bits is not one signal.
    assert_eq!(
        Signal::from_abi(abi::WEIR_SIGNAL_TRACES | abi::WEIR_SIGNAL_LOGS),
        None
    );
    assert_eq!(Signal::bits(&[Signal::Traces, Signal::Logs]), 5);
}

/// Config of the test exporter.
#[derive(Deserialize, JsonSchema)]
struct LaterConfig {
    /// Complete from another thread instead of during `export`.
    later: bool,
}

struct Later {
    later: bool,
    workers: Vec<JoinHandle<()>>,
    /// Dropped in `shutdown`: until then the workers wait, so they complete only after every
    /// `export` has returned `PENDING`.
    release: Vec<mpsc::Sender<()>>,
}

impl Exporter for Later {
    type Config = LaterConfig;
    const TYPE: &'static str = "later";
    const SIGNALS: &'static [Signal] = &[Signal::Traces];

    fn create(config: LaterConfig, _host: Host) -> Result<Self, Error> {
        Ok(Later {
            later: config.later,
            workers: Vec::new(),
            release: Vec::new(),
        })
    }

    fn export(&mut self, _signal: Signal, data: &[u8], done: Completion) {
        let result = match data {
            b"ok" => Ok(()),
            b"drop" => return,
            _ => Err(Error::Retryable {
                reason: "try again".into(),
                retry_after: Some(Duration::from_millis(1500)),
            }),
        };
        if self.later {
            let (tx, rx) = mpsc::channel::<()>();
            self.workers.push(std::thread::spawn(move || {
                let _ = rx.recv();
                done.complete(result);
            }));
            self.release.push(tx);
        } else {
            done.complete(result);
        }
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        self.release.clear();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
        Ok(())
    }
}

#[test]
fn early_completion_is_the_return_value() {
    let host = TestHost::new();
    let mut e = host
        .exporter::<Later>(serde_json::json!({"later": false}))
        .unwrap();
    assert_eq!(e.start(), abi::WEIR_OK);
    assert_eq!(e.consume(Signal::Traces, b"ok"), abi::WEIR_OK);
    assert_eq!(e.consume(Signal::Traces, b"no"), abi::WEIR_RETRYABLE);
    assert!(host.completed().is_empty());
}

#[test]
fn an_early_failure_carries_its_retry_delay_and_message_through_answer() {
    let host = TestHost::new();
    let mut e = host
        .exporter::<Later>(serde_json::json!({"later": false}))
        .unwrap();
    assert_eq!(e.consume(Signal::Traces, b"ok"), abi::WEIR_OK);
    let (status, token) = e.consume_with_token(Signal::Traces, b"no");
    assert_eq!(status, abi::WEIR_RETRYABLE);
    let answered = host.answered();
    assert_eq!(
        answered.len(),
        1,
        "only the failure has details: {answered:?}"
    );
    assert_eq!(
        (answered[0].token, answered[0].retry_after_ms),
        (token, 1500)
    );
    assert!(answered[0].message.contains("try again"), "{answered:?}");
    assert!(
        host.logs().iter().all(|(_, m)| !m.contains("try again")),
        "the message went with the answer, not to the log: {:?}",
        host.logs()
    );
}

#[test]
fn an_abi_1_0_host_gets_the_early_failure_message_as_a_warning() {
    let host = TestHost::abi_1_0();
    let mut e = host
        .exporter::<Later>(serde_json::json!({"later": false}))
        .unwrap();
    assert_eq!(e.consume(Signal::Traces, b"no"), abi::WEIR_RETRYABLE);
    assert!(host.answered().is_empty());
    assert!(
        host.logs()
            .iter()
            .any(|(level, m)| *level == abi::WEIR_LOG_WARN && m.contains("try again")),
        "{:?}",
        host.logs()
    );
}

#[test]
fn late_completion_goes_through_the_host_with_its_token() {
    let host = TestHost::new();
    let mut e = host
        .exporter::<Later>(serde_json::json!({"later": true}))
        .unwrap();
    let (status, ok_token) = e.consume_with_token(Signal::Traces, b"ok");
    assert_eq!(status, abi::WEIR_PENDING);
    let (status, retry_token) = e.consume_with_token(Signal::Traces, b"no");
    assert_eq!(status, abi::WEIR_PENDING);
    assert_eq!(e.shutdown(), abi::WEIR_OK);
    let mut completed = host.completed();
    completed.sort_by_key(|c| c.token);
    assert_eq!(completed.len(), 2, "{completed:?}");
    assert_eq!(
        (completed[0].token, completed[0].status),
        (ok_token, abi::WEIR_OK)
    );
    assert_eq!(
        (
            completed[1].token,
            completed[1].status,
            completed[1].retry_after_ms
        ),
        (retry_token, abi::WEIR_RETRYABLE, 1500)
    );
}

#[test]
fn a_dropped_completion_reports_a_retryable_failure() {
    let host = TestHost::new();
    let mut e = host
        .exporter::<Later>(serde_json::json!({"later": false}))
        .unwrap();
    assert_eq!(e.consume(Signal::Traces, b"drop"), abi::WEIR_RETRYABLE);
}
