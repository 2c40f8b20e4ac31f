//! Writes the accumulated series as Prometheus text format 0.0.4 or OpenMetrics 1.0 text.
//!
//! Written by hand: `prometheus-client` writes OpenMetrics only, from its own typed metrics
//! (adding its own suffixes, with no summaries), and the `prometheus` crate builds protobuf
//! families for every scrape; here the label sets are strings made when a series is updated,
//! so a scrape is one pass of copying them beside the values, into 64 KiB pieces that are
//! sent and freed one by one.
//!
//! As otelcol (client_golang) writes them: `target_info` first, then families by name; `# HELP`
//! and `# TYPE` for each; numbers as Go's `%g` (`1e+06`), OpenMetrics adding `.0` to integral
//! values; histogram buckets cumulative with `le` and a `+Inf` bucket holding the count;
//! timestamps (with `send_timestamps`) in milliseconds, in OpenMetrics in seconds. OpenMetrics
//! also gets counters' family names without `_total` (samples keep it), `# UNIT` where the name
//! ends with the unit, exemplars on counters and on the bucket their value falls in, and
//! `# EOF`. No `_created` lines, as otelcol's handler writes none.

use std::io::Write as _;

use bytes::Bytes;

use super::accumulator::{Accumulator, Exemplar, Family, Kind, Series, Value};

/// An exposition format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`.
    Text,
    /// `application/openmetrics-text; version=1.0.0`.
    OpenMetrics,
}

impl Format {
    /// The response's `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The size of a body's pieces: under glibc's mmap threshold, so that the pieces of one scrape
/// reuse the heap the last one freed instead of faulting in fresh pages.
const CHUNK: usize = 64 * 1024;

/// A piece is cut once this full, leaving room for the series being written (one that does
/// not fit grows its piece), so that little of a piece's capacity goes unused.
const CUT_AT: usize = CHUNK - 8 * 1024;

/// Writes every family of `accumulator`, in pieces of about [`CHUNK`] bytes.
pub fn render(accumulator: &Accumulator, format: Format, timestamps: bool) -> Vec<Bytes> {
    let mut writer = Writer {
        format,
        timestamps,
        out: Vec::with_capacity(CHUNK),
        done: Vec::new(),
    };
    let mut targets = accumulator.targets().peekable();
    if targets.peek().is_some() {
        let name = accumulator.target_info_name();
        writer.header(&name, "Target metadata", Kind::Gauge, None);
        for labels in targets {
            writer.sample(&name, "", labels, None, 1.0, None);
            writer.end_line();
            writer.cut();
        }
    }
    for (name, family) in accumulator.families() {
        writer.family(name, family);
    }
    if format == Format::OpenMetrics {
        writer.out.extend_from_slice(b"# EOF\n");
    }
    let Writer { out, mut done, .. } = writer;
    if !out.is_empty() {
        done.push(Bytes::from(out));
    }
    done
}

struct Writer {
    format: Format,
    timestamps: bool,
    out: Vec<u8>,
    done: Vec<Bytes>,
}

impl Writer {
    /// Starts a new piece once the current one is full.
    fn cut(&mut self) {
        if self.out.len() >= CUT_AT {
            let full = std::mem::replace(&mut self.out, Vec::with_capacity(CHUNK));
            self.done.push(Bytes::from(full));
        }
    }

    fn family(&mut self, name: &str, family: &Family) {
        let open_metrics = self.format == Format::OpenMetrics;
        // OpenMetrics names a counter family without `_total`; its samples carry it.
        let (family_name, suffix) = match family.kind {
            Kind::Counter if open_metrics => {
                (name.strip_suffix("_total").unwrap_or(name), "_total")
            }
            _ => (name, ""),
        };
        self.header(
            family_name,
            &family.help,
            family.kind,
            family.unit.as_deref().filter(|_| open_metrics),
        );
        for (labels, series) in &family.series {
            self.series(family_name, suffix, labels, series);
            self.cut();
        }
    }

    fn header(&mut self, name: &str, help: &str, kind: Kind, unit: Option<&str>) {
        let out = &mut self.out;
        out.extend_from_slice(b"# HELP ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        for c in help.bytes() {
            match c {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'"' if self.format == Format::OpenMetrics => out.extend_from_slice(b"\\\""),
                c => out.push(c),
            }
        }
        out.extend_from_slice(b"\n# TYPE ");
        out.extend_from_slice(name.as_bytes());
        out.push(b' ');
        out.extend_from_slice(kind.as_str().as_bytes());
        out.push(b'\n');
        if let Some(unit) = unit {
            out.extend_from_slice(b"# UNIT ");
            out.extend_from_slice(name.as_bytes());
            out.push(b' ');
            out.extend_from_slice(unit.as_bytes());
            out.push(b'\n');
        }
    }

    fn series(&mut self, name: &str, suffix: &str, labels: &str, series: &Series) {
        let time = self.timestamps.then_some(series.time_unix_nano);
        match &series.value {
            Value::Number(v) => {
                let exemplar = series.exemplars.last();
                self.sample(name, suffix, labels, None, *v, time);
                self.exemplar(exemplar);
                self.end_line();
            }
            Value::Histogram {
                bounds,
                counts,
                sum,
                count,
            } => {
                let mut cumulative: u64 = 0;
                for (i, bound) in bounds.iter().enumerate() {
                    cumulative = cumulative.saturating_add(counts.get(i).copied().unwrap_or(0));
                    self.sample_with_le(name, labels, "le", *bound, cumulative as f64, time);
                    let lower = if i == 0 {
                        f64::NEG_INFINITY
                    } else {
                        bounds[i - 1]
                    };
                    self.exemplar(
                        series
                            .exemplars
                            .iter()
                            .rfind(|e| e.value > lower && e.value <= *bound),
                    );
                    self.end_line();
                }
                self.sample_with_le(name, labels, "le", f64::INFINITY, *count as f64, time);
                let last = bounds.last().copied().unwrap_or(f64::NEG_INFINITY);
                self.exemplar(series.exemplars.iter().rfind(|e| e.value > last));
                self.end_line();
                self.sample(name, "_sum", labels, None, *sum, time);
                self.end_line();
                self.sample(name, "_count", labels, None, *count as f64, time);
                self.end_line();
            }
            Value::Summary {
                quantiles,
                sum,
                count,
            } => {
                for (quantile, value) in quantiles {
                    self.sample_with_le(name, labels, "quantile", *quantile, *value, time);
                    self.end_line();
                }
                self.sample(name, "_sum", labels, None, *sum, time);
                self.end_line();
                self.sample(name, "_count", labels, None, *count as f64, time);
                self.end_line();
            }
        }
    }

    /// A bucket or quantile sample: `extra` (`le` or `quantile`) after the series' labels.
    fn sample_with_le(
        &mut self,
        name: &str,
        labels: &str,
        extra: &str,
        at: f64,
        value: f64,
        time: Option<u64>,
    ) {
        let suffix = if extra == "le" { "_bucket" } else { "" };
        self.sample(name, suffix, labels, Some((extra, at)), value, time);
    }

    /// Writes `name{labels} value [time]` without the line end (an exemplar may follow).
    fn sample(
        &mut self,
        name: &str,
        suffix: &str,
        labels: &str,
        extra: Option<(&str, f64)>,
        value: f64,
        time: Option<u64>,
    ) {
        let format = self.format;
        let out = &mut self.out;
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(suffix.as_bytes());
        if !labels.is_empty() || extra.is_some() {
            out.push(b'{');
            out.extend_from_slice(labels.as_bytes());
            if let Some((label, at)) = extra {
                if !labels.is_empty() {
                    out.push(b',');
                }
                out.extend_from_slice(label.as_bytes());
                out.extend_from_slice(b"=\"");
                write_float(out, at, format);
                out.push(b'"');
            }
            out.push(b'}');
        }
        out.push(b' ');
        write_float(out, value, format);
        if let Some(time) = time {
            out.push(b' ');
            write_time(out, time, format);
        }
    }

    fn exemplar(&mut self, exemplar: Option<&Exemplar>) {
        let Some(exemplar) = exemplar else { return };
        if self.format != Format::OpenMetrics {
            return;
        }
        let out = &mut self.out;
        out.extend_from_slice(b" # {");
        out.extend_from_slice(exemplar.labels.as_bytes());
        out.extend_from_slice(b"} ");
        write_float(out, exemplar.value, Format::OpenMetrics);
        if exemplar.time_unix_nano != 0 {
            out.push(b' ');
            write_time(out, exemplar.time_unix_nano, Format::OpenMetrics);
        }
    }

    fn end_line(&mut self) {
        self.out.push(b'\n');
    }
}

/// Milliseconds (text 0.0.4) or seconds with milliseconds (OpenMetrics).
fn write_time(out: &mut Vec<u8>, unix_nano: u64, format: Format) {
    let millis = unix_nano / 1_000_000;
    let _ = match format {
        Format::Text => write!(out, "{millis}"),
        Format::OpenMetrics => write!(out, "{}.{:03}", millis / 1000, millis % 1000),
    };
}

/// A float as Go's `strconv.FormatFloat(v, 'g', -1, 64)` writes it (what client_golang
/// writes), with OpenMetrics' `.0` on integral values.
pub fn write_float(out: &mut Vec<u8>, value: f64, format: Format) {
    if value.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 { b"+Inf" } else { b"-Inf" });
        return;
    }
    if value == 0.0 {
        out.extend_from_slice(if value.is_sign_negative() {
            b"-0".as_slice()
        } else {
            b"0".as_slice()
        });
        if format == Format::OpenMetrics {
            out.extend_from_slice(b".0");
        }
        return;
    }
    if value < 0.0 {
        out.push(b'-');
    }
    let start = out.len();
    // Integers below 1e6 are written as they are by both (most counters and counts).
    if value.fract() == 0.0 && value.abs() < 1e6 {
        let _ = write!(out, "{}", value.abs() as u64);
        if format == Format::OpenMetrics {
            out.extend_from_slice(b".0");
        }
        return;
    }
    // Rust's `{:e}` gives the shortest round-tripping digits, `d[.ddd]e<exp>`; written into a
    // stack buffer, since a scrape formats hundreds of thousands of values.
    let mut buffer = [0u8; 40];
    let mut cursor = std::io::Cursor::new(&mut buffer[..]);
    let _ = write!(cursor, "{:e}", value.abs());
    let written = cursor.position() as usize;
    let scientific = std::str::from_utf8(&buffer[..written]).unwrap_or("0e0");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mut digit_buffer = [0u8; 40];
    let mut count = 0;
    for b in mantissa.bytes().filter(|b| *b != b'.') {
        digit_buffer[count] = b;
        count += 1;
    }
    let digits = std::str::from_utf8(&digit_buffer[..count]).unwrap_or("0");
    // With the shortest digits Go decides by precision 6: an exponent below -4 or from 6 on.
    if !(-4..6).contains(&exponent) {
        out.push(digits.as_bytes()[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits.as_bytes()[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exponent < 0 { '-' } else { '+' },
            exponent.abs()
        );
    } else if exponent < 0 {
        out.extend_from_slice(b"0.");
        for _ in 0..(-exponent - 1) {
            out.push(b'0');
        }
        out.extend_from_slice(digits.as_bytes());
    } else {
        let point = exponent as usize + 1;
        if digits.len() <= point {
            out.extend_from_slice(digits.as_bytes());
            for _ in digits.len()..point {
                out.push(b'0');
            }
        } else {
            out.extend_from_slice(&digits.as_bytes()[..point]);
            out.push(b'.');
            out.extend_from_slice(&digits.as_bytes()[point..]);
        }
    }
    if format == Format::OpenMetrics && !out[start..].iter().any(|b| *b == b'.' || *b == b'e') {
        out.extend_from_slice(b".0");
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
