//! Capped decompression never panics and never returns more than the cap; compressing then
//! decompressing gives the input back exactly when it fits the cap.
//!
//! Input: an encoding byte, two bytes of cap (little-endian), then the body.

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weir_core::net::compression::{
    Compression, DecompressError, compress, decompress_bytes, decompress_limited,
};

fuzz_target!(|data: &[u8]| {
    let [selector, lo, hi, body @ ..] = data else {
        return;
    };
    let encoding = match selector % 3 {
        0 => Compression::None,
        1 => Compression::Gzip,
        _ => Compression::Zstd,
    };
    let cap = usize::from(u16::from_le_bytes([*lo, *hi]));

    let limited = decompress_limited(encoding, body, cap);
    if let Ok(out) = &limited {
        assert!(
            out.len() <= cap,
            "{} bytes out, over the cap of {cap}",
            out.len()
        );
    }
    let owned = decompress_bytes(encoding, Bytes::copy_from_slice(body), cap);
    match (&limited, &owned) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the two entry points disagree"),
        (Err(DecompressError::TooLarge { .. }), Err(DecompressError::TooLarge { .. }))
        | (Err(DecompressError::Corrupt { .. }), Err(DecompressError::Corrupt { .. })) => {}
        _ => panic!("the two entry points disagree: {limited:?} vs {owned:?}"),
    }

    let packed = compress(encoding, body).expect("compressing in memory cannot fail");
    let unpacked =
        decompress_limited(encoding, &packed, body.len()).expect("own output reads back");
    assert_eq!(unpacked.as_ref(), body, "round trip changed the body");
    if let Some(short) = body.len().checked_sub(1) {
        assert!(
            matches!(
                decompress_limited(encoding, &packed, short),
                Err(DecompressError::TooLarge { limit }) if limit == short
            ),
            "one byte over the cap was not refused as too large"
        );
    }
});
