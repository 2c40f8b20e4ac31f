//! Body compression as OTLP uses it (gzip and zstd), with decompression that stops at a size cap.
//!
//! Receivers take `Content-Encoding` / `grpc-encoding` names from clients and must not let a small
//! compressed body expand into gigabytes ("zip bomb"), so [`decompress_limited`] streams and
//! gives up as soon as the output would pass the cap. Exporters use [`compress`] and the same
//! [`Compression`] in their `compression:` config field.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use bytes::Bytes;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A content coding Weir can read and write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, JsonSchema)]
pub enum Compression {
    /// No compression (`identity` on the wire, `none` or empty in config).
    #[default]
    #[serde(rename = "none", alias = "", alias = "identity")]
    None,
    /// gzip (RFC 1952).
    #[serde(rename = "gzip")]
    Gzip,
    /// Zstandard (RFC 8878).
    #[serde(rename = "zstd")]
    Zstd,
}

/// Written by hand rather than derived: serde would list the empty alias in its "expected one
/// of" message as an empty name.
impl<'de> Deserialize<'de> for Compression {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        match name.as_str() {
            "none" | "" | "identity" => Ok(Compression::None),
            "gzip" => Ok(Compression::Gzip),
            "zstd" => Ok(Compression::Zstd),
            other => Err(serde::de::Error::custom(format!(
                "unknown variant `{other}`, expected one of `none`, `gzip`, `zstd`"
            ))),
        }
    }
}

/// A content coding name Weir does not support.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unsupported content encoding `{0}` (supported: gzip, zstd, identity)")]
pub struct UnsupportedEncoding(pub String);

/// Why a body could not be decompressed.
#[derive(Debug, thiserror::Error)]
pub enum DecompressError {
    /// The output would be larger than the caller allows.
    #[error("decompressed body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
    /// The input is not valid data of its encoding.
    #[error("invalid {encoding} data: {source}")]
    Corrupt {
        /// The encoding that was tried.
        encoding: Compression,
        /// What the decoder reported.
        #[source]
        source: std::io::Error,
    },
}

/// Why a body could not be compressed (the encoders only fail on I/O, which cannot happen in
/// memory, but their API says they may).
#[derive(Debug, thiserror::Error)]
#[error("{encoding} compression failed: {source}")]
pub struct CompressError {
    /// The encoding that was tried.
    pub encoding: Compression,
    /// What the encoder reported.
    #[source]
    pub source: std::io::Error,
}

impl Compression {
    /// The encoding a tonic client sends with (`send_compressed`); `None` sends uncompressed.
    pub fn grpc_encoding(self) -> Option<tonic::codec::CompressionEncoding> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some(tonic::codec::CompressionEncoding::Gzip),
            Compression::Zstd => Some(tonic::codec::CompressionEncoding::Zstd),
        }
    }

    /// The token used in `Content-Encoding` and `grpc-encoding` (`identity` for none).
    pub fn as_header_value(self) -> &'static str {
        match self {
            Compression::None => "identity",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// The name used in config (`none`, `gzip`, `zstd`).
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// Reads a `Content-Encoding` or `grpc-encoding` header; an absent header means
    /// [`Compression::None`]. Names are case-insensitive; `x-gzip` is gzip (RFC 9110 §8.4.1.3).
    pub fn from_header(value: Option<&str>) -> Result<Compression, UnsupportedEncoding> {
        match value {
            None => Ok(Compression::None),
            Some(v) => v.parse(),
        }
    }

    /// Whether bytes must pass through a decoder.
    pub fn is_none(self) -> bool {
        self == Compression::None
    }
}

impl FromStr for Compression {
    type Err = UnsupportedEncoding;

    /// Accepts header tokens and config names alike: ``, `none`, `identity`, `gzip`, `x-gzip`,
    /// `zstd`, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim();
        if name.is_empty()
            || name.eq_ignore_ascii_case("identity")
            || name.eq_ignore_ascii_case("none")
        {
            Ok(Compression::None)
        } else if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            Ok(Compression::Gzip)
        } else if name.eq_ignore_ascii_case("zstd") {
            Ok(Compression::Zstd)
        } else {
            Err(UnsupportedEncoding(name.to_string()))
        }
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decompresses `input`, failing with [`DecompressError::TooLarge`] once the output would exceed
/// `max_decompressed` bytes; memory use stays within the cap whatever the input claims.
///
/// For [`Compression::None`] the input is copied after the same size check; callers that own a
/// `Bytes` should use [`decompress_bytes`], which does not copy.
pub fn decompress_limited(
    encoding: Compression,
    input: &[u8],
    max_decompressed: usize,
) -> Result<Bytes, DecompressError> {
    match encoding {
        Compression::None => {
            check_len(input.len(), max_decompressed)?;
            Ok(Bytes::copy_from_slice(input))
        }
        // Multi-member gzip streams are valid HTTP bodies (concatenated gzip files); Go's reader
        // accepts them, so otelcol does too.
        Compression::Gzip => read_limited(
            encoding,
            flate2::read::MultiGzDecoder::new(input),
            max_decompressed,
        ),
        Compression::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(input)
                .map_err(|source| corrupt(encoding, source))?;
            read_limited(encoding, decoder, max_decompressed)
        }
    }
}

/// Like [`decompress_limited`], but hands an uncompressed body back without copying.
pub fn decompress_bytes(
    encoding: Compression,
    input: Bytes,
    max_decompressed: usize,
) -> Result<Bytes, DecompressError> {
    match encoding {
        Compression::None => {
            check_len(input.len(), max_decompressed)?;
            Ok(input)
        }
        _ => decompress_limited(encoding, &input, max_decompressed),
    }
}

/// Compresses `input` (gzip at the default level, zstd at level 3 as otelcol does).
pub fn compress(encoding: Compression, input: &[u8]) -> Result<Vec<u8>, CompressError> {
    let wrap = |source| CompressError { encoding, source };
    match encoding {
        Compression::None => Ok(input.to_vec()),
        Compression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(input.len() / 4),
                flate2::Compression::default(),
            );
            encoder.write_all(input).map_err(wrap)?;
            encoder.finish().map_err(wrap)
        }
        Compression::Zstd => zstd::stream::encode_all(input, 3).map_err(wrap),
    }
}

fn check_len(len: usize, limit: usize) -> Result<(), DecompressError> {
    if len > limit {
        Err(DecompressError::TooLarge { limit })
    } else {
        Ok(())
    }
}

fn corrupt(encoding: Compression, source: std::io::Error) -> DecompressError {
    DecompressError::Corrupt { encoding, source }
}

/// Reads at most `limit + 1` bytes: one byte past the cap is enough to know it was passed.
fn read_limited(
    encoding: Compression,
    reader: impl Read,
    limit: usize,
) -> Result<Bytes, DecompressError> {
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    reader
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|source| corrupt(encoding, source))?;
    check_len(out.len(), limit)?;
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_and_config_names() {
        assert_eq!(Compression::from_header(None).unwrap(), Compression::None);
        assert_eq!(
            Compression::from_header(Some("identity")).unwrap(),
            Compression::None
        );
        assert_eq!(
            Compression::from_header(Some("GZIP")).unwrap(),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_header(Some("x-gzip")).unwrap(),
            Compression::Gzip
        );
        assert_eq!(
            Compression::from_header(Some(" zstd ")).unwrap(),
            Compression::Zstd
        );
        assert_eq!("none".parse::<Compression>().unwrap(), Compression::None);
        assert_eq!("".parse::<Compression>().unwrap(), Compression::None);
        let err = Compression::from_header(Some("br")).unwrap_err();
        assert_eq!(err, UnsupportedEncoding("br".to_string()));
        assert!(err.to_string().contains("`br`"));
    }

    #[test]
    fn config_serde_uses_otelcol_names() {
        let parsed: Vec<Compression> =
            serde_json::from_str(r#"["gzip","zstd","none",""]"#).unwrap();
        assert_eq!(
            parsed,
            [
                Compression::Gzip,
                Compression::Zstd,
                Compression::None,
                Compression::None
            ]
        );
        assert_eq!(
            serde_json::to_string(&Compression::Zstd).unwrap(),
            r#""zstd""#
        );
        assert!(serde_json::from_str::<Compression>(r#""snappy""#).is_err());
    }

    #[test]
    fn round_trips_every_encoding() {
        let input: Vec<u8> = (0..50_000u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        for encoding in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let packed = compress(encoding, &input).unwrap();
            if !encoding.is_none() {
                assert!(packed.len() < input.len(), "{encoding} did not compress");
            }
            let unpacked = decompress_limited(encoding, &packed, input.len()).unwrap();
            assert_eq!(unpacked.as_ref(), input.as_slice(), "{encoding}");
            let owned = decompress_bytes(encoding, Bytes::from(packed), input.len()).unwrap();
            assert_eq!(owned.as_ref(), input.as_slice(), "{encoding}");
        }
    }

    #[test]
    fn stops_at_the_cap_on_a_bomb() {
        let huge = vec![0u8; 64 * 1024 * 1024];
        for encoding in [Compression::Gzip, Compression::Zstd] {
            let bomb = compress(encoding, &huge).unwrap();
            assert!(
                bomb.len() < 256 * 1024,
                "{encoding} bomb is {} bytes",
                bomb.len()
            );
            let err = decompress_limited(encoding, &bomb, 1024 * 1024).unwrap_err();
            assert!(
                matches!(err, DecompressError::TooLarge { limit: 1_048_576 }),
                "{encoding}: {err}"
            );
        }
        let err = decompress_limited(Compression::None, &[0; 11], 10).unwrap_err();
        assert!(matches!(err, DecompressError::TooLarge { limit: 10 }));
    }

    #[test]
    fn exactly_at_the_cap_is_accepted() {
        let input = vec![7u8; 4096];
        for encoding in [Compression::None, Compression::Gzip, Compression::Zstd] {
            let packed = compress(encoding, &input).unwrap();
            assert_eq!(
                decompress_limited(encoding, &packed, 4096).unwrap().len(),
                4096
            );
            assert!(decompress_limited(encoding, &packed, 4095).is_err());
        }
    }

    #[test]
    fn corrupt_input_is_an_error() {
        for encoding in [Compression::Gzip, Compression::Zstd] {
            let err =
                decompress_limited(encoding, b"definitely not compressed", 1 << 20).unwrap_err();
            assert!(
                matches!(err, DecompressError::Corrupt { .. }),
                "{encoding}: {err}"
            );
            assert!(err.to_string().contains(encoding.as_str()));
        }
        let truncated = compress(Compression::Gzip, &[1u8; 1000]).unwrap();
        assert!(
            decompress_limited(
                Compression::Gzip,
                &truncated[..truncated.len() / 2],
                1 << 20
            )
            .is_err()
        );
    }

    mod props {
        use proptest::collection::vec;
        use proptest::prelude::*;
        use proptest::sample::Index;

        use super::super::*;

        fn any_encoding() -> impl Strategy<Value = Compression> {
            prop_oneof![
                Just(Compression::None),
                Just(Compression::Gzip),
                Just(Compression::Zstd)
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

            /// Streams damaged in transit: the decoders must stop at the cap or fail, never
            /// return more, never panic (the fuzz target `decompress` checks the same).
            #[test]
            fn damaged_streams_never_decompress_past_the_cap(
                encoding in any_encoding(),
                body in vec(any::<u8>(), 0..2048),
                damage in vec((any::<Index>(), any::<u8>()), 0..4),
                cut in any::<Index>(),
                cap in 0usize..4096,
            ) {
                let mut packed = compress(encoding, &body).unwrap();
                for (at, byte) in &damage {
                    if !packed.is_empty() {
                        let at = at.index(packed.len());
                        packed[at] = *byte;
                    }
                }
                packed.truncate(cut.index(packed.len() + 1));
                match decompress_limited(encoding, &packed, cap) {
                    Ok(out) => prop_assert!(out.len() <= cap, "{} bytes over a cap of {}", out.len(), cap),
                    Err(DecompressError::TooLarge { limit }) => prop_assert_eq!(limit, cap),
                    Err(DecompressError::Corrupt { .. }) => {}
                }
            }

            #[test]
            fn round_trip_fits_a_cap_of_exactly_its_length(
                encoding in any_encoding(),
                body in vec(any::<u8>(), 0..4096),
            ) {
                let packed = compress(encoding, &body).unwrap();
                let out = decompress_bytes(encoding, Bytes::from(packed.clone()), body.len()).unwrap();
                prop_assert_eq!(out.as_ref(), body.as_slice());
                if let Some(short) = body.len().checked_sub(1) {
                    let refused = decompress_limited(encoding, &packed, short);
                    prop_assert!(matches!(refused, Err(DecompressError::TooLarge { .. })), "{:?}", refused);
                }
            }
        }
    }
}
