//! `stave dev`: a local Temporal dev server, the project's worker, and the Web UI in one command.

mod reload;

use super::common::{
    CommandError, EXIT_RUN_FAILED, find_workflow, load_bundle, parse_json_arg, project_dir,
    report_finished, runtime,
};
use super::start::{start_options, validate_input};
use crate::ir;
use crate::runtime::activity::Registry;
use crate::runtime::client::devserver::{DevServer, DevServerError, DevServerOptions};
use crate::runtime::client::{Client, new_workflow_id, web_ui_link};
use crate::runtime::connect::{ConnectArgs, Retry};
use crate::runtime::versions::{self, VersionStore};
use crate::runtime::worker::{self, Definitions, WorkerError, WorkerOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tokio::sync::oneshot;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Project directory holding stave.yaml [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// gRPC port of the dev server (a Temporal server already there is reused).
    #[arg(long, default_value_t = 7233)]
    pub port: u16,
    /// Port of the Temporal Web UI.
    #[arg(long, default_value_t = 8233)]
    pub ui_port: u16,
    /// Keep the server's state in memory instead of PROJECT/.stave/dev.db.
    #[arg(long)]
    pub in_memory: bool,
    /// Once ready, start this workflow, print its result, then stop everything.
    #[arg(long, value_name = "WORKFLOW")]
    pub run: Option<String>,
    /// Input of the --run workflow: JSON text, or @FILE.
    #[arg(long, short, value_name = "JSON|@FILE", requires = "run")]
    pub input: Option<String>,
    /// Print the --run result as JSON.
    #[arg(long, requires = "run")]
    pub json: bool,
}

#[derive(Debug, Error)]
enum DevError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Server(#[from] DevServerError),
    #[error("the worker stopped: {0}")]
    Worker(#[from] WorkerError),
}

/// Runs `stave dev` with the activities of `registry`.
pub fn run(args: Args, registry: Registry) -> ExitCode {
    let Some(runtime) = runtime(tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::from(1);
    };
    match runtime.block_on(dev(args, registry)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

async fn dev(args: Args, registry: Registry) -> Result<ExitCode, DevError> {
    // Everything that can be wrong with the project is reported before anything starts.
    let dir = project_dir(args.project.as_deref())?;
    let bundle = load_bundle(Some(&dir))?;
    let run_request = match &args.run {
        Some(name) => {
            let workflow = find_workflow(&bundle, name, Some(&dir))?;
            let input = parse_json_arg("--input", args.input.as_deref())?
                .unwrap_or(serde_json::Value::Null);
            validate_input(workflow, &input)?;
            Some((workflow.clone(), input))
        }
        None => None,
    };
    let mut plans = worker::plan(&bundle, &registry, None)?;
    // Workflow tasks are polled on every queue of stave.yaml, so a workflow that a reload
    // adds (or moves) to another declared queue is served without a restart.
    for plan in &mut plans {
        plan.resume_pinned = true;
    }

    let data = dir.join(".stave");
    let options = DevServerOptions {
        port: args.port,
        ui_port: args.ui_port,
        db_file: (!args.in_memory).then(|| data.join("dev.db")),
        log_file: data.join("server.log"),
        namespaces: vec![bundle.project.namespace.clone()],
    };
    eprintln!(
        "stave dev: starting the Temporal dev server on 127.0.0.1:{}",
        args.port
    );
    let started = Instant::now();
    let mut server = DevServer::start_or_reuse(&options).await?;
    if server.reused {
        eprintln!(
            "stave dev: reusing the Temporal server already listening on {}",
            server.address
        );
    } else {
        eprintln!(
            "stave dev: server ready in {:.1}s ({}; log {})",
            started.elapsed().as_secs_f64(),
            match &options.db_file {
                Some(db) => format!("data in {}", db.display()),
                None => "in memory".to_string(),
            },
            server.log_file().display()
        );
    }

    let connect = ConnectArgs {
        address: Some(server.address.clone()),
        namespace: Some(bundle.project.namespace.clone()),
        ..ConnectArgs::default()
    };
    let connected = connect
        .connect(None, "", Retry::For(Duration::from_secs(30)))
        .await
        .map_err(CommandError::from)?;
    let client = Client::new(connected.clone());
    let store = Arc::new(VersionStore::new(dir.join(versions::DEFAULT_DIR)));
    let (stop_worker, worker_stopped) = oneshot::channel::<()>();
    let (ready, worker_ready) = oneshot::channel::<()>();
    let worker_options = WorkerOptions::default();
    let queues: Vec<String> = plans.iter().map(|p| p.queue.task_queue.clone()).collect();
    let definitions = Definitions::default();
    let reloader = reload::Reloader {
        dir: dir.clone(),
        definitions: definitions.clone(),
        store: store.clone(),
        polled: queues.iter().cloned().collect(),
        last_good: bundle.clone(),
    };
    let mut worker = tokio::spawn(worker::run_serving(
        connected,
        plans,
        definitions,
        registry,
        store,
        worker_options,
        async move {
            let _ = ready.send(());
            let _ = worker_stopped.await;
        },
    ));
    // The worker polls once it awaits its shutdown future; a startup error ends it first.
    tokio::select! {
        _ = worker_ready => {}
        ended = &mut worker => {
            server.stop();
            return match ended {
                Ok(Err(e)) => Err(e.into()),
                _ => Err(DevError::Worker(WorkerError::Runtime("the worker ended at start".into()))),
            };
        }
    }
    print_ready(&server, &bundle, &queues);

    let code = match run_request {
        Some((workflow, input)) => {
            let outcome = run_once(&client, &server, &workflow, input, args.json).await;
            match outcome {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(1)
                }
            }
        }
        None => {
            eprintln!(
                "stave dev: watching {} — saved workflow files are checked and served to new runs",
                dir.display()
            );
            eprintln!("press Ctrl-C to stop the worker and the server");
            tokio::select! {
                () = worker::shutdown_signal() => {}
                () = reloader.watch() => {}
                ended = &mut worker => {
                    server.stop();
                    return match ended {
                        Ok(Err(e)) => Err(e.into()),
                        _ => Ok(ExitCode::from(1)),
                    };
                }
            }
            ExitCode::SUCCESS
        }
    };

    eprintln!("stave dev: stopping the worker (in-flight work finishes first)");
    let _ = stop_worker.send(());
    let worker_result = worker.await;
    if !server.reused {
        eprintln!("stave dev: stopping the server");
    }
    server.stop();
    match worker_result {
        Ok(Err(e)) => Err(e.into()),
        _ => Ok(code),
    }
}

fn print_ready(server: &DevServer, bundle: &ir::Bundle, queues: &[String]) {
    let names: Vec<&str> = bundle.workflows.iter().map(|w| w.name.as_str()).collect();
    eprintln!("stave dev: ready");
    eprintln!("  temporal   {}", server.address);
    if let Some(ui) = &server.ui_url {
        eprintln!("  web ui     {ui}");
    }
    eprintln!("  namespace  {}", bundle.project.namespace);
    eprintln!("  workflows  {}", names.join(", "));
    eprintln!("  queues     {}", queues.join(", "));
    if let Some(first) = names.first() {
        // `stave start` infers the UI at the gRPC port + 1000; say where it really is if not.
        let inferred = server
            .address
            .rsplit_once(':')
            .and_then(|(_, port)| port.parse::<u16>().ok())
            .and_then(|port| port.checked_add(1000))
            .map(|port| format!("http://localhost:{port}"));
        let ui = match &server.ui_url {
            Some(ui) if Some(ui) != inferred.as_ref() => format!("STAVE_UI_URL={ui} "),
            _ => String::new(),
        };
        eprintln!(
            "  try        TEMPORAL_ADDRESS={} {ui}stave start {first} --input '{{...}}' --wait",
            server.address
        );
    }
}

/// `--run`: start the workflow, print its result, and say how it ended.
async fn run_once(
    client: &Client,
    server: &DevServer,
    workflow: &ir::Workflow,
    input: serde_json::Value,
    as_json: bool,
) -> Result<ExitCode, CommandError> {
    let mut options = start_options(workflow, input);
    options.workflow_id = new_workflow_id(&workflow.name);
    let started_at = Instant::now();
    let started = client.start(&options).await?;
    eprintln!("started {} as {}", workflow.name, started.workflow_id);
    if let Some(link) = web_ui_link(
        server.ui_url.as_deref(),
        client.address(),
        client.namespace(),
        &started,
    ) {
        eprintln!("  web ui   {link}");
    }
    let finished = client
        .result(&started.workflow_id, Some(&started.run_id), None)
        .await?;
    let code = report_finished(&finished, as_json, Some(started_at.elapsed()));
    if code == ExitCode::from(EXIT_RUN_FAILED) {
        eprintln!(
            "(inspect it with `stave describe {}` or in the Web UI)",
            started.workflow_id
        );
    }
    Ok(code)
}
