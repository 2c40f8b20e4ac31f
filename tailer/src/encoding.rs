//! Bytes of one record to text, replacing what does not decode the way otelcol (Go) does.

use crate::config::Encoding;

const REPLACEMENT: char = '\u{FFFD}';

/// Appends `raw` decoded to `out`. Not for [`Encoding::Nop`], which keeps bytes.
pub(crate) fn decode_into(encoding: Encoding, raw: &[u8], out: &mut String) {
    match encoding {
        Encoding::Utf8 | Encoding::Ascii | Encoding::Nop => utf8_lossy_per_byte(raw, out),
        Encoding::Utf16Le => utf16(raw, out, u16::from_le_bytes),
        Encoding::Utf16Be => utf16(raw, out, u16::from_be_bytes),
        Encoding::Other(charset) => out.push_str(&charset.decode_without_bom_handling(raw).0),
    }
}

/// Go replaces every byte of an invalid sequence with its own U+FFFD, where Rust's
/// `from_utf8_lossy` replaces a maximal prefix once; records must read as otelcol's do.
fn utf8_lossy_per_byte(mut raw: &[u8], out: &mut String) {
    out.reserve(raw.len());
    loop {
        match std::str::from_utf8(raw) {
            Ok(valid) => {
                out.push_str(valid);
                return;
            }
            Err(e) => {
                let (valid, rest) = raw.split_at(e.valid_up_to());
                // from_utf8 just said this prefix is valid.
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(rest.len());
                out.extend(std::iter::repeat_n(REPLACEMENT, bad));
                raw = &rest[bad..];
            }
        }
    }
}

fn utf16(raw: &[u8], out: &mut String, unit: fn([u8; 2]) -> u16) {
    let pairs = raw.chunks_exact(2);
    let dangling = !pairs.remainder().is_empty();
    let units = pairs.map(|p| unit([p[0], p[1]]));
    out.extend(char::decode_utf16(units).map(|c| c.unwrap_or(REPLACEMENT)));
    if dangling {
        out.push(REPLACEMENT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(encoding: Encoding, raw: &[u8]) -> String {
        let mut out = String::new();
        decode_into(encoding, raw, &mut out);
        out
    }

    #[test]
    fn each_invalid_utf8_byte_becomes_one_replacement_as_in_go() {
        assert_eq!(text(Encoding::Utf8, b"a\xe2\x82b"), "a\u{FFFD}\u{FFFD}b");
        assert_eq!(text(Encoding::Utf8, b"\xff\xfe"), "\u{FFFD}\u{FFFD}");
        assert_eq!(text(Encoding::Utf8, b"ok \xe2\x82\xac"), "ok \u{20AC}");
        assert_eq!(
            text(Encoding::Utf8, b"cut \xf0\x9f"),
            "cut \u{FFFD}\u{FFFD}"
        );
    }

    #[test]
    fn utf16_decodes_and_replaces_unpaired_surrogates_and_odd_bytes() {
        assert_eq!(text(Encoding::Utf16Le, &[b'h', 0, b'i', 0]), "hi");
        assert_eq!(text(Encoding::Utf16Be, &[0, b'h', 0, b'i']), "hi");
        assert_eq!(text(Encoding::Utf16Le, &[0x00, 0xD8, b'x', 0]), "\u{FFFD}x");
        assert_eq!(text(Encoding::Utf16Le, &[b'a', 0, 7]), "a\u{FFFD}");
    }
}
