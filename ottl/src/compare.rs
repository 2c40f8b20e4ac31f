//! OTTL's comparison rules: `nil` equals only `nil`; ints and doubles compare as numbers;
//! strings and bytes compare bytewise; maps and lists only for (deep) equality; times and
//! durations with their own kind. Every other pairing is unequal, so `!=` is true and every
//! other operator false. Comparisons never fail.

use std::cmp::Ordering;

use crate::ast::CmpOp;
use crate::value::{Value, values_equal};

/// `a op b` under OTTL's rules.
pub fn compare(a: &Value<'_>, b: &Value<'_>, op: CmpOp) -> bool {
    let ordering = match (a, b) {
        (Value::Nil, Value::Nil) => Some(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Double(y)) => (*x as f64).partial_cmp(y),
        (Value::Double(x), Value::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Value::Double(x), Value::Double(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Value::Bytes(x), Value::Bytes(y)) => Some(x.as_ref().cmp(y.as_ref())),
        (Value::Time(x), Value::Time(y)) | (Value::Duration(x), Value::Duration(y)) => {
            Some(x.cmp(y))
        }
        (Value::Map(_), Value::Map(_)) | (Value::Slice(_), Value::Slice(_)) => {
            let equal = values_equal(a, b);
            return match op {
                CmpOp::Eq => equal,
                CmpOp::Ne => !equal,
                _ => false,
            };
        }
        _ => None,
    };
    match ordering {
        // NaN against anything: no ordering, so only `!=` holds.
        None => op == CmpOp::Ne,
        Some(o) => match op {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CmpOp::*;

    #[test]
    fn nil_equals_only_nil() {
        assert!(compare(&Value::Nil, &Value::Nil, Eq));
        assert!(compare(&Value::Nil, &Value::Nil, Le));
        assert!(!compare(&Value::Nil, &Value::Nil, Lt));
        assert!(!compare(&Value::Nil, &Value::Int(0), Eq));
        assert!(compare(&Value::str(""), &Value::Nil, Ne));
        assert!(!compare(&Value::Nil, &Value::Int(1), Lt));
    }

    #[test]
    fn ints_and_doubles_compare_as_numbers() {
        assert!(compare(&Value::Int(1), &Value::Double(1.0), Eq));
        assert!(compare(&Value::Double(0.5), &Value::Int(1), Lt));
        assert!(compare(&Value::Int(3), &Value::Int(2), Ge));
    }

    #[test]
    fn mismatched_types_are_unequal_and_unordered() {
        assert!(!compare(&Value::str("1"), &Value::Int(1), Eq));
        assert!(compare(&Value::str("1"), &Value::Int(1), Ne));
        assert!(!compare(&Value::str("1"), &Value::Int(1), Lt));
        assert!(!compare(&Value::str("1"), &Value::Int(1), Ge));
        assert!(!compare(&Value::Bool(true), &Value::Int(1), Eq));
    }

    #[test]
    fn strings_and_bytes_order_bytewise() {
        assert!(compare(&Value::str("abc"), &Value::str("abd"), Lt));
        assert!(compare(&Value::str("B"), &Value::str("a"), Lt));
        let b = |v: &[u8]| Value::Bytes(v.to_vec().into());
        assert!(compare(&b(&[1, 2]), &b(&[1, 2]), Eq));
        assert!(compare(&b(&[1]), &b(&[1, 0]), Lt));
    }

    #[test]
    fn bools_order_false_before_true() {
        assert!(compare(&Value::Bool(false), &Value::Bool(true), Lt));
    }

    #[test]
    fn maps_compare_only_for_equality() {
        let m = Value::from_json(&serde_json::json!({"a": 1}));
        assert!(compare(&m, &m.clone(), Eq));
        assert!(!compare(&m, &m.clone(), Le));
    }

    #[test]
    fn nan_is_unordered() {
        assert!(!compare(
            &Value::Double(f64::NAN),
            &Value::Double(f64::NAN),
            Eq
        ));
        assert!(compare(&Value::Double(f64::NAN), &Value::Int(1), Ne));
    }

    #[test]
    fn times_and_durations_compare_with_their_own_kind() {
        assert!(compare(&Value::Time(1), &Value::Time(2), Lt));
        assert!(!compare(&Value::Time(1), &Value::Int(1), Eq));
        assert!(compare(&Value::Duration(5), &Value::Duration(5), Eq));
    }
}
