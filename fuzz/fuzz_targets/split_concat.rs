//! Concatenating encoded requests and splitting them again keeps every item, in order, and no
//! piece holds more than the limit; malformed input is an error, never a panic.
//!
//! Input: a signal byte, a limit byte (items per piece, 0 = no limit), the length of the first
//! request (two bytes, little-endian, capped at what is there), then the bytes of both requests.

#![no_main]

use std::sync::Arc;

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_core::batch::split::{self, Concat};
use weir_core::batch::{Batch, BatchMeta, Request, wire};
use weir_fuzz::{flatten, signal_of};

fuzz_target!(|data: &[u8]| {
    let [selector, limit, lo, hi, rest @ ..] = data else {
        return;
    };
    let signal = signal_of(*selector);
    // Small limits split often and deep; larger ones are where runs of resources get sliced.
    let max = usize::from(*limit % 16);
    let at = usize::from(u16::from_le_bytes([*lo, *hi])).min(rest.len());
    let (a, b) = rest.split_at(at);

    let walks = [wire::walk(signal, a), wire::walk(signal, b)];
    for (part, walked) in [a, b].into_iter().zip(&walks) {
        let pieces = split::split(signal, &Bytes::copy_from_slice(part), max.max(1));
        assert_eq!(
            pieces.is_ok(),
            walked.is_ok(),
            "split and walk disagree on whether the input is well-formed"
        );
    }
    let [Ok(wa), Ok(wb)] = walks else {
        return;
    };

    let mut concat = Concat::new();
    concat.push(a, wa.items);
    concat.push(b, wb.items);
    let total = concat.items();
    let joined = concat.take();
    assert_eq!(joined.len(), a.len() + b.len());
    let summary =
        wire::walk(signal, &joined).expect("two valid requests concatenate to a valid one");
    assert_eq!(summary.items, total);
    let whole = Request::decode(signal, &joined).expect("the walk accepted it, so prost must");
    let expected = {
        let mut first = Request::decode(signal, a).expect("walked");
        let second = Request::decode(signal, b).expect("walked");
        match (&mut first, second) {
            (Request::Traces(x), Request::Traces(y)) => x.resource_spans.extend(y.resource_spans),
            (Request::Metrics(x), Request::Metrics(y)) => {
                x.resource_metrics.extend(y.resource_metrics)
            }
            (Request::Logs(x), Request::Logs(y)) => x.resource_logs.extend(y.resource_logs),
            _ => unreachable!("decoded as one signal"),
        }
        first
    };
    assert_eq!(
        whole.encode_to_bytes(),
        expected.encode_to_bytes(),
        "concatenation decodes to something other than the two requests' resources in order"
    );

    let pieces = split::split(signal, &joined, max).expect("a walked request splits");
    assert!(!pieces.is_empty(), "split returned no piece");
    let mut rejoined = Vec::new();
    for (piece, items) in &pieces {
        if max > 0 {
            assert!(
                *items <= max,
                "a piece holds {items} items, over the limit of {max}"
            );
        }
        let walked = wire::walk(signal, piece).expect("every piece is a valid request");
        assert_eq!(walked.items, *items, "a piece's item count is wrong");
        rejoined.extend_from_slice(piece);
    }
    assert_eq!(
        pieces.iter().map(|(_, n)| n).sum::<usize>(),
        total,
        "items lost or added"
    );
    let rejoined =
        Request::decode(signal, &rejoined).expect("pieces concatenate to a valid request");
    assert!(
        flatten(&rejoined) == flatten(&whole),
        "the pieces hold other items than the input"
    );

    // The batch-level wrappers on the same data.
    let meta = Arc::new(BatchMeta::default());
    let batch = Batch::from_encoded(signal, joined.clone(), meta).expect("walked");
    let batches = split::split_batch(&batch, max).expect("walked");
    assert_eq!(batches.iter().map(Batch::items).sum::<usize>(), total);
    let merged = split::concat_batches(&batches).expect("one signal");
    assert_eq!(merged.items(), total);
});
