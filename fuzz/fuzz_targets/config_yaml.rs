//! The config loader never panics on any text: every input is a config or a list of errors.
//!
//! Input: YAML text, optionally followed by a NUL byte and `--set key=value` lines, loaded
//! against the registry of every built-in component.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use weir_core::component::Registry;
use weir_core::config::{self, Source};

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(weir::registry)
}

fuzz_target!(|data: &[u8]| {
    let (yaml, sets) = match data.iter().position(|&b| b == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(yaml) else {
        return;
    };
    let sets: Vec<String> = String::from_utf8_lossy(sets)
        .lines()
        .take(4)
        .map(str::to_owned)
        .collect();
    let source = Source::Yaml {
        name: "fuzz.yaml".into(),
        text: text.into(),
    };
    if let Err(errors) = config::load(&[source], &sets, registry()) {
        // Rendering the errors walks their locations and hints: part of what a user sees.
        let _ = errors.to_string();
    }
});
