//! weir-gen: an OTLP load generator and a counting sink, for benchmarking Weir and drilling its
//! delivery guarantees.
//!
//! - [`generator`]: sends traces, metrics or logs over OTLP/gRPC or OTLP/HTTP at a paced rate
//!   from pre-encoded [`template`]s whose ids ([`ids`]) are patched in place per request;
//! - [`sink`]: receives them, counts items, finds duplicates and gaps by those ids, and refuses,
//!   delays or rejects on demand;
//! - [`floor`]: the least a trace collector must do (read, answer, concatenate, forward), as the
//!   benchmark's yardstick;
//! - [`scan`]: the targeted wire scan both sides use to find the ids in the encoded bytes;
//! - [`histogram`]: the generator's latency histogram.

pub mod floor;
pub mod generator;
pub mod histogram;
pub mod ids;
pub mod scan;
pub mod sink;
pub mod template;

#[cfg(test)]
mod tests;
