//! Property tests tying the wire walk, concatenation and splitting to what prost decoding says:
//! the walk counts what decoding counts and accepts exactly what decoding accepts (on valid,
//! mutated and random bytes); concatenated encodings decode to the merged request; split pieces
//! respect the limit and rejoin to the original, also for unusual encodings the walk accepts
//! (the fuzz targets `wire_walk` and `split_concat` check the same on nightly); OTLP/JSON round
//! trips; rewriting item attributes on the wire decodes to the same edit made on the decoded
//! request, for mutated encodings too, and never panics. Case counts are modest for debug
//! builds.

use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::Index;

use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};

use super::json::{decode_json, encode_json};
use super::rewrite::{AttributeRewriter, Attributes, Level, put_int_value, put_string_value};
use super::split::{Concat, split};
use super::testgen::{self, Size};
use super::wire::{WireSummary, walk};
use super::{Request, Signal};

fn any_request() -> impl Strategy<Value = Request> {
    prop_oneof![
        testgen::traces_request(Size::SMALL).prop_map(Request::Traces),
        testgen::metrics_request(Size::SMALL).prop_map(Request::Metrics),
        testgen::logs_request(Size::SMALL).prop_map(Request::Logs),
    ]
}

/// One to three requests of the same signal.
fn same_signal_requests() -> impl Strategy<Value = Vec<Request>> {
    prop_oneof![
        vec(
            testgen::traces_request(Size::SMALL).prop_map(Request::Traces),
            1..4
        ),
        vec(
            testgen::metrics_request(Size::SMALL).prop_map(Request::Metrics),
            1..4
        ),
        vec(
            testgen::logs_request(Size::SMALL).prop_map(Request::Logs),
            1..4
        ),
    ]
}

fn any_signal() -> impl Strategy<Value = Signal> {
    prop_oneof![
        Just(Signal::Traces),
        Just(Signal::Metrics),
        Just(Signal::Logs)
    ]
}

fn resources(request: &Request) -> usize {
    match request {
        Request::Traces(r) => r.resource_spans.len(),
        Request::Metrics(r) => r.resource_metrics.len(),
        Request::Logs(r) => r.resource_logs.len(),
    }
}

/// Whether two requests hold the same resources, scopes and items in the same order, however
/// they are grouped into `Resource*` and `Scope*` entries.
fn same_items(a: &Request, b: &Request) -> bool {
    match (a, b) {
        (Request::Traces(a), Request::Traces(b)) => {
            testgen::flatten_traces(a) == testgen::flatten_traces(b)
        }
        (Request::Metrics(a), Request::Metrics(b)) => {
            testgen::flatten_metrics(a) == testgen::flatten_metrics(b)
        }
        (Request::Logs(a), Request::Logs(b)) => {
            testgen::flatten_logs(a) == testgen::flatten_logs(b)
        }
        _ => false,
    }
}

/// The request holding the resources of all `requests`, in order.
fn merged(requests: &[Request]) -> Option<Request> {
    let (first, rest) = requests.split_first()?;
    let mut out = first.clone();
    for next in rest {
        match (&mut out, next) {
            (Request::Traces(a), Request::Traces(b)) => {
                a.resource_spans.extend(b.resource_spans.iter().cloned())
            }
            (Request::Metrics(a), Request::Metrics(b)) => a
                .resource_metrics
                .extend(b.resource_metrics.iter().cloned()),
            (Request::Logs(a), Request::Logs(b)) => {
                a.resource_logs.extend(b.resource_logs.iter().cloned())
            }
            _ => return None,
        }
    }
    Some(out)
}

/// The biggest item count of a single resource.
fn largest_resource(request: &Request) -> usize {
    let singles: Vec<Request> = match request {
        Request::Traces(r) => r
            .resource_spans
            .iter()
            .map(|rs| Request::Traces(opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
                resource_spans: vec![rs.clone()],
            }))
            .collect(),
        Request::Metrics(r) => r
            .resource_metrics
            .iter()
            .map(|rm| {
                Request::Metrics(opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest {
                    resource_metrics: vec![rm.clone()],
                })
            })
            .collect(),
        Request::Logs(r) => r
            .resource_logs
            .iter()
            .map(|rl| Request::Logs(opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest {
                resource_logs: vec![rl.clone()],
            }))
            .collect(),
    };
    singles.iter().map(Request::item_count).max().unwrap_or(0)
}

/// A small edit of an encoding, of the kinds transport corruption and buggy encoders produce.
#[derive(Clone, Debug)]
enum Mutation {
    Set(Index, u8),
    FlipBit(Index, u8),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    Truncate(Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<Index>(), 0..8u8).prop_map(|(i, bit)| Mutation::FlipBit(i, bit)),
        (any::<Index>(), vec(any::<u8>(), 1..4)).prop_map(|(i, b)| Mutation::Insert(i, b)),
        (any::<Index>(), 1..4usize).prop_map(|(i, n)| Mutation::Remove(i, n)),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, mutation: &Mutation) {
    let len = bytes.len();
    match mutation {
        Mutation::Insert(at, more) => {
            let at = if len == 0 { 0 } else { at.index(len + 1) };
            bytes.splice(at..at, more.iter().copied());
        }
        _ if len == 0 => {}
        Mutation::Set(at, byte) => bytes[at.index(len)] = *byte,
        Mutation::FlipBit(at, bit) => bytes[at.index(len)] ^= 1 << bit,
        Mutation::Remove(at, n) => {
            let at = at.index(len);
            bytes.drain(at..(at + n).min(len));
        }
        Mutation::Truncate(at) => bytes.truncate(at.index(len)),
    }
}

/// Walk and prost agree on acceptance, and on the count when both accept.
fn agree(signal: Signal, bytes: &[u8]) -> Result<(), TestCaseError> {
    let walked = walk(signal, bytes);
    let decoded = Request::decode(signal, bytes);
    match (&walked, &decoded) {
        (Ok(summary), Ok(request)) => prop_assert_eq!(summary.items, request.item_count()),
        (Err(_), Err(_)) => {}
        _ => prop_assert!(
            false,
            "walk {:?} but prost {:?} on {:02x?}",
            walked,
            decoded,
            bytes
        ),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn walk_counts_what_decoding_counts(request in any_request()) {
        let bytes = request.encode_to_bytes();
        let summary = walk(request.signal(), &bytes);
        prop_assert_eq!(summary, Ok(WireSummary { items: request.item_count(), resources: resources(&request) }));
    }

    #[test]
    fn walk_agrees_with_prost_on_mutated_encodings(
        request in any_request(),
        mutations in vec(mutation(), 1..4),
    ) {
        let mut bytes = request.encode_to_bytes().to_vec();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        agree(request.signal(), &bytes)?;
    }

    #[test]
    fn the_fast_walk_agrees_with_the_diagnosing_walk(
        request in any_request(),
        mutations in vec(mutation(), 0..4),
    ) {
        let mut bytes = request.encode_to_bytes().to_vec();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let (fast, diagnosed) = super::wire::both_walks(request.signal(), &bytes);
        prop_assert_eq!(fast, diagnosed.ok(), "on {:02x?}", bytes);
    }

    #[test]
    fn concatenated_encodings_decode_to_the_merged_request(requests in same_signal_requests()) {
        let signal = requests[0].signal();
        let mut concat = Concat::new();
        for r in &requests {
            concat.push(&r.encode_to_bytes(), r.item_count());
        }
        let items = concat.items();
        let bytes = concat.take();
        let expected = merged(&requests);
        prop_assert_eq!(walk(signal, &bytes).map(|s| s.items), Ok(items));
        prop_assert_eq!(Request::decode(signal, &bytes).ok(), expected);
    }

    #[test]
    fn split_pieces_respect_the_limit_and_rejoin_to_the_input(request in any_request(), max in 1..12usize) {
        let signal = request.signal();
        let bytes = request.encode_to_bytes();
        let total = request.item_count();
        let pieces = split(signal, &bytes, max).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(!pieces.is_empty());
        for (piece, items) in &pieces {
            prop_assert!(*items <= max, "{} items over {}", items, max);
            prop_assert_eq!(walk(signal, piece).map(|s| s.items), Ok(*items));
        }
        prop_assert_eq!(pieces.iter().map(|(_, n)| n).sum::<usize>(), total);
        let rejoined: Vec<u8> = pieces.iter().flat_map(|(p, _)| p.iter().copied()).collect();
        if largest_resource(&request) <= max {
            // Only resources were cut between: the pieces are the input, sliced.
            prop_assert_eq!(&rejoined[..], &bytes[..]);
        }
        let decoded = Request::decode(signal, &rejoined).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(same_items(&decoded, &request), "rejoined pieces differ from the input");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// prost's encoder writes one canonical form; mutated encodings that still walk have unknown
    /// fields, repeated singular fields, merged oneofs and the like, which splitting must carry
    /// over exactly as decoding reads them.
    #[test]
    fn split_keeps_the_items_of_mutated_encodings_the_walk_accepts(
        request in any_request(),
        mutations in vec(mutation(), 1..4),
        max in 1..5usize,
    ) {
        let signal = request.signal();
        let mut bytes = request.encode_to_bytes().to_vec();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        let bytes = Bytes::from(bytes);
        let Ok(summary) = walk(signal, &bytes) else {
            prop_assert!(split(signal, &bytes, max).is_err(), "split accepted what the walk refuses");
            return Ok(());
        };
        let pieces = split(signal, &bytes, max).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut rejoined = Vec::new();
        for (piece, items) in &pieces {
            prop_assert!(*items <= max, "{} items over {}", items, max);
            prop_assert_eq!(walk(signal, piece).map(|s| s.items), Ok(*items));
            rejoined.extend_from_slice(piece);
        }
        prop_assert_eq!(pieces.iter().map(|(_, n)| n).sum::<usize>(), summary.items);
        let original = Request::decode(signal, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let rejoined = Request::decode(signal, &rejoined).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(same_items(&rejoined, &original), "pieces hold other items than {:02x?}", &bytes[..]);
    }

    #[test]
    fn json_encoding_decodes_to_the_same_request(request in any_request()) {
        let json = encode_json(&request);
        let back = decode_json(request.signal(), &json)
            .map_err(|e| TestCaseError::fail(format!("{e}: {}", String::from_utf8_lossy(&json))))?;
        // As protobuf: generated doubles may be NaN, which no struct equals.
        prop_assert_eq!(back.encode_to_bytes(), request.encode_to_bytes());
    }

    /// Damaged JSON is refused or read; what is read encodes and reads back to itself.
    #[test]
    fn json_decoder_round_trips_whatever_it_accepts_from_mutated_json(
        request in any_request(),
        mutations in vec(mutation(), 1..4),
    ) {
        let signal = request.signal();
        let mut json = encode_json(&request);
        for m in &mutations {
            apply(&mut json, m);
        }
        if let Ok(read) = decode_json(signal, &json) {
            let again = decode_json(signal, &encode_json(&read))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(again.encode_to_bytes(), read.encode_to_bytes());
            prop_assert_eq!(walk(signal, &read.encode_to_bytes()).map(|s| s.items), Ok(read.item_count()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn walk_agrees_with_prost_on_random_bytes(signal in any_signal(), bytes in vec(any::<u8>(), 0..48)) {
        agree(signal, &bytes)?;
    }

    #[test]
    fn walk_agrees_with_prost_on_field_soup(signal in any_signal(), bytes in testgen::wire_soup()) {
        agree(signal, &bytes)?;
    }

    /// Random bytes rarely get past the first key; these are well-formed requests down to the
    /// scope, around random item bytes, so deeper levels see random content too.
    #[test]
    fn walk_agrees_with_prost_on_random_item_bytes(signal in any_signal(), item in vec(any::<u8>(), 0..40)) {
        let bytes = around_item(&item);
        agree(signal, &bytes)?;
        let _ = split(signal, &Bytes::from(bytes), 1);
    }
}

/// A request of any signal that is well-formed down to its one scope, holding `item` as that
/// scope's one item (field 2 at each level, field 1 at the top).
fn around_item(item: &[u8]) -> Vec<u8> {
    let field = |number, content: &[u8]| {
        let mut out = Vec::new();
        super::wire::put_delimited_header(&mut out, number, content.len());
        out.extend_from_slice(content);
        out
    };
    field(1, &field(2, &field(2, item)))
}

// ---- attribute rewriting -------------------------------------------------------------------

/// An edit with every kind of change: removes keys starting with `a`, sets `b…` to the int 7,
/// copies the value of the first `d…` into `c…`, and adds `weir` where it is missing.
fn sample_edit(attributes: &mut Attributes<'_>) {
    let source = (0..attributes.len())
        .find(|&i| !attributes.is_removed(i) && attributes.key(i).starts_with(b"d"));
    let mut seven = Vec::new();
    put_int_value(&mut seven, 7);
    for i in 0..attributes.len() {
        let key = attributes.key(i).to_vec();
        if key.starts_with(b"a") {
            attributes.remove(i);
        } else if key.starts_with(b"b") {
            attributes.set_value(i, Some(&seven));
        } else if key.starts_with(b"c")
            && let Some(source) = source
        {
            attributes.copy_value(source, i);
        }
    }
    if attributes.find(b"weir").is_none() {
        let mut w = Vec::new();
        put_string_value(&mut w, b"w");
        attributes.push(b"weir", Some(&w));
    }
}

/// [`sample_edit`] on decoded attributes.
fn sample_model(attributes: &mut Vec<KeyValue>) {
    let source = attributes
        .iter()
        .find(|kv| kv.key.starts_with('d'))
        .map(|kv| kv.value.clone());
    attributes.retain(|kv| !kv.key.starts_with('a'));
    for kv in attributes.iter_mut() {
        if kv.key.starts_with('b') {
            kv.value = Some(AnyValue {
                value: Some(Value::IntValue(7)),
            });
        } else if kv.key.starts_with('c')
            && let Some(source) = &source
        {
            kv.value = source.clone();
        }
    }
    if !attributes.iter().any(|kv| kv.key == "weir") {
        attributes.push(KeyValue {
            key: "weir".to_string(),
            value: Some(AnyValue {
                value: Some(Value::StringValue("w".to_string())),
            }),
            key_strindex: 0,
        });
    }
}

fn model(request: &Request) -> Request {
    let mut request = request.clone();
    let lists = match &mut request {
        Request::Traces(r) => testgen::span_attributes(r),
        Request::Metrics(r) => testgen::point_attributes(r),
        Request::Logs(r) => testgen::log_attributes(r),
    };
    lists.into_iter().for_each(sample_model);
    request
}

/// Rewriting `bytes` (which the walk accepts) with [`sample_edit`] decodes to the model's edit
/// of the decoded request, keeps the item count, and walks.
fn rewrite_matches_model(signal: Signal, bytes: &[u8]) -> Result<(), TestCaseError> {
    let original =
        Request::decode(signal, bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let expected = model(&original);
    let rewritten = AttributeRewriter::new()
        .rewrite(signal, bytes, sample_edit)
        .map_err(|e| TestCaseError::fail(format!("{e} on {bytes:02x?}")))?;
    match rewritten {
        None => prop_assert_eq!(
            &original,
            &expected,
            "nothing rewritten, yet the model changed"
        ),
        Some(out) => {
            prop_assert_eq!(
                walk(signal, &out).map(|s| s.items),
                Ok(original.item_count())
            );
            let decoded =
                Request::decode(signal, &out).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(decoded, expected, "from {:02x?}", bytes);
        }
    }
    Ok(())
}

/// [`sample_model`] on every resource's or scope's attributes (an absent one edited as empty), or
/// every span event's or link's.
fn group_model(request: &Request, level: Level) -> Request {
    let mut request = request.clone();
    if let (Request::Traces(r), Level::SpanEvent | Level::SpanLink) = (&mut request, level) {
        for span in r
            .resource_spans
            .iter_mut()
            .flat_map(|rs| &mut rs.scope_spans)
            .flat_map(|ss| &mut ss.spans)
        {
            if level == Level::SpanEvent {
                span.events
                    .iter_mut()
                    .for_each(|e| sample_model(&mut e.attributes));
            } else {
                span.links
                    .iter_mut()
                    .for_each(|l| sample_model(&mut l.attributes));
            }
        }
        return request;
    }
    if matches!(level, Level::SpanEvent | Level::SpanLink) {
        return request;
    }
    macro_rules! each {
        ($resources:expr, $scopes:ident) => {
            for group in $resources.iter_mut() {
                if level == Level::Resource {
                    sample_model(&mut group.resource.get_or_insert_default().attributes);
                } else {
                    for scope in group.$scopes.iter_mut() {
                        sample_model(&mut scope.scope.get_or_insert_default().attributes);
                    }
                }
            }
        };
    }
    match &mut request {
        Request::Traces(r) => each!(r.resource_spans, scope_spans),
        Request::Metrics(r) => each!(r.resource_metrics, scope_metrics),
        Request::Logs(r) => each!(r.resource_logs, scope_logs),
    }
    request
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The resource, scope, span event and span link levels edit what decoding, editing the
    /// structs and encoding would, and leave the items (and their count) as they were.
    #[test]
    fn rewriting_resource_and_scope_attributes_decodes_to_the_same_edit_on_structs(
        request in any_request(),
        level in prop_oneof![Just(Level::Resource), Just(Level::Scope), Just(Level::SpanEvent), Just(Level::SpanLink)],
    ) {
        let signal = request.signal();
        let bytes = request.encode_to_bytes();
        let rewritten = AttributeRewriter::new()
            .rewrite_level(signal, level, &bytes, sample_edit)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expected = group_model(&request, level);
        match rewritten {
            None => prop_assert_eq!(&request, &expected, "nothing rewritten, yet the model changed"),
            Some(out) => {
                prop_assert_eq!(walk(signal, &out).map(|s| s.items), Ok(request.item_count()));
                let decoded =
                    Request::decode(signal, &out).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(decoded, expected);
            }
        }
    }

    #[test]
    fn rewriting_resources_and_scopes_of_mutated_encodings_never_panics(
        request in any_request(),
        mutations in vec(mutation(), 1..4),
    ) {
        let signal = request.signal();
        let mut bytes = request.encode_to_bytes().to_vec();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        for level in [Level::Resource, Level::Scope, Level::SpanEvent, Level::SpanLink] {
            let rewritten = AttributeRewriter::new().rewrite_level(signal, level, &bytes, sample_edit);
            if walk(signal, &bytes).is_ok() {
                let out = rewritten.map_err(|e| TestCaseError::fail(e.to_string()))?;
                if let Some(out) = out {
                    prop_assert!(walk(signal, &out).is_ok());
                }
            }
        }
    }

    #[test]
    fn rewriting_attributes_decodes_to_the_same_edit_on_structs(request in any_request()) {
        rewrite_matches_model(request.signal(), &request.encode_to_bytes())?;
    }

    /// Mutated encodings have unknown fields, repeated keys and values, merged oneofs: what the
    /// walk accepts is rewritten as prost reads it; nothing panics on the rest.
    #[test]
    fn rewriting_mutated_encodings_matches_the_model_or_fails_cleanly(
        request in any_request(),
        mutations in vec(mutation(), 1..4),
    ) {
        let signal = request.signal();
        let mut bytes = request.encode_to_bytes().to_vec();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        if walk(signal, &bytes).is_ok() {
            rewrite_matches_model(signal, &bytes)?;
        } else {
            let _ = AttributeRewriter::new().rewrite(signal, &bytes, sample_edit);
        }
    }

    #[test]
    fn an_edit_that_changes_nothing_returns_no_copy(request in any_request()) {
        let bytes = request.encode_to_bytes();
        let mut seen = 0;
        let rewritten = AttributeRewriter::new().rewrite(request.signal(), &bytes, |attributes| {
            for i in 0..attributes.len() {
                seen += attributes.key(i).len();
                let value = attributes.value(i).map(<[u8]>::to_vec);
                attributes.set_value(i, value.as_deref());
            }
        });
        prop_assert_eq!(rewritten, Ok(None));
    }

    #[test]
    fn rewriting_field_soup_never_panics(signal in any_signal(), bytes in testgen::wire_soup()) {
        let _ = AttributeRewriter::new().rewrite(signal, &bytes, sample_edit);
    }

    #[test]
    fn rewriting_random_item_bytes_never_panics(signal in any_signal(), item in vec(any::<u8>(), 0..64)) {
        let bytes = around_item(&item);
        let rewritten = AttributeRewriter::new().rewrite(signal, &bytes, sample_edit);
        if walk(signal, &bytes).is_ok() {
            prop_assert!(rewritten.is_ok(), "{:?} on {:02x?}", rewritten, bytes);
        }
    }
}
