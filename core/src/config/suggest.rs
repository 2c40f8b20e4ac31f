//! "Did you mean": the closest valid name to a misspelt one, if any is close enough.

use super::error::Hint;

/// The candidate closest to `word` by edit distance (transpositions count once), when the
/// distance is small for the word's length: one edit up to 7 characters, then one more per 4.
/// A looser threshold suggests unrelated names (`otlp/2` for `otlp`), which misleads more than
/// it helps.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = 1 + word.chars().count().saturating_sub(4) / 4;
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::osa_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "did you mean" when something is close, otherwise the full list of valid names.
pub(crate) fn hint(word: &str, candidates: &[String]) -> Hint {
    match closest(word, candidates.iter().map(String::as_str)) {
        Some(c) => Hint::DidYouMean(c.to_string()),
        None => Hint::OneOf(candidates.to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            closest("send_batch_sise", ["send_batch_size", "timeout"]),
            Some("send_batch_size")
        );
        assert_eq!(closest("otlpp", ["otlp", "debug"]), Some("otlp"));
        assert_eq!(
            closest("reciever", ["receivers", "receiver"]),
            Some("receiver")
        );
        assert_eq!(
            closest("trace", ["traces", "metrics", "logs"]),
            Some("traces")
        );
        assert_eq!(closest("otlp/2", ["otlp", "debug"]), None);
        assert_eq!(closest("zipkin", ["otlp", "debug"]), None);
    }

    #[test]
    fn hint_falls_back_to_the_list() {
        let names = vec!["a_field".to_string(), "b_field".to_string()];
        assert_eq!(hint("zzz", &names), Hint::OneOf(names.clone()));
        assert_eq!(hint("a_fild", &names), Hint::DidYouMean("a_field".into()));
    }
}
