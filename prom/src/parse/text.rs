//! The Prometheus text exposition format 0.0.4, as Prometheus's own parser reads it.
//!
//! Tokens may be separated by runs of spaces and tabs, blank lines and `#` comments other
//! than `HELP` and `TYPE` are ignored, HELP unescapes only `\\` and `\n`, timestamps are
//! integer milliseconds, and the body must end with a line feed.

use std::borrow::Cow;

use super::line::{Cursor, number, unescape};
use super::{Builder, Meta, ParseError, error};
use crate::model::{Exposition, Format, MetricType, Sample, Suffix};

pub(crate) fn parse(body: &str) -> Result<Exposition<'_>, ParseError> {
    let mut builder = Builder::new(Format::Text, body.len());
    let mut lines = body.split('\n').enumerate().peekable();
    while let Some((i, raw)) = lines.next() {
        let number = i + 1;
        let last = lines.peek().is_none();
        let mut cur = Cursor::new(raw);
        cur.blanks();
        if cur.done() {
            continue;
        }
        if last {
            return Err(error(number, "the body does not end with a line feed"));
        }
        let result = if cur.eat(b'#') {
            comment(&mut cur, &mut builder)
        } else {
            sample(&mut cur, &mut builder)
        };
        result.map_err(|m| error(number, m))?;
    }
    Ok(builder.finish())
}

fn comment<'a>(cur: &mut Cursor<'a>, builder: &mut Builder<'a>) -> Result<(), String> {
    cur.blanks();
    let keyword = cur.token();
    if keyword != "HELP" && keyword != "TYPE" {
        return Ok(());
    }
    if !cur.blanks() {
        // `# HELPful` and a bare `# TYPE` are comments to Prometheus's lexer too.
        return Ok(());
    }
    let name = cur
        .metric_name()
        .ok_or_else(|| format!("{keyword} line without a valid metric name"))?;
    let had_blank = cur.blanks();
    if keyword == "HELP" {
        if !had_blank && !cur.done() {
            return Err("expected a blank after the metric name".into());
        }
        let raw = cur.rest();
        let help = if raw.contains('\\') {
            Cow::Owned(unescape(raw, false))
        } else {
            Cow::Borrowed(raw)
        };
        return builder.meta(name, Meta::Help(help));
    }
    if !had_blank {
        return Err("expected a blank and a type after the metric name".into());
    }
    let word = cur.token();
    cur.blanks();
    if !cur.done() {
        return Err("unexpected text after the type".into());
    }
    let kind = MetricType::parse(word, Format::Text)
        .ok_or_else(|| format!("`{word}` is not a metric type"))?;
    builder.meta(name, Meta::Type(kind))
}

fn sample<'a>(cur: &mut Cursor<'a>, builder: &mut Builder<'a>) -> Result<(), String> {
    let name = cur.metric_name().ok_or("expected a metric name")?;
    let mut spaced = cur.blanks();
    let first = builder.label_count();
    if cur.eat(b'{') {
        cur.label_set(true, builder.labels())?;
        spaced = cur.blanks();
    }
    let labels = first..builder.label_count();
    if !spaced {
        return Err("expected a blank before the value".into());
    }
    let raw = cur.token();
    let value = number(raw).ok_or_else(|| format!("`{raw}` is not a number"))?;
    cur.blanks();
    let timestamp_ms = if cur.done() {
        None
    } else {
        let raw = cur.token();
        let ts = raw
            .parse::<i64>()
            .map_err(|_| format!("`{raw}` is not a timestamp in milliseconds"))?;
        cur.blanks();
        if !cur.done() {
            return Err("unexpected text after the timestamp".into());
        }
        Some(ts)
    };
    builder.sample(Sample {
        name,
        suffix: Suffix::None,
        labels,
        value,
        timestamp_ms,
        exemplar: None,
    })
}
