//! OTLP names to Prometheus names, as the OpenTelemetry compatibility spec and otelcol's
//! translator (`otlptranslator`, underscore escaping) do it:
//!
//! - a metric name is cut into words at every character outside `[a-zA-Z0-9:]` (so runs of
//!   `_` and invalid characters become one `_`), the unit's words are added unless the name
//!   has them already (`s` → `seconds`, `By` → `bytes`, `m/s` → `meters_per_second`, units in
//!   `{…}` add nothing), monotonic sums end in `_total` and gauges of unit `1` in `_ratio`,
//!   the namespace goes first, and a leading digit gets a `_` before it;
//! - without suffixes, invalid characters become `_` and underscores are kept as they are;
//! - a label name has every character outside `[a-zA-Z0-9_]` replaced by `_`, and gets `key_`
//!   before a leading digit (`key` before a single leading `_`);
//! - a name that comes out empty or all underscores is refused (the caller drops and logs it).

/// The shape of an OTLP metric, as naming sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A gauge.
    Gauge,
    /// A monotonic sum (a Prometheus counter).
    Counter,
    /// A non-monotonic sum (a Prometheus gauge, without `_ratio`).
    UpDownCounter,
    /// An explicit-bucket or exponential histogram.
    Histogram,
    /// A summary.
    Summary,
}

/// Builds metric names for one exporter's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Namer {
    /// The sanitised namespace, empty for none.
    namespace: String,
    suffixes: bool,
}

impl Namer {
    /// A namer prefixing `namespace` (sanitised) and adding suffixes when `suffixes`.
    pub fn new(namespace: &str, suffixes: bool) -> Namer {
        Namer {
            namespace: join_words(namespace, |c| is_name_char(c) || c == '_'),
            suffixes,
        }
    }

    /// The namespace as it prefixes names (for `target_info`).
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The Prometheus family name of an OTLP metric, or `None` when nothing valid is left.
    pub fn metric_name(&self, name: &str, unit: &str, shape: Shape) -> Option<String> {
        let built = if self.suffixes {
            self.with_suffixes(name, unit, shape)
        } else {
            let words = join_words(name, |c| is_name_char(c) || c == '_');
            if self.namespace.is_empty() {
                digit_guard(words)
            } else {
                format!("{}_{words}", self.namespace)
            }
        };
        if built.is_empty() || (built != name && built.bytes().all(|b| b == b'_')) {
            return None;
        }
        Some(built)
    }

    fn with_suffixes(&self, name: &str, unit: &str, shape: Shape) -> String {
        let mut words: Vec<String> = name
            .split(|c| !is_name_char(c))
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect();
        let (main, per) = unit_suffixes(unit);
        add_unit_words(&mut words, clean_unit(&main), clean_unit(&per));
        if shape == Shape::Counter {
            words.retain(|w| w != "total");
            words.push("total".to_string());
        }
        if unit == "1" && shape == Shape::Gauge {
            words.retain(|w| w != "ratio");
            words.push("ratio".to_string());
        }
        if !self.namespace.is_empty() {
            words.insert(0, self.namespace.clone());
        }
        digit_guard(words.join("_"))
    }
}

/// A Prometheus label name for an attribute key, or `None` when nothing valid is left.
pub fn label_name(key: &str) -> Option<String> {
    if key.is_empty() {
        return None;
    }
    let mut out = key.replace(|c: char| !(c.is_ascii_alphanumeric() || c == '_'), "_");
    if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "key_");
    } else if out.starts_with('_') && !out.starts_with("__") {
        out.insert_str(0, "key");
    }
    if out.bytes().all(|b| b == b'_') {
        return None;
    }
    Some(out)
}

/// Whether `name` is a classic Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`).
pub fn is_valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// The unit word of a family name for OpenMetrics' `# UNIT` line: the unit's main word when
/// the name ends with it (`http_duration_seconds` and `s` give `seconds`).
pub fn unit_word(family: &str, unit: &str) -> Option<String> {
    let (main, per) = unit_suffixes(unit);
    let main = clean_unit(&main);
    let per = clean_unit(&per);
    let word = match (main.is_empty(), per.is_empty() || per == "per_") {
        (true, _) => return None,
        (false, true) => main,
        (false, false) => format!(
            "{}_{}",
            main.trim_end_matches('_'),
            per.trim_end_matches('_')
        ),
    };
    let bare = family.strip_suffix("_total").unwrap_or(family);
    bare.ends_with(&format!("_{word}")).then_some(word)
}

/// Characters a classic metric name keeps (besides `_`, which the suffix rules treat as a
/// word break).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == ':'
}

/// `text` cut at every character `keep` refuses, the non-empty pieces joined by `_`.
fn join_words(text: &str, keep: impl Fn(char) -> bool) -> String {
    text.split(|c| !keep(c))
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_")
}

fn digit_guard(name: String) -> String {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    }
}

/// The main and `per_` words of a UCUM unit (`By/s` → `bytes`, `per_second`).
fn unit_suffixes(unit: &str) -> (String, String) {
    let (main, per) = match unit.split_once('/') {
        Some((main, per)) => (main, Some(per)),
        None => (unit, None),
    };
    let main = main.trim();
    let main = if main.is_empty() || main.contains(['{', '}']) {
        String::new()
    } else {
        unit_word_of(main).unwrap_or(main).to_string()
    };
    let per = match per {
        Some(per) if !per.is_empty() => {
            let per = per.trim();
            if per.is_empty() || per.contains(['{', '}']) {
                String::new()
            } else {
                format!("per_{}", per_unit_word(per).unwrap_or(per))
            }
        }
        _ => String::new(),
    };
    (main, per)
}

fn unit_word_of(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "d" => "days",
        "h" => "hours",
        "min" => "minutes",
        "s" => "seconds",
        "ms" => "milliseconds",
        "us" => "microseconds",
        "ns" => "nanoseconds",
        "By" => "bytes",
        "KiBy" => "kibibytes",
        "MiBy" => "mebibytes",
        "GiBy" => "gibibytes",
        "TiBy" => "tibibytes",
        "KBy" => "kilobytes",
        "MBy" => "megabytes",
        "GBy" => "gigabytes",
        "TBy" => "terabytes",
        "m" => "meters",
        "V" => "volts",
        "A" => "amperes",
        "J" => "joules",
        "W" => "watts",
        "g" => "grams",
        "Cel" => "celsius",
        "Hz" => "hertz",
        "1" => "",
        "%" => "percent",
        _ => return None,
    })
}

fn per_unit_word(unit: &str) -> Option<&'static str> {
    Some(match unit {
        "s" => "second",
        "m" => "minute",
        "h" => "hour",
        "d" => "day",
        "w" => "week",
        "mo" => "month",
        "y" => "year",
        _ => return None,
    })
}

/// A unit word with invalid characters made `_`, runs of `_` made one, and no leading `_`.
fn clean_unit(unit: &str) -> String {
    let mut out = String::with_capacity(unit.len());
    for c in unit.chars() {
        let c = if is_name_char(c) { c } else { '_' };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    out.trim_start_matches('_').to_string()
}

/// Adds the unit's words unless the name already has them, as otelcol does.
fn add_unit_words(words: &mut Vec<String>, main: String, per: String) {
    let mut main = if words.contains(&main) {
        String::new()
    } else {
        main
    };
    let per = if per == "per_" {
        String::new()
    } else {
        let per = per.strip_suffix('_').unwrap_or(&per).to_string();
        if words.contains(&per) {
            String::new()
        } else {
            per
        }
    };
    if !per.is_empty() {
        main = main.strip_suffix('_').unwrap_or(&main).to_string();
    }
    if !main.is_empty() {
        words.push(main);
    }
    if !per.is_empty() {
        words.push(per);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(name: &str, unit: &str, shape: Shape) -> Option<String> {
        Namer::new("", true).metric_name(name, unit, shape)
    }

    #[test]
    fn invalid_characters_become_one_underscore() {
        assert_eq!(
            name("http.server.duration", "", Shape::Histogram).as_deref(),
            Some("http_server_duration")
        );
        assert_eq!(
            name("a..b__c-d/é", "", Shape::Gauge).as_deref(),
            Some("a_b_c_d")
        );
        assert_eq!(
            name("job:rate5m", "", Shape::Gauge).as_deref(),
            Some("job:rate5m")
        );
    }

    #[test]
    fn leading_digit_gets_an_underscore() {
        assert_eq!(
            name("5xx.count", "", Shape::Gauge).as_deref(),
            Some("_5xx_count")
        );
    }

    #[test]
    fn units_add_their_words_once() {
        assert_eq!(
            name("http.server.duration", "s", Shape::Histogram).as_deref(),
            Some("http_server_duration_seconds")
        );
        assert_eq!(
            name("request.duration.seconds", "s", Shape::Histogram).as_deref(),
            Some("request_duration_seconds")
        );
        assert_eq!(
            name("memory.usage", "By", Shape::Gauge).as_deref(),
            Some("memory_usage_bytes")
        );
        assert_eq!(
            name("latency", "ms", Shape::Gauge).as_deref(),
            Some("latency_milliseconds")
        );
        assert_eq!(
            name("speed", "m/s", Shape::Gauge).as_deref(),
            Some("speed_meters_per_second")
        );
        assert_eq!(
            name("throughput", "By/s", Shape::Counter).as_deref(),
            Some("throughput_bytes_per_second_total")
        );
        assert_eq!(
            name("temp", "Cel", Shape::Gauge).as_deref(),
            Some("temp_celsius")
        );
        // An unknown unit is used as it is, cleaned.
        assert_eq!(name("flow", "l", Shape::Gauge).as_deref(), Some("flow_l"));
        assert_eq!(
            name("disk.io", "{operation}/s", Shape::Gauge).as_deref(),
            Some("disk_io_per_second")
        );
    }

    #[test]
    fn annotations_in_braces_add_nothing() {
        assert_eq!(
            name("http.requests", "{request}", Shape::Counter).as_deref(),
            Some("http_requests_total")
        );
    }

    #[test]
    fn monotonic_sums_end_in_total_once() {
        assert_eq!(
            name("requests.total.count", "", Shape::Counter).as_deref(),
            Some("requests_count_total")
        );
        assert_eq!(
            name("requests", "", Shape::UpDownCounter).as_deref(),
            Some("requests")
        );
    }

    #[test]
    fn gauges_of_unit_one_are_ratios() {
        assert_eq!(
            name("cpu.utilization", "1", Shape::Gauge).as_deref(),
            Some("cpu_utilization_ratio")
        );
        assert_eq!(
            name("hit_ratio", "1", Shape::Gauge).as_deref(),
            Some("hit_ratio")
        );
        // Counters and up-down counters of unit 1 stay as they are.
        assert_eq!(
            name("errors", "1", Shape::Counter).as_deref(),
            Some("errors_total")
        );
        assert_eq!(
            name("items", "1", Shape::UpDownCounter).as_deref(),
            Some("items")
        );
    }

    #[test]
    fn namespace_goes_first() {
        let namer = Namer::new("my-app", true);
        assert_eq!(
            namer.metric_name("requests", "", Shape::Counter).as_deref(),
            Some("my_app_requests_total")
        );
        assert_eq!(namer.namespace(), "my_app");
    }

    #[test]
    fn without_suffixes_underscores_stay_and_units_are_not_added() {
        let namer = Namer::new("", false);
        assert_eq!(
            namer
                .metric_name("http.server__duration", "s", Shape::Counter)
                .as_deref(),
            Some("http_server__duration")
        );
        assert_eq!(
            namer.metric_name("1st", "", Shape::Gauge).as_deref(),
            Some("_1st")
        );
        let namer = Namer::new("ns", false);
        assert_eq!(
            namer.metric_name("a.b", "", Shape::Gauge).as_deref(),
            Some("ns_a_b")
        );
    }

    #[test]
    fn names_with_nothing_valid_are_refused() {
        assert_eq!(name("...", "", Shape::Gauge), None);
        assert_eq!(name("", "", Shape::Gauge), None);
        assert_eq!(
            Namer::new("", false).metric_name("__", "", Shape::Gauge),
            Some("__".into())
        );
        assert_eq!(
            Namer::new("", false).metric_name("-.", "", Shape::Gauge),
            None
        );
    }

    #[test]
    fn label_names() {
        assert_eq!(label_name("http.method").as_deref(), Some("http_method"));
        assert_eq!(label_name("a__b").as_deref(), Some("a__b"));
        assert_eq!(label_name("0day").as_deref(), Some("key_0day"));
        assert_eq!(label_name("_private").as_deref(), Some("key_private"));
        assert_eq!(label_name("__reserved").as_deref(), Some("__reserved"));
        assert_eq!(label_name("ümlaut").as_deref(), Some("key_mlaut"));
        assert_eq!(label_name(""), None);
        assert_eq!(label_name("__"), None);
    }

    #[test]
    fn label_name_validity() {
        assert!(is_valid_label_name("region"));
        assert!(is_valid_label_name("_x1"));
        assert!(!is_valid_label_name("1x"));
        assert!(!is_valid_label_name("a-b"));
        assert!(!is_valid_label_name(""));
    }

    #[test]
    fn unit_words_for_openmetrics() {
        assert_eq!(
            unit_word("http_duration_seconds", "s").as_deref(),
            Some("seconds")
        );
        assert_eq!(
            unit_word("throughput_bytes_per_second_total", "By/s").as_deref(),
            Some("bytes_per_second")
        );
        assert_eq!(unit_word("http_duration", "s"), None);
        assert_eq!(unit_word("ratio_ratio", "1"), None);
        assert_eq!(unit_word("x", "{thing}"), None);
    }
}
