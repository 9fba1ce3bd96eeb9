//! `stave start WORKFLOW --input JSON|@FILE`: check the input, start a pinned run, say where it is.

use super::common::{
    CommandError, block_on, connect, find_workflow, finish, load_workflow_to_start, parse_json_arg,
    print_json, report_finished, short_version,
};
use crate::ir;
use crate::runtime::client::{StartOptions, Started, new_workflow_id, web_ui_link};
use crate::runtime::connect::ConnectArgs;
use crate::runtime::versions::Pin;
use serde_json::{Value as Json, json};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Workflow type: the `workflow:` name of a workflow file in the project.
    pub workflow: String,
    /// Workflow input: JSON text, or @FILE to read it from a file (@- reads stdin).
    #[arg(long, short, value_name = "JSON|@FILE")]
    pub input: Option<String>,
    /// Workflow id [default: WORKFLOW-<12 hex digits>].
    #[arg(long)]
    pub id: Option<String>,
    /// Wait for the run to finish and print its result (exit 3 if it did not complete).
    #[arg(long)]
    pub wait: bool,
    /// Project directory holding stave.yaml [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Start on this Temporal task queue without a project: for workflows served by other
    /// workers (no input check, no pinning).
    #[arg(long, value_name = "QUEUE")]
    pub task_queue: Option<String>,
    /// Base URL of the Temporal Web UI, for the printed link [default: inferred from the
    /// address for local and Temporal Cloud servers].
    #[arg(long, env = "STAVE_UI_URL", value_name = "URL")]
    pub ui_url: Option<String>,
    /// Update-with-start: send this update in the same request, starting the run unless
    /// one with `--id` is running (which then takes the update); prints the update's result
    /// (exit 4 if it is rejected).
    #[arg(long, value_name = "NAME", requires = "id")]
    pub update: Option<String>,
    /// The update's payload: JSON text, or @FILE.
    #[arg(long, value_name = "JSON|@FILE", requires = "update")]
    pub update_input: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

pub fn run(args: Args) -> ExitCode {
    finish(block_on(start(args)))
}

async fn start(args: Args) -> Result<ExitCode, CommandError> {
    let input = parse_json_arg("--input", args.input.as_deref())?.unwrap_or(Json::Null);
    let mut start_priority = None;
    let (options, project_namespace, version) = match &args.task_queue {
        Some(queue) => (
            StartOptions {
                workflow_type: args.workflow.clone(),
                workflow_id: String::new(),
                task_queue: queue.clone(),
                input,
                memo: Vec::new(),
                execution_timeout: None,
                priority: None,
            },
            None,
            None,
        ),
        None => {
            let bundle = load_workflow_to_start(args.project.as_deref(), &args.workflow)?;
            let workflow = find_workflow(&bundle, &args.workflow, args.project.as_deref())?;
            validate_input(workflow, &input)?;
            start_priority = workflow.priority.clone();
            (
                start_options(workflow, input),
                Some(bundle.project.namespace.clone()),
                Some(pin_of(workflow)),
            )
        }
    };
    let mut options = StartOptions {
        workflow_id: args
            .id
            .clone()
            .unwrap_or_else(|| new_workflow_id(&args.workflow)),
        ..options
    };
    if let Some(priority) = &start_priority {
        options.priority = Some(
            crate::runtime::client::priority_for_start(
                priority,
                &options.input,
                &options.workflow_id,
                &options.workflow_type,
            )
            .map_err(CommandError::Priority)?,
        );
    }
    let client = connect(&args.connect, project_namespace.as_deref()).await?;
    let started_at = Instant::now();
    if let Some(update) = &args.update {
        return update_with_start(&args, &client, &options, update, version.as_deref()).await;
    }
    let started = client.start(&options).await?;
    let link = web_ui_link(
        args.ui_url.as_deref(),
        client.address(),
        client.namespace(),
        &started,
    );
    if !args.wait {
        if args.json {
            print_json(&json!({
                "workflow_id": started.workflow_id,
                "run_id": started.run_id,
                "workflow_type": options.workflow_type,
                "namespace": client.namespace(),
                "task_queue": options.task_queue,
                "version": version,
                "web_ui": link,
            }));
        } else {
            print_started(&options, &started, version.as_deref(), link.as_deref());
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !args.json {
        print_started(&options, &started, version.as_deref(), link.as_deref());
    }
    let finished = client
        .result(&started.workflow_id, Some(&started.run_id), None)
        .await?;
    Ok(report_finished(
        &finished,
        args.json,
        Some(started_at.elapsed()),
    ))
}

/// The start options of a Stave workflow: its queue, its timeout, and the start memo that
/// pins it and carries its program (`versions::start_memo`, the same as schedules).
pub fn start_options(workflow: &ir::Workflow, input: Json) -> StartOptions {
    StartOptions {
        workflow_type: workflow.name.clone(),
        workflow_id: String::new(),
        task_queue: workflow.task_queue.clone(),
        input,
        memo: crate::runtime::versions::start_memo(workflow),
        execution_timeout: workflow.execution_timeout_ms.map(Duration::from_millis),
        priority: None,
    }
}

/// `--update NAME`: the run (started, or the one running) and the update's outcome.
async fn update_with_start(
    args: &Args,
    client: &crate::runtime::client::Client,
    options: &StartOptions,
    update: &str,
    version: Option<&str>,
) -> Result<ExitCode, CommandError> {
    let input = parse_json_arg("--update-input", args.update_input.as_deref())?;
    let (started, outcome) = client
        .update_with_start(options, update, input.as_ref(), Duration::from_secs(60))
        .await?;
    let (key, value, code) = match outcome {
        Ok(result) => ("result", result, ExitCode::SUCCESS),
        Err(message) => (
            "rejected",
            Json::String(message),
            ExitCode::from(super::common::EXIT_UPDATE_REJECTED),
        ),
    };
    if args.json {
        let mut out = json!({
            "workflow_id": started.workflow_id,
            "run_id": started.run_id,
            "workflow_type": options.workflow_type,
            "version": version,
            "update": update,
        });
        out[key] = value;
        print_json(&out);
    } else {
        print_started(options, &started, version, None);
        match key {
            "result" => println!("  update {update}  {value}"),
            _ => eprintln!(
                "update `{update}` rejected by {}: {}",
                started.workflow_id,
                value.as_str().unwrap_or_default()
            ),
        }
    }
    Ok(code)
}

fn print_started(
    options: &StartOptions,
    started: &Started,
    version: Option<&str>,
    link: Option<&str>,
) {
    println!("started {}", options.workflow_type);
    println!("  workflow id  {}", started.workflow_id);
    println!("  run id       {}", started.run_id);
    println!("  task queue   {}", options.task_queue);
    if let Some(version) = version {
        println!("  version      {}", short_version(version));
    }
    if let Some(link) = link {
        println!("  web ui       {link}");
    }
}

/// The version a run of `workflow` is pinned to: `HASH@SEMANTICS`.
pub fn pin_of(workflow: &ir::Workflow) -> String {
    Pin::of(workflow).to_string()
}

/// Checks the input against the workflow's `input:` schema, listing every problem.
pub(super) fn validate_input(workflow: &ir::Workflow, input: &Json) -> Result<(), CommandError> {
    let Some(schema) = &workflow.input_schema else {
        return Ok(());
    };
    let errors = crate::jsonschema::validate(schema, input, "input");
    if errors.is_empty() {
        return Ok(());
    }
    Err(CommandError::InvalidInput {
        workflow: workflow.name.clone(),
        problems: errors
            .iter()
            .map(|e| format!("  {e}"))
            .collect::<Vec<_>>()
            .join("\n"),
    })
}
