//! Counters plugins keep through the host's `counter_add`, per instance, kept for the life of
//! the process and readable by Weir's own telemetry through [`super::counters`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::component::ComponentId;

/// One instance's counters, by name.
#[derive(Debug, Default)]
pub(crate) struct CounterSet {
    values: Mutex<BTreeMap<String, u64>>,
}

/// One counter's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginCounter {
    /// The plugin component type (`redact`).
    pub plugin: String,
    /// The name of the library that provides it (`weir-plugin-redact`).
    pub library: String,
    /// The component id of the instance that counts.
    pub component: String,
    /// The counter's name as the plugin gave it (non-name characters replaced by `_`).
    pub name: String,
    /// Its value.
    pub value: u64,
}

/// Who counts: plugin type, library name, component id.
type Owner = (String, String, String);

/// Every instance's counters, with who counts.
type Registered = Mutex<Vec<(Owner, Arc<CounterSet>)>>;

fn all() -> &'static Registered {
    static ALL: OnceLock<Registered> = OnceLock::new();
    ALL.get_or_init(Default::default)
}

impl CounterSet {
    /// A set for a new instance of `id` (of type `plugin` from library `library`), registered
    /// for telemetry.
    pub(crate) fn register(id: &ComponentId, plugin: &str, library: &str) -> Arc<CounterSet> {
        let set = Arc::new(CounterSet::default());
        all().lock().unwrap_or_else(|e| e.into_inner()).push((
            (plugin.to_string(), library.to_string(), id.to_string()),
            set.clone(),
        ));
        set
    }

    pub(crate) fn add(&self, name: &str, value: u64) {
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let mut values = self.values.lock().unwrap_or_else(|e| e.into_inner());
        let slot = values.entry(name).or_default();
        *slot = slot.saturating_add(value);
    }
}

/// Every plugin counter, summed per component id and name (a processor listed in several
/// pipelines has one instance per pipeline), sorted by name, then plugin, library, component.
pub fn counters() -> Vec<PluginCounter> {
    let mut sums: BTreeMap<(String, Owner), u64> = BTreeMap::new();
    for (owner, set) in all().lock().unwrap_or_else(|e| e.into_inner()).iter() {
        for (name, value) in set.values.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let sum = sums.entry((name.clone(), owner.clone())).or_default();
            *sum = sum.saturating_add(*value);
        }
    }
    sums.into_iter()
        .map(
            |((name, (plugin, library, component)), value)| PluginCounter {
                plugin,
                library,
                component,
                name,
                value,
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_summed_per_component_and_name_with_their_owner() {
        // Process-wide registry: ids unique to this test keep others' counters out of the way.
        let id: ComponentId = "count_test/a".parse().unwrap();
        let first = CounterSet::register(&id, "count_test", "libcount");
        let second = CounterSet::register(&id, "count_test", "libcount");
        first.add("dropped spans", 2);
        second.add("dropped spans", 3);
        second.add("kept", u64::MAX);
        second.add("kept", 1);
        let mine: Vec<PluginCounter> = counters()
            .into_iter()
            .filter(|c| c.component == "count_test/a")
            .collect();
        let expected = |name: &str, value| PluginCounter {
            plugin: "count_test".into(),
            library: "libcount".into(),
            component: "count_test/a".into(),
            name: name.into(),
            value,
        };
        assert_eq!(
            mine,
            vec![expected("dropped_spans", 5), expected("kept", u64::MAX)]
        );
    }
}
