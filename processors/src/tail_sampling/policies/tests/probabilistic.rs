//! `probabilistic`: golden hashes and thresholds, and the share sampled.
//!
//! The golden values were computed in Python, independently of this code: FNV-1a 64 as
//! `h = 0xcbf29ce484222325; for x in salt + id: h = ((h ^ x) * 0x100000001b3) % 2**64`, and the
//! threshold as Go's big.Float computes `MaxUint64 * (pct / 100)`: the exact product
//! `Fraction(2**64 - 1) * Fraction(pct / 100)` rounded to 64 significant bits (to nearest
//! even), then floored and capped at 2**64 - 1.

use serde_json::json;

use super::*;
use crate::tail_sampling::policies::probabilistic::{fnv1a, threshold};

#[test]
fn thresholds_are_big_float_products() {
    for (percent, wanted) in [
        (0.0, 0),
        (1e-300, 0),
        (0.1, 18_446_744_073_709_551),
        (1.0, 184_467_440_737_095_519),
        (10.0, 1_844_674_407_370_955_263),
        (33.3, 6_142_765_776_545_279_999),
        (50.0, 9_223_372_036_854_775_807),
        (99.99, 18_444_899_399_302_178_815),
        (100.0, u64::MAX),
        (150.0, u64::MAX),
        (-5.0, 0),
    ] {
        assert_eq!(threshold(percent / 100.0), wanted, "{percent}%");
    }
}

#[test]
fn hashes_are_fnv1a_of_salt_and_trace_id() {
    let id = |hex: &str| -> Vec<u8> {
        (0..16)
            .map(|k| u8::from_str_radix(&hex[2 * k..2 * k + 2], 16).expect("hex"))
            .collect()
    };
    for (salt, trace, wanted) in [
        (
            "default-hash-seed",
            [0; 16].to_vec(),
            16_254_958_829_412_527_165u64,
        ),
        (
            "default-hash-seed",
            (0..16).collect(),
            11_989_194_628_990_176_781,
        ),
        (
            "default-hash-seed",
            [0xff; 16].to_vec(),
            1_711_019_809_656_077_869,
        ),
        (
            "default-hash-seed",
            id("0af7651916cd43dd8448eb211c80319c"),
            3_728_843_964_641_534_796,
        ),
        ("custom-salt", [0; 16].to_vec(), 1_302_069_525_007_937_765),
        (
            "custom-salt",
            id("4bf92f3577b34da6a3ce929d0e0e4736"),
            18_210_105_934_933_198_589,
        ),
    ] {
        assert_eq!(
            fnv1a(&[salt.as_bytes(), &trace]),
            wanted,
            "{salt} {trace:?}"
        );
    }
}

fn with_id(id: TraceId) -> Trace {
    let mut s = span("a");
    s.trace_id = id.to_vec();
    let mut trace = Trace::new(Instant::now());
    for (_, piece) in
        cut(&request(vec![Res(vec![], vec![s])]).encode_to_vec().into()).expect("cuts")
    {
        trace.push(piece);
    }
    trace
}

fn decide_id(policy: &mut dyn Evaluate, id: TraceId) -> Decision {
    let trace = with_id(id);
    policy
        .evaluate(
            &TraceView {
                id: &id,
                trace: &trace,
            },
            Instant::now(),
        )
        .expect("decides")
}

#[test]
fn decisions_follow_the_golden_hashes() {
    // From the hashes above: at 50% (threshold 2^63 - 1) the all-0xff id is sampled with the
    // default salt and the 0x00..0x0f id is not; with `custom-salt`, the reverse of the
    // all-zero id's fate.
    let mut default = of("probabilistic", json!({"sampling_percentage": 50}));
    let mut custom = of(
        "probabilistic",
        json!({"sampling_percentage": 10, "hash_salt": "custom-salt"}),
    );
    let counting: TraceId = core::array::from_fn(|k| k as u8);
    assert_eq!(decide_id(&mut *default, [0xff; 16]), Decision::Sampled);
    assert_eq!(decide_id(&mut *default, counting), Decision::NotSampled);
    assert_eq!(decide_id(&mut *default, [0; 16]), Decision::NotSampled);
    assert_eq!(decide_id(&mut *custom, [0; 16]), Decision::Sampled);
    assert_eq!(decide_id(&mut *custom, counting), Decision::Sampled);
    assert_eq!(decide_id(&mut *custom, [0xff; 16]), Decision::NotSampled);
}

/// SplitMix64, a fixed-seed generator of trace ids.
fn ids(seed: u64) -> impl Iterator<Item = TraceId> {
    let mut state = seed;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    std::iter::repeat_with(move || {
        let mut id = [0; 16];
        id[..8].copy_from_slice(&next().to_le_bytes());
        id[8..].copy_from_slice(&next().to_le_bytes());
        id
    })
}

#[test]
fn the_share_sampled_is_the_percentage() {
    // 20000 ids at 10%: the standard deviation of the share is 0.21 points; the seed is fixed,
    // so the count is the same on every run, and ±1.5 points is seven deviations wide.
    let mut p = of("probabilistic", json!({"sampling_percentage": 10}));
    let n = 20_000;
    let sampled = ids(42)
        .take(n)
        .filter(|&id| decide_id(&mut *p, id) == Decision::Sampled)
        .count();
    let share = sampled as f64 / n as f64;
    assert!((0.085..=0.115).contains(&share), "sampled {share}");
    let mut none = of("probabilistic", json!({"sampling_percentage": 0}));
    let mut all = of("probabilistic", json!({"sampling_percentage": 100}));
    for id in ids(7).take(500) {
        assert_eq!(decide_id(&mut *none, id), Decision::NotSampled);
        assert_eq!(decide_id(&mut *all, id), Decision::Sampled);
    }
}
