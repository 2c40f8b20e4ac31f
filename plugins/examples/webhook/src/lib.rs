//! `webhook`: an exporter that POSTs each batch as OTLP/JSON to a URL. It owns a small tokio
//! runtime (the host's is not reachable from a library), answers `PENDING` at once and
//! completes each export when the HTTP answer arrives: 2xx delivered; 429, 502, 503, 504 and
//! network errors or timeouts retryable (after `Retry-After` when the server sends one); every
//! other status permanent, as the OTLP/HTTP specification classifies them. Weir's sending queue
//! and retry wrap it like any exporter.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use schemars::JsonSchema;
use serde::Deserialize;
use weir_plugin_sdk::runtime::PluginRuntime;
use weir_plugin_sdk::{Completion, Error, Exporter, Host, Signal, export_plugin};

fn default_timeout_ms() -> u64 {
    10_000
}
fn default_workers() -> usize {
    1
}

/// Config of the `webhook` exporter.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// URL each batch is POSTed to as OTLP/JSON (`http://` only).
    #[schemars(regex(pattern = "^http://"))]
    pub url: String,
    /// Extra HTTP headers sent with every request, such as an authorization token.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Deadline of one request in milliseconds, from connecting to reading the answer; on
    /// expiry the export fails as retryable.
    #[serde(default = "default_timeout_ms")]
    #[schemars(range(min = 1))]
    pub timeout_ms: u64,
    /// Worker threads of the exporter's own tokio runtime.
    #[serde(default = "default_workers")]
    #[schemars(range(min = 1, max = 16))]
    pub workers: usize,
}

/// How an HTTP status maps onto the export's outcome.
pub fn classify(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &str,
) -> Result<(), Error> {
    if status.is_success() {
        return Ok(());
    }
    let reason = format!(
        "webhook answered {status}: {}",
        body.chars().take(200).collect::<String>()
    );
    match status.as_u16() {
        429 | 502 | 503 | 504 => Err(Error::Retryable {
            reason,
            retry_after,
        }),
        _ => Err(Error::Permanent(reason)),
    }
}

/// `Retry-After` in seconds (the HTTP-date form is rare for webhooks and read as absent).
fn retry_after(value: Option<&HeaderValue>) -> Option<Duration> {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// The batch as OTLP/JSON.
pub fn to_json(signal: Signal, data: &[u8]) -> Result<Vec<u8>, Error> {
    let invalid =
        |e: String| Error::InvalidArgument(format!("not an OTLP {} request: {e}", signal.as_str()));
    let json = match signal {
        Signal::Traces => serde_json::to_vec(
            &ExportTraceServiceRequest::decode(data).map_err(|e| invalid(e.to_string()))?,
        ),
        Signal::Metrics => serde_json::to_vec(
            &ExportMetricsServiceRequest::decode(data).map_err(|e| invalid(e.to_string()))?,
        ),
        Signal::Logs => serde_json::to_vec(
            &ExportLogsServiceRequest::decode(data).map_err(|e| invalid(e.to_string()))?,
        ),
    };
    json.map_err(|e| Error::Internal(format!("encoding JSON: {e}")))
}

/// The `webhook` exporter.
pub struct Webhook {
    uri: Uri,
    headers: Vec<(HeaderName, HeaderValue)>,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
    runtime: Option<PluginRuntime>,
}

async fn post(
    client: Client<HttpConnector, Full<Bytes>>,
    request: Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<(), Error> {
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| Error::retryable(format!("webhook request failed: {e}")))?;
        let status = response.status();
        let delay = retry_after(response.headers().get(http::header::RETRY_AFTER));
        let body = response
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        classify(status, delay, &String::from_utf8_lossy(&body))
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(result) => result,
        Err(_) => Err(Error::retryable(format!(
            "webhook did not answer within {timeout:?}"
        ))),
    }
}

impl Exporter for Webhook {
    type Config = WebhookConfig;
    const TYPE: &'static str = "webhook";
    const SIGNALS: &'static [Signal] = Signal::ALL;

    fn create(config: WebhookConfig, host: Host) -> Result<Self, Error> {
        let uri: Uri = config
            .url
            .parse()
            .map_err(|e| Error::InvalidArgument(format!("url: {e}")))?;
        if uri.scheme_str() != Some("http") {
            return Err(Error::InvalidArgument(
                "url: only http:// is supported".into(),
            ));
        }
        let headers = config
            .headers
            .iter()
            .map(|(k, v)| {
                Ok((
                    HeaderName::try_from(k.as_str())
                        .map_err(|e| Error::InvalidArgument(format!("headers.{k}: {e}")))?,
                    HeaderValue::try_from(v.as_str())
                        .map_err(|e| Error::InvalidArgument(format!("headers.{k}: {e}")))?,
                ))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let runtime = PluginRuntime::new("webhook", config.workers, host)?;
        // The client's pool lives on the plugin's runtime.
        let client = {
            let _guard = runtime.handle().enter();
            Client::builder(TokioExecutor::new()).build_http()
        };
        Ok(Webhook {
            uri,
            headers,
            timeout: Duration::from_millis(config.timeout_ms),
            client,
            runtime: Some(runtime),
        })
    }

    fn export(&mut self, signal: Signal, data: &[u8], done: Completion) {
        // Converted during the call: `data` is only lent until export returns.
        let body = match to_json(signal, data) {
            Ok(body) => body,
            Err(e) => return done.complete(Err(e)),
        };
        let mut request =
            Request::post(self.uri.clone()).header(http::header::CONTENT_TYPE, "application/json");
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let request = match request.body(Full::new(Bytes::from(body))) {
            Ok(request) => request,
            Err(e) => {
                return done.complete(Err(Error::Permanent(format!("building the request: {e}"))));
            }
        };
        let Some(runtime) = &self.runtime else {
            return done.complete(Err(Error::ShuttingDown));
        };
        let client = self.client.clone();
        let timeout = self.timeout;
        runtime.spawn(async move {
            let result = post(client, request, timeout).await;
            if let Err(e) = &result {
                tracing::debug!(error = %e, "webhook export failed");
            }
            done.complete(result);
        });
    }

    fn shutdown(&mut self) -> Result<(), Error> {
        // Requests still in flight get their timeout to finish; what is left is completed as
        // retryable when its Completion is dropped with the runtime.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown(self.timeout);
        }
        Ok(())
    }
}

export_plugin!(exporter Webhook);

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpListener;

    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use weir_plugin_sdk::abi;
    use weir_plugin_sdk::testing::TestHost;

    use super::*;

    #[test]
    fn statuses_are_classified_as_the_otlp_spec_says() {
        assert_eq!(classify(StatusCode::OK, None, ""), Ok(()));
        assert_eq!(classify(StatusCode::ACCEPTED, None, ""), Ok(()));
        for code in [429, 502, 503, 504] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(
                matches!(classify(status, Some(Duration::from_secs(3)), "x"), Err(Error::Retryable { retry_after: Some(d), .. }) if d == Duration::from_secs(3)),
                "{code}"
            );
        }
        for code in [400, 401, 404, 413, 500] {
            let status = StatusCode::from_u16(code).unwrap();
            assert!(
                matches!(classify(status, None, "x"), Err(Error::Permanent(_))),
                "{code}"
            );
        }
    }

    /// One-shot HTTP server: answers each connection with the next of `answers` and returns
    /// the request bodies it got.
    fn serve(answers: Vec<&'static str>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut bodies = Vec::new();
            for answer in answers {
                let (mut stream, _) = listener.accept().unwrap();
                let mut data = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = stream.read(&mut buf).unwrap();
                    data.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&data).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length: usize = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap())
                            })
                            .unwrap_or(0);
                        if data.len() >= end + 4 + length {
                            bodies.push(text[end + 4..].to_string());
                            break;
                        }
                    }
                    if n == 0 {
                        break;
                    }
                }
                stream.write_all(answer.as_bytes()).unwrap();
            }
            bodies
        });
        (url, handle)
    }

    fn traces() -> Vec<u8> {
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        name: "checkout".into(),
                        trace_id: vec![1; 16],
                        span_id: vec![2; 8],
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode_to_vec()
    }

    #[test]
    fn posts_json_and_completes_asynchronously_with_the_classified_outcome() {
        let (url, server) = serve(vec![
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 7\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        ]);
        let host = TestHost::new();
        let mut webhook = host
            .exporter::<Webhook>(serde_json::json!({"url": url, "headers": {"x-token": "s3cret"}}))
            .unwrap();
        assert_eq!(webhook.start(), abi::WEIR_OK);
        assert_eq!(
            webhook.consume(Signal::Traces, &traces()),
            abi::WEIR_PENDING
        );
        assert!(host.wait_for(Duration::from_secs(10), |h| h.completed().len() == 1));
        assert_eq!(
            webhook.consume(Signal::Traces, &traces()),
            abi::WEIR_PENDING
        );
        assert!(host.wait_for(Duration::from_secs(10), |h| h.completed().len() == 2));
        assert_eq!(webhook.shutdown(), abi::WEIR_OK);
        let completed = host.completed();
        assert_eq!(
            (completed[0].status, completed[0].retry_after_ms),
            (abi::WEIR_RETRYABLE, 7000)
        );
        assert_eq!(completed[1].status, abi::WEIR_OK);
        let bodies = server.join().unwrap();
        let json: serde_json::Value = serde_json::from_str(&bodies[1]).unwrap();
        assert_eq!(
            json["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"],
            "checkout"
        );
        assert_eq!(
            json["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"],
            "01010101010101010101010101010101"
        );
    }

    #[test]
    fn an_unreachable_url_is_retryable_and_bad_data_permanent() {
        // A port that was free a moment ago: connecting is refused.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let host = TestHost::new();
        let mut webhook = host
            .exporter::<Webhook>(serde_json::json!({"url": format!("http://127.0.0.1:{port}/")}))
            .unwrap();
        assert_eq!(
            webhook.consume(Signal::Logs, &[0xff, 0x01]),
            abi::WEIR_INVALID_ARGUMENT
        );
        // A refused connection can complete the export before `consume` returns, which the
        // ABI allows (the answer is then given at once instead of PENDING): both must say
        // RETRYABLE.
        let status = webhook.consume(Signal::Traces, &traces());
        let outcome = if status == abi::WEIR_PENDING {
            assert!(host.wait_for(Duration::from_secs(10), |h| h.completed().len() == 1));
            host.completed()[0].status
        } else {
            status
        };
        assert_eq!(outcome, abi::WEIR_RETRYABLE);
        assert_eq!(webhook.shutdown(), abi::WEIR_OK);
    }
}
