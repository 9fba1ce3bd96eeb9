//! Concurrent strands (`parallel` branches, `foreach` bodies) polled deterministically.
//!
//! Each child has its own waker that records the event ordinal of its wake-up; a pass polls
//! only woken children, earliest wake first (index breaks ties), so the first failure seen is
//! the first in history order, and a 1,000-item fan-out costs per activation only what was
//! woken. A failure (or `return`) drops the other children, which cancels their operations.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use serde_json::Value as Json;

use super::failure::Fault;

/// A step's future: its result, or why it stopped.
pub type StepFut<'a> = Pin<Box<dyn Future<Output = Result<Json, Fault>> + Send + 'a>>;

/// Makes the `i`-th child when the group starts it.
pub type Factory<'a> = Box<dyn FnMut(usize) -> StepFut<'a> + Send + 'a>;

/// How a group ended.
pub enum GroupDone {
    /// Every child's result, in child order.
    All(Vec<Json>),
    /// `race`: the first child to finish and its result.
    Winner(usize, Json),
    /// The hold check fired and every started child finished: children `0..started` are
    /// done (results in child order), the rest never started.
    Held { started: usize, results: Vec<Json> },
}

struct ReadyQueue {
    /// Woken children: index → ordinal of the earliest wake since the last pass.
    ready: Mutex<BTreeMap<usize, u64>>,
    parent: Mutex<Option<Waker>>,
    clock: Arc<AtomicU64>,
}

struct ChildWake {
    index: usize,
    queue: Arc<ReadyQueue>,
}

impl Wake for ChildWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let ordinal = self.queue.clock.load(Ordering::Relaxed);
        {
            let mut ready = self.queue.ready.lock().unwrap_or_else(|e| e.into_inner());
            let entry = ready.entry(self.index).or_insert(ordinal);
            *entry = (*entry).min(ordinal);
        }
        let parent = self.queue.parent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(parent) = parent.as_ref() {
            parent.wake_by_ref();
        }
    }
}

/// Children run with at most `limit` in flight, started in index order.
pub struct Group<'a> {
    factory: Factory<'a>,
    total: usize,
    limit: usize,
    race: bool,
    started: usize,
    finished: usize,
    children: Vec<Option<(StepFut<'a>, Waker)>>,
    results: Vec<Json>,
    queue: Arc<ReadyQueue>,
    /// Asked before each start: once it says so, no new child starts, and the group ends
    /// `Held` when the in-flight ones are done (continue-as-new drains a `foreach` first).
    hold_check: Option<Box<dyn FnMut() -> bool + Send + 'a>>,
    hold: bool,
}

impl<'a> Group<'a> {
    pub fn new(
        clock: Arc<AtomicU64>,
        total: usize,
        limit: usize,
        race: bool,
        factory: Factory<'a>,
    ) -> Group<'a> {
        Group {
            factory,
            total,
            limit: limit.max(1),
            race,
            started: 0,
            finished: 0,
            children: Vec::with_capacity(total.min(1024)),
            results: vec![Json::Null; total],
            queue: Arc::new(ReadyQueue {
                ready: Mutex::new(BTreeMap::new()),
                parent: Mutex::new(None),
                clock,
            }),
            hold_check: None,
            hold: false,
        }
    }

    /// Installs the hold check (see [`GroupDone::Held`]).
    pub fn with_hold_check(mut self, check: Box<dyn FnMut() -> bool + Send + 'a>) -> Self {
        self.hold_check = Some(check);
        self
    }

    fn in_flight(&self) -> usize {
        self.started - self.finished
    }

    fn start_children(&mut self) {
        while self.started < self.total && self.in_flight() < self.limit {
            // Asked between children only: a resumed run always makes progress first.
            if !self.hold
                && self.started > 0
                && let Some(check) = self.hold_check.as_mut()
            {
                self.hold = check();
            }
            if self.hold {
                break;
            }
            let index = self.started;
            let fut = (self.factory)(index);
            let waker = Waker::from(Arc::new(ChildWake {
                index,
                queue: self.queue.clone(),
            }));
            self.children.push(Some((fut, waker)));
            self.started += 1;
            let ordinal = self.queue.clock.load(Ordering::Relaxed);
            self.queue
                .ready
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(index, ordinal);
        }
    }

    /// Drops every running child, in index order (their operations are cancelled).
    fn cancel_all(&mut self) {
        for child in self.children.iter_mut() {
            *child = None;
        }
    }
}

impl Future for Group<'_> {
    type Output = Result<GroupDone, Fault>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        {
            let mut parent = this.queue.parent.lock().unwrap_or_else(|e| e.into_inner());
            if !parent.as_ref().is_some_and(|p| p.will_wake(cx.waker())) {
                *parent = Some(cx.waker().clone());
            }
        }
        loop {
            this.start_children();
            let batch: Vec<(u64, usize)> = {
                let mut ready = this.queue.ready.lock().unwrap_or_else(|e| e.into_inner());
                let mut batch: Vec<(u64, usize)> = std::mem::take(&mut *ready)
                    .into_iter()
                    .map(|(i, o)| (o, i))
                    .collect();
                batch.sort_unstable();
                batch
            };
            if batch.is_empty() {
                break;
            }
            for (_, index) in batch {
                let Some(Some((fut, waker))) = this.children.get_mut(index) else {
                    continue;
                };
                let waker = waker.clone();
                let polled = fut.as_mut().poll(&mut Context::from_waker(&waker));
                match polled {
                    Poll::Pending => {}
                    Poll::Ready(Ok(value)) => {
                        this.children[index] = None;
                        this.finished += 1;
                        if this.race {
                            this.cancel_all();
                            return Poll::Ready(Ok(GroupDone::Winner(index, value)));
                        }
                        this.results[index] = value;
                    }
                    Poll::Ready(Err(fault)) => {
                        this.children[index] = None;
                        this.finished += 1;
                        this.cancel_all();
                        return Poll::Ready(Err(fault));
                    }
                }
            }
        }
        if this.finished == this.total {
            return Poll::Ready(Ok(GroupDone::All(std::mem::take(&mut this.results))));
        }
        if this.hold && this.in_flight() == 0 {
            let mut results = std::mem::take(&mut this.results);
            results.truncate(this.started);
            return Poll::Ready(Ok(GroupDone::Held {
                started: this.started,
                results,
            }));
        }
        Poll::Pending
    }
}
