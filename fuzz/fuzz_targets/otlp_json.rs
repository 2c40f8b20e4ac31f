//! The OTLP/JSON decoder never panics, and what it decodes encodes to JSON that decodes to the
//! same request, and to protobuf that the wire walk accepts and counts alike.
//!
//! Input: a signal byte, then the JSON body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_core::batch::json::{decode_json, decode_response_json, encode_json};
use weir_core::batch::wire;
use weir_fuzz::signal_of;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let signal = signal_of(selector);
    // Exporters read the servers' responses with the same machinery: it must not panic either.
    let _ = decode_response_json(signal, body);
    let Ok(request) = decode_json(signal, body) else {
        return;
    };
    assert_eq!(request.signal(), signal);
    let json = encode_json(&request);
    let again = decode_json(signal, &json).unwrap_or_else(|e| {
        panic!(
            "encoded JSON does not decode: {e}\n{}",
            String::from_utf8_lossy(&json)
        )
    });
    // Compared as protobuf: structs with NaN doubles are never equal to themselves.
    let proto = request.encode_to_bytes();
    assert_eq!(
        again.encode_to_bytes(),
        proto,
        "JSON round trip changed the request"
    );
    let summary = wire::walk(signal, &proto).expect("a decoded request encodes to valid protobuf");
    assert_eq!(summary.items, request.item_count());
});
