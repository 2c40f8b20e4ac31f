//! Property: whatever sequence of push, pop, done, keep, save, crash and clean restart the
//! queue goes through, it hands out exactly the batches a model says are still owed, in push
//! order — never losing one pushed and not done, never returning one done, except those done
//! after the last save when the process crashed (the documented duplicate window).

use std::collections::{BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use weir_core::batch::{Batch, BatchMeta, Signal};
use weir_core::exporter::{QueueStore, Sizer, Ticket};

use super::config::{FsyncPolicy, QueueOptions};
use super::queue::{DiskBudget, FileQueue};
use super::record::HEADER_LEN;

#[derive(Clone, Debug)]
enum Op {
    Push,
    Pop,
    Done(usize),
    Keep(usize),
    Save,
    Crash,
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => Just(Op::Push),
        5 => Just(Op::Pop),
        4 => any::<usize>().prop_map(Op::Done),
        1 => any::<usize>().prop_map(Op::Keep),
        1 => Just(Op::Save),
        1 => Just(Op::Crash),
        1 => Just(Op::Restart),
    ]
}

/// What the queue owes, as the model sees it.
#[derive(Default)]
struct Model {
    next_id: u64,
    /// Stored and not handed out in this run, in order.
    pending: VecDeque<u64>,
    /// Handed out in this run and not finished.
    held: Vec<(u64, Ticket)>,
    /// Kept in this run: owed again after a restart.
    kept: BTreeSet<u64>,
    /// Done since the done records were last saved.
    unsaved: BTreeSet<u64>,
}

impl Model {
    /// After a restart everything not done is owed again, in order; after a crash, also what
    /// was done but not saved.
    fn restart(&mut self, crashed: bool) {
        let mut owed: BTreeSet<u64> = self.pending.drain(..).collect();
        owed.extend(self.held.drain(..).map(|(id, _)| id));
        owed.append(&mut self.kept);
        if crashed {
            owed.append(&mut self.unsaved);
        }
        self.unsaved.clear();
        self.pending = owed.into_iter().collect();
    }
}

fn options(fsync: FsyncPolicy) -> QueueOptions {
    QueueOptions {
        fsync,
        fsync_interval: Duration::from_secs(3600),
        max_bytes: 0,
        // Three records a segment: segments are created and freed all the time.
        segment_bytes: 3 * (HEADER_LEN as u64 + 12),
        lock_timeout: Duration::ZERO,
    }
}

fn open(dir: &Path, fsync: FsyncPolicy) -> FileQueue {
    FileQueue::open(
        dir,
        "prop",
        Signal::Traces,
        Sizer::Requests,
        10_000,
        options(fsync),
        Arc::new(DiskBudget::default()),
    )
    .expect("opening the queue")
}

fn batch(id: u64) -> Batch {
    Batch::from_walked(
        Signal::Traces,
        Bytes::from(format!("batch-{id:06}")),
        1,
        Arc::new(BatchMeta::default()),
    )
}

fn id_of(batch: &Batch) -> u64 {
    let bytes = batch.to_bytes();
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| t.strip_prefix("batch-"))
        .and_then(|t| t.parse().ok())
        .unwrap_or(u64::MAX)
}

fn run(ops: Vec<Op>, fsync: FsyncPolicy) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let dir = tempfile::tempdir().expect("temporary folder");
        let mut queue = open(dir.path(), fsync);
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Push => {
                    let id = model.next_id;
                    model.next_id += 1;
                    prop_assert!(queue.push(batch(id)).await.is_ok());
                    model.pending.push_back(id);
                }
                Op::Pop => {
                    let Some(expected) = model.pending.pop_front() else {
                        continue;
                    };
                    let (batch, ticket) = queue.pop().await.expect("a batch is owed");
                    prop_assert_eq!(id_of(&batch), expected);
                    model.held.push((expected, ticket));
                }
                Op::Done(i) if !model.held.is_empty() => {
                    let (id, ticket) = model.held.remove(i % model.held.len());
                    queue.done(ticket);
                    model.unsaved.insert(id);
                }
                Op::Keep(i) if !model.held.is_empty() => {
                    let (id, ticket) = model.held.remove(i % model.held.len());
                    queue.keep(ticket);
                    model.kept.insert(id);
                }
                Op::Done(_) | Op::Keep(_) => {}
                Op::Save => {
                    queue.checkpoint_now();
                    model.unsaved.clear();
                }
                Op::Crash => {
                    queue.writer().crash();
                    drop(queue);
                    queue = open(dir.path(), fsync);
                    model.restart(true);
                }
                Op::Restart => {
                    drop(queue);
                    queue = open(dir.path(), fsync);
                    model.restart(false);
                }
            }
        }
        // At the end, a clean restart and a full drain hand out exactly what is owed.
        drop(queue);
        let queue = open(dir.path(), fsync);
        model.restart(false);
        queue.close();
        let mut delivered = Vec::new();
        while let Some((batch, ticket)) = queue.pop().await {
            delivered.push(id_of(&batch));
            queue.done(ticket);
        }
        prop_assert_eq!(delivered, Vec::from(model.pending.clone()));
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_queue_owes_exactly_what_the_model_says(
        ops in proptest::collection::vec(op(), 1..60),
        always in any::<bool>(),
    ) {
        let fsync = if always { FsyncPolicy::Always } else { FsyncPolicy::Never };
        run(ops, fsync)?;
    }
}
