use proptest::prelude::*;

use crate::model::Format;
use crate::parse_as;

const VALID_TEXT: &str = "# HELP h Latency.\n# TYPE h histogram\nh_bucket{le=\"1\",p=\"a\\\"b\"} 1 5\nh_bucket{le=\"+Inf\",p=\"a\\\"b\"} 2\nh_sum 1\nh_count 2\n# TYPE c counter\nc_total{x=\"y\"} NaN\n";
const VALID_OM: &str = "# TYPE c counter\n# UNIT c_seconds seconds\nc_total{a=\"b\"} 1 1.5 # {t=\"x\"} 2 3\nc_created 1\n# TYPE s summary\ns{quantile=\"0.5\"} 1\ns_sum 1\ns_count 1\n# EOF\n";

/// Escapes a label value as an exporter must.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn mutate(base: &str, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut body = base.as_bytes().to_vec();
    for &(at, kind, byte) in edits {
        let at = at % (body.len() + 1);
        match kind % 3 {
            0 => body.insert(at, byte),
            1 if at < body.len() => {
                body.remove(at);
            }
            _ if at < body.len() => body[at] = byte,
            _ => body.push(byte),
        }
    }
    body
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_as(&body, Format::Text);
        let _ = parse_as(&body, Format::OpenMetrics);
    }

    #[test]
    fn mutated_valid_bodies_never_panic(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8),
    ) {
        for base in [VALID_TEXT, VALID_OM] {
            let body = mutate(base, &edits);
            let _ = parse_as(&body, Format::Text);
            let _ = parse_as(&body, Format::OpenMetrics).map(|e| {
                for f in e.families() {
                    let _ = e.points(f);
                }
            });
        }
    }

    #[test]
    fn escaped_label_values_and_values_come_back_as_written(
        values in proptest::collection::vec(("[a-z_][a-z0-9_]{0,6}", "\\PC{0,12}", any::<f64>()), 1..10),
    ) {
        let mut body = String::new();
        for (i, (name, value, v)) in values.iter().enumerate() {
            body.push_str(&format!("m{i}{{{name}=\"{}\"}} {v:?}\n", escape(value)));
        }
        let e = parse_as(body.as_bytes(), Format::Text).unwrap();
        for (sample, (name, value, v)) in e.all_samples().iter().zip(&values) {
            let l = &e.labels(sample)[0];
            prop_assert_eq!(l.name, name.as_str());
            prop_assert_eq!(l.value.as_ref(), value.as_str());
            prop_assert!(sample.value == *v || (sample.value.is_nan() && v.is_nan()));
        }
        body.push_str("# EOF\n");
        prop_assert_eq!(parse_as(body.as_bytes(), Format::OpenMetrics).unwrap().sample_count(), values.len());
    }
}
