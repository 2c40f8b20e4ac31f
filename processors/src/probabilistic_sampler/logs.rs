//! Log records on the wire: a record's trace id and attributes are read from its bytes and
//! decided on ([`super::sampler::decide`]); a kept record gets otelcol's `sampling.threshold`
//! attribute (and in `hash_seed` mode `sampling.randomness`), written into its attribute list
//! as pdata's map would edit it, every other field copied as it is.

use std::borrow::Cow;

use weir_core::batch::rewrite::{ValueRef, read_value};

use super::attributes::{self, put_field, put_string_entry};
use super::config::{AttributeSource, ProbabilisticSamplerConfig};
use super::hash;
use super::sampler::{self, Carrier, Decision, Inconsistent, Mode, Policy, Reading, Source};
use super::spans::trace_id;
use super::threshold::{Randomness, Threshold, ValueError};
use crate::value_text::push_value_text;
use crate::wire_record::{entry, last_delimited, whole_fields};

/// `LogRecord` field numbers.
const ATTRIBUTES: u32 = 6;
const TRACE_ID: u32 = 9;

const THRESHOLD_KEY: &[u8] = b"sampling.threshold";
const RANDOMNESS_KEY: &[u8] = b"sampling.randomness";

/// How log records are sampled.
#[derive(Clone, Debug)]
pub(crate) struct LogSampler {
    pub(crate) mode: Mode,
    pub(crate) fail_closed: bool,
    /// `attribute_source: traceID`: the trace id is hashed first (`hash_seed` mode).
    trace_id_source: bool,
    from_attribute: Option<Vec<u8>>,
    sampling_priority: Option<Vec<u8>>,
    precision: u32,
}

impl LogSampler {
    pub(crate) fn new(config: &ProbabilisticSamplerConfig) -> LogSampler {
        let named = |name: &str| (!name.is_empty()).then(|| name.as_bytes().to_vec());
        LogSampler {
            mode: Mode::new(config),
            fail_closed: config.fail_closed,
            trace_id_source: config.attribute_source == AttributeSource::TraceId,
            from_attribute: named(&config.from_attribute),
            sampling_priority: named(&config.sampling_priority),
            precision: config.precision(),
        }
    }

    /// Decides one record; when it is kept with new attributes, also its new encoding.
    pub(crate) fn sample(&self, record: &[u8]) -> (Decision, Option<Vec<u8>>) {
        let mut reading = self.read(record);
        let decision = sampler::decide(
            self.mode,
            self.fail_closed,
            &mut reading,
            |source, threshold| match self.priority(record) {
                Some(priority) => (source.by_priority(), priority),
                None => (source, threshold),
            },
        );
        let edited = match reading.carrier {
            Some(carrier) if decision.sampled && carrier.edits() => {
                with_attributes(record, &carrier).filter(|out| out != record)
            }
            _ => None,
        };
        (decision, edited)
    }

    /// The record's randomness and carrier as each mode reads them (otelcol's
    /// `randomnessFromLogRecord`).
    fn read(&self, record: &[u8]) -> Reading<RecordCarrier> {
        let (mut carrier, error) = RecordCarrier::read(record);
        let problem = error.map(sampler::Problem::from);
        let id = trace_id(record, TRACE_ID);
        match self.mode {
            Mode::Never => Reading {
                source: Source::new(Policy::SamplingPriority, Randomness::ALL),
                carrier: Some(carrier),
                problem,
            },
            Mode::HashSeed { seed, .. } => {
                let source = self.hashed(record, id, seed);
                let problem = problem
                    .or_else(|| {
                        carrier
                            .explicit_randomness()
                            .map(|_| sampler::Problem::RandomnessInUse)
                    })
                    .or_else(|| {
                        carrier
                            .threshold()
                            .map(|_| sampler::Problem::ThresholdInUse)
                    });
                if problem.is_some() {
                    return Reading {
                        source,
                        carrier: None,
                        problem,
                    };
                }
                if source.policy != Policy::MissingRandomness {
                    carrier.set_randomness(source.randomness);
                }
                Reading {
                    source,
                    carrier: Some(carrier),
                    problem: None,
                }
            }
            Mode::Equalizing { .. } | Mode::Proportional { .. } => {
                if problem.is_some() {
                    return Reading {
                        source: Source::MISSING,
                        carrier: None,
                        problem,
                    };
                }
                let source = match (carrier.explicit_randomness(), id) {
                    (Some(rv), _) => Source::new(Policy::SamplingRandomness, rv),
                    (None, Some(id)) => {
                        Source::new(Policy::TraceIdW3c, Randomness::from_trace_id(&id))
                    }
                    (None, None) => Source::MISSING,
                };
                Reading {
                    source,
                    carrier: Some(carrier),
                    problem: None,
                }
            }
        }
    }

    /// `hash_seed` mode's randomness: the trace id (with `attribute_source: traceID`), else
    /// `from_attribute` (bytes as they are, other values as their text; empty is missing).
    fn hashed(&self, record: &[u8], id: Option<[u8; 16]>, seed: u32) -> Source {
        if self.trace_id_source
            && let Some(id) = id
        {
            return Source::new(Policy::TraceIdHash, hash::randomness(&id, seed));
        }
        let Some(name) = &self.from_attribute else {
            return Source::MISSING;
        };
        let Some(value) = attributes::value(record, ATTRIBUTES, name) else {
            return Source::MISSING;
        };
        let mut text = String::new();
        let bytes = match read_value(&value) {
            ValueRef::String(bytes) | ValueRef::Bytes(bytes) => bytes,
            _ => {
                push_value_text(Some(&value), &mut text);
                text.as_bytes()
            }
        };
        if bytes.is_empty() {
            return Source::MISSING;
        }
        Source::new(Policy::Attribute, hash::randomness(bytes, seed))
    }

    /// The record's own sampling percentage (`sampling_priority`): an int or double above 0
    /// and at most 100 gives the threshold it is decided by.
    fn priority(&self, record: &[u8]) -> Option<Threshold> {
        let value = attributes::value(record, ATTRIBUTES, self.sampling_priority.as_ref()?)?;
        let fraction = match read_value(&value) {
            ValueRef::Double(d) => d / 100.0,
            ValueRef::Int(i) => i as f64 / 100.0,
            _ => return None,
        };
        if fraction == 0.0 {
            return None;
        }
        Threshold::from_probability(fraction, self.precision)
    }
}

/// A record's `sampling.threshold` and `sampling.randomness` attributes (string values only,
/// as otelcol reads them) and the edits the decision makes to them.
#[derive(Debug, Default)]
struct RecordCarrier {
    threshold: Option<Threshold>,
    randomness: Option<Randomness>,
    /// `sampling.randomness` to write (`hash_seed` mode).
    put_randomness: Option<String>,
    /// The arriving `sampling.threshold` was contradicted: removed before being written anew.
    removed_threshold: bool,
    put_threshold: Option<String>,
}

impl RecordCarrier {
    /// What could be read, and the first value that could not.
    fn read(record: &[u8]) -> (RecordCarrier, Option<ValueError>) {
        let text = |key: &[u8]| {
            let value = attributes::value(record, ATTRIBUTES, key)?;
            attributes::string_value(&value)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let mut carrier = RecordCarrier::default();
        let mut error = None;
        if let Some(tvalue) = text(THRESHOLD_KEY) {
            match Threshold::parse(&tvalue) {
                Ok(t) => carrier.threshold = Some(t),
                Err(e) => error = Some(e),
            }
        }
        if let Some(rvalue) = text(RANDOMNESS_KEY) {
            match Randomness::parse(&rvalue) {
                Ok(r) => carrier.randomness = Some(r),
                Err(e) => error = error.or(Some(e)),
            }
        }
        (carrier, error)
    }

    fn edits(&self) -> bool {
        self.put_randomness.is_some() || self.removed_threshold || self.put_threshold.is_some()
    }
}

impl Carrier for RecordCarrier {
    fn threshold(&self) -> Option<Threshold> {
        self.threshold
    }

    fn explicit_randomness(&self) -> Option<Randomness> {
        self.randomness
    }

    fn set_randomness(&mut self, randomness: Randomness) {
        self.randomness = Some(randomness);
        self.put_randomness = Some(randomness.rvalue());
    }

    fn clear_threshold(&mut self) {
        self.threshold = None;
        self.removed_threshold = true;
    }

    fn update_threshold(&mut self, threshold: Threshold) -> Result<(), Inconsistent> {
        if self.threshold.is_some_and(|arrived| threshold < arrived) {
            return Err(Inconsistent);
        }
        self.put_threshold = Some(threshold.tvalue());
        Ok(())
    }
}

/// `record` with the carrier's edits applied to its attribute list in the order otelcol makes
/// them (randomness put, threshold removed, threshold put); the list is written where it
/// started, every other field as it was. `None` if the record cannot be read field by field.
fn with_attributes(record: &[u8], carrier: &RecordCarrier) -> Option<Vec<u8>> {
    let mut list: Vec<Cow<'_, [u8]>> = Vec::new();
    let mut read = 0;
    for (number, field) in whole_fields(record) {
        read += field.len();
        if number == ATTRIBUTES {
            list.push(Cow::Borrowed(last_delimited(field, ATTRIBUTES)?));
        }
    }
    if read != record.len() {
        return None;
    }
    let position =
        |list: &[Cow<'_, [u8]>], key: &[u8]| list.iter().position(|kv| entry(kv).0 == key);
    let put = |list: &mut Vec<Cow<'_, [u8]>>, key: &[u8], text: &str| {
        let mut kv = Vec::with_capacity(key.len() + text.len() + 6);
        put_string_entry(&mut kv, key, text);
        match position(list, key) {
            Some(i) => list[i] = Cow::Owned(kv),
            None => list.push(Cow::Owned(kv)),
        }
    };
    if let Some(rvalue) = &carrier.put_randomness {
        put(&mut list, RANDOMNESS_KEY, rvalue);
    }
    if carrier.removed_threshold
        && let Some(i) = position(&list, THRESHOLD_KEY)
    {
        // pdata's `Remove` moves the last entry into the gap.
        list.swap_remove(i);
    }
    if let Some(tvalue) = &carrier.put_threshold {
        put(&mut list, THRESHOLD_KEY, tvalue);
    }
    let mut out = Vec::with_capacity(record.len() + 64);
    let mut written = false;
    let mut write_list = |out: &mut Vec<u8>| {
        if !written {
            for kv in &list {
                put_field(out, ATTRIBUTES, kv);
            }
            written = true;
        }
    };
    for (number, field) in whole_fields(record) {
        if number == ATTRIBUTES {
            write_list(&mut out);
        } else {
            out.extend_from_slice(field);
        }
    }
    write_list(&mut out);
    Some(out)
}
