//! Converted series into remote write requests: split so that each stays under
//! `max_batch_size_bytes` (encoded, before compression), a series never split across two
//! (so its samples stay in order), then encoded and snappy block-compressed.

use bytes::Bytes;
use prost::Message;

use super::prompb::{MetricMetadata, TimeSeries, WriteRequest};

/// One request ready to send.
pub(crate) struct Encoded {
    /// The snappy-compressed protobuf body.
    pub body: Bytes,
    /// Samples in it.
    pub samples: u64,
}

/// Splits `series` then `metadata` into requests of at most `max_bytes` each, as otelcol's
/// `batchTimeSeries` does; a single series or metadata entry larger than that goes alone.
pub(crate) fn split(
    series: Vec<TimeSeries>,
    metadata: Vec<MetricMetadata>,
    max_bytes: usize,
) -> Vec<WriteRequest> {
    let mut requests = Vec::new();
    let mut current = WriteRequest::default();
    let mut size = 0;
    for one in series {
        let len = prost::encoding::message::encoded_len(1, &one);
        if size > 0 && size + len > max_bytes {
            requests.push(std::mem::take(&mut current));
            size = 0;
        }
        size += len;
        current.timeseries.push(one);
    }
    for one in metadata {
        let len = prost::encoding::message::encoded_len(3, &one);
        if size > 0 && size + len > max_bytes {
            requests.push(std::mem::take(&mut current));
            size = 0;
        }
        size += len;
        current.metadata.push(one);
    }
    if size > 0 {
        requests.push(current);
    }
    requests
}

/// The body of `request`: protobuf, snappy block format (not framed), as remote write 1.0
/// specifies.
pub(crate) fn encode(request: &WriteRequest) -> Result<Encoded, snap::Error> {
    let raw = request.encode_to_vec();
    let body = snap::raw::Encoder::new().compress_vec(&raw)?;
    Ok(Encoded {
        body: Bytes::from(body),
        samples: request
            .timeseries
            .iter()
            .map(|s| s.samples.len() as u64)
            .sum(),
    })
}
