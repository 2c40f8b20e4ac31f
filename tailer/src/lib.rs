//! File tailing for the filelog receiver (skeleton; filled in by issue 19).
