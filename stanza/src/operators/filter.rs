//! `filter`: drops the entries `expr` matches (each with probability `drop_ratio`).

use super::{Transform, Verdict};
use crate::config::Fields;
use crate::entry::Entry;
use crate::expr::Expr;

pub(crate) struct Filter {
    expr: Expr,
    drop_ratio: f64,
    /// xorshift state: the ratio needs a coin, not a cryptographic one.
    state: u64,
}

impl Filter {
    pub(crate) fn from_config(f: &mut Fields) -> Option<Filter> {
        let expr = match f.raw("expr") {
            Some(_) => f.expr("expr"),
            None => {
                f.missing("expr");
                None
            }
        };
        let drop_ratio = f.f64("drop_ratio", 1.0);
        if !(0.0..=1.0).contains(&drop_ratio) {
            f.error("drop_ratio", "drop_ratio must be between 0 and 1");
            return None;
        }
        Some(Filter {
            expr: expr?,
            drop_ratio,
            state: 0x9E37_79B9_7F4A_7C15,
        })
    }

    fn coin(&mut self) -> f64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        (self.state >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl Transform for Filter {
    fn apply(&mut self, entry: &mut Entry) -> Result<Verdict, String> {
        if !self.expr.matches(entry) {
            return Ok(Verdict::Pass);
        }
        if self.drop_ratio >= 1.0 || self.coin() < self.drop_ratio {
            Ok(Verdict::Drop)
        } else {
            Ok(Verdict::Pass)
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::operators::testkit::*;
    use serde_json::json;

    #[test]
    fn drops_what_matches() {
        let mut p = pipeline(json!([{"type": "filter", "expr": "body matches \"^DEBUG\""}]));
        assert!(run(&mut p, "DEBUG x").is_empty());
        assert_eq!(run(&mut p, "INFO x").len(), 1);
    }

    #[test]
    fn drop_ratio_drops_about_that_share() {
        let mut p = pipeline(json!([{"type": "filter", "expr": "true", "drop_ratio": 0.5}]));
        let kept: usize = (0..1000).map(|_| run(&mut p, "x").len()).sum();
        assert!((350..650).contains(&kept), "kept {kept}");
        let mut none = pipeline(json!([{"type": "filter", "expr": "true", "drop_ratio": 0.0}]));
        assert_eq!(run(&mut none, "x").len(), 1);
    }

    #[test]
    fn a_bad_expr_names_its_column() {
        let errors = config_errors(json!([{"type": "filter", "expr": "body ==== 1"}]));
        assert_eq!(errors[0].path.to_string(), "operators[0].expr");
        assert_eq!(errors[0].column, Some(8));
    }
}
