//! The stanza log operators (skeleton; filled in by issue 19).
