//! The editors: what a statement does to its record. Arguments are evaluated (and copied out
//! of the record) before anything is written, so an editor can read and write the same field.

use std::borrow::Cow;

use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use regex::Regex;

use super::converters::apply_string_function;
use super::{Converter, Editor};
use crate::error::EvalError;
use crate::eval::{Arg, PathRef, eval, eval_arg, resolve_path};
use crate::path::Path;
use crate::record::RecordMut;
use crate::value::Value;

/// Runs editor `e` on its compiled arguments against `rec`.
pub(crate) fn execute<R: RecordMut + ?Sized>(
    e: Editor,
    args: &[Arg],
    rec: &mut R,
) -> Result<(), EvalError> {
    let Some(Arg::Target(target)) = args.first() else {
        return Err(EvalError::function("editor", "target not compiled"));
    };
    let path = target_path(target, rec)?;
    match e {
        Editor::Set => {
            let value = eval_arg(args, 1, &*rec)?.into_owned();
            rec.set(&path, value)
        }
        Editor::Append => append(args, &path, rec),
        Editor::DeleteKey => {
            let key = eval_arg(args, 1, &*rec)?;
            let Value::Str(key) = key else {
                return Err(type_error("delete_key", "key", "string", &key));
            };
            let key = key.into_owned();
            rec.map_mut(&path)?.retain(|kv| kv.key != key);
            Ok(())
        }
        Editor::DeleteMatchingKeys => {
            let re = regex_arg(args, 1)?;
            rec.map_mut(&path)?.retain(|kv| !re.is_match(&kv.key));
            Ok(())
        }
        Editor::KeepKeys => {
            let Some(Arg::StrList(keys)) = args.get(1) else {
                return Err(not_compiled("keep_keys"));
            };
            rec.map_mut(&path)?.retain(|kv| keys.contains(&kv.key));
            Ok(())
        }
        Editor::KeepMatchingKeys => {
            let re = regex_arg(args, 1)?;
            rec.map_mut(&path)?.retain(|kv| re.is_match(&kv.key));
            Ok(())
        }
        Editor::TruncateAll => {
            let limit = int_arg(args, 1)?;
            let limit = usize::try_from(limit).unwrap_or(0);
            for kv in rec.map_mut(&path)?.iter_mut() {
                if let Some(AnyValue {
                    value: Some(any_value::Value::StringValue(s)),
                }) = kv.value.as_mut()
                {
                    truncate_utf8(s, limit);
                }
            }
            Ok(())
        }
        Editor::Limit => {
            let limit = usize::try_from(int_arg(args, 1)?).unwrap_or(0);
            let Some(Arg::StrList(priority)) = args.get(2) else {
                return Err(not_compiled("limit"));
            };
            limit_map(rec.map_mut(&path)?, limit, priority);
            Ok(())
        }
        Editor::ReplacePattern => {
            let re = regex_arg(args, 1)?;
            let replacement = string_arg("replace_pattern", args, 2, &*rec)?;
            let (func, format) = replace_options(args, 3);
            let new = match rec.get(&path)?.as_str() {
                Some(s) => replace_regex(re, s, &replacement, func, format)?,
                None => None,
            };
            match new {
                Some(new) => rec.set(&path, Value::Str(Cow::Owned(new))),
                None => Ok(()),
            }
        }
        Editor::ReplaceAllPatterns => {
            let Some(Arg::Str(mode)) = args.get(1) else {
                return Err(not_compiled("replace_all_patterns"));
            };
            let re = regex_arg(args, 2)?;
            let replacement = string_arg("replace_all_patterns", args, 3, &*rec)?;
            let (func, format) = replace_options(args, 4);
            let map = rec.map_mut(&path)?;
            if mode == "key" {
                replace_keys(map, re, &replacement, func, format)
            } else {
                for kv in map.iter_mut() {
                    if let Some(AnyValue {
                        value: Some(any_value::Value::StringValue(s)),
                    }) = kv.value.as_mut()
                        && let Some(new) = replace_regex(re, s, &replacement, func, format)?
                    {
                        *s = new;
                    }
                }
                Ok(())
            }
        }
        Editor::ReplaceMatch => {
            let Some(Arg::Glob(glob)) = args.get(1) else {
                return Err(not_compiled("replace_match"));
            };
            let replacement = string_arg("replace_match", args, 2, &*rec)?;
            let (func, format) = replace_options(args, 3);
            let matched = rec.get(&path)?.as_str().is_some_and(|s| glob.is_match(s));
            if matched {
                let new = finish_replacement(replacement, func, format)?;
                rec.set(&path, Value::Str(Cow::Owned(new)))?;
            }
            Ok(())
        }
        Editor::ReplaceAllMatches => {
            let Some(Arg::Glob(glob)) = args.get(1) else {
                return Err(not_compiled("replace_all_matches"));
            };
            let replacement = string_arg("replace_all_matches", args, 2, &*rec)?;
            let (func, format) = replace_options(args, 3);
            let new = finish_replacement(replacement, func, format)?;
            for kv in rec.map_mut(&path)?.iter_mut() {
                if let Some(AnyValue {
                    value: Some(any_value::Value::StringValue(s)),
                }) = kv.value.as_mut()
                    && glob.is_match(s)
                {
                    s.clone_from(&new);
                }
            }
            Ok(())
        }
        Editor::MergeMaps => {
            let source = eval_arg(args, 1, &*rec)?.into_owned();
            let Value::Map(source) = source else {
                return Err(type_error("merge_maps", "source", "map", &source));
            };
            let Some(Arg::Str(strategy)) = args.get(2) else {
                return Err(not_compiled("merge_maps"));
            };
            merge(rec.map_mut(&path)?, source.into_owned(), strategy);
            Ok(())
        }
    }
}

fn target_path<R: RecordMut + ?Sized>(target: &PathRef, rec: &R) -> Result<Path, EvalError> {
    Ok(resolve_path(target, rec)?.into_owned())
}

fn not_compiled(function: &'static str) -> EvalError {
    EvalError::function(function, "argument not compiled")
}

fn type_error(
    function: &'static str,
    arg: &str,
    expected: &'static str,
    found: &Value<'_>,
) -> EvalError {
    EvalError::Type {
        what: format!("{function} argument `{arg}`"),
        expected,
        found: found.type_name(),
    }
}

fn regex_arg(args: &[Arg], i: usize) -> Result<&Regex, EvalError> {
    match args.get(i) {
        Some(Arg::Regex(re)) => Ok(re),
        _ => Err(not_compiled("regex")),
    }
}

fn int_arg(args: &[Arg], i: usize) -> Result<i64, EvalError> {
    match args.get(i) {
        Some(Arg::Int(n)) => Ok(*n),
        _ => Err(not_compiled("int")),
    }
}

fn string_arg<R: RecordMut + ?Sized>(
    function: &'static str,
    args: &[Arg],
    i: usize,
    rec: &R,
) -> Result<String, EvalError> {
    match eval_arg(args, i, rec)? {
        Value::Str(s) => Ok(s.into_owned()),
        other => Err(type_error(function, "replacement", "string", &other)),
    }
}

fn replace_options(args: &[Arg], i: usize) -> (Option<Converter>, Option<&str>) {
    let func = match args.get(i) {
        Some(Arg::Function(c)) => Some(*c),
        _ => None,
    };
    let format = match args.get(i + 1) {
        Some(Arg::Str(f)) => Some(f.as_str()),
        _ => None,
    };
    (func, format)
}

/// The replacement after the optional function and, with a function, the optional format
/// (otelcol applies `replacementFormat` only to a function's result).
fn finish_replacement(
    replacement: String,
    func: Option<Converter>,
    format: Option<&str>,
) -> Result<String, EvalError> {
    let Some(func) = func else {
        return Ok(replacement);
    };
    let out = apply_string_function(func, &replacement)?;
    Ok(match format {
        Some(f) => f.replacen("%s", &out, 1),
        None => out,
    })
}

/// `s` with every match of `re` replaced (`$1`, `${name}` expand groups; `$$` is a `$`);
/// `None` when nothing matched. With a function, each match's expansion goes through it.
fn replace_regex(
    re: &Regex,
    s: &str,
    replacement: &str,
    func: Option<Converter>,
    format: Option<&str>,
) -> Result<Option<String>, EvalError> {
    if !re.is_match(s) {
        return Ok(None);
    }
    if func.is_none() {
        return Ok(Some(re.replace_all(s, replacement).into_owned()));
    }
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for caps in re.captures_iter(s) {
        let Some(whole) = caps.get(0) else { continue };
        out.push_str(s.get(last..whole.start()).unwrap_or(""));
        let mut expanded = String::new();
        caps.expand(replacement, &mut expanded);
        out.push_str(&finish_replacement(expanded, func, format)?);
        last = whole.end();
    }
    out.push_str(s.get(last..).unwrap_or(""));
    Ok(Some(out))
}

fn replace_keys(
    map: &mut Vec<KeyValue>,
    re: &Regex,
    replacement: &str,
    func: Option<Converter>,
    format: Option<&str>,
) -> Result<(), EvalError> {
    let mut i = 0;
    while i < map.len() {
        let renamed = match map.get(i) {
            Some(kv) => replace_regex(re, &kv.key, replacement, func, format)?,
            None => None,
        };
        if let Some(new_key) = renamed {
            // A renamed key replaces an entry already holding that name.
            if let Some(j) = map.iter().position(|kv| kv.key == new_key)
                && j != i
            {
                map.remove(j);
                if j < i {
                    i -= 1;
                }
            }
            if let Some(kv) = map.get_mut(i) {
                kv.key = new_key;
            }
        }
        i += 1;
    }
    Ok(())
}

/// Truncates to at most `limit` bytes without splitting a character (otelcol's current
/// `truncate_all` backs up to a character boundary the same way).
fn truncate_utf8(s: &mut String, limit: usize) {
    if s.len() <= limit {
        return;
    }
    let mut end = limit;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
}

/// otelcol's `limit`: priority keys present are kept and counted first, then other entries in
/// order until the limit.
fn limit_map(map: &mut Vec<KeyValue>, limit: usize, priority: &[String]) {
    if map.len() <= limit {
        return;
    }
    let mut count = map.iter().filter(|kv| priority.contains(&kv.key)).count();
    map.retain(|kv| {
        if priority.contains(&kv.key) {
            return true;
        }
        if count < limit {
            count += 1;
            return true;
        }
        false
    });
}

fn merge(target: &mut Vec<KeyValue>, source: Vec<KeyValue>, strategy: &str) {
    for kv in source {
        match target.iter_mut().find(|t| t.key == kv.key) {
            Some(existing) => {
                if strategy != "insert" {
                    existing.value = kv.value;
                }
            }
            None => {
                if strategy != "update" {
                    target.push(kv);
                }
            }
        }
    }
}

fn append<R: RecordMut + ?Sized>(args: &[Arg], path: &Path, rec: &mut R) -> Result<(), EvalError> {
    let mut items: Vec<AnyValue> = match rec.get(path)?.into_owned() {
        Value::Nil => Vec::new(),
        Value::Slice(s) => s.into_owned(),
        other => other.into_any()?.into_iter().collect(),
    };
    let single = eval_arg(args, 1, &*rec)?.into_owned();
    if let Some(v) = single.into_any()? {
        items.push(v);
    }
    if let Some(Arg::ExprList(values)) = args.get(2) {
        for e in values {
            if let Some(v) = eval(e, &*rec)?.into_owned().into_any()? {
                items.push(v);
            }
        }
    }
    rec.set(path, Value::Slice(Cow::Owned(items)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(k: &str, v: &str) -> KeyValue {
        KeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
            ..Default::default()
        }
    }

    fn keys(map: &[KeyValue]) -> Vec<&str> {
        map.iter().map(|kv| kv.key.as_str()).collect()
    }

    #[test]
    fn truncation_never_splits_a_character() {
        let mut s = "aé€".to_owned();
        truncate_utf8(&mut s, 2);
        assert_eq!(s, "a");
        let mut s = "aé€".to_owned();
        truncate_utf8(&mut s, 3);
        assert_eq!(s, "aé");
        let mut s = "abc".to_owned();
        truncate_utf8(&mut s, 0);
        assert_eq!(s, "");
    }

    #[test]
    fn limit_keeps_priority_keys_then_the_first_others() {
        let mut map = vec![kv("a", ""), kv("b", ""), kv("c", ""), kv("d", "")];
        limit_map(&mut map, 2, &["d".into()]);
        assert_eq!(keys(&map), ["a", "d"]);
        let mut map = vec![kv("a", ""), kv("b", "")];
        limit_map(&mut map, 5, &[]);
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn merge_strategies() {
        let base = || vec![kv("a", "1"), kv("b", "1")];
        let src = vec![kv("b", "2"), kv("c", "2")];
        let value = |m: &[KeyValue], k: &str| {
            m.iter()
                .find(|kv| kv.key == k)
                .map(|kv| Value::from_opt_any(kv.value.as_ref()).into_owned())
        };
        let mut m = base();
        merge(&mut m, src.clone(), "insert");
        assert_eq!(value(&m, "b"), Some(Value::str("1").into_owned()));
        assert_eq!(value(&m, "c"), Some(Value::str("2").into_owned()));
        let mut m = base();
        merge(&mut m, src.clone(), "update");
        assert_eq!(value(&m, "b"), Some(Value::str("2").into_owned()));
        assert_eq!(value(&m, "c"), None);
        let mut m = base();
        merge(&mut m, src, "upsert");
        assert_eq!(keys(&m), ["a", "b", "c"]);
        assert_eq!(value(&m, "b"), Some(Value::str("2").into_owned()));
    }

    #[test]
    fn regex_replacement_expands_groups_and_applies_the_function_per_match() {
        let re = Regex::new(r"^kube_([0-9A-Za-z]+_)").unwrap();
        assert_eq!(
            replace_regex(&re, "kube_pod_name", "k8s.$1.", None, None)
                .unwrap()
                .as_deref(),
            Some("k8s.pod_.name")
        );
        assert_eq!(
            replace_regex(&re, "nothing", "x", None, None).unwrap(),
            None
        );
        let re = Regex::new(r"id=(\d+)").unwrap();
        let out = replace_regex(
            &re,
            "id=1 id=2",
            "$1",
            Some(Converter::Sha256),
            Some("h:%s"),
        )
        .unwrap()
        .unwrap();
        assert!(out.starts_with("h:6b86b273"), "{out}");
        assert!(out.contains(" h:d4735e3a"), "{out}");
    }

    #[test]
    fn key_replacement_renames_in_place() {
        let mut map = vec![kv("kube_a", "1"), kv("b", "2")];
        let re = Regex::new("^kube_").unwrap();
        replace_keys(&mut map, &re, "k8s.", None, None).unwrap();
        assert_eq!(keys(&map), ["k8s.a", "b"]);
        let mut map = vec![kv("x", "1"), kv("old_x", "2")];
        replace_keys(&mut map, &Regex::new("^old_").unwrap(), "", None, None).unwrap();
        assert_eq!(keys(&map), ["x"]);
        assert_eq!(Value::from_opt_any(map[0].value.as_ref()), Value::str("2"));
    }
}
