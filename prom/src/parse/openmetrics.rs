//! OpenMetrics 1.0 text, as the specification and Prometheus's OpenMetrics parser read it.
//!
//! Stricter than the text format: exactly one space between tokens, no blank lines, no
//! comments but `HELP`, `TYPE`, `UNIT` and the closing `# EOF`, which must be the last line.
//! HELP unescapes `\"` too. Timestamps are seconds with fractions (cut to milliseconds, as
//! Prometheus cuts them); a sample may carry an exemplar, `# {labels} value [timestamp]`.

use std::borrow::Cow;

use super::line::{Cursor, exemplar_runes, number, unescape};
use super::{Builder, Meta, ParseError, error};
use crate::model::{Exemplar, Exposition, Format, MetricType, Sample, Suffix};

const MAX_EXEMPLAR_RUNES: usize = 128;

pub(crate) fn parse(body: &str) -> Result<Exposition<'_>, ParseError> {
    let mut builder = Builder::new(Format::OpenMetrics, body.len());
    let mut rest = body;
    let mut number = 0;
    loop {
        number += 1;
        let Some(end) = rest.find('\n') else {
            let message = if rest == "# EOF" {
                return Ok(builder.finish());
            } else if rest.is_empty() {
                "the body does not end with `# EOF`"
            } else {
                "the body does not end with a line feed and `# EOF`"
            };
            return Err(error(number, message));
        };
        let line = &rest[..end];
        rest = &rest[end + 1..];
        if line == "# EOF" {
            if !rest.is_empty() {
                return Err(error(number + 1, "data after `# EOF`"));
            }
            return Ok(builder.finish());
        }
        if line.is_empty() {
            return Err(error(number, "blank lines are not allowed in OpenMetrics"));
        }
        let mut cur = Cursor::new(line);
        let result = if cur.eat(b'#') {
            descriptor(&mut cur, &mut builder)
        } else {
            sample(&mut cur, &mut builder)
        };
        result.map_err(|m| error(number, m))?;
    }
}

fn descriptor<'a>(cur: &mut Cursor<'a>, builder: &mut Builder<'a>) -> Result<(), String> {
    if !cur.eat(b' ') {
        return Err("expected `# ` to start a HELP, TYPE or UNIT line".into());
    }
    let keyword = cur.token();
    if !matches!(keyword, "HELP" | "TYPE" | "UNIT") {
        return Err(format!("`# {keyword}` is not HELP, TYPE, UNIT or EOF"));
    }
    if !cur.eat(b' ') {
        return Err(format!("expected a space after {keyword}"));
    }
    let name = cur
        .metric_name()
        .ok_or_else(|| format!("{keyword} line without a valid metric name"))?;
    let spaced = cur.eat(b' ');
    if !spaced && !cur.done() {
        return Err("expected a space after the metric name".into());
    }
    let raw = cur.rest();
    match keyword {
        "HELP" => {
            let help = if raw.contains('\\') {
                Cow::Owned(unescape(raw, true))
            } else {
                Cow::Borrowed(raw)
            };
            builder.meta(name, Meta::Help(help))
        }
        "UNIT" => {
            if !raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
            {
                return Err(format!("`{raw}` is not a valid unit"));
            }
            builder.meta(name, Meta::Unit(raw))
        }
        _ => {
            let kind = MetricType::parse(raw, Format::OpenMetrics)
                .ok_or_else(|| format!("`{raw}` is not an OpenMetrics metric type"))?;
            builder.meta(name, Meta::Type(kind))
        }
    }
}

/// Seconds with fractions to milliseconds; Prometheus refuses NaN and infinite timestamps
/// and truncates the rest.
fn timestamp(raw: &str) -> Result<i64, String> {
    match number(raw) {
        Some(s) if s.is_finite() => Ok((s * 1000.0) as i64),
        _ => Err(format!("`{raw}` is not a timestamp in seconds")),
    }
}

fn sample<'a>(cur: &mut Cursor<'a>, builder: &mut Builder<'a>) -> Result<(), String> {
    let name = cur.metric_name().ok_or("expected a metric name")?;
    let first = builder.label_count();
    if cur.eat(b'{') {
        cur.label_set(false, builder.labels())?;
    }
    let labels = first..builder.label_count();
    if !cur.eat(b' ') {
        return Err("expected a space before the value".into());
    }
    let raw = cur.token();
    let value = number(raw).ok_or_else(|| format!("`{raw}` is not a number"))?;
    let mut timestamp_ms = None;
    let mut exemplar = None;
    if cur.eat(b' ') {
        if cur.peek() != Some(b'#') {
            timestamp_ms = Some(timestamp(cur.token())?);
            if !cur.done() && !cur.eat(b' ') {
                return Err("unexpected text after the timestamp".into());
            }
        }
        if !cur.done() {
            exemplar = Some(parse_exemplar(cur, builder)?);
        }
    }
    if !cur.done() {
        return Err("unexpected text at the end of the sample".into());
    }
    builder.sample(Sample {
        name,
        suffix: Suffix::None,
        labels,
        value,
        timestamp_ms,
        exemplar,
    })?;
    Ok(())
}

fn parse_exemplar<'a>(cur: &mut Cursor<'a>, builder: &mut Builder<'a>) -> Result<Exemplar, String> {
    if !(cur.eat(b'#') && cur.eat(b' ') && cur.eat(b'{')) {
        return Err("expected an exemplar, `# {labels} value`".into());
    }
    let first = builder.label_count();
    cur.label_set(false, builder.labels())?;
    let labels = first..builder.label_count();
    if exemplar_runes(&builder.labels()[labels.clone()]) > MAX_EXEMPLAR_RUNES {
        return Err("exemplar labels are longer than 128 characters".into());
    }
    if !cur.eat(b' ') {
        return Err("expected a space before the exemplar value".into());
    }
    let raw = cur.token();
    let value = number(raw).ok_or_else(|| format!("`{raw}` is not an exemplar value"))?;
    let timestamp_ms = if cur.eat(b' ') {
        Some(timestamp(cur.token())?)
    } else {
        None
    };
    Ok(Exemplar {
        labels,
        value,
        timestamp_ms,
    })
}
