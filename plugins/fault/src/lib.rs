//! A plugin whose components misbehave on demand, so that Weir's fault tests exercise a real
//! shared library: the `fault` processor passes batches on, panics, answers `FULL` or drops them
//! after a number of good batches; the `flaky` exporter fails its first exports, retryably or
//! permanently, answering at once or asynchronously; the `fault_join` connector passes batches
//! on, panics, answers `FULL`, drops them or emits a signal it does not pair with its input.
//! `fault` in `pass` mode is also the no-op processor of the crossing benchmark.

use std::thread::JoinHandle;

use schemars::JsonSchema;
use serde::Deserialize;
use weir_plugin_sdk::{
    Completion, Connector, Error, Exporter, Host, Processor, Signal, export_plugin,
};

/// What the `fault` processor does once `after` batches have passed.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Emit every batch unchanged.
    #[default]
    Pass,
    /// Panic in `process`.
    Panic,
    /// Answer `FULL` (backpressure).
    Full,
    /// Emit nothing.
    Drop,
}

/// Config of the `fault` processor.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    /// What to do with batches once `after` batches have passed.
    #[serde(default)]
    pub mode: Mode,
    /// Batches passed on unchanged before `mode` applies.
    #[serde(default)]
    pub after: u64,
}

/// The `fault` processor.
pub struct Fault {
    config: FaultConfig,
    seen: u64,
}

impl Processor for Fault {
    type Config = FaultConfig;
    const TYPE: &'static str = "fault";
    const SIGNALS: &'static [Signal] = Signal::ALL;

    fn create(config: FaultConfig, _host: Host) -> Result<Self, Error> {
        Ok(Fault { config, seen: 0 })
    }

    fn process(&mut self, signal: Signal, data: &[u8], out: &Host) -> Result<(), Error> {
        self.seen += 1;
        if self.seen <= self.config.after {
            return out.emit(signal, data);
        }
        match self.config.mode {
            Mode::Pass => out.emit(signal, data),
            Mode::Panic => panic!(
                "fault processor: panicking on batch {} as configured",
                self.seen
            ),
            Mode::Full => Err(Error::Full("fault processor: always full".into())),
            Mode::Drop => Ok(()),
        }
    }
}

/// How the `flaky` exporter fails.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// `RETRYABLE`.
    #[default]
    Retryable,
    /// `PERMANENT`.
    Permanent,
}

/// Config of the `flaky` exporter.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlakyConfig {
    /// Exports that fail before the first success.
    #[serde(default)]
    pub fail_first: u64,
    /// How they fail.
    #[serde(default)]
    pub failure: Failure,
    /// Answer from another thread (`PENDING`, then `complete`) instead of at once.
    #[serde(default)]
    pub asynchronous: bool,
    /// Delay a retryable failure asks for before the retry, in milliseconds (0: none).
    #[serde(default)]
    pub retry_after_ms: u64,
}

/// The `flaky` exporter: counts `exported_batches` and `failed_exports`.
pub struct Flaky {
    config: FlakyConfig,
    host: Host,
    calls: u64,
    threads: Vec<JoinHandle<()>>,
}

impl Exporter for Flaky {
    type Config = FlakyConfig;
    const TYPE: &'static str = "flaky";
    const SIGNALS: &'static [Signal] = Signal::ALL;

    fn create(config: FlakyConfig, host: Host) -> Result<Self, Error> {
        Ok(Flaky {
            config,
            host,
            calls: 0,
            threads: Vec::new(),
        })
    }

    fn export(&mut self, _signal: Signal, _data: &[u8], done: Completion) {
        self.calls += 1;
        let result = if self.calls <= self.config.fail_first {
            self.host.counter("failed_exports", 1);
            Err(match self.config.failure {
                Failure::Retryable => Error::Retryable {
                    reason: format!("flaky: failing export {}", self.calls),
                    retry_after: (self.config.retry_after_ms > 0)
                        .then(|| std::time::Duration::from_millis(self.config.retry_after_ms)),
                },
                Failure::Permanent => {
                    Error::Permanent(format!("flaky: refusing export {}", self.calls))
                }
            })
        } else {
            self.host.counter("exported_batches", 1);
            Ok(())
        };
        if self.config.asynchronous {
            self.threads.retain(|t| !t.is_finished());
            self.threads
                .push(std::thread::spawn(move || done.complete(result)));
        } else {
            done.complete(result);
        }
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        Ok(())
    }
}

/// What the `fault_join` connector does once `after` batches have passed.
#[derive(Clone, Copy, Debug, Default, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum JoinMode {
    /// Emit every batch unchanged into the pipelines of its signal.
    #[default]
    Pass,
    /// Panic in `consume`.
    Panic,
    /// Answer `FULL` (backpressure).
    Full,
    /// Emit nothing.
    Drop,
    /// Emit the batch as the other signal (traces as logs, logs as traces), which its pairs do
    /// not allow: the host refuses the emit.
    Unpaired,
}

/// Config of the `fault_join` connector.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultJoinConfig {
    /// What to do with batches once `after` batches have passed.
    #[serde(default)]
    pub mode: JoinMode,
    /// Batches passed on unchanged before `mode` applies.
    #[serde(default)]
    pub after: u64,
}

/// The `fault_join` connector: traces to traces, logs to logs.
pub struct FaultJoin {
    config: FaultJoinConfig,
    seen: u64,
}

impl Connector for FaultJoin {
    type Config = FaultJoinConfig;
    const TYPE: &'static str = "fault_join";
    const PAIRS: &'static [(Signal, Signal)] = &[
        (Signal::Traces, Signal::Traces),
        (Signal::Logs, Signal::Logs),
    ];

    fn create(config: FaultJoinConfig, _host: Host) -> Result<Self, Error> {
        Ok(FaultJoin { config, seen: 0 })
    }

    fn consume(&mut self, signal: Signal, data: &[u8], out: &Host) -> Result<(), Error> {
        self.seen += 1;
        if self.seen <= self.config.after {
            return out.emit(signal, data);
        }
        match self.config.mode {
            JoinMode::Pass => out.emit(signal, data),
            JoinMode::Panic => panic!(
                "fault_join connector: panicking on batch {} as configured",
                self.seen
            ),
            JoinMode::Full => Err(Error::Full("fault_join connector: always full".into())),
            JoinMode::Drop => Ok(()),
            JoinMode::Unpaired => {
                let other = if signal == Signal::Traces {
                    Signal::Logs
                } else {
                    Signal::Traces
                };
                out.emit(other, data)
            }
        }
    }
}

export_plugin!(processor Fault, exporter Flaky, connector FaultJoin);

#[cfg(test)]
mod tests {
    use weir_plugin_sdk::abi;
    use weir_plugin_sdk::testing::TestHost;

    use super::*;

    #[test]
    fn fault_passes_then_applies_its_mode() {
        let host = TestHost::new();
        let mut p = host
            .processor::<Fault>(serde_json::json!({"mode": "full", "after": 1}))
            .unwrap();
        assert_eq!(p.consume(Signal::Logs, b"one"), abi::WEIR_OK);
        assert_eq!(p.consume(Signal::Logs, b"two"), abi::WEIR_FULL);
        let emitted = host.emitted();
        assert_eq!(emitted.len(), 1);
        assert!(emitted[0].borrowed_input);
    }

    #[test]
    fn flaky_fails_first_then_succeeds_asynchronously() {
        let host = TestHost::new();
        let mut e = host
            .exporter::<Flaky>(serde_json::json!({"fail_first": 1, "asynchronous": true}))
            .unwrap();
        // The other thread may complete before `export` has returned, and the outcome is then
        // the call's status rather than a later `complete`: either way, one outcome per token.
        let mut statuses: Vec<(u64, u32)> = Vec::new();
        for _ in 0..2 {
            let (status, token) = e.consume_with_token(Signal::Traces, b"x");
            if status != abi::WEIR_PENDING {
                statuses.push((token, status));
            }
        }
        assert_eq!(e.shutdown(), abi::WEIR_OK);
        statuses.extend(host.completed().iter().map(|c| (c.token, c.status)));
        statuses.sort();
        assert_eq!(statuses, vec![(1, abi::WEIR_RETRYABLE), (2, abi::WEIR_OK)]);
        assert_eq!(host.counters().get("exported_batches"), Some(&1));
    }
}
