//! Temporal's retry and timeout arithmetic, as the server applies it to activities and to workflow runs.
//!
//! The rules are documented at <https://docs.temporal.io/encyclopedia/retry-policies> and in
//! the `RetryPolicy` proto; every rule here is the server's (`temporalio/temporal` 1.31),
//! cited where it lives:
//! - Defaults (`common/retrypolicy/retry_policy.go`, `DefaultDefaultRetrySettings` and
//!   `EnsureDefaults`): a missing or zero field takes initial interval 1 s, backoff coefficient
//!   2.0, maximum interval 100 × the initial interval, maximum attempts 0 (unlimited). The
//!   server gives every activity a policy (`command_attr_validator.go`: a nil policy becomes
//!   `{}` before `EnsureDefaults`).
//! - Validation (`retrypolicy.Validate`): a policy of one attempt is valid whatever else it
//!   says; otherwise a coefficient below 1, a maximum interval below the initial one, negative
//!   attempts or an unknown `TemporalTimeout:` type fail the workflow task.
//! - Retryability (`retrypolicy.IsRetryableFailure`): cancelled and terminated failures never
//!   retry; a start-to-close or heartbeat timeout retries unless `TemporalTimeout:StartToClose`
//!   (or `:Heartbeat`) is listed as non-retryable; other timeouts never retry; an application
//!   failure retries unless flagged non-retryable or its type is listed.
//! - The next attempt (`service/history/workflow/retry.go`, `nextBackoffInterval`): after
//!   attempt `n` fails, stop if `max_attempts > 0 && n >= max_attempts`; else wait
//!   `initial × coefficient^(n−1)` (`backoff.ExponentialBackoffAlgorithm`, truncated to whole
//!   nanoseconds — here to whole milliseconds, the virtual clock's resolution), capped at the
//!   maximum interval; stop with `RETRY_STATE_TIMEOUT` if `now + interval` is after the
//!   expiration (schedule time + schedule-to-close for an activity, the execution deadline for
//!   a workflow run). Exactly at the expiration still retries.
//! - Activity timeouts (`chasm/lib/activity/validator.go`, `validateAndNormalizeTimeouts`):
//!   with a schedule-to-close, a missing start-to-close is it and a longer one is cut to it;
//!   with only a start-to-close, schedule-to-close is the run timeout (none without one);
//!   with neither, the workflow task fails. No timeout exceeds the run timeout.

use temporalio_common::protos::temporal::api::common::v1::RetryPolicy as ProtoRetryPolicy;
use temporalio_common::protos::temporal::api::enums::v1::{RetryState, TimeoutType};
use temporalio_common::protos::temporal::api::failure::v1::{Failure, failure::FailureInfo};

/// Default initial interval of the server's retry settings.
pub const DEFAULT_INITIAL_INTERVAL_MS: u64 = 1_000;
/// Default backoff coefficient.
pub const DEFAULT_BACKOFF: f64 = 2.0;
/// Default maximum interval, as a multiple of the initial interval.
pub const DEFAULT_MAX_INTERVAL_FACTOR: u64 = 100;
/// Prefix of the non-retryable "error types" naming timeouts (`TemporalTimeout:StartToClose`).
pub const TIMEOUT_TYPE_PREFIX: &str = "TemporalTimeout:";

/// A retry policy with the server's defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub initial_interval_ms: u64,
    pub backoff: f64,
    pub max_interval_ms: u64,
    /// 0 = unlimited.
    pub max_attempts: u32,
    pub non_retryable: Vec<String>,
}

/// What happens after an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// The next attempt starts this long after the failure.
    Retry { after_ms: u64 },
    /// No more attempts; the failure is final with this retry state.
    Stop(RetryState),
}

impl Policy {
    /// The policy the server applies for `proto` (None: all defaults), or why it rejects it
    /// (a workflow-task failure).
    pub fn effective(proto: Option<&ProtoRetryPolicy>) -> Result<Policy, String> {
        let default = ProtoRetryPolicy::default();
        let p = proto.unwrap_or(&default);
        let max_attempts = u32::try_from(p.maximum_attempts)
            .map_err(|_| "MaximumAttempts cannot be negative on retry policy.".to_owned())?;
        let initial = duration_ms(p.initial_interval.as_ref(), "InitialInterval")?
            .unwrap_or(DEFAULT_INITIAL_INTERVAL_MS);
        let max_interval = duration_ms(p.maximum_interval.as_ref(), "MaximumInterval")?
            .unwrap_or(initial.saturating_mul(DEFAULT_MAX_INTERVAL_FACTOR));
        let backoff = if p.backoff_coefficient == 0.0 {
            DEFAULT_BACKOFF
        } else {
            p.backoff_coefficient
        };
        let policy = Policy {
            initial_interval_ms: initial,
            backoff,
            max_interval_ms: max_interval,
            max_attempts,
            non_retryable: p.non_retryable_error_types.clone(),
        };
        policy.validate()?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), String> {
        // One attempt disables retries: the server checks nothing else.
        if self.max_attempts == 1 {
            return Ok(());
        }
        if self.backoff.is_nan() || self.backoff < 1.0 {
            return Err("BackoffCoefficient cannot be less than 1 on retry policy.".to_owned());
        }
        if self.max_interval_ms < self.initial_interval_ms {
            return Err(
                "MaximumInterval cannot be less than InitialInterval on retry policy.".to_owned(),
            );
        }
        for name in &self.non_retryable {
            if let Some(kind) = name.strip_prefix(TIMEOUT_TYPE_PREFIX)
                && timeout_type_named(kind).is_none()
            {
                return Err(format!("Invalid timeout type value: {kind}."));
            }
        }
        Ok(())
    }

    /// The wait before attempt `attempt + 1` (`attempt` ≥ 1 just failed), uncapped by any
    /// expiration: `initial × coefficient^(attempt−1)`, at most the maximum interval.
    pub fn interval_ms(&self, attempt: u32) -> u64 {
        let exponent = f64::from(attempt.max(1) - 1);
        let ns = self.initial_interval_ms as f64 * 1e6 * self.backoff.powf(exponent);
        // Go converts a float beyond int64 to its maximum; NaN and negatives become 0.
        let ns = if ns.is_nan() || ns <= 0.0 {
            0.0
        } else {
            ns.min(i64::MAX as f64)
        };
        let ms = (ns / 1e6) as u64;
        if ms == 0 || ms > self.max_interval_ms {
            self.max_interval_ms
        } else {
            ms
        }
    }

    /// After attempt `attempt` failed with `failure` at `now_ms`: retry, or stop and why.
    /// `expiration_ms` is when retrying must end (schedule-to-close deadline, execution
    /// deadline), if anything bounds it.
    pub fn next(
        &self,
        attempt: u32,
        now_ms: u64,
        expiration_ms: Option<u64>,
        failure: &Failure,
    ) -> Next {
        if !is_retryable(failure, &self.non_retryable) {
            return Next::Stop(RetryState::NonRetryableFailure);
        }
        if self.max_attempts > 0 && attempt >= self.max_attempts {
            return Next::Stop(RetryState::MaximumAttemptsReached);
        }
        let interval = self.interval_ms(attempt);
        if let Some(expiration) = expiration_ms
            && now_ms.saturating_add(interval) > expiration
        {
            return Next::Stop(RetryState::Timeout);
        }
        Next::Retry { after_ms: interval }
    }
}

/// Whether the server retries after `failure` (`retrypolicy.IsRetryableFailure`).
pub fn is_retryable(failure: &Failure, non_retryable: &[String]) -> bool {
    match &failure.failure_info {
        Some(FailureInfo::TerminatedFailureInfo(_)) | Some(FailureInfo::CanceledFailureInfo(_)) => {
            false
        }
        Some(FailureInfo::TimeoutFailureInfo(info)) => match info.timeout_type() {
            kind @ (TimeoutType::StartToClose | TimeoutType::Heartbeat) => {
                let listed = format!("{TIMEOUT_TYPE_PREFIX}{}", timeout_type_name(kind));
                !non_retryable.contains(&listed)
            }
            _ => false,
        },
        Some(FailureInfo::ServerFailureInfo(info)) => !info.non_retryable,
        Some(FailureInfo::ApplicationFailureInfo(info)) => {
            !info.non_retryable && !non_retryable.contains(&info.r#type)
        }
        _ => true,
    }
}

/// A timeout type's name as Go's `TimeoutType.String()` prints it (`StartToClose`): the
/// spelling of server messages and of `TemporalTimeout:` types.
pub fn timeout_type_name(kind: TimeoutType) -> &'static str {
    match kind {
        TimeoutType::Unspecified => "Unspecified",
        TimeoutType::StartToClose => "StartToClose",
        TimeoutType::ScheduleToStart => "ScheduleToStart",
        TimeoutType::ScheduleToClose => "ScheduleToClose",
        TimeoutType::Heartbeat => "Heartbeat",
    }
}

/// The timeout type a name denotes, short (`StartToClose`) or full (`TIMEOUT_TYPE_…`).
fn timeout_type_named(name: &str) -> Option<TimeoutType> {
    let kind = TimeoutType::from_str_name(name).or_else(|| {
        [
            TimeoutType::StartToClose,
            TimeoutType::ScheduleToStart,
            TimeoutType::ScheduleToClose,
            TimeoutType::Heartbeat,
        ]
        .into_iter()
        .find(|k| timeout_type_name(*k) == name)
    })?;
    (kind != TimeoutType::Unspecified).then_some(kind)
}

/// An activity's timeouts after the server normalised them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// How long one attempt may run.
    pub start_to_close_ms: u64,
    /// How long the whole activity may take from its scheduling, retries included.
    pub schedule_to_close_ms: Option<u64>,
}

/// The timeouts the server enforces for these requested ones (zero = unset), or why it fails
/// the workflow task.
pub fn activity_timeouts(
    start_to_close: Option<&prost_wkt_types::Duration>,
    schedule_to_close: Option<&prost_wkt_types::Duration>,
    run_timeout_ms: Option<u64>,
) -> Result<Timeouts, String> {
    let stc = duration_ms(start_to_close, "StartToCloseTimeout")?;
    let s2c = duration_ms(schedule_to_close, "ScheduleToCloseTimeout")?;
    let (stc, s2c) = match (stc, s2c) {
        (stc, Some(s2c)) => (stc.map_or(s2c, |stc| stc.min(s2c)), Some(s2c)),
        (Some(stc), None) => (stc, run_timeout_ms),
        (None, None) => {
            return Err(
                "a valid StartToCloseTimeout or ScheduleToCloseTimeout must be set on the activity"
                    .to_owned(),
            );
        }
    };
    let cap = |ms: u64| run_timeout_ms.map_or(ms, |run| ms.min(run));
    Ok(Timeouts {
        start_to_close_ms: cap(stc),
        schedule_to_close_ms: s2c.map(cap),
    })
}

/// `ms` milliseconds as a protobuf duration.
pub fn duration(ms: u64) -> prost_wkt_types::Duration {
    prost_wkt_types::Duration {
        seconds: i64::try_from(ms / 1000).unwrap_or(i64::MAX),
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// A protobuf duration in milliseconds; zero or absent is None, negative an error.
pub fn duration_ms(
    d: Option<&prost_wkt_types::Duration>,
    what: &str,
) -> Result<Option<u64>, String> {
    let Some(d) = d else { return Ok(None) };
    if d.seconds < 0 || d.nanos < 0 {
        return Err(format!("invalid {what}: negative duration"));
    }
    let ms = (d.seconds as u64)
        .saturating_mul(1000)
        .saturating_add(d.nanos as u64 / 1_000_000);
    Ok((ms > 0).then_some(ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use temporalio_common::protos::temporal::api::failure::v1::{
        ApplicationFailureInfo, CanceledFailureInfo, TimeoutFailureInfo,
    };

    fn d(ms: u64) -> prost_wkt_types::Duration {
        prost_wkt_types::Duration {
            seconds: (ms / 1000) as i64,
            nanos: ((ms % 1000) * 1_000_000) as i32,
        }
    }

    fn app(error_type: &str, non_retryable: bool) -> Failure {
        Failure {
            message: "boom".into(),
            failure_info: Some(FailureInfo::ApplicationFailureInfo(
                ApplicationFailureInfo {
                    r#type: error_type.into(),
                    non_retryable,
                    ..Default::default()
                },
            )),
            ..Default::default()
        }
    }

    fn timeout(kind: TimeoutType) -> Failure {
        Failure {
            failure_info: Some(FailureInfo::TimeoutFailureInfo(TimeoutFailureInfo {
                timeout_type: kind as i32,
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    fn policy(initial: u64, backoff: f64, max: u64, attempts: i32) -> Policy {
        let proto = ProtoRetryPolicy {
            initial_interval: (initial > 0).then(|| d(initial)),
            backoff_coefficient: backoff,
            maximum_interval: (max > 0).then(|| d(max)),
            maximum_attempts: attempts,
            non_retryable_error_types: vec!["CardDeclined".into()],
        };
        Policy::effective(Some(&proto)).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn defaults_are_the_servers() {
        // EnsureDefaults: 1 s, ×2.0, maximum 100 × initial, unlimited attempts.
        let p = Policy::effective(None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                p.initial_interval_ms,
                p.backoff,
                p.max_interval_ms,
                p.max_attempts
            ),
            (1_000, 2.0, 100_000, 0)
        );
        // The maximum defaults from the *given* initial interval.
        let p = policy(3_000, 0.0, 0, 0);
        assert_eq!((p.backoff, p.max_interval_ms), (2.0, 300_000));
    }

    #[test]
    fn intervals_grow_by_the_coefficient_up_to_the_maximum() {
        // initial × coefficient^(attempt−1), capped: 1, 2, 4, 8, 16, 32, 64, 100, 100 s.
        let p = Policy::effective(None).unwrap_or_else(|e| panic!("{e}"));
        let waits: Vec<u64> = (1..=9).map(|n| p.interval_ms(n)).collect();
        assert_eq!(
            waits,
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 100_000, 100_000
            ]
        );
        // Fractions truncate (Go converts the float product to an integer duration).
        let p = policy(1_000, 1.5, 60_000, 0);
        let waits: Vec<u64> = (1..=5).map(|n| p.interval_ms(n)).collect();
        assert_eq!(waits, [1_000, 1_500, 2_250, 3_375, 5_062]);
        // A coefficient of 1 is a fixed interval; a huge exponent saturates at the maximum.
        assert_eq!(policy(500, 1.0, 0, 0).interval_ms(40), 500);
        assert_eq!(policy(1_000, 2.0, 0, 0).interval_ms(5_000), 100_000);
    }

    #[test]
    fn maximum_attempts_counts_the_first_attempt() {
        // `currentAttempt >= maxAttempts` stops: 3 attempts = 2 retries.
        let p = policy(1_000, 2.0, 0, 3);
        let f = app("Flaky", false);
        assert_eq!(p.next(1, 0, None, &f), Next::Retry { after_ms: 1_000 });
        assert_eq!(p.next(2, 0, None, &f), Next::Retry { after_ms: 2_000 });
        assert_eq!(
            p.next(3, 0, None, &f),
            Next::Stop(RetryState::MaximumAttemptsReached)
        );
        // 0 is unlimited.
        let p = policy(1_000, 2.0, 0, 0);
        assert!(matches!(p.next(1_000, 0, None, &f), Next::Retry { .. }));
    }

    #[test]
    fn non_retryable_errors_stop_at_once() {
        let p = policy(1_000, 2.0, 0, 0);
        let stop = Next::Stop(RetryState::NonRetryableFailure);
        assert_eq!(p.next(1, 0, None, &app("CardDeclined", false)), stop);
        assert_eq!(p.next(1, 0, None, &app("Flaky", true)), stop);
        let cancelled = Failure {
            failure_info: Some(FailureInfo::CanceledFailureInfo(
                CanceledFailureInfo::default(),
            )),
            ..Default::default()
        };
        assert_eq!(p.next(1, 0, None, &cancelled), stop);
    }

    #[test]
    fn only_attempt_timeouts_retry() {
        let mut p = policy(1_000, 2.0, 0, 0);
        assert!(is_retryable(&timeout(TimeoutType::StartToClose), &[]));
        assert!(is_retryable(&timeout(TimeoutType::Heartbeat), &[]));
        assert!(!is_retryable(&timeout(TimeoutType::ScheduleToClose), &[]));
        assert!(!is_retryable(&timeout(TimeoutType::ScheduleToStart), &[]));
        p.non_retryable = vec!["TemporalTimeout:StartToClose".into()];
        assert_eq!(
            p.next(1, 0, None, &timeout(TimeoutType::StartToClose)),
            Next::Stop(RetryState::NonRetryableFailure)
        );
    }

    #[test]
    fn no_retry_would_start_after_the_expiration() {
        // `now + interval` after the expiration stops with RETRY_STATE_TIMEOUT; equal retries.
        let p = policy(1_000, 2.0, 0, 0);
        let f = app("Flaky", false);
        assert_eq!(
            p.next(2, 8_000, Some(10_000), &f),
            Next::Retry { after_ms: 2_000 }
        );
        assert_eq!(
            p.next(2, 8_001, Some(10_000), &f),
            Next::Stop(RetryState::Timeout)
        );
        // Maximum attempts is checked before the expiration.
        let p = policy(1_000, 2.0, 0, 2);
        assert_eq!(
            p.next(2, 9_999, Some(10_000), &f),
            Next::Stop(RetryState::MaximumAttemptsReached)
        );
    }

    #[test]
    fn invalid_policies_fail_the_workflow_task() {
        let bad = |proto: ProtoRetryPolicy| Policy::effective(Some(&proto)).err();
        let low = ProtoRetryPolicy {
            backoff_coefficient: 0.5,
            ..Default::default()
        };
        assert_eq!(
            bad(low.clone()).as_deref(),
            Some("BackoffCoefficient cannot be less than 1 on retry policy.")
        );
        // One attempt: nothing else is checked.
        assert_eq!(
            bad(ProtoRetryPolicy {
                maximum_attempts: 1,
                ..low
            }),
            None
        );
        let inverted = ProtoRetryPolicy {
            initial_interval: Some(d(5_000)),
            maximum_interval: Some(d(1_000)),
            ..Default::default()
        };
        assert!(bad(inverted).is_some());
        let negative = ProtoRetryPolicy {
            maximum_attempts: -1,
            ..Default::default()
        };
        assert!(bad(negative).is_some());
        let unknown = ProtoRetryPolicy {
            non_retryable_error_types: vec!["TemporalTimeout:Forever".into()],
            ..Default::default()
        };
        assert_eq!(
            bad(unknown).as_deref(),
            Some("Invalid timeout type value: Forever.")
        );
        let known = ProtoRetryPolicy {
            non_retryable_error_types: vec![
                "TemporalTimeout:StartToClose".into(),
                "TemporalTimeout:TIMEOUT_TYPE_HEARTBEAT".into(),
            ],
            ..Default::default()
        };
        assert_eq!(bad(known), None);
    }

    #[test]
    fn activity_timeouts_are_normalised_like_the_server() {
        let t = |stc: Option<u64>, s2c: Option<u64>, run: Option<u64>| {
            activity_timeouts(stc.map(d).as_ref(), s2c.map(d).as_ref(), run)
        };
        // Schedule-to-close alone bounds each attempt too.
        assert_eq!(
            t(None, Some(30_000), None),
            Ok(Timeouts {
                start_to_close_ms: 30_000,
                schedule_to_close_ms: Some(30_000)
            })
        );
        // A start-to-close longer than schedule-to-close is cut to it.
        assert_eq!(
            t(Some(60_000), Some(30_000), None).map(|t| t.start_to_close_ms),
            Ok(30_000)
        );
        // Start-to-close alone: schedule-to-close is the run timeout, or unbounded.
        assert_eq!(
            t(Some(10_000), None, None).map(|t| t.schedule_to_close_ms),
            Ok(None)
        );
        assert_eq!(
            t(Some(10_000), None, Some(3_600_000)).map(|t| t.schedule_to_close_ms),
            Ok(Some(3_600_000))
        );
        // Nothing exceeds the run timeout.
        assert_eq!(
            t(Some(7_200_000), None, Some(3_600_000)).map(|t| t.start_to_close_ms),
            Ok(3_600_000)
        );
        assert!(t(None, None, None).is_err());
        assert!(t(Some(0), None, None).is_err());
    }
}
