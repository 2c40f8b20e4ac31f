//! The receiver with a real tailer on real files, fed into a consumer that stands in for the
//! pipelines: records arrive with their file's attributes, offsets are saved only once the
//! pipelines let go of what was read before them, and a restart resumes there.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use prost::Message;
use tokio_util::sync::CancellationToken;
use weir_core::batch::{Batch, Signal};
use weir_core::component::{
    ComponentConfig, Consumer, CreateSettings, Extension, ExtensionContext, ExtensionError, Host,
    KvStore, PushOutcome, ReceiverContext, ReceiverFactory, Storage,
};
use weir_core::exporter::{QueueStore, Sizer};
use weir_tailer::TailerState;

use super::tail::STATE_KEY;
use super::*;

/// Keeps every batch; holds them (undelivered) while `hold` is set, drops them (delivered)
/// otherwise.
#[derive(Default)]
struct Pipelines {
    bodies: Mutex<Vec<String>>,
    held: Mutex<Vec<Batch>>,
    hold: std::sync::atomic::AtomicBool,
    attributes: Mutex<Vec<Vec<(String, String)>>>,
}

#[async_trait]
impl Consumer for Pipelines {
    async fn consume(&self, batch: Batch) -> PushOutcome {
        let request = ExportLogsServiceRequest::decode(batch.to_bytes()).unwrap();
        for record in request
            .resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
        {
            if let Some(Value::StringValue(body)) =
                record.body.as_ref().and_then(|b| b.value.clone())
            {
                self.bodies.lock().unwrap().push(body);
            }
            let attributes = record
                .attributes
                .iter()
                .map(|kv| {
                    let value = match kv.value.as_ref().and_then(|v| v.value.clone()) {
                        Some(Value::StringValue(s)) => s,
                        other => format!("{other:?}"),
                    };
                    (kv.key.clone(), value)
                })
                .collect();
            self.attributes.lock().unwrap().push(attributes);
        }
        if self.hold.load(std::sync::atomic::Ordering::SeqCst) {
            self.held.lock().unwrap().push(batch);
        }
        PushOutcome::Accepted
    }
}

impl Pipelines {
    fn bodies(&self) -> Vec<String> {
        self.bodies.lock().unwrap().clone()
    }
}

/// A storage extension holding records in memory, shared across "restarts".
#[derive(Default, Clone)]
struct MemoryStorage(Arc<Mutex<HashMap<String, Vec<u8>>>>);

impl KvStore for MemoryStorage {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ExtensionError> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), ExtensionError> {
        self.0.lock().unwrap().insert(key.into(), value.to_vec());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), ExtensionError> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
}

impl Storage for MemoryStorage {
    fn open_client(&self, _owner: &str) -> Result<Arc<dyn KvStore>, ExtensionError> {
        Ok(Arc::new(self.clone()))
    }
    fn open_queue(
        &self,
        _: &str,
        _: Signal,
        _: Sizer,
        _: usize,
    ) -> Result<Arc<dyn QueueStore>, ExtensionError> {
        Err(ExtensionError("no queues here".into()))
    }
}

#[async_trait]
impl Extension for MemoryStorage {
    async fn start(&self, _: ExtensionContext) -> Result<(), ExtensionError> {
        Ok(())
    }
    fn storage(&self) -> Option<&dyn Storage> {
        Some(self)
    }
}

impl MemoryStorage {
    fn saved_offsets(&self) -> Vec<u64> {
        self.get(STATE_KEY)
            .unwrap()
            .map(|bytes| TailerState::decode(&bytes).unwrap())
            .map(|state| state.files.iter().map(|f| f.offset).collect())
            .unwrap_or_default()
    }
}

struct Running {
    stop: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl Running {
    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.handle)
            .await
            .expect("the receiver stops")
            .unwrap();
    }
}

async fn start(
    config: serde_json::Value,
    pipelines: Arc<Pipelines>,
    storage: &MemoryStorage,
) -> Running {
    let config: FilelogConfig = serde_json::from_value(config).unwrap();
    config.validate().unwrap();
    let id: weir_core::component::ComponentId = "filelog".parse().unwrap();
    let host = Host::new(vec![(
        "file_storage".parse().unwrap(),
        Arc::new(storage.clone()) as Arc<dyn Extension>,
    )]);
    let settings = CreateSettings {
        id: id.clone(),
        signal: None,
        pipeline: None,
        host: host.clone(),
    };
    let receiver = FilelogReceiverFactory.create(&config, &settings).unwrap();
    let stop = CancellationToken::new();
    let consumers: BTreeMap<Signal, Arc<dyn Consumer>> =
        BTreeMap::from([(Signal::Logs, pipelines as Arc<dyn Consumer>)]);
    let handle = receiver
        .start(ReceiverContext {
            id,
            consumers,
            shutdown: stop.clone(),
            host,
        })
        .await
        .unwrap();
    Running { stop, handle }
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    for _ in 0..500 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn append(path: &std::path::Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

#[tokio::test]
async fn lines_arrive_with_the_file_name_and_the_configured_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "first\nsecond\n");
    let pipelines = Arc::new(Pipelines::default());
    let running = start(
        serde_json::json!({
            "include": [dir.path().join("*.log")],
            "start_at": "beginning",
            "poll_interval": "20ms",
            "include_file_path": true,
            "attributes": {"team": "payments"},
        }),
        pipelines.clone(),
        &MemoryStorage::default(),
    )
    .await;
    eventually("two lines", || pipelines.bodies().len() == 2).await;
    append(&path, "third\n");
    eventually("the appended line", || pipelines.bodies().len() == 3).await;
    assert_eq!(pipelines.bodies(), vec!["first", "second", "third"]);
    let attributes = pipelines.attributes.lock().unwrap()[0].clone();
    assert_eq!(
        attributes,
        vec![
            ("team".to_string(), "payments".to_string()),
            ("log.file.name".to_string(), "app.log".to_string()),
            ("log.file.path".to_string(), path.display().to_string()),
        ]
    );
    running.stop().await;
}

#[tokio::test]
async fn an_offset_is_saved_only_once_what_was_read_before_it_is_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "one\ntwo\n");
    let pipelines = Arc::new(Pipelines::default());
    pipelines
        .hold
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let storage = MemoryStorage::default();
    let running = start(
        serde_json::json!({
            "include": [dir.path().join("*.log")],
            "start_at": "beginning",
            "poll_interval": "20ms",
            "storage": "file_storage",
        }),
        pipelines.clone(),
        &storage,
    )
    .await;
    eventually("the lines read", || pipelines.bodies().len() == 2).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        storage.saved_offsets().iter().all(|o| *o == 0),
        "nothing delivered, nothing committed: {:?}",
        storage.saved_offsets()
    );
    // The pipelines let go: the batches are delivered.
    pipelines.held.lock().unwrap().clear();
    eventually("the offset saved", || storage.saved_offsets() == vec![8]).await;
    running.stop().await;
}

#[tokio::test]
async fn a_restart_resumes_at_the_saved_offset_and_repeats_only_what_was_not_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "one\ntwo\n");
    let storage = MemoryStorage::default();
    let config = serde_json::json!({
        "include": [dir.path().join("*.log")],
        "start_at": "beginning",
        "poll_interval": "20ms",
        "storage": "file_storage",
    });
    let first = Arc::new(Pipelines::default());
    let running = start(config.clone(), first.clone(), &storage).await;
    eventually("the first lines", || first.bodies().len() == 2).await;
    eventually("their offset saved", || storage.saved_offsets() == vec![8]).await;
    running.stop().await;

    // Written while stopped; the next run holds what it reads and is stopped undelivered.
    append(&path, "three\n");
    let second = Arc::new(Pipelines::default());
    second.hold.store(true, std::sync::atomic::Ordering::SeqCst);
    let running = start(config.clone(), second.clone(), &storage).await;
    eventually("the line written while stopped", || {
        second.bodies().len() == 1
    })
    .await;
    running.stop().await;
    assert_eq!(second.bodies(), vec!["three"]);
    assert_eq!(
        storage.saved_offsets(),
        vec![8],
        "three was never delivered"
    );
    second.held.lock().unwrap().clear();

    let third = Arc::new(Pipelines::default());
    let running = start(config, third.clone(), &storage).await;
    eventually("the undelivered line again", || third.bodies().len() == 1).await;
    eventually("its offset saved", || storage.saved_offsets() == vec![14]).await;
    running.stop().await;
    assert_eq!(third.bodies(), vec!["three"]);
}

#[test]
fn fields_otelcol_has_and_weir_does_not_build_are_refused_by_name() {
    let config: FilelogConfig = serde_json::from_value(serde_json::json!({
        "include": ["/var/log/*.log"],
        "include_file_owner_name": true,
        "header": {"pattern": "^#"},
        "encoding": "ebcdic",
    }))
    .unwrap();
    let problems = config.validate().unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`include_file_owner_name` is not supported")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`header` is not supported")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("encoding `ebcdic` is not supported")),
        "{problems:?}"
    );
}

#[test]
fn include_is_required_and_delete_after_read_needs_beginning() {
    let config: FilelogConfig =
        serde_json::from_value(serde_json::json!({"delete_after_read": true})).unwrap();
    let problems = config.validate().unwrap_err();
    assert!(
        problems.iter().any(|p| p.contains("`include` is required")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`delete_after_read` cannot be used with `start_at: end`")),
        "{problems:?}"
    );
}

#[tokio::test]
async fn operators_parse_records_and_an_offset_waits_for_what_recombine_holds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "ERROR boom\n  at a\n  at b\nINFO next\n");
    let pipelines = Arc::new(Pipelines::default());
    let storage = MemoryStorage::default();
    let running = start(
        serde_json::json!({
            "include": [dir.path().join("*.log")],
            "start_at": "beginning",
            "poll_interval": "20ms",
            "storage": "file_storage",
            // Continuation lines start with spaces, which are trimmed by default.
            "preserve_leading_whitespaces": true,
            "operators": [
                {"type": "recombine", "combine_field": "body",
                 "is_first_entry": "body matches \"^[^\\\\s]\"", "force_flush_period": "1s"},
                {"type": "regex_parser", "regex": "^(?P<level>[A-Z]+) (?P<rest>(?s:.*))$",
                 "severity": {"parse_from": "attributes.level"}},
            ],
        }),
        pipelines.clone(),
        &storage,
    )
    .await;
    eventually("the first record", || pipelines.bodies().len() == 1).await;
    assert_eq!(pipelines.bodies(), vec!["ERROR boom\n  at a\n  at b"]);
    let attributes = pipelines.attributes.lock().unwrap()[0].clone();
    assert!(
        attributes.contains(&("level".to_string(), "ERROR".to_string()))
            && attributes.contains(&("log.file.name".to_string(), "app.log".to_string())),
        "{attributes:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        storage.saved_offsets().iter().all(|o| *o == 0),
        "`INFO next` is held by recombine, and it was read with the rest: nothing committed, \
         saved {:?}",
        storage.saved_offsets()
    );
    eventually("the held record, flushed", || pipelines.bodies().len() == 2).await;
    eventually("the whole file committed", || {
        storage.saved_offsets() == vec![35]
    })
    .await;
    running.stop().await;
}

#[test]
fn an_operator_error_is_reported_at_its_field() {
    let config: FilelogConfig = serde_json::from_value(serde_json::json!({
        "include": ["/var/log/*.log"],
        "operators": [{"type": "regex_parser", "regex": "^(?P<x"}],
    }))
    .unwrap();
    let problems = config.validate_fields().unwrap_err();
    assert_eq!(
        problems[0].path,
        vec!["operators", "0", "regex"],
        "{problems:?}"
    );
}

#[test]
fn initial_buffer_size_is_the_read_size_and_at_least_4_kib() {
    let read_chunk = |size: serde_json::Value| {
        let config: FilelogConfig = serde_json::from_value(serde_json::json!({
            "include": ["/var/log/*.log"],
            "initial_buffer_size": size,
        }))
        .unwrap();
        config.tailer().unwrap().read_chunk
    };
    assert_eq!(read_chunk(serde_json::json!("16KiB")), 16 * 1024);
    assert_eq!(read_chunk(serde_json::json!("1MiB")), 1024 * 1024);
    assert_eq!(read_chunk(serde_json::json!(100)), 4096);
}

#[tokio::test]
async fn lines_longer_than_the_read_size_arrive_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let long: Vec<String> = (0..3)
        .map(|i| format!("{i}{}", "x".repeat(10_000)))
        .collect();
    append(&path, &format!("{}\n", long.join("\n")));
    let pipelines = Arc::new(Pipelines::default());
    let running = start(
        serde_json::json!({
            "include": [dir.path().join("*.log")],
            "start_at": "beginning",
            "poll_interval": "20ms",
            "initial_buffer_size": "4KiB",
        }),
        pipelines.clone(),
        &MemoryStorage::default(),
    )
    .await;
    eventually("three long lines", || pipelines.bodies().len() == 3).await;
    assert_eq!(pipelines.bodies(), long);
    running.stop().await;
}
