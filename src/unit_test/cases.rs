//! The cases file of `weir test`, YAML (or JSON):
//!
//! ```yaml
//! tests:
//!   - name: health checks are dropped
//!     pipeline: traces                 # whose processors run, in order
//!     input: {resourceSpans: [...]}    # OTLP JSON, inline; or input_file: health.json
//!     expect:
//!       count: 1                       # items that come out
//!       all: ['name != "GET /health"'] # OTTL, true for every item out
//!       any: ['kind == SPAN_KIND_SERVER']  # true for at least one
//!       none: ['attributes["password"] != nil']  # true for none
//! ```

use std::path::Path;

use serde::Deserialize;
use weir_ottl::{Condition, Context};

use super::Compiled;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    tests: Vec<Case>,
}

/// One case.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Printed with its result.
    pub name: String,
    /// The pipeline (`traces`, `logs/2`) whose processors the input goes through.
    pub pipeline: String,
    /// OTLP JSON: a mapping, or a string holding it.
    #[serde(default)]
    input: Option<serde_json::Value>,
    /// A file of OTLP JSON, relative to the cases file.
    #[serde(default)]
    input_file: Option<String>,
    /// What must come out.
    #[serde(default)]
    pub expect: Expect,
}

/// The checks of one case.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// How many items come out.
    #[serde(default)]
    count: Option<usize>,
    /// Conditions every item out meets.
    #[serde(default)]
    all: Vec<String>,
    /// Conditions at least one item out meets.
    #[serde(default)]
    any: Vec<String>,
    /// Conditions no item out meets.
    #[serde(default)]
    none: Vec<String>,
}

/// The cases of `path`, or what is wrong with the file (with line and column for YAML
/// syntax).
pub fn load_cases(path: &Path) -> Result<Vec<Case>, Vec<String>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| vec![format!("{name}: {e}")])?;
    let json = weir_core::config::yaml_to_json(&name, &text)
        .map_err(|errors| errors.iter().map(ToString::to_string).collect::<Vec<_>>())?;
    let file: File = serde_path_to_error::deserialize(json).map_err(|e| {
        let at = e.path().to_string();
        vec![format!("{name}: {at}: {}", e.inner())]
    })?;
    let mut problems = Vec::new();
    for (i, case) in file.tests.iter().enumerate() {
        if case.input.is_some() == case.input_file.is_some() {
            problems.push(format!(
                "{name}: tests[{i}] (`{}`): give `input` or `input_file`",
                case.name
            ));
        }
    }
    if problems.is_empty() {
        Ok(file.tests)
    } else {
        Err(problems)
    }
}

impl Case {
    /// The input's JSON bytes.
    pub(super) fn input_bytes(&self, base: &Path) -> Result<Vec<u8>, String> {
        match (&self.input, &self.input_file) {
            (Some(serde_json::Value::String(text)), _) => Ok(text.clone().into_bytes()),
            (Some(value), _) => Ok(value.to_string().into_bytes()),
            (None, Some(file)) => {
                let path = base.join(file);
                std::fs::read(&path).map_err(|e| format!("input_file {}: {e}", path.display()))
            }
            (None, None) => Err("no input".to_string()),
        }
    }
}

impl Expect {
    /// The conditions compiled for `context`, or each one that does not compile.
    pub(super) fn compile(&self, context: Context) -> Result<Compiled, Vec<String>> {
        let mut problems = Vec::new();
        let mut compile = |list: &[String], which: &str| -> Vec<(String, Condition)> {
            list.iter()
                .filter_map(|text| match Condition::compile(text, context) {
                    Ok(c) => Some((text.clone(), c)),
                    Err(e) => {
                        problems.push(format!(
                            "expect.{which}: `{text}` is not a valid OTTL condition: {e}"
                        ));
                        None
                    }
                })
                .collect()
        };
        let compiled = Compiled {
            count: self.count,
            all: compile(&self.all, "all"),
            any: compile(&self.any, "any"),
            none: compile(&self.none, "none"),
        };
        if problems.is_empty() {
            Ok(compiled)
        } else {
            Err(problems)
        }
    }
}
