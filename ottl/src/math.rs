//! Arithmetic: ints with ints stay ints (wrapping on overflow, as Go's int64 does), any double
//! makes a double, times and durations add and subtract as otelcol allows; division by zero
//! and every other pairing are errors.

use crate::ast::MathOp;
use crate::error::EvalError;
use crate::value::{Type, Value};

/// `a op b`.
pub fn apply(op: MathOp, a: &Value<'_>, b: &Value<'_>) -> Result<Value<'static>, EvalError> {
    use MathOp::*;
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(Value::Int(match op {
            Add => x.wrapping_add(*y),
            Sub => x.wrapping_sub(*y),
            Mul => x.wrapping_mul(*y),
            Div => {
                if *y == 0 {
                    return Err(EvalError::DivisionByZero);
                }
                x.wrapping_div(*y)
            }
        })),
        (Value::Int(_) | Value::Double(_), Value::Int(_) | Value::Double(_)) => {
            let (x, y) = (as_f64(a), as_f64(b));
            Ok(Value::Double(match op {
                Add => x + y,
                Sub => x - y,
                Mul => x * y,
                Div => {
                    if y == 0.0 {
                        return Err(EvalError::DivisionByZero);
                    }
                    x / y
                }
            }))
        }
        (Value::Time(t), Value::Duration(d)) if matches!(op, Add | Sub) => {
            let r = if op == Add {
                t.checked_add(*d)
            } else {
                t.checked_sub(*d)
            };
            r.map(Value::Time)
                .ok_or(EvalError::Overflow("time arithmetic"))
        }
        (Value::Duration(d), Value::Time(t)) if op == Add => t
            .checked_add(*d)
            .map(Value::Time)
            .ok_or(EvalError::Overflow("time arithmetic")),
        (Value::Time(x), Value::Time(y)) if op == Sub => x
            .checked_sub(*y)
            .map(Value::Duration)
            .ok_or(EvalError::Overflow("time arithmetic")),
        (Value::Duration(x), Value::Duration(y)) if matches!(op, Add | Sub) => {
            let r = if op == Add {
                x.checked_add(*y)
            } else {
                x.checked_sub(*y)
            };
            r.map(Value::Duration)
                .ok_or(EvalError::Overflow("duration arithmetic"))
        }
        _ => Err(EvalError::Type {
            what: format!(
                "`{}` operands {} and {}",
                symbol(op),
                a.type_name(),
                b.type_name()
            ),
            expected: "int and double, time and duration, or duration and duration",
            found: b.type_name(),
        }),
    }
}

/// `-a`.
pub fn negate(a: &Value<'_>) -> Result<Value<'static>, EvalError> {
    match a {
        Value::Int(i) => Ok(Value::Int(i.wrapping_neg())),
        Value::Double(d) => Ok(Value::Double(-d)),
        Value::Duration(d) => d
            .checked_neg()
            .map(Value::Duration)
            .ok_or(EvalError::Overflow("duration negation")),
        other => Err(EvalError::Type {
            what: "unary `-`".into(),
            expected: "int, double or duration",
            found: other.type_name(),
        }),
    }
}

fn as_f64(v: &Value<'_>) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Double(d) => *d,
        _ => f64::NAN,
    }
}

pub(crate) fn symbol(op: MathOp) -> &'static str {
    match op {
        MathOp::Add => "+",
        MathOp::Sub => "-",
        MathOp::Mul => "*",
        MathOp::Div => "/",
    }
}

/// The result type of `a op b` when it is known, `Err` when no values of these types combine.
pub(crate) fn result_type(op: MathOp, a: Type, b: Type) -> Result<Type, ()> {
    use MathOp::*;
    let numeric = |t| matches!(t, Type::Int | Type::Double);
    let mathy = |t| {
        matches!(
            t,
            Type::Int | Type::Double | Type::Time | Type::Duration | Type::Any
        )
    };
    match (a, b) {
        (Type::Int, Type::Int) => Ok(Type::Int),
        (x, y) if numeric(x) && numeric(y) => Ok(Type::Double),
        (Type::Time, Type::Duration) if matches!(op, Add | Sub) => Ok(Type::Time),
        (Type::Duration, Type::Time) if op == Add => Ok(Type::Time),
        (Type::Time, Type::Time) if op == Sub => Ok(Type::Duration),
        (Type::Duration, Type::Duration) if matches!(op, Add | Sub) => Ok(Type::Duration),
        (x, y) if (x == Type::Any || y == Type::Any) && mathy(x) && mathy(y) => Ok(Type::Any),
        _ => Err(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MathOp::*;

    #[test]
    fn int_division_truncates_and_mixed_operands_give_doubles() {
        assert_eq!(
            apply(Div, &Value::Int(7), &Value::Int(2)).unwrap(),
            Value::Int(3)
        );
        assert_eq!(
            apply(Div, &Value::Int(7), &Value::Double(2.0)).unwrap(),
            Value::Double(3.5)
        );
        assert_eq!(
            apply(Mul, &Value::Double(1.5), &Value::Int(2)).unwrap(),
            Value::Double(3.0)
        );
    }

    #[test]
    fn division_by_zero_is_an_error() {
        assert_eq!(
            apply(Div, &Value::Int(1), &Value::Int(0)),
            Err(EvalError::DivisionByZero)
        );
        assert_eq!(
            apply(Div, &Value::Double(1.0), &Value::Int(0)),
            Err(EvalError::DivisionByZero)
        );
    }

    #[test]
    fn int_overflow_wraps_like_go() {
        assert_eq!(
            apply(Add, &Value::Int(i64::MAX), &Value::Int(1)).unwrap(),
            Value::Int(i64::MIN)
        );
        assert_eq!(
            apply(Div, &Value::Int(i64::MIN), &Value::Int(-1)).unwrap(),
            Value::Int(i64::MIN)
        );
    }

    #[test]
    fn time_and_duration_arithmetic() {
        assert_eq!(
            apply(Add, &Value::Time(10), &Value::Duration(5)).unwrap(),
            Value::Time(15)
        );
        assert_eq!(
            apply(Add, &Value::Duration(5), &Value::Time(10)).unwrap(),
            Value::Time(15)
        );
        assert_eq!(
            apply(Sub, &Value::Time(10), &Value::Time(4)).unwrap(),
            Value::Duration(6)
        );
        assert_eq!(
            apply(Sub, &Value::Time(10), &Value::Duration(4)).unwrap(),
            Value::Time(6)
        );
        assert_eq!(
            apply(Sub, &Value::Duration(10), &Value::Duration(4)).unwrap(),
            Value::Duration(6)
        );
        assert!(apply(Mul, &Value::Time(10), &Value::Duration(4)).is_err());
        assert!(apply(Sub, &Value::Duration(10), &Value::Time(4)).is_err());
        assert!(apply(Add, &Value::Time(i64::MAX), &Value::Duration(1)).is_err());
    }

    #[test]
    fn strings_do_not_add() {
        assert!(apply(Add, &Value::str("a"), &Value::str("b")).is_err());
        assert!(result_type(Add, Type::String, Type::Int).is_err());
        assert_eq!(result_type(Add, Type::Any, Type::Int), Ok(Type::Any));
        assert_eq!(result_type(Sub, Type::Time, Type::Time), Ok(Type::Duration));
    }

    #[test]
    fn negation() {
        assert_eq!(negate(&Value::Int(3)).unwrap(), Value::Int(-3));
        assert!(negate(&Value::str("x")).is_err());
    }
}
