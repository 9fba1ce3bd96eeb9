//! The task-queue watcher: refreshes the queue-depth gauge and, as its side effect, the
//! connection state that `/readyz` reports.

use std::time::Duration;

use temporalio_client::Connection;
use temporalio_client::tonic::{Code, IntoRequest as _};
use temporalio_common::protos::temporal::api::enums::v1::{TaskQueueKind, TaskQueueType};
use temporalio_common::protos::temporal::api::taskqueue::v1::TaskQueue;
use temporalio_common::protos::temporal::api::workflowservice::v1::DescribeTaskQueueRequest;

use super::Metrics;
use crate::runtime::health::Readiness;

/// Refreshes `temporal_task_queue_depth` of `task_queues` every `interval` and, as a side
/// effect, keeps `readiness`'s connection state current (the describe call doubles as a
/// connectivity probe). Runs until aborted.
pub fn watch_task_queues(
    connection: Connection,
    namespace: String,
    task_queues: Vec<String>,
    interval: Duration,
    metrics: Option<Metrics>,
    readiness: Option<Readiness>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut warned = false;
        loop {
            let mut unreachable = None;
            for task_queue in &task_queues {
                match backlog(&connection, &namespace, task_queue).await {
                    Ok(depth) => {
                        if let Some(metrics) = &metrics {
                            metrics.set_depth(task_queue, depth);
                        }
                    }
                    Err(DepthError::Unreachable(why)) => {
                        unreachable = Some(why);
                        break;
                    }
                    Err(DepthError::Refused(why)) => {
                        // The server answers but refuses the call (permissions, a request
                        // it does not support): the gauge keeps its last value — zero, as
                        // `Metrics::declare` created it, if no call succeeded; say so once.
                        if !warned {
                            tracing::warn!(task_queue = %task_queue, "task queue depth unavailable: {why}");
                            warned = true;
                        }
                    }
                }
            }
            if let Some(readiness) = &readiness {
                match unreachable {
                    Some(why) => readiness.disconnected(why),
                    None => readiness.connected(),
                }
            }
            tokio::time::sleep(interval).await;
        }
    })
}

enum DepthError {
    Unreachable(String),
    Refused(String),
}

/// Workflow plus activity backlog of `task_queue`.
async fn backlog(
    connection: &Connection,
    namespace: &str,
    task_queue: &str,
) -> Result<i64, DepthError> {
    let mut total = 0;
    for kind in [TaskQueueType::Workflow, TaskQueueType::Activity] {
        let request = DescribeTaskQueueRequest {
            namespace: namespace.to_owned(),
            task_queue: Some(TaskQueue {
                name: task_queue.to_owned(),
                kind: TaskQueueKind::Normal as i32,
                ..Default::default()
            }),
            task_queue_type: kind as i32,
            report_stats: true,
            ..Default::default()
        };
        let mut service = connection.workflow_service();
        let call = service.describe_task_queue(request.into_request());
        let response = match tokio::time::timeout(Duration::from_secs(5), call).await {
            Err(_) => {
                return Err(DepthError::Unreachable(
                    "describe task queue timed out".into(),
                ));
            }
            Ok(Err(status)) => {
                let why = format!("{} ({:?})", status.message(), status.code());
                return Err(match status.code() {
                    Code::Unavailable
                    | Code::DeadlineExceeded
                    | Code::Unknown
                    | Code::Cancelled => DepthError::Unreachable(why),
                    _ => DepthError::Refused(why),
                });
            }
            Ok(Ok(response)) => response.into_inner(),
        };
        // A server that keeps no stats answers without them: that counts as an empty backlog.
        total += response
            .stats
            .map(|s| s.approximate_backlog_count)
            .unwrap_or(0);
    }
    Ok(total)
}
