//! Running a span's or log record's statements on its bytes, when all they write is
//! attributes by a constant key (`set(attributes["tier"], "gold")`, the commonest statement):
//! reads go to the wire record, with the attributes set so far seen first; the record is then
//! written again with those attributes in place (a new value in the first entry of the key,
//! or a new entry at the end), everything else copied. Anything else a statement does
//! (another field, a whole map, an editor that changes a map in place) marks the attempt as
//! not possible here, and the caller runs the record decoded instead, from the bytes as they
//! arrived.

use std::cell::Cell;

use opentelemetry_proto::tonic::common::v1::AnyValue;
use weir_core::batch::select::ItemKind;
use weir_ottl::{EvalError, Field, Key, Path, Record, RecordMut, Value, index_value};

use crate::wire_record::{WireRecord, entry};

/// A span or log record on the wire, with the attributes statements have set.
pub(crate) struct WireItemMut<'a> {
    base: WireRecord<'a>,
    /// The attributes field: its path field and its number in the item message.
    field: Field,
    number: u32,
    /// Keys set, in order of first setting, with their new values.
    sets: Vec<(String, AnyValue)>,
    /// Set once a statement did something this record cannot do on the wire.
    unsupported: Cell<bool>,
}

fn not_here() -> EvalError {
    EvalError::Unsupported("not possible on the encoded record".to_string())
}

impl<'a> WireItemMut<'a> {
    /// The record for a span or a log record; `None` for other items.
    pub(crate) fn new(base: WireRecord<'a>) -> Option<Self> {
        let (field, number) = match base.view.kind {
            ItemKind::Span => (Field::SpanAttributes, 9),
            ItemKind::Log => (Field::LogAttributes, 6),
            _ => return None,
        };
        Some(WireItemMut {
            base,
            field,
            number,
            sets: Vec::new(),
            unsupported: Cell::new(false),
        })
    }

    /// Whether everything the statements did was done here.
    pub(crate) fn supported(&self) -> bool {
        !self.unsupported.get()
    }

    /// The item written again with the attributes set, or `None` if nothing was set.
    pub(crate) fn encode(&self) -> Option<Vec<u8>> {
        if self.sets.is_empty() {
            return None;
        }
        let item = self.base.view.item;
        let mut out = Vec::with_capacity(item.len() + 64);
        let mut placed = vec![false; self.sets.len()];
        let mut rest = item;
        while !rest.is_empty() {
            let start = rest;
            let key = prost::encoding::decode_varint(&mut rest).ok()?;
            let wire_type = prost::encoding::WireType::try_from(key & 7).ok()?;
            let number = u32::try_from(key >> 3).ok()?;
            if number == self.number && wire_type == prost::encoding::WireType::LengthDelimited {
                let len = usize::try_from(prost::encoding::decode_varint(&mut rest).ok()?).ok()?;
                let (kv, after) = rest.split_at_checked(len)?;
                rest = after;
                let key = entry(kv).0;
                let which =
                    (0..self.sets.len()).find(|&i| !placed[i] && self.sets[i].0.as_bytes() == key);
                match which {
                    Some(i) => {
                        placed[i] = true;
                        let (_, value) = &self.sets[i];
                        put_entry(&mut out, self.number, kv, value);
                    }
                    None => out.extend_from_slice(&start[..start.len() - rest.len()]),
                }
            } else {
                prost::encoding::skip_field(
                    wire_type,
                    number,
                    &mut rest,
                    prost::encoding::DecodeContext::default(),
                )
                .ok()?;
                out.extend_from_slice(&start[..start.len() - rest.len()]);
            }
        }
        for (i, (key, value)) in self.sets.iter().enumerate() {
            if !placed[i] {
                let kv = opentelemetry_proto::tonic::common::v1::KeyValue {
                    key: key.clone(),
                    value: Some(value.clone()),
                    ..Default::default()
                };
                prost::encoding::message::encode(self.number, &kv, &mut out);
            }
        }
        Some(out)
    }
}

/// Writes the `KeyValue` `kv` again with `value` in place of its value fields, its other
/// fields (the key, a key index) as they were.
fn put_entry(out: &mut Vec<u8>, number: u32, kv: &[u8], value: &AnyValue) {
    let mut content = Vec::with_capacity(kv.len() + 16);
    let mut rest = kv;
    while !rest.is_empty() {
        let start = rest;
        let Ok(tag) = prost::encoding::decode_varint(&mut rest) else {
            break;
        };
        let Ok(wire_type) = prost::encoding::WireType::try_from(tag & 7) else {
            break;
        };
        let Ok(field) = u32::try_from(tag >> 3) else {
            break;
        };
        if prost::encoding::skip_field(
            wire_type,
            field,
            &mut rest,
            prost::encoding::DecodeContext::default(),
        )
        .is_err()
        {
            break;
        }
        if field != 2 {
            content.extend_from_slice(&start[..start.len() - rest.len()]);
        }
    }
    prost::encoding::message::encode(2, value, &mut content);
    prost::encoding::encode_key(number, prost::encoding::WireType::LengthDelimited, out);
    prost::encoding::encode_varint(content.len() as u64, out);
    out.extend_from_slice(&content);
}

impl Record for WireItemMut<'_> {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        if path.field == self.field {
            match path.keys.split_first() {
                Some((Key::Str(k), rest)) => {
                    if let Some((_, value)) = self.sets.iter().find(|(set, _)| set == k) {
                        return rest
                            .iter()
                            .try_fold(Value::from_any(value), |v, key| index_value(v, key));
                    }
                }
                _ if !self.sets.is_empty() => {
                    self.unsupported.set(true);
                    return Err(not_here());
                }
                _ => {}
            }
        }
        self.base.get(path)
    }
}

impl RecordMut for WireItemMut<'_> {
    fn set(&mut self, path: &Path, value: Value<'_>) -> Result<(), EvalError> {
        let [Key::Str(key)] = path.keys.as_slice() else {
            self.unsupported.set(true);
            return Err(not_here());
        };
        if path.field != self.field {
            self.unsupported.set(true);
            return Err(not_here());
        }
        if value == Value::Nil {
            return Ok(());
        }
        let Ok(Some(value)) = value.into_any() else {
            // Times and durations are refused when stored: the decoded run says so.
            self.unsupported.set(true);
            return Err(not_here());
        };
        match self.sets.iter_mut().find(|(set, _)| set == key) {
            Some((_, v)) => *v = value,
            None => self.sets.push((key.clone(), value)),
        }
        Ok(())
    }

    fn map_mut(
        &mut self,
        _: &Path,
    ) -> Result<&mut Vec<opentelemetry_proto::tonic::common::v1::KeyValue>, EvalError> {
        self.unsupported.set(true);
        Err(not_here())
    }
}
