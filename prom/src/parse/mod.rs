//! Parsing of scrape bodies: the Prometheus text exposition format 0.0.4 (`text.rs`) and
//! OpenMetrics 1.0 text (`openmetrics.rs`), one pass over the body, into an [`Exposition`].
//!
//! Hand-written rather than taken from a crate: of the Rust parsers published for these
//! formats, `prometheus-parse` reads neither OpenMetrics nor exemplars and copies every line
//! into a `String`; `openmetrics-parser` and `nom-openmetrics` build a parse tree per token
//! (pest, nom) and report errors without a line number; none keeps Prometheus's differences
//! between the two formats (whitespace, escapes in HELP, timestamps in seconds, `# EOF`). The
//! scrape loop parses every target every interval, so the parser here borrows names and
//! values from the body and fills three flat vectors.
//!
//! Shared by both: one line at a time, the sample lexer in `line.rs`, and the family
//! bookkeeping in [`Builder`], which puts each sample into the family whose name plus a
//! suffix the family's type allows is the sample's name, or into a family of its own.

pub(crate) mod line;
mod openmetrics;
mod text;

use std::borrow::Cow;
use std::collections::HashSet;

use crate::model::{Exposition, Family, Format, Label, MetricType, Sample, Suffix};

/// A body that is not a valid exposition: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number in the body.
    pub line: usize,
    pub message: String,
}

/// Parses `body` in the format its `Content-Type` names (see [`Format::from_content_type`]).
pub fn parse<'a>(body: &'a [u8], content_type: Option<&str>) -> Result<Exposition<'a>, ParseError> {
    parse_as(body, Format::from_content_type(content_type))
}

/// Parses `body` as `format`.
pub fn parse_as(body: &[u8], format: Format) -> Result<Exposition<'_>, ParseError> {
    let text = std::str::from_utf8(body).map_err(|e| ParseError {
        line: 1 + body[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        message: "the body is not valid UTF-8".into(),
    })?;
    match format {
        Format::Text => text::parse(text),
        Format::OpenMetrics => openmetrics::parse(text),
    }
}

/// Builds an [`Exposition`] line by line, deciding which family each sample belongs to.
pub(crate) struct Builder<'a> {
    out: Exposition<'a>,
    format: Format,
    /// Names of families already closed; OpenMetrics forbids a family to appear twice.
    closed: HashSet<&'a str>,
    /// Whether the current family had a TYPE line (`unknown` is a type too).
    typed: bool,
}

/// Metadata from one `#` line.
pub(crate) enum Meta<'a> {
    Type(MetricType),
    Help(Cow<'a, str>),
    Unit(&'a str),
}

impl<'a> Builder<'a> {
    pub(crate) fn new(format: Format, body_len: usize) -> Builder<'a> {
        // About one sample per 60 bytes of a typical body and two labels each: reserving
        // up front saves the vectors' regrowth copies on large bodies.
        let estimate = body_len / 64;
        Builder {
            out: Exposition {
                families: Vec::with_capacity(estimate / 8 + 1),
                samples: Vec::with_capacity(estimate),
                labels: Vec::with_capacity(estimate * 2),
            },
            format,
            closed: HashSet::new(),
            typed: false,
        }
    }

    pub(crate) fn labels(&mut self) -> &mut Vec<Label<'a>> {
        &mut self.out.labels
    }

    pub(crate) fn label_count(&self) -> usize {
        self.out.labels.len()
    }

    fn current(&mut self) -> Option<&mut Family<'a>> {
        self.out.families.last_mut()
    }

    fn open(&mut self, name: &'a str, kind: MetricType) -> Result<(), String> {
        let om = self.format == Format::OpenMetrics;
        if let Some(prev) = self.out.families.last()
            && om
            && !self.closed.insert(prev.name)
        {
            return Err(format!("metric family `{}` appears twice", prev.name));
        }
        if om && self.closed.contains(name) {
            return Err(format!("metric family `{name}` appears twice"));
        }
        let at = self.out.samples.len();
        self.typed = false;
        self.out.families.push(Family {
            name,
            kind,
            help: None,
            unit: None,
            samples: at..at,
        });
        Ok(())
    }

    /// A `# TYPE`, `# HELP` or `# UNIT` line for `name`.
    pub(crate) fn meta(&mut self, name: &'a str, meta: Meta<'a>) -> Result<(), String> {
        let om = self.format == Format::OpenMetrics;
        let joins = match self.out.families.last() {
            Some(f) if f.name == name => {
                let taken = match meta {
                    Meta::Type(_) => self.typed,
                    Meta::Help(_) => f.help.is_some(),
                    Meta::Unit(_) => f.unit.is_some(),
                };
                let has_samples = !f.samples.is_empty();
                if om && has_samples {
                    return Err(format!("metadata for `{name}` after its samples"));
                }
                if om && taken {
                    return Err(format!("second {} line for `{name}`", meta.keyword()));
                }
                !taken && !has_samples
            }
            _ => false,
        };
        if !joins {
            self.open(name, MetricType::Unknown)?;
        }
        if matches!(meta, Meta::Type(_)) {
            self.typed = true;
        }
        let family = self.current().expect("a family was just opened or matched");
        match meta {
            Meta::Type(kind) => family.kind = kind,
            Meta::Help(help) => family.help = Some(help),
            Meta::Unit(unit) => {
                let suffixed = name.strip_suffix(unit).is_some_and(|n| n.ends_with('_'));
                if !unit.is_empty() && !suffixed {
                    return Err(format!("unit `{unit}` is not a suffix of `{name}`"));
                }
                family.unit = Some(unit);
            }
        }
        Ok(())
    }

    /// A sample whose labels are `labels` in [`Builder::labels`].
    pub(crate) fn sample(&mut self, mut sample: Sample<'a>) -> Result<(), String> {
        let format = self.format;
        let fits = self.out.families.last().and_then(|f| {
            let suffix = Suffix::of(sample.name, f.name)?;
            Some((suffix, f.kind.allows(suffix, format), f.kind))
        });
        let kind = match fits {
            Some((suffix, true, kind)) => {
                sample.suffix = suffix;
                kind
            }
            // `# TYPE h histogram` then `h 1`: the family's own name where its type wants a
            // suffix is a broken family, not a new one. Other names (`h_total`) may be a
            // family of their own.
            Some((Suffix::None, false, kind)) if format == Format::OpenMetrics => {
                return Err(format!(
                    "sample `{}` does not belong in a {} family",
                    sample.name,
                    kind.name()
                ));
            }
            _ => {
                self.open(sample.name, MetricType::Unknown)?;
                sample.suffix = Suffix::None;
                MetricType::Unknown
            }
        };
        self.check_shape(kind, &sample)?;
        self.out.samples.push(sample);
        let end = self.out.samples.len();
        self.current()
            .expect("a family holds the sample")
            .samples
            .end = end;
        Ok(())
    }

    /// Buckets need a numeric `le`, quantiles a numeric `quantile`: the converter builds
    /// histograms and summaries from them and could not place a sample without.
    fn check_shape(&self, kind: MetricType, sample: &Sample<'a>) -> Result<(), String> {
        let needs = match (kind, sample.suffix) {
            (MetricType::Histogram | MetricType::GaugeHistogram, Suffix::Bucket) => "le",
            (MetricType::Summary, Suffix::None) => "quantile",
            _ => return Ok(()),
        };
        let labels = &self.out.labels[sample.labels.clone()];
        match labels.iter().find(|l| l.name == needs) {
            Some(l) if crate::parse::line::number(&l.value).is_some() => Ok(()),
            Some(l) => Err(format!("`{needs}` label `{}` is not a number", l.value)),
            None => Err(format!("`{}` has no `{needs}` label", sample.name)),
        }
    }

    pub(crate) fn finish(self) -> Exposition<'a> {
        self.out
    }
}

impl Meta<'_> {
    fn keyword(&self) -> &'static str {
        match self {
            Meta::Type(_) => "TYPE",
            Meta::Help(_) => "HELP",
            Meta::Unit(_) => "UNIT",
        }
    }
}

impl MetricType {
    fn name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::GaugeHistogram => "gaugehistogram",
            MetricType::Summary => "summary",
            MetricType::Info => "info",
            MetricType::StateSet => "stateset",
            MetricType::Unknown => "unknown",
        }
    }
}

pub(crate) fn error(line: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line,
        message: message.into(),
    }
}

#[cfg(test)]
mod openmetrics_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod text_tests;
