//! `stave test --server ADDRESS | --dev`: the same test files on a real Temporal server — the project's workflows on the real worker, activities answered by the cases' mocks — compared with the same expectations.
//!
//! Pipeline, one run: start Temporal's time-skipping test server from an executable on this
//! machine (`--dev`) or connect to a running server (`--server`); serve the project's
//! programs with `runtime::worker`, every task queue prefixed with this run's token
//! (`programs`), and a registry whose activities answer from the running case's mocks
//! (`mocks`); play the cases one after another (`case`): each run is started as `stave start`
//! starts one (input checked, pinned), its signals, queries and cancellation are sent at
//! their offsets on the run's clock (`clock`: the wall clock, or the test server's, which
//! skips ahead whenever nothing but timers is pending), and what happened is a
//! `runtime::sim::SimResult` for `testing::expect`. Then the worker drains and the test
//! server stops.
//!
//! Compared with the simulator: durations hold within [`DURATION_TOLERANCE_MS`] (workflow
//! and activity tasks take real time); coverage is not measured; cases that mock a child
//! workflow (`workflow:`) or set `start_time` are reported as not comparable, never passed.

mod case;
mod clock;
mod mocks;
mod programs;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::sync::{mpsc, oneshot};

use self::clock::Clock;
use self::mocks::Book;
use super::run::{FileReport, Report, Runner, programs as project_programs};
use super::{Suite, display_path};
use crate::check::ProjectLoad;
use crate::runtime::client::Client;
use crate::runtime::client::testserver::{TestServer, TestServerError, TimeSkipping};
use crate::runtime::connect::{ConnectArgs, Retry};
use crate::runtime::sim::SimResult;
use crate::runtime::versions::VersionStore;
use crate::runtime::worker::{self, WorkerOptions};

pub use crate::runtime::client::testserver::{INSTALL_HINT, find_executable};

/// How far a run's duration may be from a `duration:` expectation on a server: tasks take
/// real time there, and on a loaded 2-core CI box a worker's first poll has taken 1.7 s.
pub const DURATION_TOLERANCE_MS: u64 = 2_000;
/// Real time one case may take (beyond its last event, without time skipping) before it is
/// reported stuck and terminated.
pub const CASE_LIMIT: Duration = Duration::from_secs(60);

/// Which server the cases run on.
#[derive(Debug, Clone)]
pub enum Target {
    /// A running server, with the connection flags of the run commands (address, TLS, API
    /// key, profile): real time.
    Server(ConnectArgs),
    /// Temporal's time-skipping test server, started from this executable.
    TestServer(PathBuf),
}

/// Why the cases could not run on the server (a failing case is not an error).
#[derive(Debug, Error)]
pub enum ServerError {
    #[error(transparent)]
    TestServer(#[from] TestServerError),
    #[error("{0}")]
    Connect(String),
    #[error("the mock-activity worker: {0}")]
    Worker(String),
    #[error("cannot start an async runtime: {0}")]
    Runtime(String),
}

/// The report, and per file and case what the run did (None where the case did not run).
pub struct ServerRun {
    pub report: Report,
    pub results: Vec<Vec<Option<SimResult>>>,
}

/// Runs every case of `suite` on `target`, one after another.
pub fn run(
    project: &ProjectLoad,
    suite: &Suite,
    target: &Target,
) -> Result<ServerRun, ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServerError::Runtime(e.to_string()))?;
    runtime.block_on(run_async(project, suite, target))
}

async fn run_async(
    project: &ProjectLoad,
    suite: &Suite,
    target: &Target,
) -> Result<ServerRun, ServerError> {
    let began = Instant::now();
    let token = token();
    let scratch = std::env::temp_dir().join(format!("stave-test-{token}"));
    std::fs::create_dir_all(&scratch)
        .map_err(|e| ServerError::Worker(format!("cannot create {}: {e}", scratch.display())))?;
    let (test_server, connect) = match target {
        Target::Server(connect) => (None, connect.clone()),
        Target::TestServer(exe) => {
            match TestServer::start(exe, &scratch.join("server.log")).await {
                Ok(server) => {
                    let connect = ConnectArgs {
                        address: Some(server.address().to_string()),
                        ..ConnectArgs::default()
                    };
                    (Some(server), connect)
                }
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&scratch);
                    return Err(e.into());
                }
            }
        }
    };
    let result = serve_and_play(
        project,
        suite,
        &connect,
        test_server.is_some(),
        &token,
        &scratch,
    )
    .await;
    if let Some(server) = test_server {
        server.stop().await;
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let (files, results) = result?;
    let report = Report {
        files,
        coverage: Vec::new(),
        elapsed_ms: began.elapsed().as_secs_f64() * 1000.0,
        runner: Runner::Server {
            address: connect
                .address
                .clone()
                .unwrap_or_else(|| "the configured address".into()),
            time_skipping: matches!(target, Target::TestServer(_)),
            duration_tolerance_ms: DURATION_TOLERANCE_MS,
        },
    };
    Ok(ServerRun { report, results })
}

type Played = (Vec<FileReport>, Vec<Vec<Option<SimResult>>>);

/// Connects, runs the worker, plays every case, drains the worker.
async fn serve_and_play(
    project: &ProjectLoad,
    suite: &Suite,
    connect: &ConnectArgs,
    time_skipping: bool,
    token: &str,
    scratch: &std::path::Path,
) -> Result<Played, ServerError> {
    let Some(bundle) = project
        .bundle
        .as_ref()
        .or(project.partial.as_ref().map(|p| &p.bundle))
    else {
        return Err(ServerError::Worker(
            "the project has no workflow to serve".into(),
        ));
    };
    let isolated = programs::isolate(
        &bundle.project,
        &project_programs(project),
        &format!("stave-test-{token}-"),
    );
    let connected = connect
        .connect(
            Some(bundle.project.namespace.as_str()),
            "stave-test",
            Retry::For(Duration::from_secs(10)),
        )
        .await
        .map_err(|e| ServerError::Connect(e.to_string()))?;
    let client = Client::new(connected.clone());
    let clock = if time_skipping {
        Clock::Skipping(TimeSkipping::new(connected.connection.clone()))
    } else {
        Clock::Real
    };
    let (requests, mut incoming) = mpsc::unbounded_channel();
    let registry = mocks::registry(
        &programs::activity_types(&isolated.workflows),
        &requests,
        &clock,
    );
    drop(requests);
    let plans =
        worker::plan(&isolated, &registry, None).map_err(|e| ServerError::Worker(e.to_string()))?;
    let store = std::sync::Arc::new(VersionStore::new(scratch.join("versions")));
    let options = WorkerOptions {
        graceful_shutdown: Duration::from_secs(1),
        identity: format!("stave-test-{token}"),
        ..WorkerOptions::default()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let mut worker = tokio::spawn(worker::run(
        connected,
        plans,
        registry,
        store,
        options,
        async move {
            let _ = stopped.await;
        },
    ));
    let programs: BTreeMap<String, crate::ir::Workflow> = isolated
        .workflows
        .into_iter()
        .map(|w| (w.name.clone(), w))
        .collect();
    let steps = crate::testing::run::step_activities(programs.values());
    let book = RefCell::new(Book::default());
    let env = case::Env {
        project,
        client: &client,
        clock: &clock,
        programs: &programs,
        book: &book,
        steps: &steps,
        suffix: token,
        case_limit: CASE_LIMIT,
        tolerance_ms: DURATION_TOLERANCE_MS,
    };
    let play = async {
        let mut played = 0;
        let mut files = Vec::new();
        let mut results = Vec::new();
        for loaded in &suite.files {
            let mut cases = Vec::new();
            let mut file_results = Vec::new();
            for (i, case) in loaded.test.cases.iter().enumerate() {
                played += 1;
                let suffix = format!("{token}-{played}");
                let env = case::Env {
                    suffix: &suffix,
                    ..env
                };
                let (report, result) = case::run(&env, loaded, case, i).await;
                cases.push(report);
                file_results.push(result);
            }
            files.push(FileReport {
                path: display_path(&loaded.path),
                workflow: loaded.test.workflow.value.clone(),
                cases,
            });
            results.push(file_results);
        }
        (files, results)
    };
    let serve = async {
        while let Some(request) = incoming.recv().await {
            book.borrow_mut().answer(request);
        }
    };
    tokio::pin!(play, serve);
    let outcome = tokio::select! {
        played = &mut play => Ok(played),
        ended = &mut worker => Err(ServerError::Worker(match ended {
            Ok(Ok(_)) => "it stopped before the cases ran".to_string(),
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        })),
        () = &mut serve => Err(ServerError::Worker("its activities stopped asking".into())),
    };
    // Drain: attempts still asking are answered while the worker shuts down; the requests
    // end when the worker drops its registry.
    let _ = stop.send(());
    if outcome.is_ok() {
        let (ended, ()) = tokio::join!(&mut worker, &mut serve);
        if let Ok(Err(e)) = ended {
            tracing::warn!("the mock-activity worker stopped with an error: {e}");
        }
    }
    outcome
}

/// A token unique to this run: task queues and workflow ids carry it.
fn token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 32);
    format!("{:08x}", mixed & 0xffff_ffff)
}
