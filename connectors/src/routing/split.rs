//! Deciding where each item of an encoded batch goes and cutting the batch into one request
//! per group of pipelines that get the same items, without decoding it: the first pass
//! ([`Decide`]) notes each item's pipelines as a bit mask, the later ones ([`Pick`]) keep the
//! items of one group. A group that gets every item gets the batch as it came.

use std::sync::Mutex;

use weir_core::batch::select::{ItemKind, ItemView, Selector, select};
use weir_core::batch::{Batch, Signal};
use weir_processors::error_mode::{ErrorMode, ErrorPolicy};

use super::table::{Table, When, takes};
use weir_ottl::Context;

/// The first pass: every item's pipelines.
pub(super) struct Decide<'a> {
    pub(super) table: &'a Table,
    /// Per route, its answer for the whole batch (`request` routes), else `None`.
    pub(super) request: Vec<Option<bool>>,
    /// Per route, the pipelines it names as bits of the outputs' positions.
    pub(super) route_masks: &'a [u64],
    pub(super) default_mask: u64,
    pub(super) policy: &'a Mutex<ErrorPolicy>,
    /// Each item's pipelines, in request order.
    pub(super) masks: Vec<u64>,
    /// Under `propagate`, the first failure: the batch is refused.
    pub(super) failed: Option<String>,
    /// Per route deciding on the resource or the metric: the last one's bytes and answer.
    memo: Vec<Option<(usize, bool)>>,
    /// The metric whose points are being shown, and the next one's index.
    parent: usize,
    index: usize,
}

impl<'a> Decide<'a> {
    pub(super) fn new(
        table: &'a Table,
        request: Vec<Option<bool>>,
        route_masks: &'a [u64],
        default_mask: u64,
        policy: &'a Mutex<ErrorPolicy>,
    ) -> Self {
        Decide {
            memo: vec![None; table.routes.len()],
            table,
            request,
            route_masks,
            default_mask,
            policy,
            masks: Vec::new(),
            failed: None,
            parent: 0,
            index: 0,
        }
    }

    /// What route `r` says of `view`: remembered per resource (or metric) for routes decided
    /// there, since every item under it gets the same answer.
    fn answer(&mut self, r: usize, view: &ItemView<'_>, index: usize) -> Result<bool, String> {
        let route = &self.table.routes[r];
        let shared = match &route.when {
            When::Record(c) if c.context() == Context::Resource => Some(view.resource),
            When::Record(c) if c.context() == Context::Metric && !view.metric.is_empty() => {
                Some(view.metric)
            }
            _ => None,
        };
        let key = shared.map(|bytes| bytes.as_ptr() as usize);
        if let (Some(key), Some((at, answer))) = (key, self.memo[r])
            && at == key
        {
            return Ok(answer);
        }
        let answer = takes(route, view, index)?;
        if let Some(key) = key {
            self.memo[r] = Some((key, answer));
        }
        Ok(answer)
    }
}

impl Decide<'_> {
    /// The pipelines of an item (`None`: the batch as a whole, when every route is a
    /// `request` one); `None` back when the batch is refused.
    fn route(&mut self, item: Option<&ItemView<'_>>, index: usize) -> Option<u64> {
        let (mut mask, mut taken) = (0, false);
        for r in 0..self.table.routes.len() {
            let answer = match (self.request[r], item) {
                (Some(answer), _) => Ok(answer),
                (None, Some(view)) => self.answer(r, view, index),
                (None, None) => Ok(false),
            };
            let took = match answer {
                Ok(true) => self.route_masks[r],
                Ok(false) => continue,
                Err(e) => {
                    let mut policy = self.policy.lock().unwrap_or_else(|p| p.into_inner());
                    if policy.mode() == ErrorMode::Propagate {
                        self.failed = Some(e);
                        return None;
                    }
                    policy.failed(&e, &"routed to default_pipelines");
                    self.default_mask
                }
            };
            mask |= took;
            taken = true;
            if self.table.match_once {
                break;
            }
        }
        Some(if taken { mask } else { self.default_mask })
    }

    /// Decides the batch as a whole (every route is a `request` one).
    pub(super) fn decide_batch(&mut self) {
        if let Some(mask) = self.route(None, 0) {
            self.masks.push(mask);
        }
    }
}

impl Selector for Decide<'_> {
    fn keep(&mut self, item: &ItemView<'_>) -> bool {
        if self.failed.is_some() {
            return true;
        }
        let index = match item.kind {
            ItemKind::Span | ItemKind::Log | ItemKind::Metric => 0,
            _ => {
                let at = item.metric.as_ptr() as usize;
                if self.parent != at {
                    self.parent = at;
                    self.index = 0;
                }
                self.index += 1;
                self.index - 1
            }
        };
        if let Some(mask) = self.route(Some(item), index) {
            self.masks.push(mask);
        }
        true
    }
}

/// A later pass: keeps the items whose pipelines are one of `wanted`.
struct Pick<'a> {
    masks: &'a [u64],
    wanted: &'a [u64],
    at: usize,
}

impl Selector for Pick<'_> {
    fn keep(&mut self, _item: &ItemView<'_>) -> bool {
        let mask = self.masks.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        self.wanted.contains(&mask)
    }
}

/// Pipelines (bit positions) that get the same items, and those items' masks.
pub(super) struct Group {
    pub(super) pipelines: Vec<usize>,
    pub(super) masks: Vec<u64>,
}

/// Groups the pipelines of `masks` by the items they get.
pub(super) fn groups(masks: &[u64], width: usize) -> Vec<Group> {
    let mut distinct: Vec<u64> = masks.iter().copied().filter(|m| *m != 0).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let mut out: Vec<Group> = Vec::new();
    for p in 0..width {
        let has: Vec<u64> = distinct
            .iter()
            .copied()
            .filter(|m| m & (1 << p) != 0)
            .collect();
        if has.is_empty() {
            continue;
        }
        match out.iter_mut().find(|g| g.masks == has) {
            Some(g) => g.pipelines.push(p),
            None => out.push(Group {
                pipelines: vec![p],
                masks: has,
            }),
        }
    }
    out
}

/// The batch of `group`'s items: `batch` itself when they are all of it.
pub(super) fn cut(batch: &Batch, masks: &[u64], group: &Group) -> Result<Batch, String> {
    if masks.iter().all(|m| group.masks.contains(m)) {
        return Ok(batch.clone());
    }
    let signal: Signal = batch.signal();
    let bytes = batch.to_bytes();
    let mut pick = Pick {
        masks,
        wanted: &group.masks,
        at: 0,
    };
    let selected = select(signal, &bytes, &mut pick).map_err(|e| e.to_string())?;
    let request = selected.request.ok_or("a routed batch lost no items")?;
    Batch::from_encoded(signal, request.into(), batch.meta().clone()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pipelines_that_get_the_same_items_share_one_group() {
        // Items: to {0,1}, to {0,1}, to {2}, to none.
        let masks = [0b011, 0b011, 0b100, 0];
        let g = groups(&masks, 3);
        assert_eq!(g.len(), 2);
        assert_eq!(
            (g[0].pipelines.as_slice(), g[0].masks.as_slice()),
            (&[0, 1][..], &[0b011][..])
        );
        assert_eq!(
            (g[1].pipelines.as_slice(), g[1].masks.as_slice()),
            (&[2][..], &[0b100][..])
        );
    }

    #[test]
    fn a_pipeline_of_several_masks_gets_all_their_items() {
        // match_once: false: item 0 to {0,1}, item 1 to {0}.
        let g = groups(&[0b11, 0b01], 2);
        assert_eq!(g[0].pipelines, [0]);
        assert_eq!(g[0].masks, [0b01, 0b11]);
        assert_eq!(g[1].pipelines, [1]);
        assert_eq!(g[1].masks, [0b11]);
    }
}
