//! `$1`, `${1}`, `${name}` in a template, expanded from a match as Go's `Regexp.Expand`
//! expands them (Prometheus's `replacement` and `target_label`).
//!
//! Written out rather than left to `regex::Captures::expand`, which differs from Go at the
//! edges: Go takes Unicode letters and digits into a name, refuses `${…}` holding anything
//! else (the `$` is then kept as written), and reads a number with a leading zero, `$01`, as
//! a name, which no group has, so it expands to nothing.

use regex::{Captures, Regex};

/// Appends `template` expanded from `caps` to `out`.
pub(crate) fn expand(regex: &Regex, caps: &Captures<'_>, template: &str, out: &mut String) {
    let mut rest = template;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        match reference(rest) {
            Some((name, after)) => {
                if let Some(m) = group(regex, caps, name) {
                    out.push_str(m);
                }
                rest = after;
            }
            None => out.push('$'),
        }
    }
    out.push_str(rest);
}

/// The name after a `$` (bare or in braces) and what follows it; `None` when malformed.
fn reference(s: &str) -> Option<(&str, &str)> {
    let (braced, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len = body
        .char_indices()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_'))
        .map_or(body.len(), |(i, _)| i);
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    let after = &body[len..];
    if braced {
        let after = after.strip_prefix('}')?;
        return Some((name, after));
    }
    Some((name, after))
}

fn group<'h>(regex: &Regex, caps: &Captures<'h>, name: &str) -> Option<&'h str> {
    let numeric =
        name.bytes().all(|b| b.is_ascii_digit()) && !(name.len() > 1 && name.starts_with('0'));
    if numeric {
        // Go gives up on numbers of nine digits or more; no regex has that many groups.
        let n: usize = name.parse().ok()?;
        return caps.get(n).map(|m| m.as_str());
    }
    regex
        .capture_names()
        .position(|n| n == Some(name))
        .and_then(|i| caps.get(i))
        .map(|m| m.as_str())
}
