//! Time on a server: the wall clock (`--server`), or the time-skipping test server's clock (`--dev`), for the case driver's waits and the mock activities' delays.
//!
//! With time skipping, the test server holds a lock while an activity attempt runs, so the
//! clock would crawl through a mock's `delay` at the wall clock's pace. A mock activity
//! therefore sleeps on the server's clock ([`TimeSkipping::sleep`] releases one lock — here,
//! in effect, the attempt's — and takes one back when the clock has passed). The lock must be
//! back before the server gives up on the attempt (its start-to-close, heartbeat or
//! schedule-to-close timeout), which releases the attempt's lock itself: a sleep that would
//! reach that deadline stops [`DEADLINE_MARGIN`] before it, and the rest passes in real time.

use std::time::{Duration, Instant};

use crate::runtime::activity::{ActivityContext, ActivityError, ActivityInfo};
use crate::runtime::client::testserver::TimeSkipping;

/// How long before an attempt's deadline a skipping sleep stops (then real time runs out the
/// rest): more than one test-service round trip on a busy machine.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(300);

/// Whose clock the cases run on.
#[derive(Clone)]
pub enum Clock {
    /// The wall clock: a server that does not skip time.
    Real,
    /// The time-skipping test server's clock.
    Skipping(TimeSkipping),
}

/// When a case's run started, by both clocks.
#[derive(Debug, Clone, Copy)]
pub struct Started {
    /// The server's clock, epoch milliseconds (its history's start event).
    pub server_ms: i64,
    /// This process's clock, just after the start returned.
    pub local: Instant,
}

impl Clock {
    pub fn skips_time(&self) -> bool {
        matches!(self, Clock::Skipping(_))
    }

    /// Waits until `offset_ms` after the run started, by the clock the run sees.
    pub async fn wait_until(&self, started: &Started, offset_ms: u64) -> Result<(), String> {
        match self {
            Clock::Real => {
                let due = started.local + Duration::from_millis(offset_ms);
                tokio::time::sleep_until(due.into()).await;
                Ok(())
            }
            Clock::Skipping(clock) => {
                let now = clock.now_ms().await?;
                let due = started.server_ms.saturating_add_unsigned(offset_ms);
                match u64::try_from(due - now) {
                    Ok(ms) if ms > 0 => clock.sleep(Duration::from_millis(ms)).await,
                    _ => Ok(()),
                }
            }
        }
    }

    /// Runs `wait` (which must end by itself: give it a limit) while the server's clock may
    /// skip ahead to whatever the run waits for.
    pub async fn while_waiting<T>(&self, wait: impl Future<Output = T>) -> Result<T, String> {
        match self {
            Clock::Real => Ok(wait.await),
            Clock::Skipping(clock) => clock.unlocked(wait).await,
        }
    }

    /// A mock activity's `delay`: Ok once it has passed, the cancellation error if the
    /// attempt is cancelled first (worker shutdown).
    pub async fn activity_delay(
        &self,
        ctx: &ActivityContext,
        delay: Duration,
    ) -> Result<(), ActivityError> {
        let skipped = match self {
            Clock::Real => Duration::ZERO,
            Clock::Skipping(clock) => {
                let skippable = match before_deadline(clock, ctx.info()).await {
                    Some(limit) => delay.min(limit),
                    None => Duration::ZERO,
                };
                if !skippable.is_zero() {
                    tokio::select! {
                        slept = clock.sleep(skippable) => {
                            if let Err(e) = slept {
                                tracing::warn!("mock activity delay: {e}; waiting in real time");
                                Duration::ZERO
                            } else {
                                skippable
                            }
                        }
                        _ = ctx.cancelled() => return Err(ActivityError::cancelled()),
                    }
                } else {
                    Duration::ZERO
                }
            }
        };
        let rest = delay.saturating_sub(skipped);
        if rest.is_zero() {
            return Ok(());
        }
        tokio::select! {
            () = tokio::time::sleep(rest) => Ok(()),
            _ = ctx.cancelled() => Err(ActivityError::cancelled()),
        }
    }

    /// A mock activity that never answers (`timeout: true`): the server's clock is let run
    /// to just before the attempt's deadline, then this waits for the cancellation that ends
    /// the attempt on the worker (the end of the case, or the worker's shutdown).
    pub async fn activity_hang(&self, ctx: &ActivityContext, over: impl Future<Output = ()>) {
        if let Clock::Skipping(clock) = self
            && let Some(limit) = before_deadline(clock, ctx.info()).await
            && !limit.is_zero()
        {
            tokio::select! {
                slept = clock.sleep(limit) => {
                    if let Err(e) = slept {
                        tracing::warn!("hanging mock activity: {e}");
                    }
                }
                _ = ctx.cancelled() => return,
            }
        }
        tokio::select! {
            _ = ctx.cancelled() => {}
            () = over => {}
        }
    }
}

/// How far the server's clock may skip before this attempt's deadline, less the margin;
/// None when the deadline or the server's clock is unknown (then nothing is skipped).
async fn before_deadline(clock: &TimeSkipping, info: &ActivityInfo) -> Option<Duration> {
    let deadline = deadline_ms(info)?;
    let now = clock.now_ms().await.ok()?;
    Some(skippable(deadline, now))
}

/// When the server gives up on this attempt (epoch ms, its clock): the first of its
/// start-to-close and heartbeat timeouts (a mock never heartbeats) from its start, and the
/// activity's schedule-to-close timeout from its first schedule.
fn deadline_ms(info: &ActivityInfo) -> Option<i64> {
    // A zero timeout is an unset one.
    let ms = |d: Option<Duration>| {
        d.filter(|d| !d.is_zero())
            .and_then(|d| i64::try_from(d.as_millis()).ok())
    };
    let started = info.started_ms?;
    [
        ms(info.start_to_close_timeout).map(|t| started.saturating_add(t)),
        ms(info.heartbeat_timeout).map(|t| started.saturating_add(t)),
        ms(info.schedule_to_close_timeout)
            .zip(info.scheduled_ms)
            .map(|(t, s)| s.saturating_add(t)),
    ]
    .into_iter()
    .flatten()
    .min()
}

/// From `now` to [`DEADLINE_MARGIN`] before `deadline`; zero when that is past.
fn skippable(deadline: i64, now: i64) -> Duration {
    let margin = i64::try_from(DEADLINE_MARGIN.as_millis()).unwrap_or(i64::MAX);
    let left = deadline.saturating_sub(now).saturating_sub(margin);
    Duration::from_millis(u64::try_from(left).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> ActivityInfo {
        ActivityInfo {
            scheduled_ms: Some(1_000),
            started_ms: Some(5_000),
            start_to_close_timeout: Some(Duration::from_secs(60)),
            heartbeat_timeout: Some(Duration::ZERO),
            ..ActivityInfo::default()
        }
    }

    #[test]
    fn the_deadline_is_the_first_timeout_to_fire() {
        assert_eq!(deadline_ms(&info()), Some(65_000), "zero heartbeat = none");
        let heartbeat = ActivityInfo {
            heartbeat_timeout: Some(Duration::from_secs(10)),
            ..info()
        };
        assert_eq!(deadline_ms(&heartbeat), Some(15_000));
        let schedule = ActivityInfo {
            schedule_to_close_timeout: Some(Duration::from_secs(30)),
            ..info()
        };
        assert_eq!(deadline_ms(&schedule), Some(31_000));
        let unknown = ActivityInfo {
            started_ms: None,
            ..info()
        };
        assert_eq!(deadline_ms(&unknown), None);
    }

    #[test]
    fn skipping_stops_a_margin_before_the_deadline() {
        assert_eq!(
            skippable(65_000, 5_000),
            Duration::from_millis(60_000) - DEADLINE_MARGIN
        );
        assert_eq!(skippable(65_000, 64_900), Duration::ZERO);
        assert_eq!(skippable(65_000, 70_000), Duration::ZERO);
    }
}
