//! A target's resource as current otelcol's `CreateResource` builds it (`net.host.name`,
//! `net.host.port` and `http.scheme` are gone since a gate from v0.101.0): `service.name` = job,
//! `service.instance.id` = instance, `server.address` / `server.port` from the instance (the
//! address only when it names a host other than a loopback or unspecified one), `url.scheme`.
//! `target_info` labels are added on top. `job` is not split into `service.namespace`:
//! otelcol does not, and the compatibility specification does not ask a receiver to.

use std::net::IpAddr;

use opentelemetry_proto::tonic::common::v1::KeyValue;

use super::string_kv;

/// Go's `net.SplitHostPort`: `host:port` or `[v6]:port`; `None` when there is no port or the
/// address is malformed.
pub(super) fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        if host.contains('[') || port.contains([':', '[', ']']) {
            return None;
        }
        return Some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains([':', '[', ']']) || port.contains(['[', ']']) {
        return None;
    }
    Some((host, port))
}

/// Whether `host` may stand as `server.address`: not `localhost`, not a loopback or
/// unspecified IP address.
pub(super) fn is_discernible_host(host: &str) -> bool {
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => !ip.is_loopback() && !ip.is_unspecified(),
        Ok(IpAddr::V6(ip)) => match ip.to_ipv4_mapped() {
            Some(v4) => !v4.is_loopback() && !v4.is_unspecified(),
            None => !ip.is_loopback() && !ip.is_unspecified(),
        },
        Err(_) => host != "localhost",
    }
}

/// The resource attributes of the target `job`/`instance` scraped over `scheme`.
pub(super) fn attributes(job: &str, instance: &str, scheme: &str) -> Vec<KeyValue> {
    let (host, port) = split_host_port(instance).unwrap_or((instance, ""));
    let mut attrs = Vec::with_capacity(5);
    attrs.push(string_kv("service.name", job));
    if is_discernible_host(host) {
        attrs.push(string_kv("server.address", host));
    }
    attrs.push(string_kv("service.instance.id", instance));
    attrs.push(string_kv("server.port", port));
    attrs.push(string_kv("url.scheme", scheme));
    attrs
}

/// Sets `key` to `value`, replacing an attribute of that name (pdata's `PutStr`).
pub(super) fn put(attrs: &mut Vec<KeyValue>, key: &str, value: &str) {
    match attrs.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => *kv = string_kv(key, value),
        None => attrs.push(string_kv(key, value)),
    }
}
