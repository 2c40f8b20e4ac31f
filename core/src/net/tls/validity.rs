//! The validity period of an X.509 certificate, read straight from its DER.
//!
//! rustls checks validity during handshakes, but by then a bad certificate only shows up as a
//! client failing to connect. Reading `notBefore`/`notAfter` at startup lets Weir say "expired on
//! …" and name the file. Only the few fields in front of `validity` are walked, so no X.509
//! parser is needed; anything unexpected yields `None` (the handshake will judge it).

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A certificate time, kept as written (UTC) for messages and as seconds for comparing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl CertTime {
    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

impl fmt::Display for CertTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// `notBefore` and `notAfter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Validity {
    /// Not valid before this time.
    pub not_before: CertTime,
    /// Not valid after this time.
    pub not_after: CertTime,
}

/// Where a certificate stands against the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Within its validity period (or unreadable, left to the handshake).
    Valid,
    /// `notAfter` has passed.
    Expired(CertTime),
    /// `notBefore` is still ahead.
    NotYetValid(CertTime),
}

/// Judges `der` against `now`.
pub fn standing(der: &[u8], now: SystemTime) -> Standing {
    let Some(validity) = validity(der) else {
        return Standing::Valid;
    };
    let now = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(_) => 0,
    };
    if validity.not_after.unix() < now {
        Standing::Expired(validity.not_after)
    } else if validity.not_before.unix() > now {
        Standing::NotYetValid(validity.not_before)
    } else {
        Standing::Valid
    }
}

/// Reads the validity of a DER certificate; `None` when it is not shaped as X.509 expects.
pub fn validity(der: &[u8]) -> Option<Validity> {
    let (tag, certificate, _) = tlv(der)?;
    expect(tag, SEQUENCE)?;
    let (tag, mut tbs, _) = tlv(certificate)?;
    expect(tag, SEQUENCE)?;
    let (tag, _, rest) = tlv(tbs)?;
    // `version` is optional and explicitly tagged [0].
    if tag == VERSION {
        tbs = rest;
    }
    // serialNumber, signature, issuer.
    for expected in [INTEGER, SEQUENCE, SEQUENCE] {
        let (tag, _, rest) = tlv(tbs)?;
        expect(tag, expected)?;
        tbs = rest;
    }
    let (tag, validity, _) = tlv(tbs)?;
    expect(tag, SEQUENCE)?;
    let (tag, not_before, rest) = tlv(validity)?;
    let not_before = time(tag, not_before)?;
    let (tag, not_after, _) = tlv(rest)?;
    let not_after = time(tag, not_after)?;
    Some(Validity {
        not_before,
        not_after,
    })
}

const INTEGER: u8 = 0x02;
const SEQUENCE: u8 = 0x30;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xa0;

fn expect(tag: u8, expected: u8) -> Option<()> {
    (tag == expected).then_some(())
}

/// One DER tag-length-value: the tag, the value, and what follows it.
fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let (bytes, after) = rest.split_at_checked(count)?;
        rest = after;
        bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    let (value, after) = rest.split_at_checked(len)?;
    Some((tag, value, after))
}

/// `UTCTime` (`YYMMDDHHMMSSZ`, years 1950–2049) or `GeneralizedTime` (`YYYYMMDDHHMMSSZ`).
fn time(tag: u8, value: &[u8]) -> Option<CertTime> {
    let text = std::str::from_utf8(value).ok()?;
    let text = text.strip_suffix('Z')?;
    let (year, rest) = match tag {
        UTC_TIME => {
            let (yy, rest) = text.split_at_checked(2)?;
            let yy: i64 = digits(yy)?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, rest)
        }
        GENERALIZED_TIME => {
            let (yyyy, rest) = text.split_at_checked(4)?;
            (digits(yyyy)?, rest)
        }
        _ => return None,
    };
    if rest.len() != 10 {
        return None;
    }
    let field = |at: usize| -> Option<u32> { digits(rest.get(at..at + 2)?) };
    let time = CertTime {
        year,
        month: field(0)?,
        day: field(2)?,
        hour: field(4)?,
        minute: field(6)?,
        second: field(8)?,
    };
    let plausible = (1..=12).contains(&time.month)
        && (1..=31).contains(&time.day)
        && time.hour < 24
        && time.minute < 60
        && time.second < 61;
    plausible.then_some(time)
}

fn digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn certificate(not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
        params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn reads_utc_and_generalized_times_of_a_real_certificate() {
        // rcgen writes UTCTime before 2050 and GeneralizedTime after, as RFC 5280 requires.
        let der = certificate((2020, 3, 4), (2060, 1, 2));
        let validity = validity(&der).expect("validity");
        assert_eq!(validity.not_before.to_string(), "2020-03-04 00:00:00 UTC");
        assert_eq!(validity.not_after.to_string(), "2060-01-02 00:00:00 UTC");
        assert_eq!(validity.not_before.unix(), 1_583_280_000);
    }

    #[test]
    fn an_expired_certificate_is_reported_with_its_end_date() {
        let der = certificate((2019, 1, 1), (2020, 1, 1));
        match standing(&der, SystemTime::now()) {
            Standing::Expired(at) => assert_eq!(at.to_string(), "2020-01-01 00:00:00 UTC"),
            other => panic!("expected expired, got {other:?}"),
        }
        let future = certificate((2090, 1, 1), (2095, 1, 1));
        assert!(matches!(
            standing(&future, SystemTime::now()),
            Standing::NotYetValid(_)
        ));
        let current = certificate((2020, 1, 1), (2095, 1, 1));
        assert_eq!(standing(&current, SystemTime::now()), Standing::Valid);
        let just_after = UNIX_EPOCH + Duration::from_secs(1_577_836_801);
        let der = certificate((2019, 1, 1), (2020, 1, 1));
        assert!(matches!(standing(&der, just_after), Standing::Expired(_)));
    }

    #[test]
    fn garbage_and_truncated_input_yield_nothing_without_panicking() {
        let der = certificate((2020, 1, 1), (2030, 1, 1));
        for cut in 0..der.len().min(400) {
            let _ = validity(&der[..cut]);
        }
        assert_eq!(validity(b""), None);
        assert_eq!(validity(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(validity(b"not a certificate at all"), None);
    }
}
