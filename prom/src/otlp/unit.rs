//! OpenMetrics `# UNIT` words as UCUM units, as otelcol's `prometheus.UnitWordToUCUM` (in
//! `pkg/translator/prometheus`) converts them: known words become their symbol (`seconds` →
//! `s`, `ratio` → `1`), `foo_per_bar` becomes `foo/bar`, and anything else stays as written.

use std::borrow::Cow;

fn word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "days" => "d",
        "hours" => "h",
        "minutes" => "min",
        "seconds" => "s",
        "milliseconds" => "ms",
        "microseconds" => "us",
        "nanoseconds" => "ns",
        "bytes" => "By",
        "kibibytes" => "KiBy",
        "mebibytes" => "MiBy",
        "gibibytes" => "GiBy",
        "tibibytes" => "TiBy",
        "kilobytes" => "KBy",
        "megabytes" => "MBy",
        "gigabytes" => "GBy",
        "terabytes" => "TBy",
        "meters" => "m",
        "volts" => "V",
        "amperes" => "A",
        "joules" => "J",
        "watts" => "W",
        "grams" => "g",
        "celsius" => "Cel",
        "hertz" => "Hz",
        "ratio" => "1",
        "percent" => "%",
        _ => return None,
    })
}

fn per_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "second" => "s",
        "minute" => "m",
        "hour" => "h",
        "day" => "d",
        "week" => "w",
        "month" => "mo",
        "year" => "y",
        _ => return None,
    })
}

/// The UCUM unit for a Prometheus unit word.
pub fn ucum(unit: &str) -> Cow<'_, str> {
    match unit.split_once("_per_") {
        Some((first, per)) if !per.is_empty() => {
            let first = word(first).unwrap_or(first);
            let per = per_word(per).unwrap_or(per);
            Cow::Owned(format!("{first}/{per}"))
        }
        Some((first, _)) => Cow::Borrowed(word(first).unwrap_or(first)),
        None => Cow::Borrowed(word(unit).unwrap_or(unit)),
    }
}
