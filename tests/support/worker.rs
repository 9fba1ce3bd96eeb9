//! Workers inside the test process (library API) serving test projects with test activities.

use super::activities::{self, Journal};
use super::project::TestProject;
use super::runs;
use super::server::TestServer;
use serde_json::Value as Json;
use stave::ir::Bundle;
use stave::runtime::activity::Registry;
use stave::runtime::client::Client;
use stave::runtime::connect::{ConnectArgs, Retry};
use stave::runtime::versions::{self, VersionStore};
use stave::runtime::worker::{self, WorkerOptions};
use std::path::Path;
use std::sync::{Arc, OnceLock};
use tokio::sync::oneshot;

/// An in-process worker on its own thread and runtime; dropping it shuts it down gracefully.
pub struct InProcessWorker {
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
}

impl InProcessWorker {
    /// Serves `bundle` (loaded from `dir`, whose `.stave/versions` keeps the served versions)
    /// with `registry` against `server`. Returns once the worker polls.
    pub fn start(
        server: &TestServer,
        dir: &Path,
        bundle: Bundle,
        registry: Registry,
    ) -> InProcessWorker {
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, is_ready) = std::sync::mpsc::channel::<Result<(), String>>();
        let address = server.address();
        let store_dir = dir.join(versions::DEFAULT_DIR);
        let thread = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let args = ConnectArgs {
                    address: Some(address),
                    namespace: Some("default".into()),
                    ..ConnectArgs::default()
                };
                let setup = async {
                    let connected = args
                        .connect(None, "stave-e2e-worker", Retry::Once)
                        .await
                        .map_err(|e| e.to_string())?;
                    let plans =
                        worker::plan(&bundle, &registry, None).map_err(|e| e.to_string())?;
                    Ok::<_, String>((connected, plans))
                };
                let (connected, plans) = match setup.await {
                    Ok(ok) => ok,
                    Err(e) => {
                        let _ = ready.send(Err(e.clone()));
                        return Err(e);
                    }
                };
                let store = Arc::new(VersionStore::new(store_dir));
                let options = WorkerOptions {
                    identity: "stave-e2e-worker".into(),
                    graceful_shutdown: std::time::Duration::from_secs(5),
                    ..WorkerOptions::default()
                };
                // `run` validates the namespace and starts polling before it awaits the
                // shutdown future, so this future's first poll means "polling".
                let shutdown = async move {
                    let _ = ready.send(Ok(()));
                    let _ = stopped.await;
                };
                worker::run(connected, plans, registry, store, options, shutdown)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        });
        match is_ready.recv() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("the in-process worker did not start: {e}"),
            Err(_) => {
                let outcome = thread.join();
                panic!("the in-process worker thread ended before polling: {outcome:?}");
            }
        }
        InProcessWorker {
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Graceful shutdown: in-flight work finishes, every activation completes.
    pub fn stop(&mut self) -> Result<(), String> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err("the worker thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for InProcessWorker {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The worker every test of a binary shares: all test workflows, the test activities.
pub struct SharedWorker {
    pub project: TestProject,
    pub journal: Arc<Journal>,
    pub bundle: Bundle,
    _worker: InProcessWorker,
}

/// Every test workflow under `tests/support/workflows/`.
pub const TEST_WORKFLOWS: &[&str] = &[
    "e2e-basics",
    "e2e-branches",
    "e2e-fanout",
    "e2e-loop",
    "e2e-signals",
    "e2e-updates",
    "e2e-errors",
    "e2e-retry",
    "e2e-saga",
    "e2e-child",
    "e2e-parent",
    "e2e-durable",
    "e2e-hello",
    "e2e-cancel",
    "e2e-more",
    "e2e-priority",
];

impl SharedWorker {
    /// Starts (once per test binary) the shared server, the test project and its worker.
    pub fn get() -> &'static SharedWorker {
        static WORKER: OnceLock<SharedWorker> = OnceLock::new();
        WORKER.get_or_init(|| {
            let server = TestServer::shared();
            let project = TestProject::new("e2e");
            for name in TEST_WORKFLOWS {
                project.write(&format!("{name}.stave.yaml"), &runs::workflow_source(name));
            }
            let bundle = runs::load_bundle(project.path());
            let journal = Arc::new(Journal::default());
            let worker = InProcessWorker::start(
                server,
                project.path(),
                bundle.clone(),
                activities::registry(journal.clone()),
            );
            SharedWorker {
                project,
                journal,
                bundle,
                _worker: worker,
            }
        })
    }

    pub async fn client(&self) -> Client {
        runs::client(TestServer::shared()).await
    }

    /// Starts a pinned run of `workflow` as `stave start` would.
    pub async fn start(&self, client: &Client, workflow: &str, id: &str, input: Json) {
        runs::start_pinned(client, &self.bundle, workflow, id, input).await;
    }

    /// The pin (`HASH@SEMANTICS`) of a workflow of the project.
    pub fn pin_of(&self, workflow: &str) -> String {
        let wf = self
            .bundle
            .workflows
            .iter()
            .find(|w| w.name == workflow)
            .unwrap_or_else(|| panic!("no workflow `{workflow}`"));
        stave::cli::start::pin_of(wf)
    }

    /// Where to look when a run misbehaves (the in-process worker logs nowhere by default).
    pub fn log_hint(&self) -> String {
        format!(
            "(in-process worker on task queues {}-*; rerun with RUST_LOG=info for its log)",
            self.project.prefix
        )
    }
}
