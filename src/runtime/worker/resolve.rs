//! Finding a run's pinned program off the activation path: the store directory, the run's own
//! record on the server, then the project files as they are now.

use std::sync::Arc;

use temporalio_client::Connection;

use super::workflows::MissingProgram;
use crate::runtime::versions::{VersionError, VersionStore, fetch_program};

/// What a worker needs to look a program up; cheap to clone into a task.
#[derive(Clone)]
pub struct Resolver {
    pub connection: Connection,
    pub namespace: String,
    pub store: Arc<VersionStore>,
}

impl Resolver {
    /// Puts the program of `missing` into the store's memory when any source has it. Blocking
    /// reads run on tokio's blocking pool; the activation loop keeps serving other runs. When
    /// nothing has it, the activation that follows fails its task with the store's message.
    pub async fn resolve(&self, missing: &MissingProgram) {
        let store = self.store.clone();
        let (workflow_type, pin) = (missing.workflow_type.clone(), missing.pin.clone());
        let on_disk =
            tokio::task::spawn_blocking(move || store.get(&workflow_type, &pin).map(|_| ())).await;
        if matches!(on_disk, Ok(Ok(()))) {
            return;
        }
        let fetched = fetch_program(
            &self.connection,
            &self.namespace,
            &missing.workflow_id,
            &missing.run_id,
            &missing.pin,
        )
        .await;
        match fetched {
            Ok(program) => {
                let store = self.store.clone();
                let _ = tokio::task::spawn_blocking(move || store.insert(program)).await;
                tracing::info!(
                    workflow_id = %missing.workflow_id,
                    run_id = %missing.run_id,
                    version = %missing.pin.short(),
                    "read the run's pinned program from its history"
                );
            }
            Err(e @ VersionError::NotRecorded { .. }) => {
                tracing::debug!("{e}");
                let store = self.store.clone();
                let _ = tokio::task::spawn_blocking(move || store.refresh_from_source()).await;
            }
            Err(e) => tracing::warn!(run_id = %missing.run_id, "{e}"),
        }
    }
}
