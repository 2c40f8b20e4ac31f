//! The floor between the generator and the counting sink, over real sockets on 127.0.0.1.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use weir_core::batch::Signal;

use super::{FloorConfig, FloorHandle};
use crate::generator::Protocol;
use crate::sink::{ModeSettings, SinkHandle};
use crate::tests::{assert_exactly_once, config, generate, sink_with};

async fn floor(sink: &SinkHandle, protocol: Protocol, batch_bytes: usize) -> FloorHandle {
    let to = match protocol {
        Protocol::Grpc => sink.grpc_addr,
        Protocol::Http => sink.http_addr,
    };
    FloorHandle::start(FloorConfig {
        grpc: Some("127.0.0.1:0".into()),
        http: Some("127.0.0.1:0".into()),
        to: to.unwrap().to_string(),
        protocol,
        batch_bytes,
        timeout: Duration::from_millis(50),
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_span_through_the_floor_reaches_the_sink_once_as_valid_otlp() {
    for protocol in [Protocol::Grpc, Protocol::Http] {
        // The sink walks every request it gets: the concatenated batches must be whole OTLP.
        let sink = sink_with(ModeSettings::default(), true).await;
        let floor = floor(&sink, protocol, 64 * 1024).await;
        let mut load = config(Signal::Traces, protocol, &sink, 5_003);
        load.endpoint = match protocol {
            Protocol::Grpc => floor.grpc_addr,
            Protocol::Http => floor.http_addr,
        }
        .unwrap()
        .to_string();
        let report = generate(load).await;
        let stats = floor.shutdown().await;
        assert_eq!(stats.requests, report.requests, "{protocol:?}");
        assert!(
            stats.batches > 1 && stats.batches < report.requests,
            "requests are concatenated into fewer, larger batches: {stats:?}"
        );
        assert_eq!((stats.failed_sends, stats.dropped_batches), (0, 0));
        let seen = sink.shutdown().await;
        assert_eq!(seen.traces.invalid_requests, 0, "{protocol:?}");
        assert_eq!(seen.traces.requests, stats.batches, "{protocol:?}");
        assert_exactly_once(&seen.traces, &report, 5_003);
    }
}

/// Writes `bytes` and reads until the server closes the connection.
async fn closed_after(address: std::net::SocketAddr, bytes: &[u8]) -> bool {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut sink = Vec::new();
    matches!(
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut sink)).await,
        Ok(Ok(_) | Err(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_it_cannot_follow_is_closed_and_the_others_are_served() {
    let sink = sink_with(ModeSettings::default(), false).await;
    let floor = floor(&sink, Protocol::Grpc, 64 * 1024).await;
    let (grpc, http) = (floor.grpc_addr.unwrap(), floor.http_addr.unwrap());
    assert!(closed_after(grpc, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").await);
    // A preface, then a frame announcing 16 MiB: past SETTINGS_MAX_FRAME_SIZE.
    let mut oversize = super::h2::PREFACE.to_vec();
    oversize.extend_from_slice(&[0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1]);
    assert!(closed_after(grpc, &oversize).await);
    // A padded DATA frame whose pad length is past its end.
    let mut padded = super::h2::PREFACE.to_vec();
    padded.extend_from_slice(&[0, 0, 2, 0, 0x9, 0, 0, 0, 1, 200, 0]);
    assert!(closed_after(grpc, &padded).await);
    assert!(closed_after(http, b"POST /v1/traces HTTP/1.1\r\nHost: x\r\n\r\n").await);
    assert!(
        closed_after(
            http,
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        .await
    );

    let mut load = config(Signal::Traces, Protocol::Grpc, &sink, 1_000);
    load.endpoint = grpc.to_string();
    let report = generate(load).await;
    floor.shutdown().await;
    assert_exactly_once(&sink.shutdown().await.traces, &report, 1_000);
}
