//! Target groups from `static_configs` and `file_sd_configs`. A file_sd file is a list of
//! `{targets: [...], labels: {...}}` in JSON or YAML; it is reread when its modification time
//! or size changes (looked at every second) and every `refresh_interval` regardless. A file
//! that cannot be read or parsed keeps the groups it gave last, as Prometheus keeps them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use serde::Deserialize;
use weir_prom::relabel::Labels;

use super::config::{FileSdConfig, StaticConfig};

/// One group: targets (each at least `__address__`) and the labels they share.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Group {
    pub targets: Vec<Labels>,
    pub labels: Labels,
}

pub(crate) fn is_sd_file_name(path: &str) -> bool {
    [".json", ".yml", ".yaml"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

pub(crate) fn static_groups(configs: &[StaticConfig]) -> Vec<Group> {
    configs
        .iter()
        .map(|c| Group {
            targets: c
                .targets
                .iter()
                .map(|t| vec![("__address__".to_string(), t.clone())])
                .collect(),
            labels: c
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Parses one file_sd file; each group gets `__meta_filepath`.
pub(crate) fn parse_file(path: &Path, text: &str) -> Result<Vec<Group>, String> {
    let value = if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str::<serde_json::Value>(text).map_err(|e| e.to_string())?
    } else {
        yaml_to_json(text)?
    };
    let groups: Vec<FileGroup> = match value {
        serde_json::Value::Null => Vec::new(),
        value => serde_json::from_value(value).map_err(|e| e.to_string())?,
    };
    let file = path.display().to_string();
    groups
        .into_iter()
        .map(|g| {
            for name in g.labels.keys() {
                if !weir_prom::relabel::is_valid_label_name(name) {
                    return Err(format!("`{name}` is not a valid label name"));
                }
            }
            let mut labels: Labels = g.labels.into_iter().collect();
            labels.push(("__meta_filepath".to_string(), file.clone()));
            Ok(Group {
                targets: g
                    .targets
                    .into_iter()
                    .map(|t| vec![("__address__".to_string(), t)])
                    .collect(),
                labels,
            })
        })
        .collect()
}

fn yaml_to_json(text: &str) -> Result<serde_json::Value, String> {
    use yaml_rust2::{Yaml, YamlLoader};
    fn convert(y: &Yaml) -> Result<serde_json::Value, String> {
        Ok(match y {
            Yaml::Null | Yaml::BadValue => serde_json::Value::Null,
            Yaml::Boolean(b) => serde_json::Value::Bool(*b),
            Yaml::Integer(i) => serde_json::Value::String(i.to_string()),
            Yaml::Real(r) | Yaml::String(r) => serde_json::Value::String(r.clone()),
            Yaml::Array(items) => {
                serde_json::Value::Array(items.iter().map(convert).collect::<Result<_, _>>()?)
            }
            Yaml::Hash(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    let key = match k {
                        Yaml::String(s) | Yaml::Real(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        _ => return Err("a mapping key is not a string".to_string()),
                    };
                    out.insert(key, convert(v)?);
                }
                serde_json::Value::Object(out)
            }
            Yaml::Alias(_) => return Err("YAML aliases are not supported here".to_string()),
        })
    }
    let docs = YamlLoader::load_from_str(text).map_err(|e| e.to_string())?;
    match docs.first() {
        None => Ok(serde_json::Value::Null),
        Some(doc) => convert(doc),
    }
}

/// The files one pattern names now: the pattern itself, or the matches of a glob in its last
/// element.
fn expand(pattern: &str) -> Vec<PathBuf> {
    let path = Path::new(pattern);
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return Vec::new();
    };
    if !name.contains(['*', '?', '[']) {
        return vec![path.to_path_buf()];
    }
    let Ok(glob) = globset::Glob::new(name) else {
        return Vec::new();
    };
    let matcher = glob.compile_matcher();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| matcher.is_match(e.file_name()))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// One file_sd config's files and what each gave last.
pub(crate) struct FileSd {
    config: FileSdConfig,
    files: BTreeMap<PathBuf, (Stamp, Vec<Group>)>,
    last_full_read: Option<Instant>,
}

/// What went wrong reading one file (the caller logs and counts it).
#[derive(Debug)]
pub(crate) struct FileSdError {
    pub path: PathBuf,
    pub reason: String,
}

impl FileSd {
    pub(crate) fn new(config: FileSdConfig) -> FileSd {
        FileSd {
            config,
            files: BTreeMap::new(),
            last_full_read: None,
        }
    }

    /// Rereads what changed (everything once `refresh_interval` passed); whether the groups
    /// changed, and the files that failed.
    pub(crate) fn poll(&mut self, now: Instant) -> (bool, Vec<FileSdError>) {
        let refresh = self.config.refresh_interval.0;
        let full = self
            .last_full_read
            .is_none_or(|t| now.duration_since(t) >= refresh);
        if full {
            self.last_full_read = Some(now);
        }
        let mut present: Vec<PathBuf> = self.config.files.iter().flat_map(|p| expand(p)).collect();
        present.dedup();
        let mut changed = false;
        let mut errors = Vec::new();
        let before = self.files.len();
        self.files.retain(|p, _| present.contains(p));
        changed |= self.files.len() != before;
        for path in present {
            let now_stamp = stamp(&path);
            let known = self.files.get(&path);
            if !full && known.is_some_and(|(s, _)| *s == now_stamp) {
                continue;
            }
            let read = std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|text| parse_file(&path, &text));
            match read {
                Ok(groups) => {
                    if known.is_none_or(|(_, g)| *g != groups) {
                        changed = true;
                    }
                    self.files.insert(path, (now_stamp, groups));
                }
                Err(reason) => {
                    // Keep what it gave last; remember the stamp so a broken file is not
                    // reread (and logged) every second.
                    let groups = known.map(|(_, g)| g.clone()).unwrap_or_default();
                    if known.is_none_or(|(s, _)| *s != now_stamp) {
                        errors.push(FileSdError {
                            path: path.clone(),
                            reason,
                        });
                    }
                    self.files.insert(path, (now_stamp, groups));
                }
            }
        }
        (changed, errors)
    }

    pub(crate) fn groups(&self) -> impl Iterator<Item = &Group> {
        self.files.values().flat_map(|(_, g)| g.iter())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn json_and_yaml_files_give_groups_with_their_path() {
        let json = r#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}]"#;
        let groups = parse_file(Path::new("/sd/t.json"), json).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(
            groups[0].targets[1],
            vec![("__address__".to_string(), "b:2".to_string())]
        );
        assert!(groups[0].labels.contains(&("env".into(), "prod".into())));
        assert!(
            groups[0]
                .labels
                .contains(&("__meta_filepath".into(), "/sd/t.json".into()))
        );
        let yaml = "- targets: ['c:3']\n  labels:\n    port: 9100\n";
        let groups = parse_file(Path::new("t.yml"), yaml).unwrap();
        assert_eq!(groups[0].targets[0][0].1, "c:3");
        assert!(groups[0].labels.contains(&("port".into(), "9100".into())));
        assert!(parse_file(Path::new("t.json"), "[{\"target\": []}]").is_err());
        assert!(parse_file(Path::new("t.yml"), "- labels: {\"a-b\": x}\n").is_err());
        assert_eq!(parse_file(Path::new("t.yml"), "").unwrap(), vec![]);
    }

    #[test]
    fn a_changed_file_is_reread_and_a_broken_one_keeps_its_last_groups() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("targets.json");
        std::fs::write(&file, r#"[{"targets": ["a:1"]}]"#).unwrap();
        let mut sd = FileSd::new(FileSdConfig {
            files: vec![dir.path().join("*.json").display().to_string()],
            ..FileSdConfig::default()
        });
        let t0 = Instant::now();
        let (changed, errors) = sd.poll(t0);
        assert!(changed && errors.is_empty());
        assert_eq!(sd.groups().count(), 1);
        // Same stamp: not reread.
        assert!(!sd.poll(t0 + Duration::from_secs(1)).0);
        std::fs::write(
            &file,
            r#"[{"targets": ["a:1", "b:2"]}, {"targets": ["c:3"]}]"#,
        )
        .unwrap();
        let (changed, _) = sd.poll(t0 + Duration::from_secs(2));
        assert!(changed);
        assert_eq!(sd.groups().count(), 2);
        std::fs::write(&file, "[{not json").unwrap();
        let (changed, errors) = sd.poll(t0 + Duration::from_secs(3));
        assert!(!changed);
        assert_eq!(errors.len(), 1);
        assert_eq!(
            sd.groups().count(),
            2,
            "a broken file keeps its last groups"
        );
        // Not logged again while it stays the same.
        assert!(sd.poll(t0 + Duration::from_secs(4)).1.is_empty());
        std::fs::remove_file(&file).unwrap();
        assert!(sd.poll(t0 + Duration::from_secs(5)).0);
        assert_eq!(sd.groups().count(), 0);
    }
}
