//! The `tracing` bridge: `tracing` events raised inside a plugin go to Weir's log.
//!
//! A plugin library links its own copy of `tracing`, whose global subscriber is not Weir's. The
//! SDK installs one (on first use, unless the plugin installed its own) that formats each event
//! and writes it through the [`Host`] of the instance the thread is working for: the SDK sets it
//! around every call from Weir, [`crate::runtime::PluginRuntime`] sets it on its worker
//! threads, and threads a plugin spawns itself call [`set_thread_host`]. Events on a thread
//! without a host are dropped, since no instance can be named for them.

use std::cell::Cell;
use std::fmt::Write as _;
use std::sync::Once;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

use crate::{Host, Level};

thread_local! {
    static CURRENT: Cell<Option<Host>> = const { Cell::new(None) };
}

/// Restores the thread's previous host when dropped.
pub struct HostScope {
    previous: Option<Host>,
}

impl Drop for HostScope {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.previous));
    }
}

/// Makes `host` the destination of this thread's `tracing` events until the scope is dropped.
pub fn enter(host: Host) -> HostScope {
    install();
    HostScope {
        previous: CURRENT.with(|c| c.replace(Some(host))),
    }
}

/// Makes `host` the destination of this thread's `tracing` events for the thread's lifetime
/// (for threads a plugin spawns; join them before the instance is destroyed).
pub fn set_thread_host(host: Host) {
    install();
    CURRENT.with(|c| c.set(Some(host)));
}

/// Installs the bridge as the library's global `tracing` subscriber, once; a no-op if the
/// plugin installed its own first.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing::subscriber::set_global_default(HostSubscriber);
    });
}

fn level_of(level: &tracing::Level) -> Level {
    match *level {
        tracing::Level::ERROR => Level::Error,
        tracing::Level::WARN => Level::Warn,
        tracing::Level::INFO => Level::Info,
        tracing::Level::DEBUG => Level::Debug,
        tracing::Level::TRACE => Level::Trace,
    }
}

struct HostSubscriber;

/// Writes `message` first, then ` key=value` for every other field.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl Subscriber for HostSubscriber {
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        // Whether an event is wanted depends on the thread's host, so ask every time.
        Interest::sometimes()
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        CURRENT.with(|c| {
            c.get()
                .is_some_and(|h| level_of(metadata.level()) as u32 <= h.max_log_level())
        })
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        // Spans are not forwarded; every span shares one id.
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let Some(host) = CURRENT.with(Cell::get) else {
            return;
        };
        let mut line = Line::default();
        event.record(&mut line);
        let text = format!("{}{}", line.message, line.fields);
        host.log(level_of(event.metadata().level()), &text);
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}
