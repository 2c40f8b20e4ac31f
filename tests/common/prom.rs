//! Scraping Weir's internal Prometheus endpoint and reading a sample from it.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

/// `GET /metrics` on 127.0.0.1:`port`; the response body, or why it failed.
pub fn scrape(port: u16) -> Result<String, String> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no HTTP header end in {text:?}"))?;
    let status_line = head.lines().next().unwrap_or_default();
    if !status_line.contains(" 200") {
        return Err(format!("unexpected status: {status_line}"));
    }
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return Ok(dechunk(body));
    }
    Ok(body.to_string())
}

/// The body of a `Transfer-Encoding: chunked` response, joined.
pub fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].trim_start_matches("\r\n");
    }
    out
}

/// One sample line: metric name, labels, value.
struct Sample<'a> {
    name: &'a str,
    labels: Vec<(String, String)>,
    value: f64,
}

/// Parses `name{a="b",c="d"} value` into its parts.
fn parse_sample(line: &str) -> Option<Sample<'_>> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (series, value) = line.rsplit_once(' ')?;
    let value: f64 = value.parse().ok()?;
    let (name, labels) = match series.split_once('{') {
        Some((name, rest)) => (name, rest.strip_suffix('}')?),
        None => (series, ""),
    };
    let mut parsed = Vec::new();
    let mut rest = labels;
    while let Some((key, after)) = rest.split_once("=\"") {
        let end = after.find('"')?;
        parsed.push((
            key.trim_start_matches(',').trim().to_string(),
            after[..end].to_string(),
        ));
        rest = &after[end + 1..];
    }
    Some(Sample {
        name,
        labels: parsed,
        value,
    })
}

/// The sum of every sample of metric `name` whose labels include all of `labels`, or `None` when
/// no such sample exists.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for sample in text.lines().filter_map(parse_sample) {
        if sample.name != name {
            continue;
        }
        let matches = labels
            .iter()
            .all(|(k, want)| sample.labels.iter().any(|(lk, lv)| lk == k && lv == want));
        if matches {
            found = Some(found.unwrap_or(0.0) + sample.value);
        }
    }
    found
}

/// Scrapes and reads one counter; `None` if the scrape failed or the series is absent.
pub fn counter(port: u16, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape(port)
        .ok()
        .and_then(|text| value(&text, name, labels))
}
