//! A target's resource as current otelcol's `CreateResource` builds it (`net.host.name`,
//! `net.host.port` and `http.scheme` are gone since a gate from v0.101.0): `service.name` = job,
//! `service.instance.id` = instance, `server.address` / `server.port` from the instance (the
//! address only when it names a host other than a loopback or unspecified one), `url.scheme`.
//! Kubernetes discovery's pod, container, namespace, node and controller come next (when the
//! receiver hands them over with [`super::Converter::set_discovered_labels`]), and
//! `target_info` labels on top. `job` is not split into `service.namespace`:
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

/// The resource attributes otelcol's `addKubernetesResource` takes from Kubernetes service
/// discovery's `__meta_kubernetes_*` labels.
pub(super) fn kubernetes_attributes(discovered: &[(&str, &str)]) -> Vec<KeyValue> {
    let get = |name: &str| {
        discovered
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| *v)
    };
    let mut attrs: Vec<KeyValue> = Vec::new();
    for (label, key) in [
        ("__meta_kubernetes_pod_name", "k8s.pod.name"),
        ("__meta_kubernetes_pod_uid", "k8s.pod.uid"),
        ("__meta_kubernetes_pod_container_name", "k8s.container.name"),
        ("__meta_kubernetes_namespace", "k8s.namespace.name"),
        // Only one of the node name labels is present.
        ("__meta_kubernetes_pod_node_name", "k8s.node.name"),
        ("__meta_kubernetes_node_name", "k8s.node.name"),
        ("__meta_kubernetes_endpoint_node_name", "k8s.node.name"),
    ] {
        let value = get(label);
        if !value.is_empty() {
            put(&mut attrs, key, value);
        }
    }
    let name = get("__meta_kubernetes_pod_controller_name");
    let key = match get("__meta_kubernetes_pod_controller_kind") {
        "ReplicaSet" => Some("k8s.replicaset.name"),
        "DaemonSet" => Some("k8s.daemonset.name"),
        "StatefulSet" => Some("k8s.statefulset.name"),
        "Job" => Some("k8s.job.name"),
        "CronJob" => Some("k8s.cronjob.name"),
        _ => None,
    };
    if let Some(key) = key
        && !name.is_empty()
    {
        put(&mut attrs, key, name);
    }
    attrs
}

/// Sets `key` to `value`, replacing an attribute of that name (pdata's `PutStr`).
pub(super) fn put(attrs: &mut Vec<KeyValue>, key: &str, value: &str) {
    match attrs.iter_mut().find(|kv| kv.key == key) {
        Some(kv) => *kv = string_kv(key, value),
        None => attrs.push(string_kv(key, value)),
    }
}
