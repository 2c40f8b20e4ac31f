//! Finding the files to read: the `include` globs walked from their literal directories,
//! `exclude` and `exclude_older_than` applied, symlinks followed with the target kept.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, SystemTime};

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use walkdir::WalkDir;

use crate::config::ConfigError;

/// One matched file as found this poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Found {
    pub path: PathBuf,
    /// The path with every symlink resolved (the path itself when it cannot be resolved).
    pub resolved: PathBuf,
    /// Device and inode, to tell whether a file held open is still among the matched ones.
    pub inode: Option<(u64, u64)>,
}

/// Where to walk for one include glob, and how deep.
#[derive(Debug)]
struct Root {
    base: PathBuf,
    /// `None` when the glob has `**`.
    depth: Option<usize>,
}

pub(crate) struct Finder {
    include: GlobSet,
    exclude: GlobSet,
    roots: Vec<Root>,
    older_than: Option<Duration>,
}

fn glob(pattern: &str) -> Result<Glob, ConfigError> {
    // `*` must not cross `/`, as in otelcol's doublestar globs.
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .map_err(|source| ConfigError::Glob {
            pattern: pattern.to_owned(),
            source,
        })
}

fn is_wild(part: &str) -> bool {
    part.contains(['*', '?', '[', '{'])
}

/// The directories before the first wild component, and how many components follow it.
fn root_of(pattern: &str) -> Root {
    let mut base = PathBuf::new();
    let mut rest = 0;
    let mut wild = false;
    let mut globstar = false;
    for comp in Path::new(pattern).components() {
        let part = comp.as_os_str().to_string_lossy();
        if !wild && !is_wild(&part) {
            base.push(comp);
            continue;
        }
        wild = true;
        globstar |= part.contains("**");
        rest += 1;
    }
    if !wild {
        // A literal path names one file: walk its parent, one level down.
        let parent = match base.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from(Component::CurDir.as_os_str()),
        };
        return Root {
            base: parent,
            depth: Some(1),
        };
    }
    if base.as_os_str().is_empty() {
        base.push(Component::CurDir.as_os_str());
    }
    Root {
        base,
        depth: if globstar { None } else { Some(rest) },
    }
}

impl Finder {
    pub fn new(
        include: &[String],
        exclude: &[String],
        older_than: Option<Duration>,
    ) -> Result<Finder, ConfigError> {
        let mut inc = GlobSetBuilder::new();
        let mut roots = Vec::new();
        for pattern in include {
            inc.add(glob(pattern)?);
            roots.push(root_of(pattern));
        }
        let mut exc = GlobSetBuilder::new();
        for pattern in exclude {
            exc.add(glob(pattern)?);
        }
        let build = |b: GlobSetBuilder| {
            b.build().map_err(|source| ConfigError::Glob {
                pattern: String::new(),
                source,
            })
        };
        Ok(Finder {
            include: build(inc)?,
            exclude: build(exc)?,
            roots,
            older_than,
        })
    }

    /// Every matching regular file, ordered by path, each once.
    pub fn find(&self) -> Vec<Found> {
        let now = SystemTime::now();
        let mut found = BTreeMap::new();
        for root in &self.roots {
            let mut walk = WalkDir::new(&root.base).follow_links(true);
            if let Some(depth) = root.depth {
                walk = walk.max_depth(depth);
            }
            // Unreadable directories and loops are skipped; the files beyond them stay unseen.
            for entry in walk.into_iter().filter_map(Result::ok) {
                if !entry.file_type().is_file() {
                    continue;
                }
                let path = entry.path();
                let shown = path.strip_prefix("./").unwrap_or(path);
                if !self.include.is_match(shown) || self.exclude.is_match(shown) {
                    continue;
                }
                let meta = entry.metadata().ok();
                if let Some(limit) = self.older_than {
                    let modified = meta.as_ref().and_then(|m| m.modified().ok());
                    let age = modified.and_then(|m| now.duration_since(m).ok());
                    if age.is_some_and(|age| age > limit) {
                        continue;
                    }
                }
                if found.contains_key(shown) {
                    continue;
                }
                let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| shown.to_path_buf());
                let inode = meta.map(|m| (m.dev(), m.ino()));
                found.insert(shown.to_path_buf(), (resolved, inode));
            }
        }
        found
            .into_iter()
            .map(|(path, (resolved, inode))| Found {
                path,
                resolved,
                inode,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_glob_walks_from_its_literal_directories() {
        let root = root_of("/var/log/*/app-*.log");
        assert_eq!(root.base, PathBuf::from("/var/log"));
        assert_eq!(root.depth, Some(2));
        let deep = root_of("/var/log/**/x.log");
        assert_eq!(deep.depth, None);
        let literal = root_of("/var/log/a.log");
        assert_eq!(
            (literal.base, literal.depth),
            (PathBuf::from("/var/log"), Some(1))
        );
    }
}
