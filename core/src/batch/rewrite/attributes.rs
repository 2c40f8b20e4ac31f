//! One item's attribute list while it is edited: the `key_value` entries found on the wire,
//! referred to by position in the request, plus what the editor changed, and the encoding of
//! the edited list. Nothing here allocates per item: new keys and values go into an arena the
//! rewriter reuses.

use std::ops::Range;

use prost::encoding::encoded_len_varint;

use super::super::wire::{fast_key, fast_skip, put_delimited_header};
use super::{DELIMITED, delimited};

/// `key_value.key` and `key_value.value`.
const KEY: u32 = 1;
const VALUE: u32 = 2;

/// Bytes in the request or in the arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Loc {
    in_arena: bool,
    start: usize,
    end: usize,
}

impl Loc {
    fn input(range: Range<usize>) -> Loc {
        Loc {
            in_arena: false,
            start: range.start,
            end: range.end,
        }
    }

    fn get<'a>(self, input: &'a [u8], arena: &'a [u8]) -> &'a [u8] {
        let from = if self.in_arena { arena } else { input };
        from.get(self.start..self.end).unwrap_or_default()
    }
}

/// One attribute of the list.
#[derive(Clone, Debug)]
pub(super) struct Entry {
    /// The whole `attributes` field (key, length, content) in the request; `None` for an
    /// attribute the editor added.
    pub(super) whole: Option<Range<usize>>,
    /// The `key_value` content in the request (empty for an added one).
    kv: Range<usize>,
    /// Bytes the `value` fields take in `kv` (keys, lengths and contents).
    value_fields: usize,
    key: Loc,
    /// The `AnyValue` content; `None` when the attribute has no value field.
    value: Option<Loc>,
    value_changed: bool,
    removed: bool,
}

impl Entry {
    /// Reads the `key_value` whose field is `whole` and content `kv`. prost keeps the last
    /// `key` and merges repeated `value` fields, which is the same as decoding their contents
    /// appended: such a value is appended into `arena` so it is one run of bytes like any other.
    pub(super) fn parse(
        input: &[u8],
        whole: Range<usize>,
        kv: Range<usize>,
        arena: &mut Vec<u8>,
    ) -> Option<Entry> {
        let bytes = input.get(..kv.end)?;
        let mut pos = kv.start;
        let mut key = Loc::input(0..0);
        let mut value: Option<Range<usize>> = None;
        let mut values = 0usize;
        let mut value_fields = 0;
        while pos < kv.end {
            let at = pos;
            let (number, wire_type) = fast_key(bytes, &mut pos)?;
            match number {
                KEY | VALUE if wire_type != DELIMITED => return None,
                KEY => key = Loc::input(delimited(bytes, &mut pos)?),
                VALUE => {
                    let content = delimited(bytes, &mut pos)?;
                    values += 1;
                    value_fields += pos - at;
                    if value.is_none() {
                        value = Some(content);
                    }
                }
                _ => fast_skip(bytes, &mut pos, number, wire_type, super::GROUP_BUDGET)?,
            }
        }
        let value = match (value, values) {
            (None, _) => None,
            (Some(only), 1) => Some(Loc::input(only)),
            (Some(_), _) => Some(merged_values(input, kv.clone(), arena)?),
        };
        Some(Entry {
            whole: Some(whole),
            kv,
            value_fields,
            key,
            value,
            value_changed: false,
            removed: false,
        })
    }

    /// The whole field of an attribute that is kept exactly as it arrived.
    pub(super) fn untouched(&self) -> Option<&Range<usize>> {
        match &self.whole {
            Some(whole) if !self.removed && !self.value_changed => Some(whole),
            _ => None,
        }
    }

    /// Bytes this attribute takes as an `attributes` field numbered `number` (0 if removed).
    pub(super) fn emitted_len(&self, input: &[u8], arena: &[u8], number: u32) -> usize {
        if let Some(whole) = self.untouched() {
            return whole.len();
        }
        if self.removed {
            return 0;
        }
        let content = self.content_len(input, arena);
        encoded_len_varint(u64::from(number) << 3) + encoded_len_varint(content as u64) + content
    }

    /// Bytes of the `key_value` message this attribute is written as, once changed.
    fn content_len(&self, input: &[u8], arena: &[u8]) -> usize {
        let value_field = self
            .value
            .map_or(0, |v| field_len(v.get(input, arena).len()));
        match self.whole {
            Some(_) => (self.kv.len() - self.value_fields) + value_field,
            None => field_len(self.key.get(input, arena).len()) + value_field,
        }
    }

    /// Appends this attribute, changed or added, as an `attributes` field numbered `number`
    /// to `out` (nothing if removed; an untouched one is copied by the caller).
    pub(super) fn emit(
        &self,
        input: &[u8],
        arena: &[u8],
        number: u32,
        out: &mut Vec<u8>,
    ) -> Option<()> {
        if self.removed {
            return Some(());
        }
        if let Some(whole) = self.untouched() {
            out.extend_from_slice(input.get(whole.clone())?);
            return Some(());
        }
        let value = self.value.map(|v| v.get(input, arena));
        put_delimited_header(out, number, self.content_len(input, arena));
        if self.whole.is_none() {
            let key = self.key.get(input, arena);
            put_delimited_header(out, KEY, key.len());
            out.extend_from_slice(key);
            put_value(out, value);
            return Some(());
        }
        // The key, key index and unknown fields stay as they were, in order; the new value
        // takes the place of the first old one.
        let bytes = input.get(..self.kv.end)?;
        let mut pos = self.kv.start;
        let mut placed = false;
        while pos < self.kv.end {
            let at = pos;
            let (field, wire_type) = fast_key(bytes, &mut pos)?;
            fast_skip(bytes, &mut pos, field, wire_type, super::GROUP_BUDGET)?;
            if field != VALUE {
                out.extend_from_slice(bytes.get(at..pos)?);
            } else if !placed {
                put_value(out, value);
                placed = true;
            }
        }
        if !placed {
            put_value(out, value);
        }
        Some(())
    }
}

/// The contents of every `value` field of the `key_value` at `kv`, appended into `arena`.
fn merged_values(input: &[u8], kv: Range<usize>, arena: &mut Vec<u8>) -> Option<Loc> {
    let bytes = input.get(..kv.end)?;
    let start = arena.len();
    let mut pos = kv.start;
    while pos < kv.end {
        let (number, wire_type) = fast_key(bytes, &mut pos)?;
        if number == VALUE {
            arena.extend_from_slice(bytes.get(delimited(bytes, &mut pos)?)?);
        } else {
            fast_skip(bytes, &mut pos, number, wire_type, super::GROUP_BUDGET)?;
        }
    }
    Some(Loc {
        in_arena: true,
        start,
        end: arena.len(),
    })
}

fn put_value(out: &mut Vec<u8>, value: Option<&[u8]>) {
    if let Some(value) = value {
        put_delimited_header(out, VALUE, value.len());
        out.extend_from_slice(value);
    }
}

/// Bytes of a length-delimited field numbered below 16 with `length` bytes of content.
fn field_len(length: usize) -> usize {
    1 + encoded_len_varint(length as u64) + length
}

/// The attributes of one item (a span, a metric data point or a log record), for an editor to
/// read and change. Entries are addressed by index, `0..len()`; a removed one keeps its index
/// and reads as absent. Every change is recorded; an item nobody changed is copied as it was.
pub struct Attributes<'a> {
    pub(super) input: &'a [u8],
    pub(super) entries: &'a mut Vec<Entry>,
    pub(super) arena: &'a mut Vec<u8>,
    pub(super) changed: bool,
}

impl Attributes<'_> {
    /// Entries, removed ones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the item has no entries at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether entry `i` was removed (or does not exist).
    pub fn is_removed(&self, i: usize) -> bool {
        self.entries.get(i).is_none_or(|e| e.removed)
    }

    /// The key of entry `i` (empty for a removed or missing one).
    pub fn key(&self, i: usize) -> &[u8] {
        match self.entries.get(i) {
            Some(e) if !e.removed => e.key.get(self.input, self.arena),
            _ => &[],
        }
    }

    /// The encoded `AnyValue` of entry `i` (read it with [`read_value`](super::read_value));
    /// `None` when the attribute has no value, or is removed or missing.
    pub fn value(&self, i: usize) -> Option<&[u8]> {
        match self.entries.get(i) {
            Some(e) if !e.removed => e.value.map(|v| v.get(self.input, self.arena)),
            _ => None,
        }
    }

    /// The first entry still present with this key.
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        (0..self.entries.len()).find(|&i| !self.is_removed(i) && self.key(i) == key)
    }

    /// Removes entry `i`.
    pub fn remove(&mut self, i: usize) {
        if let Some(e) = self.entries.get_mut(i)
            && !e.removed
        {
            e.removed = true;
            self.changed = true;
        }
    }

    /// Sets the value of entry `i` to the encoded `AnyValue` `value` (`None`: no value). Setting
    /// the value it already has changes nothing.
    pub fn set_value(&mut self, i: usize, value: Option<&[u8]>) {
        if self.is_removed(i) || self.value(i) == value {
            return;
        }
        let loc = value.map(|v| self.store(v));
        self.put(i, loc);
    }

    /// Gives entry `to` the value entry `from` has (no value if `from` is removed or missing).
    pub fn copy_value(&mut self, from: usize, to: usize) {
        if self.is_removed(to) || self.value(from) == self.value(to) {
            return;
        }
        let loc = if self.is_removed(from) {
            None
        } else {
            self.entries.get(from).and_then(|e| e.value)
        };
        self.put(to, loc);
    }

    /// Appends an attribute with `key` and the encoded `AnyValue` `value`.
    pub fn push(&mut self, key: &[u8], value: Option<&[u8]>) {
        let key = self.store(key);
        let value = value.map(|v| self.store(v));
        self.add(key, value);
    }

    /// Appends an attribute with `key` and the value entry `from` has.
    pub fn push_copy(&mut self, key: &[u8], from: usize) {
        let value = if self.is_removed(from) {
            None
        } else {
            self.entries.get(from).and_then(|e| e.value)
        };
        let key = self.store(key);
        self.add(key, value);
    }

    /// Whether anything was changed.
    pub fn changed(&self) -> bool {
        self.changed
    }

    fn store(&mut self, bytes: &[u8]) -> Loc {
        let start = self.arena.len();
        self.arena.extend_from_slice(bytes);
        Loc {
            in_arena: true,
            start,
            end: self.arena.len(),
        }
    }

    fn put(&mut self, i: usize, value: Option<Loc>) {
        if let Some(e) = self.entries.get_mut(i) {
            e.value = value;
            e.value_changed = true;
            self.changed = true;
        }
    }

    fn add(&mut self, key: Loc, value: Option<Loc>) {
        self.entries.push(Entry {
            whole: None,
            kv: 0..0,
            value_fields: 0,
            key,
            value,
            value_changed: true,
            removed: false,
        });
        self.changed = true;
    }
}
