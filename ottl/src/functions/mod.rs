//! The function table: every editor and converter, its parameters and what it returns. The
//! checker binds arguments against it; [`converters`] and [`editors`] run the calls.

pub(crate) mod converters;
pub(crate) mod editors;
pub(crate) mod glob;

use crate::value::Type;

/// Converters: pure, capitalised, return a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub(crate) enum Converter {
    IsMatch,
    Concat,
    Split,
    ToLowerCase,
    ToUpperCase,
    Substring,
    Int,
    Double,
    String,
    Len,
    Sha1,
    Sha256,
    Sha512,
    IsString,
    IsMap,
    IsInt,
    IsDouble,
    IsBool,
    IsList,
    Duration,
    UnixNano,
    UnixMicro,
    UnixMilli,
    UnixSeconds,
    Unix,
    Now,
    Nanoseconds,
    Microseconds,
    Milliseconds,
    Seconds,
    Minutes,
    Hours,
    ParseJson,
    Hex,
    TraceId,
    SpanId,
}

/// Editors: lower-case, change the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Editor {
    Set,
    Append,
    DeleteKey,
    DeleteMatchingKeys,
    KeepKeys,
    KeepMatchingKeys,
    TruncateAll,
    Limit,
    ReplacePattern,
    ReplaceAllPatterns,
    ReplaceMatch,
    ReplaceAllMatches,
    MergeMaps,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Editor(Editor),
    Converter(Converter),
}

/// What an argument must be, and so how it is compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamKind {
    /// Any expression whose value is of this type (checked statically where known).
    Get(Type),
    /// A writable path holding this type.
    Target(Type),
    /// A string literal compiled as a regular expression once, at compile time.
    Regex,
    /// A string literal compiled as a glob.
    Glob,
    /// A string literal, one of these.
    Choice(&'static [&'static str]),
    /// A string literal with exactly one `%s`.
    Format,
    /// An int literal, not negative.
    Count,
    /// A list literal of string literals.
    StrList,
    /// A list literal of expressions.
    GetList,
    /// A converter passed by name that takes a string and returns a string (`SHA256`).
    Function,
}

#[derive(Debug)]
pub(crate) struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub optional: bool,
}

#[derive(Debug)]
pub(crate) struct Spec {
    pub name: &'static str,
    pub func: Func,
    pub params: &'static [Param],
    pub ret: Type,
}

const fn p(name: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        kind,
        optional: false,
    }
}

const fn opt(name: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        kind,
        optional: true,
    }
}

use ParamKind::*;

const ANY: ParamKind = Get(Type::Any);
const STR: ParamKind = Get(Type::String);
const ONE_ANY: &[Param] = &[p("value", ANY)];
const ONE_STR: &[Param] = &[p("target", STR)];
const ONE_TIME: &[Param] = &[p("time", Get(Type::Time))];
const ONE_DURATION: &[Param] = &[p("duration", Get(Type::Duration))];
const MAP_TARGET: ParamKind = Target(Type::Map);
const REPLACE_TAIL_FN: Param = opt("function", Function);
const REPLACE_TAIL_FMT: Param = opt("replacementFormat", Format);

const fn conv(name: &'static str, c: Converter, params: &'static [Param], ret: Type) -> Spec {
    Spec {
        name,
        func: Func::Converter(c),
        params,
        ret,
    }
}

const fn edit(name: &'static str, e: Editor, params: &'static [Param]) -> Spec {
    Spec {
        name,
        func: Func::Editor(e),
        params,
        ret: Type::Nil,
    }
}

pub(crate) const SPECS: &[Spec] = &[
    // Editors.
    edit(
        "set",
        Editor::Set,
        &[p("target", Target(Type::Any)), p("value", ANY)],
    ),
    edit(
        "append",
        Editor::Append,
        &[
            p("target", Target(Type::Any)),
            opt("value", ANY),
            opt("values", GetList),
        ],
    ),
    edit(
        "delete_key",
        Editor::DeleteKey,
        &[p("target", MAP_TARGET), p("key", STR)],
    ),
    edit(
        "delete_matching_keys",
        Editor::DeleteMatchingKeys,
        &[p("target", MAP_TARGET), p("pattern", Regex)],
    ),
    edit(
        "keep_keys",
        Editor::KeepKeys,
        &[p("target", MAP_TARGET), p("keys", StrList)],
    ),
    edit(
        "keep_matching_keys",
        Editor::KeepMatchingKeys,
        &[p("target", MAP_TARGET), p("pattern", Regex)],
    ),
    edit(
        "truncate_all",
        Editor::TruncateAll,
        &[p("target", MAP_TARGET), p("limit", Count)],
    ),
    edit(
        "limit",
        Editor::Limit,
        &[
            p("target", MAP_TARGET),
            p("limit", Count),
            p("priority_keys", StrList),
        ],
    ),
    edit(
        "replace_pattern",
        Editor::ReplacePattern,
        &[
            p("target", Target(Type::Any)),
            p("regex", Regex),
            p("replacement", STR),
            REPLACE_TAIL_FN,
            REPLACE_TAIL_FMT,
        ],
    ),
    edit(
        "replace_all_patterns",
        Editor::ReplaceAllPatterns,
        &[
            p("target", MAP_TARGET),
            p("mode", Choice(&["key", "value"])),
            p("regex", Regex),
            p("replacement", STR),
            REPLACE_TAIL_FN,
            REPLACE_TAIL_FMT,
        ],
    ),
    edit(
        "replace_match",
        Editor::ReplaceMatch,
        &[
            p("target", Target(Type::Any)),
            p("pattern", Glob),
            p("replacement", STR),
            REPLACE_TAIL_FN,
            REPLACE_TAIL_FMT,
        ],
    ),
    edit(
        "replace_all_matches",
        Editor::ReplaceAllMatches,
        &[
            p("target", MAP_TARGET),
            p("pattern", Glob),
            p("replacement", STR),
            REPLACE_TAIL_FN,
            REPLACE_TAIL_FMT,
        ],
    ),
    edit(
        "merge_maps",
        Editor::MergeMaps,
        &[
            p("target", MAP_TARGET),
            p("source", Get(Type::Map)),
            p("strategy", Choice(&["insert", "update", "upsert"])),
        ],
    ),
    // Converters.
    conv(
        "IsMatch",
        Converter::IsMatch,
        &[p("target", ANY), p("pattern", Regex)],
        Type::Bool,
    ),
    conv(
        "Concat",
        Converter::Concat,
        &[p("values", GetList), p("delimiter", STR)],
        Type::String,
    ),
    conv(
        "Split",
        Converter::Split,
        &[p("target", STR), p("delimiter", STR)],
        Type::Slice,
    ),
    conv("ToLowerCase", Converter::ToLowerCase, ONE_STR, Type::String),
    conv("ToUpperCase", Converter::ToUpperCase, ONE_STR, Type::String),
    conv(
        "Substring",
        Converter::Substring,
        &[
            p("target", STR),
            p("start", Get(Type::Int)),
            p("length", Get(Type::Int)),
        ],
        Type::String,
    ),
    conv("Int", Converter::Int, ONE_ANY, Type::Any),
    conv("Double", Converter::Double, ONE_ANY, Type::Any),
    conv("String", Converter::String, ONE_ANY, Type::Any),
    conv("Len", Converter::Len, &[p("target", ANY)], Type::Int),
    conv("SHA1", Converter::Sha1, &[p("value", STR)], Type::String),
    conv(
        "SHA256",
        Converter::Sha256,
        &[p("value", STR)],
        Type::String,
    ),
    conv(
        "SHA512",
        Converter::Sha512,
        &[p("value", STR)],
        Type::String,
    ),
    conv("IsString", Converter::IsString, ONE_ANY, Type::Bool),
    conv("IsMap", Converter::IsMap, ONE_ANY, Type::Bool),
    conv("IsInt", Converter::IsInt, ONE_ANY, Type::Bool),
    conv("IsDouble", Converter::IsDouble, ONE_ANY, Type::Bool),
    conv("IsBool", Converter::IsBool, ONE_ANY, Type::Bool),
    conv("IsList", Converter::IsList, ONE_ANY, Type::Bool),
    conv(
        "Duration",
        Converter::Duration,
        &[p("duration", STR)],
        Type::Duration,
    ),
    conv("UnixNano", Converter::UnixNano, ONE_TIME, Type::Int),
    conv("UnixMicro", Converter::UnixMicro, ONE_TIME, Type::Int),
    conv("UnixMilli", Converter::UnixMilli, ONE_TIME, Type::Int),
    conv("UnixSeconds", Converter::UnixSeconds, ONE_TIME, Type::Int),
    conv(
        "Unix",
        Converter::Unix,
        &[
            p("seconds", Get(Type::Int)),
            opt("nanoseconds", Get(Type::Int)),
        ],
        Type::Time,
    ),
    conv("Now", Converter::Now, &[], Type::Time),
    conv(
        "Nanoseconds",
        Converter::Nanoseconds,
        ONE_DURATION,
        Type::Int,
    ),
    conv(
        "Microseconds",
        Converter::Microseconds,
        ONE_DURATION,
        Type::Int,
    ),
    conv(
        "Milliseconds",
        Converter::Milliseconds,
        ONE_DURATION,
        Type::Int,
    ),
    conv("Seconds", Converter::Seconds, ONE_DURATION, Type::Double),
    conv("Minutes", Converter::Minutes, ONE_DURATION, Type::Double),
    conv("Hours", Converter::Hours, ONE_DURATION, Type::Double),
    conv(
        "ParseJSON",
        Converter::ParseJson,
        &[p("target", STR)],
        Type::Any,
    ),
    conv("Hex", Converter::Hex, ONE_ANY, Type::String),
    conv(
        "TraceID",
        Converter::TraceId,
        &[p("bytes", Get(Type::Bytes))],
        Type::Bytes,
    ),
    conv(
        "SpanID",
        Converter::SpanId,
        &[p("bytes", Get(Type::Bytes))],
        Type::Bytes,
    ),
];

pub(crate) fn lookup(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == name)
}

/// A converter that can be passed by name to the `replace_*` editors' `function` argument:
/// it takes one string and returns a string.
pub(crate) fn is_string_function(spec: &Spec) -> bool {
    matches!(spec.func, Func::Converter(_))
        && spec.ret == Type::String
        && matches!(
            spec.params,
            [Param {
                kind: Get(Type::String | Type::Any),
                optional: false,
                ..
            }]
        )
}

/// Names of every function, for did-you-mean.
pub(crate) fn names() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|s| s.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_cased_by_kind() {
        for (i, s) in SPECS.iter().enumerate() {
            assert!(
                SPECS.iter().skip(i + 1).all(|o| o.name != s.name),
                "{} twice",
                s.name
            );
            let upper = s.name.starts_with(|c: char| c.is_ascii_uppercase());
            assert_eq!(upper, matches!(s.func, Func::Converter(_)), "{}", s.name);
        }
    }

    #[test]
    fn hash_functions_can_be_passed_by_name() {
        assert!(is_string_function(lookup("SHA256").unwrap()));
        assert!(!is_string_function(lookup("IsMatch").unwrap()));
        assert!(!is_string_function(lookup("Split").unwrap()));
    }
}
