//! The sink's misbehaviour for fault drills: refuse the first N requests, refuse a fraction at
//! random, answer slowly, or call everything invalid; changeable at run time through the control
//! endpoint (`POST /mode`).
//!
//! Per request, in this order: wait `delay`; answer invalid if `status` is `invalid`; refuse if
//! `refuse_first` is still above zero (and count it down); refuse with probability `refuse_rate`;
//! otherwise accept. A refusal tells the client to come back after `retry_after`.

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use weir_core::exporter::humantime_serde;

/// How the sink answers accepted-looking requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StatusMode {
    /// Answer normally.
    #[default]
    Ok,
    /// Answer INVALID_ARGUMENT / 400 to everything.
    Invalid,
}

/// The current fault settings, as `GET /mode` shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeSettings {
    /// Requests still to be refused before the random rate applies.
    pub refuse_first: u64,
    /// Probability (0..=1) of refusing a request.
    pub refuse_rate: f64,
    /// Wait before answering each request.
    #[serde(with = "humantime_serde")]
    pub delay: Duration,
    /// `ok` or `invalid`.
    pub status: StatusMode,
    /// Delay sent with refusals (gRPC `RetryInfo`; HTTP `Retry-After`, rounded up to seconds).
    #[serde(with = "humantime_serde")]
    pub retry_after: Duration,
}

impl Default for ModeSettings {
    fn default() -> Self {
        ModeSettings {
            refuse_first: 0,
            refuse_rate: 0.0,
            delay: Duration::ZERO,
            status: StatusMode::Ok,
            retry_after: Duration::from_secs(1),
        }
    }
}

/// A duration in a `POST /mode` body (`"50ms"`).
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(transparent)]
pub struct DurationText(#[serde(with = "humantime_serde")] pub Duration);

/// The body of `POST /mode`: fields left out keep their value.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModePatch {
    /// New `refuse_first` (replaces the remaining count).
    pub refuse_first: Option<u64>,
    /// New `refuse_rate`.
    pub refuse_rate: Option<f64>,
    /// New `delay`.
    pub delay: Option<DurationText>,
    /// New `status`.
    pub status: Option<StatusMode>,
    /// New `retry_after`.
    pub retry_after: Option<DurationText>,
}

/// What to answer one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Count it and answer OK.
    Accept,
    /// Answer UNAVAILABLE / 503, asking for a retry after the delay.
    Refuse(Duration),
    /// Answer INVALID_ARGUMENT / 400.
    Invalid,
}

/// A `refuse_rate` outside 0..=1.
#[derive(Debug, thiserror::Error)]
#[error("refuse_rate must be between 0 and 1, got {0}")]
pub struct BadRate(pub f64);

/// The live settings.
#[derive(Debug, Default)]
pub struct Mode {
    refuse_first: AtomicU64,
    settings: RwLock<ModeSettings>,
}

impl Mode {
    /// Starts with `settings`.
    pub fn new(settings: ModeSettings) -> Result<Mode, BadRate> {
        check_rate(settings.refuse_rate)?;
        Ok(Mode {
            refuse_first: AtomicU64::new(settings.refuse_first),
            settings: RwLock::new(settings),
        })
    }

    fn read(&self) -> ModeSettings {
        let mut settings = self
            .settings
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        settings.refuse_first = self.refuse_first.load(Ordering::Relaxed);
        settings
    }

    /// The current settings.
    pub fn settings(&self) -> ModeSettings {
        self.read()
    }

    /// Applies a `POST /mode` body.
    pub fn apply(&self, patch: ModePatch) -> Result<ModeSettings, BadRate> {
        if let Some(rate) = patch.refuse_rate {
            check_rate(rate)?;
        }
        {
            let mut settings = self
                .settings
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(rate) = patch.refuse_rate {
                settings.refuse_rate = rate;
            }
            if let Some(DurationText(delay)) = patch.delay {
                settings.delay = delay;
            }
            if let Some(status) = patch.status {
                settings.status = status;
            }
            if let Some(DurationText(retry_after)) = patch.retry_after {
                settings.retry_after = retry_after;
            }
        }
        if let Some(first) = patch.refuse_first {
            self.refuse_first.store(first, Ordering::Relaxed);
        }
        Ok(self.read())
    }

    /// The delay before answering and the answer, for one request.
    pub fn decide(&self) -> (Duration, Verdict) {
        let settings = self.read();
        let verdict = if settings.status == StatusMode::Invalid {
            Verdict::Invalid
        } else if self
            .refuse_first
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
            || (settings.refuse_rate > 0.0 && rand::random::<f64>() < settings.refuse_rate)
        {
            Verdict::Refuse(settings.retry_after)
        } else {
            Verdict::Accept
        };
        (settings.delay, verdict)
    }
}

fn check_rate(rate: f64) -> Result<(), BadRate> {
    if (0.0..=1.0).contains(&rate) {
        Ok(())
    } else {
        Err(BadRate(rate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_first_n_then_accepts() {
        let mode = Mode::new(ModeSettings {
            refuse_first: 2,
            retry_after: Duration::from_millis(300),
            ..ModeSettings::default()
        })
        .unwrap();
        let verdicts: Vec<Verdict> = (0..4).map(|_| mode.decide().1).collect();
        let refuse = Verdict::Refuse(Duration::from_millis(300));
        assert_eq!(verdicts, [refuse, refuse, Verdict::Accept, Verdict::Accept]);
        assert_eq!(mode.settings().refuse_first, 0);
    }

    #[test]
    fn rate_one_refuses_all_and_rate_zero_none() {
        let mode = Mode::new(ModeSettings {
            refuse_rate: 1.0,
            ..ModeSettings::default()
        })
        .unwrap();
        assert!((0..100).all(|_| matches!(mode.decide().1, Verdict::Refuse(_))));
        mode.apply(ModePatch {
            refuse_rate: Some(0.0),
            ..ModePatch::default()
        })
        .unwrap();
        assert!((0..100).all(|_| mode.decide().1 == Verdict::Accept));
        assert!(
            Mode::new(ModeSettings {
                refuse_rate: 1.5,
                ..ModeSettings::default()
            })
            .is_err()
        );
    }

    #[test]
    fn patch_from_json_changes_only_given_fields() {
        let mode = Mode::default();
        let patch: ModePatch =
            serde_json::from_str(r#"{"delay": "50ms", "status": "invalid", "refuse_first": 3}"#)
                .unwrap();
        let settings = mode.apply(patch).unwrap();
        assert_eq!(settings.delay, Duration::from_millis(50));
        assert_eq!(settings.status, StatusMode::Invalid);
        assert_eq!(settings.refuse_first, 3);
        assert_eq!(settings.retry_after, ModeSettings::default().retry_after);
        // Invalid wins over refusals, and does not use them up.
        assert_eq!(mode.decide(), (Duration::from_millis(50), Verdict::Invalid));
        assert_eq!(mode.settings().refuse_first, 3);
        assert!(serde_json::from_str::<ModePatch>(r#"{"dealy": "1s"}"#).is_err());
        let shown = serde_json::to_value(mode.settings()).unwrap();
        assert_eq!(shown["delay"], "50ms");
    }
}
