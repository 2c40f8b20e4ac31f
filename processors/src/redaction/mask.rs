//! Masking as otelcol does it: every match of a regular expression is replaced by `****` or by
//! the hex digest of the matched text, with Go's rule for empty matches (an empty match right
//! after a previous match is not a match), so `.*` masks `a\nb` as `****\n****` in both.

use md5::{Digest as _, Md5};
use regex::Regex;
use ring::{digest, hmac};
use sha3::Sha3_256;

use super::config::HashFunction;

/// What replaces a masked part.
pub(crate) enum Masker {
    /// The fixed `****`.
    Stars,
    Md5,
    Sha1,
    Sha3,
    Hmac(hmac::Key),
}

impl Masker {
    /// The masker for `function`, keyed by `key` for the HMACs (a validated config has one).
    pub(crate) fn new(function: Option<HashFunction>, key: &[u8]) -> Masker {
        match function {
            None => Masker::Stars,
            Some(HashFunction::Md5) => Masker::Md5,
            Some(HashFunction::Sha1) => Masker::Sha1,
            Some(HashFunction::Sha3) => Masker::Sha3,
            Some(HashFunction::HmacSha256) => Masker::Hmac(hmac::Key::new(hmac::HMAC_SHA256, key)),
            Some(HashFunction::HmacSha512) => Masker::Hmac(hmac::Key::new(hmac::HMAC_SHA512, key)),
        }
    }

    /// Appends what `matched` is replaced by.
    fn push(&self, matched: &str, out: &mut String) {
        let bytes = matched.as_bytes();
        match self {
            Masker::Stars => out.push_str("****"),
            Masker::Md5 => push_hex(&Md5::digest(bytes), out),
            Masker::Sha1 => push_hex(
                digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, bytes).as_ref(),
                out,
            ),
            Masker::Sha3 => push_hex(&Sha3_256::digest(bytes), out),
            Masker::Hmac(key) => push_hex(hmac::sign(key, bytes).as_ref(), out),
        }
    }

    /// `input` with every match of `pattern` replaced, into `out` (cleared first).
    pub(crate) fn replace_all(&self, input: &str, pattern: &Regex, out: &mut String) {
        out.clear();
        let mut copied = 0;
        let mut previous_end = None;
        for m in pattern.find_iter(input) {
            if m.is_empty() && previous_end == Some(m.start()) {
                continue;
            }
            out.push_str(input.get(copied..m.start()).unwrap_or_default());
            self.push(m.as_str(), out);
            copied = m.end();
            previous_end = Some(m.end());
        }
        out.push_str(input.get(copied..).unwrap_or_default());
    }
}

fn push_hex(bytes: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for byte in bytes {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
}
