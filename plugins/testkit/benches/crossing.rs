//! The cost of one batch crossing into a plugin: the same no-op processor (pass the batch on
//! unchanged) built in, behind the C ABI on the calling thread (the crossing itself: host
//! context, `consume`, the SDK's panic guard, `emit` back, zero-copy reuse of the buffer), and
//! as the runtime drives it (plus the hop to the instance's own thread and back).
//!
//! For comparison, in the same run:
//! - `floor`: two threads handing a token back and forth with `park`/`unpark`, each side
//!   asleep when the other wakes it: one futex wake and context switch each way, the least a
//!   hop to another thread and back costs when neither side spins;
//! - `channels`: the first hand-off design (a tokio `mpsc` of commands read by
//!   `blocking_recv`, a `oneshot` allocated per call for the answer), rebuilt here on the
//!   public API;
//! - the runtime's hand-off with spinning turned off (`spin 0`), a shorter and a longer spin,
//!   and the default spin (20 µs).
//!
//! `cargo bench -p weir-plugin-testkit --bench crossing` (builds the fault plugin in release
//! first).

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use criterion::{Criterion, criterion_group, criterion_main};
use prost::Message;
use serde_json::json;
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::component::{
    Built, CreateSettings, DynFactory, ParsedConfig, ProcessError, Processor,
};
use weir_core::plugin::{self, PluginFactory};

/// The built-in twin of the `fault` plugin processor in `pass` mode.
struct Pass;

#[async_trait]
impl Processor for Pass {
    async fn process(&mut self, batch: Batch, out: &mut Vec<Batch>) -> Result<(), ProcessError> {
        out.push(batch);
        Ok(())
    }
}

fn request() -> Vec<u8> {
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans {
                spans: (0..100u8)
                    .map(|i| Span {
                        trace_id: vec![i; 16],
                        span_id: vec![i; 8],
                        name: format!("span {i}"),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

/// A request of the channel-based hand-off: the batch and where to send the status
/// (`WeirStatus`) and the emitted batches.
type Request = (Batch, tokio::sync::oneshot::Sender<(u32, Vec<Batch>)>);

/// The first hand-off design: a tokio channel of commands, drained with `blocking_recv` by the
/// instance's thread, and a oneshot per call for the answer.
fn channel_driver(
    fault: Arc<PluginFactory>,
    config: ParsedConfig,
    settings: CreateSettings,
) -> tokio::sync::mpsc::Sender<Request> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Request>(64);
    std::thread::spawn(move || {
        let mut instance = fault.instance_on_this_thread(&config, &settings).unwrap();
        while let Some((batch, reply)) = rx.blocking_recv() {
            let _ = reply.send(instance.consume(&batch));
        }
    });
    tx
}

/// Mean round trip of a token between this thread and another, each parked until woken.
fn park_round_trips(iterations: u64) -> Duration {
    let turn = Arc::new(AtomicU64::new(0));
    let main = std::thread::current();
    let partner_turn = turn.clone();
    let partner = std::thread::spawn(move || {
        for i in 0..iterations {
            while partner_turn.load(Ordering::Acquire) != 2 * i + 1 {
                std::thread::park();
            }
            partner_turn.store(2 * i + 2, Ordering::Release);
            main.unpark();
        }
    });
    let start = Instant::now();
    for i in 0..iterations {
        turn.store(2 * i + 1, Ordering::Release);
        partner.thread().unpark();
        while turn.load(Ordering::Acquire) != 2 * i + 2 {
            std::thread::park();
        }
    }
    let elapsed = start.elapsed();
    partner.join().unwrap();
    elapsed
}

fn crossing(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let batch = Batch::from_encoded(
        Signal::Traces,
        request().into(),
        Arc::new(BatchMeta::default()),
    )
    .unwrap();
    let path = weir_plugin_testkit::cdylib("weir-plugin-fault");
    let fault = plugin::load(&path)
        .unwrap()
        .into_iter()
        .find(|f| f.type_name() == "fault")
        .unwrap();
    let config = fault.parse(json!({"mode": "pass"})).unwrap();
    let settings = CreateSettings {
        id: "fault".parse().unwrap(),
        signal: Some(Signal::Traces),
        pipeline: Some("traces".into()),
        host: Default::default(),
    };

    let mut group = c.benchmark_group("no-op processor, one batch of 100 spans");
    let mut builtin: Box<dyn Processor> = Box::new(Pass);
    group.bench_function("built in", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(1);
            rt.block_on(builtin.process(batch.clone(), &mut out))
                .unwrap();
            black_box(out)
        })
    });

    let mut instance = fault.instance_on_this_thread(&config, &settings).unwrap();
    let (_, out) = instance.consume(&batch);
    assert_eq!(
        out[0].to_bytes().as_ptr(),
        batch.to_bytes().as_ptr(),
        "the batch must cross without a copy"
    );
    group.bench_function("plugin, the ABI crossing", |b| {
        b.iter(|| black_box(instance.consume(&batch)))
    });

    group.bench_function("floor: park/unpark round trip between two threads", |b| {
        b.iter_custom(park_round_trips)
    });

    let channels = channel_driver(fault.clone(), config.clone(), settings.clone());
    group.bench_function(
        "plugin, via the instance's thread: channels (first design)",
        |b| {
            b.iter(|| {
                let (reply, answer) = tokio::sync::oneshot::channel();
                let out = rt.block_on(async {
                    channels.send((batch.clone(), reply)).await.unwrap();
                    answer.await.unwrap()
                });
                black_box(out)
            })
        },
    );
    drop(channels);

    let variants = [
        (
            "plugin, via the instance's thread: spin 0",
            Some(Duration::ZERO),
        ),
        (
            "plugin, via the instance's thread: spin 50 µs",
            Some(Duration::from_micros(50)),
        ),
        (
            "plugin, via the instance's thread: spin 5 µs",
            Some(Duration::from_micros(5)),
        ),
        ("plugin, via the instance's thread", None),
    ];
    for (name, spin) in variants {
        let built = match spin {
            Some(spin) => fault.build_with_spin(&config, &settings, spin),
            None => fault.build(&config, &settings),
        };
        let Ok(Built::Processor(mut threaded)) = built else {
            panic!("fault is a processor");
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut out = Vec::with_capacity(1);
                rt.block_on(threaded.process(batch.clone(), &mut out))
                    .unwrap();
                black_box(out)
            })
        });
        let mut out = Vec::new();
        rt.block_on(threaded.flush(&mut out)).unwrap();
    }
    group.finish();
}

criterion_group!(benches, crossing);
criterion_main!(benches);
