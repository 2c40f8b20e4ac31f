//! The wire walk accepts exactly what prost decoding accepts and counts what decoding counts.
//!
//! Input: one byte choosing the signal, then the request bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_core::batch::Request;
use weir_core::batch::wire::{self, WireSummary};
use weir_fuzz::signal_of;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let signal = signal_of(selector);
    let walked = wire::walk(signal, bytes);
    let decoded = Request::decode(signal, bytes);
    match (&walked, &decoded) {
        (Ok(summary), Ok(request)) => {
            assert_eq!(
                summary.items,
                request.item_count(),
                "item count differs from prost's"
            );
            let resources = match request {
                Request::Traces(r) => r.resource_spans.len(),
                Request::Metrics(r) => r.resource_metrics.len(),
                Request::Logs(r) => r.resource_logs.len(),
            };
            assert_eq!(
                summary.resources, resources,
                "resource count differs from prost's"
            );
            // What prost writes back is canonical; the walk must count it the same way.
            let again = wire::walk(signal, &request.encode_to_bytes());
            assert_eq!(
                again,
                Ok(WireSummary {
                    items: summary.items,
                    resources
                }),
                "re-encoded request walks differently"
            );
        }
        (Err(_), Err(_)) => {}
        (Ok(summary), Err(e)) => panic!("walk accepted ({summary:?}) what prost refuses: {e}"),
        (Err(e), Ok(_)) => panic!("walk refused what prost accepts: {e}"),
    }
});
