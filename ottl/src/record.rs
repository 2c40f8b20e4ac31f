//! The one accessor a compiled statement reads and writes a record through.
//!
//! [`Record`] is all a condition needs: the decoded implementations in [`crate::decoded`] read
//! the `opentelemetry-proto` structs, and an implementation over encoded protobuf bytes (a wire
//! view that decodes nothing) plugs in the same way. [`RecordMut`] adds what editors need.

use opentelemetry_proto::tonic::common::v1::KeyValue;

use crate::error::EvalError;
use crate::path::Path;
use crate::value::Value;

/// Read access to one record (a span with its scope and resource, a log record, ...).
///
/// `get` answers every [`crate::Field`] of the record's context and of the contexts it
/// reaches; keys in the path index into maps and lists (missing map keys are `nil`, a list
/// index out of range is an error). Fields of other contexts are
/// [`EvalError::Unsupported`]. Implementations never panic on any data.
pub trait Record {
    /// Reads the value at `path`, borrowing from the record where it can.
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError>;
}

/// Write access, for editors.
pub trait RecordMut: Record {
    /// Writes `value` at `path`. `nil` leaves the field as it is (otelcol's `set` does the
    /// same); a value of the wrong type for a typed field is an error. Keys create missing
    /// map entries on the way.
    fn set(&mut self, path: &Path, value: Value<'_>) -> Result<(), EvalError>;

    /// The map at `path` (attributes, a map body, a nested map), to edit in place.
    /// A path that does not hold a map is an error.
    fn map_mut(&mut self, path: &Path) -> Result<&mut Vec<KeyValue>, EvalError>;
}

impl<R: Record + ?Sized> Record for &R {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        (**self).get(path)
    }
}

impl<R: Record + ?Sized> Record for &mut R {
    fn get(&self, path: &Path) -> Result<Value<'_>, EvalError> {
        (**self).get(path)
    }
}

impl<R: RecordMut + ?Sized> RecordMut for &mut R {
    fn set(&mut self, path: &Path, value: Value<'_>) -> Result<(), EvalError> {
        (**self).set(path, value)
    }

    fn map_mut(&mut self, path: &Path) -> Result<&mut Vec<KeyValue>, EvalError> {
        (**self).map_mut(path)
    }
}
