//! `google.rpc.Status` with its `RetryInfo` detail, as both OTLP transports carry errors, and the
//! HTTP `Retry-After` header.
//!
//! OTLP/gRPC puts an encoded `google.rpc.Status` in `grpc-status-details-bin`; OTLP/HTTP sends it
//! as the error response body (protobuf or JSON, as the request was). A throttling server adds a
//! `google.rpc.RetryInfo` detail telling the client when to retry. Receivers build these,
//! exporters read them. The messages are four small protobuf types, written here rather than
//! pulling in the googleapis crates.

use std::time::Duration;

use bytes::Bytes;
use prost::Message;

/// `type_url` of a packed `google.rpc.RetryInfo`.
pub const RETRY_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, Message)]
pub struct RpcStatus {
    /// A `google.rpc.Code` (the gRPC status code numbers).
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// Developer-facing message, in English.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Packed detail messages.
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<ProtoAny>,
}

/// `google.protobuf.Any`.
#[derive(Clone, PartialEq, Message)]
pub struct ProtoAny {
    /// `type.googleapis.com/<full message name>`.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "bytes", tag = "2")]
    pub value: Bytes,
}

/// `google.rpc.RetryInfo`.
#[derive(Clone, PartialEq, Message)]
pub struct RetryInfo {
    /// How long the client should wait before retrying.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// `google.protobuf.Duration`.
#[derive(Clone, Copy, PartialEq, Message)]
pub struct ProtoDuration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds past `seconds` (0..1e9 for a positive duration).
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl From<Duration> for ProtoDuration {
    fn from(d: Duration) -> Self {
        ProtoDuration {
            seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // subsec_nanos is below 1e9, which fits in an i32.
            nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
        }
    }
}

impl ProtoDuration {
    /// The duration, or `None` when it is negative or out of range.
    pub fn to_duration(self) -> Option<Duration> {
        let seconds = u64::try_from(self.seconds).ok()?;
        let nanos = u32::try_from(self.nanos)
            .ok()
            .filter(|n| *n < 1_000_000_000)?;
        Some(Duration::new(seconds, nanos))
    }
}

impl RpcStatus {
    /// A status with a gRPC code and message, without details.
    pub fn new(code: tonic::Code, message: impl Into<String>) -> Self {
        RpcStatus {
            code: code as i32,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// Adds a `RetryInfo` detail.
    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        let info = RetryInfo {
            retry_delay: Some(delay.into()),
        };
        self.details.push(ProtoAny {
            type_url: RETRY_INFO_TYPE_URL.to_string(),
            value: Bytes::from(info.encode_to_vec()),
        });
        self
    }

    /// The delay of the first `RetryInfo` detail that has one.
    pub fn retry_delay(&self) -> Option<Duration> {
        self.details
            .iter()
            .filter(|any| any.type_url == RETRY_INFO_TYPE_URL)
            .filter_map(|any| RetryInfo::decode(any.value.as_ref()).ok())
            .find_map(|info| info.retry_delay.and_then(ProtoDuration::to_duration))
    }

    /// The gRPC code (`Unknown` for numbers outside the enum).
    pub fn grpc_code(&self) -> tonic::Code {
        tonic::Code::from_i32(self.code)
    }

    /// The gRPC error carrying this status in `grpc-status-details-bin`.
    pub fn to_tonic(&self) -> tonic::Status {
        tonic::Status::with_details(
            self.grpc_code(),
            self.message.clone(),
            Bytes::from(self.encode_to_vec()),
        )
    }

    /// The status a gRPC error carries in its details, or one made of its code and message.
    pub fn from_tonic(status: &tonic::Status) -> Self {
        if !status.details().is_empty()
            && let Ok(decoded) = RpcStatus::decode(status.details())
        {
            return decoded;
        }
        RpcStatus::new(status.code(), status.message())
    }

    /// The status in proto3 JSON, as an OTLP/HTTP JSON error body:
    /// `{"code":14,"message":"…","details":[{"@type":"…RetryInfo","retryDelay":"1.5s"}]}`.
    /// Details other than `RetryInfo` cannot be written without their schema and are left out.
    pub fn to_json(&self) -> Vec<u8> {
        let details: Vec<serde_json::Value> = self
            .details
            .iter()
            .filter(|any| any.type_url == RETRY_INFO_TYPE_URL)
            .filter_map(|any| RetryInfo::decode(any.value.as_ref()).ok())
            .map(|info| {
                let mut detail = serde_json::Map::new();
                detail.insert("@type".into(), RETRY_INFO_TYPE_URL.into());
                if let Some(delay) = info.retry_delay {
                    detail.insert("retryDelay".into(), json_duration(delay).into());
                }
                serde_json::Value::Object(detail)
            })
            .collect();
        let mut body = serde_json::Map::new();
        body.insert("code".into(), self.code.into());
        body.insert("message".into(), self.message.clone().into());
        if !details.is_empty() {
            body.insert("details".into(), details.into());
        }
        serde_json::Value::Object(body).to_string().into_bytes()
    }

    /// Reads a proto3 JSON status (the inverse of [`RpcStatus::to_json`]); `None` when the body
    /// is not a JSON object. Unknown detail types are skipped.
    pub fn from_json(body: &[u8]) -> Option<Self> {
        let value: serde_json::Value = serde_json::from_slice(body).ok()?;
        let object = value.as_object()?;
        let code = object
            .get("code")
            .and_then(serde_json::Value::as_i64)
            .unwrap_or(0);
        let message = object
            .get("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default();
        let mut status = RpcStatus {
            code: i32::try_from(code).unwrap_or(tonic::Code::Unknown as i32),
            message: message.to_string(),
            details: Vec::new(),
        };
        let details = object.get("details").and_then(serde_json::Value::as_array);
        for detail in details.into_iter().flatten() {
            let is_retry_info = detail.get("@type").and_then(serde_json::Value::as_str)
                == Some(RETRY_INFO_TYPE_URL);
            let delay = detail
                .get("retryDelay")
                .and_then(serde_json::Value::as_str)
                .and_then(parse_json_duration);
            if let (true, Some(delay)) = (is_retry_info, delay) {
                status = status.with_retry_delay(delay);
            }
        }
        Some(status)
    }
}

/// Reads a `Retry-After` header given in seconds, as OTLP servers send it. HTTP-dates are not
/// read: OTLP/HTTP does not use them, and otelcol ignores them too.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// The `Retry-After` value for a delay: whole seconds, rounded up so a client never comes back
/// early, and at least 1.
pub fn retry_after_header(delay: Duration) -> String {
    let mut seconds = delay.as_secs();
    if delay.subsec_nanos() > 0 || seconds == 0 {
        seconds += 1;
    }
    seconds.to_string()
}

/// proto3 JSON for `google.protobuf.Duration`: seconds with up to nine fraction digits, then `s`.
fn json_duration(d: ProtoDuration) -> String {
    if d.nanos == 0 {
        format!("{}s", d.seconds)
    } else {
        let fraction = format!("{:09}", d.nanos.unsigned_abs());
        format!("{}.{}s", d.seconds, fraction.trim_end_matches('0'))
    }
}

fn parse_json_duration(text: &str) -> Option<Duration> {
    let number = text.strip_suffix('s')?;
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let seconds: u64 = whole.parse().ok()?;
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: u32 = if fraction.is_empty() {
        0
    } else {
        format!("{fraction:0<9}").parse().ok()?
    };
    Some(Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_info_survives_protobuf_and_tonic() {
        let status = RpcStatus::new(tonic::Code::Unavailable, "queue full")
            .with_retry_delay(Duration::from_millis(1500));
        let decoded = RpcStatus::decode(status.encode_to_vec().as_slice()).unwrap();
        assert_eq!(decoded, status);
        assert_eq!(decoded.retry_delay(), Some(Duration::from_millis(1500)));

        let grpc = status.to_tonic();
        assert_eq!(grpc.code(), tonic::Code::Unavailable);
        assert_eq!(grpc.message(), "queue full");
        assert_eq!(
            RpcStatus::from_tonic(&grpc).retry_delay(),
            Some(Duration::from_millis(1500))
        );

        let plain = tonic::Status::internal("boom");
        let from_plain = RpcStatus::from_tonic(&plain);
        assert_eq!(
            (from_plain.grpc_code(), from_plain.retry_delay()),
            (tonic::Code::Internal, None)
        );
    }

    #[test]
    fn json_form_matches_proto3_json() {
        let status = RpcStatus::new(tonic::Code::Unavailable, "slow down")
            .with_retry_delay(Duration::from_millis(2500));
        let json: serde_json::Value = serde_json::from_slice(&status.to_json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "code": 14,
                "message": "slow down",
                "details": [{"@type": RETRY_INFO_TYPE_URL, "retryDelay": "2.5s"}],
            })
        );
        let back = RpcStatus::from_json(&status.to_json()).unwrap();
        assert_eq!(back, status);
        let bare = RpcStatus::new(tonic::Code::InvalidArgument, "bad");
        assert_eq!(
            std::str::from_utf8(&bare.to_json()).unwrap(),
            r#"{"code":3,"message":"bad"}"#
        );
        assert!(RpcStatus::from_json(b"not json").is_none());
    }

    #[test]
    fn json_durations() {
        assert_eq!(parse_json_duration("3s"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_json_duration("0.000000001s"),
            Some(Duration::from_nanos(1))
        );
        assert_eq!(
            parse_json_duration("1.25s"),
            Some(Duration::from_millis(1250))
        );
        assert_eq!(parse_json_duration("-1s"), None);
        assert_eq!(parse_json_duration("1.0000000001s"), None);
        assert_eq!(
            json_duration(Duration::from_nanos(1_000_000_001).into()),
            "1.000000001s"
        );
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after(" 30 "), Some(Duration::from_secs(30)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after_header(Duration::from_secs(5)), "5");
        assert_eq!(retry_after_header(Duration::from_millis(5001)), "6");
        assert_eq!(retry_after_header(Duration::ZERO), "1");
    }

    #[test]
    fn negative_or_invalid_durations_are_ignored() {
        assert_eq!(
            ProtoDuration {
                seconds: -1,
                nanos: 0
            }
            .to_duration(),
            None
        );
        assert_eq!(
            ProtoDuration {
                seconds: 1,
                nanos: 1_000_000_000
            }
            .to_duration(),
            None
        );
    }
}
