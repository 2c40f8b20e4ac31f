//! OpenTelemetry's consistent probability sampling numbers, as otelcol-contrib's `pkg/sampling`
//! defines them: 56 bits of randomness per item (`rv`, or the trace id's last 7 bytes) and a
//! rejection threshold out of 2^56 (`th`); an item is kept when threshold <= randomness.

/// 2^56: the number of randomness values, and the threshold that keeps nothing.
pub(crate) const MAX_ADJUSTED_COUNT: u64 = 1 << 56;
/// Hex digits in 56 bits: the most a threshold is written with.
pub(crate) const NUM_HEX_DIGITS: u32 = 14;
/// The smallest probability a threshold can express.
pub(crate) const MIN_SAMPLING_PROBABILITY: f64 = 1.0 / MAX_ADJUSTED_COUNT as f64;

/// How many of the 2^56 randomness values are rejected (the default, 0, keeps everything).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Threshold(u64);

/// 56 bits of randomness.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Randomness(u64);

/// Why a `th` or `rv` value was refused (the words are otelcol's).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ValueError {
    #[error("t-value exceeds 14 hex digits")]
    TValueSize,
    #[error("t-value is empty")]
    TValueEmpty,
    #[error("r-value must have 14 hex digits")]
    RValueSize,
    #[error("invalid syntax")]
    Syntax,
}

/// `text` as an unsigned hex number (either case), as Go's `strconv.ParseUint(text, 16, 64)`
/// reads the at most 14 digits let through.
fn parse_hex(text: &str) -> Result<u64, ValueError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ValueError::Syntax);
    }
    u64::from_str_radix(text, 16).map_err(|_| ValueError::Syntax)
}

/// `value` as 14 lowercase hex digits with leading zeros.
fn hex14(value: u64, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(out, "{value:014x}");
}

impl Threshold {
    /// Keeps everything (`th:0`).
    pub(crate) const ALWAYS: Threshold = Threshold(0);
    /// Keeps nothing (no `th` is written).
    pub(crate) const NEVER: Threshold = Threshold(MAX_ADJUSTED_COUNT);

    /// A threshold of `rejected` values out of 2^56 (`NEVER` at 2^56 or more).
    pub(crate) fn from_rejected(rejected: u64) -> Threshold {
        Threshold(rejected.min(MAX_ADJUSTED_COUNT))
    }

    /// A `th` value: 1 to 14 hex digits, the omitted trailing ones zeros.
    pub(crate) fn parse(text: &str) -> Result<Threshold, ValueError> {
        if text.len() > NUM_HEX_DIGITS as usize {
            return Err(ValueError::TValueSize);
        }
        if text.is_empty() {
            return Err(ValueError::TValueEmpty);
        }
        let digits = parse_hex(text)?;
        Ok(Threshold(
            digits << (4 * (NUM_HEX_DIGITS as usize - text.len())),
        ))
    }

    /// Appends the `th` value: trailing zeros left out, `0` for keeping everything, nothing
    /// for keeping nothing.
    pub(crate) fn write_tvalue(self, out: &mut String) {
        match self {
            Threshold::ALWAYS => out.push('0'),
            Threshold::NEVER => {}
            Threshold(value) => {
                let start = out.len();
                hex14(value, out);
                let kept = out[start..].trim_end_matches('0').len();
                out.truncate(start + kept);
            }
        }
    }

    /// The `th` value as a string.
    pub(crate) fn tvalue(self) -> String {
        let mut out = String::new();
        self.write_tvalue(&mut out);
        out
    }

    /// Whether an item with `randomness` is kept.
    pub(crate) fn should_sample(self, randomness: Randomness) -> bool {
        self.0 <= randomness.0
    }

    /// The share kept, from 2^-56 to 1 (0 for `NEVER`).
    pub(crate) fn probability(self) -> f64 {
        (MAX_ADJUSTED_COUNT - self.0) as f64 / MAX_ADJUSTED_COUNT as f64
    }

    /// The threshold keeping `fraction` of items, rounded to `precision` significant hex
    /// digits (more near 0 and 1, where the leading digits are all `0` or `f`), as otelcol's
    /// `ProbabilityToThresholdWithPrecision` computes it; `None` outside [2^-56, 1].
    pub(crate) fn from_probability(fraction: f64, precision: u32) -> Option<Threshold> {
        if !(MIN_SAMPLING_PROBABILITY..=1.0).contains(&fraction) {
            return None;
        }
        if fraction == 1.0 {
            return Some(Threshold::ALWAYS);
        }
        let digits = i32::try_from(precision).unwrap_or(0);
        let digits = if digits == 0 {
            NUM_HEX_DIGITS as i32
        } else {
            digits
        };
        // Each 4 binary orders of magnitude towards 0 or 1 add a leading `0` or `f` digit.
        let extra = (exponent(fraction) / -4).max(exponent(1.0 - fraction) / -4);
        let digits = (digits + extra).min(NUM_HEX_DIGITS as i32);
        let scaled = (fraction * MAX_ADJUSTED_COUNT as f64).round() as u64;
        let mut threshold = MAX_ADJUSTED_COUNT - scaled;
        let shift = 4 * (NUM_HEX_DIGITS as i32 - digits);
        if shift > 0 {
            // Go's shifts past the width give 0; so do these.
            let half = 1u64.checked_shl(shift as u32 - 1).unwrap_or(0);
            threshold = threshold.wrapping_add(half);
            threshold = threshold.checked_shr(shift as u32).unwrap_or(0);
            threshold = threshold.checked_shl(shift as u32).unwrap_or(0);
        }
        Some(Threshold(threshold))
    }
}

/// The exponent `math.Frexp` gives: `x = f * 2^exp` with `f` in [0.5, 1).
fn exponent(x: f64) -> i32 {
    if x == 0.0 || !x.is_finite() {
        return 0;
    }
    let bits = x.abs().to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i32;
    if biased == 0 {
        // Subnormal: normalise first.
        return exponent(x * 2f64.powi(64)) - 64;
    }
    biased - 1022
}

impl Randomness {
    /// Keeps the item at every probability: what an item without randomness is given.
    pub(crate) const ALL: Randomness = Randomness(MAX_ADJUSTED_COUNT - 1);

    /// 56 bits (anything above is cut off).
    pub(crate) fn from_bits(bits: u64) -> Randomness {
        Randomness(bits & (MAX_ADJUSTED_COUNT - 1))
    }

    /// The randomness W3C trace context level 2 puts in a trace id: its last 7 bytes.
    pub(crate) fn from_trace_id(id: &[u8; 16]) -> Randomness {
        let mut low = [0; 8];
        low.copy_from_slice(&id[8..]);
        Randomness::from_bits(u64::from_be_bytes(low))
    }

    /// An `rv` value: exactly 14 hex digits.
    pub(crate) fn parse(text: &str) -> Result<Randomness, ValueError> {
        if text.len() != NUM_HEX_DIGITS as usize {
            return Err(ValueError::RValueSize);
        }
        parse_hex(text).map(Randomness)
    }

    /// The `rv` value: 14 lowercase hex digits.
    pub(crate) fn rvalue(self) -> String {
        let mut out = String::with_capacity(NUM_HEX_DIGITS as usize);
        hex14(self.0, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tvalues_drop_trailing_zeros_and_read_back() {
        let half = Threshold::from_probability(0.5, 4).unwrap();
        assert_eq!(half.tvalue(), "8");
        assert_eq!(Threshold::parse("8").unwrap(), half);
        assert_eq!(Threshold::parse("80000000000000").unwrap(), half);
        assert_eq!(Threshold::ALWAYS.tvalue(), "0");
        assert_eq!(Threshold::NEVER.tvalue(), "");
        assert_eq!(Threshold::parse("C").unwrap().tvalue(), "c");
        assert_eq!(Threshold::parse(""), Err(ValueError::TValueEmpty));
        assert_eq!(
            Threshold::parse("abababababababab"),
            Err(ValueError::TValueSize)
        );
        assert_eq!(Threshold::parse("-1"), Err(ValueError::Syntax));
        assert_eq!(Threshold::parse("+1"), Err(ValueError::Syntax));
    }

    /// Figures from otelcol-contrib's `tracesprocessor_test.go` (TraceState cases): 1 % at
    /// precision 4 is `fd70a`, at 3 `fd71`, at full precision `fd70a3d70a3d71`; 40 % at 3 is
    /// `99a`; near 0 and 1 digits are added (`00000cccccccd` at 1 - 8e-7, precision 10).
    #[test]
    fn probabilities_round_to_the_precision_as_otelcol_does() {
        let th = |p: f64, precision| Threshold::from_probability(p, precision).unwrap().tvalue();
        assert_eq!(th(0.01, 4), "fd70a");
        assert_eq!(th(0.01, 3), "fd71");
        assert_eq!(th(0.01, 14), "fd70a3d70a3d71");
        assert_eq!(th(0.4, 3), "99a");
        assert_eq!(th(0.4, 6), "99999a");
        assert_eq!(th(0.2, 6), "cccccd");
        assert_eq!(th(0.25, 4), "c");
        assert_eq!(th(0.125, 4), "e");
        let almost = f64::from((1.0f32 - 8e-7) * 100.0) / 100.0;
        assert_eq!(th(almost, 10), "00000cccccccd");
        assert_eq!(th(1.0, 4), "0");
        assert_eq!(Threshold::from_probability(0.0, 4), None);
        assert_eq!(Threshold::from_probability(1.5, 4), None);
        assert_eq!(Threshold::from_probability(f64::NAN, 4), None);
        assert_eq!(
            Threshold::from_probability(MIN_SAMPLING_PROBABILITY, 4).unwrap(),
            Threshold(MAX_ADJUSTED_COUNT - 1)
        );
    }

    #[test]
    fn randomness_is_the_trace_ids_last_seven_bytes() {
        let id = *b"\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x80\0\0\0\0\0\0";
        let r = Randomness::from_trace_id(&id);
        assert_eq!(r.rvalue(), "80000000000000");
        assert!(
            Threshold::from_probability(0.5, 4)
                .unwrap()
                .should_sample(r)
        );
        assert!(
            !Threshold::from_probability(0.49, 4)
                .unwrap()
                .should_sample(r)
        );
        assert_eq!(
            Randomness::parse("FD70A3D70A3D71").unwrap().rvalue(),
            "fd70a3d70a3d71"
        );
        assert_eq!(Randomness::parse("abc"), Err(ValueError::RValueSize));
        assert!(!Threshold::NEVER.should_sample(Randomness::ALL));
        assert!(Threshold::ALWAYS.should_sample(Randomness::from_bits(0)));
    }
}
