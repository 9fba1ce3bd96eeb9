//! `stave schedules sync|list`: make the server's Temporal Schedules match the workflow files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::common::{CommandError, connect, load_bundle, print_json, project_namespace, runtime};
use crate::runtime::connect::ConnectArgs;
use crate::runtime::schedules::{self, Action, Change, Listed, ScheduleError};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Create, update and delete Stave-owned schedules (`stave:ID`) so the server matches
    /// the `schedules:` of the workflow files; other schedules are never touched.
    Sync(SyncArgs),
    /// List the namespace's schedules (Stave-owned ones unless --all).
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Project directory holding stave.yaml [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Show what would change without changing anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the changes as JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Project directory; its namespace is listed when no flag, env or profile names one.
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Also list schedules Stave does not own.
    #[arg(long)]
    pub all: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, thiserror::Error)]
enum SchedulesCommandError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
}

pub fn run(args: Args) -> ExitCode {
    let Some(runtime) = runtime(tokio::runtime::Builder::new_current_thread()) else {
        return ExitCode::FAILURE;
    };
    let result = match args.command {
        Sub::Sync(args) => runtime.block_on(sync(args)),
        Sub::List(args) => runtime.block_on(list(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn sync(args: SyncArgs) -> Result<(), SchedulesCommandError> {
    let bundle = load_bundle(args.project.as_deref())?;
    // Every file problem (duplicate ids, bad input) is reported before connecting.
    schedules::desired(&bundle)?;
    let client = connect(&args.connect, Some(&bundle.project.namespace)).await?;
    let changes = schedules::sync(&client, &bundle, args.dry_run).await?;
    if args.json {
        let value = serde_json::json!({
            "namespace": client.namespace(),
            "dry_run": args.dry_run,
            "changes": changes,
        });
        print_json(&value);
    } else {
        print!(
            "{}",
            render_changes(&changes, args.dry_run, client.namespace())
        );
    }
    Ok(())
}

async fn list(args: ListArgs) -> Result<(), SchedulesCommandError> {
    let namespace = project_namespace(args.project.as_deref());
    let client = connect(&args.connect, namespace.as_deref()).await?;
    let listed: Vec<Listed> = schedules::list(&client)
        .await?
        .into_iter()
        .filter(|l| args.all || l.owned)
        .collect();
    if args.json {
        print_json(&serde_json::to_value(&listed).unwrap_or_default());
    } else {
        print!("{}", render_list(&listed, client.namespace()));
    }
    Ok(())
}

/// The sync plan as a table and a closing count line.
pub fn render_changes(changes: &[Change], dry_run: bool, namespace: &str) -> String {
    let mut out = String::new();
    let width = changes
        .iter()
        .map(|c| c.schedule_id.len())
        .max()
        .unwrap_or(0);
    for c in changes {
        out.push_str(&format!(
            "{:<9}  {:<width$}  {}  ({})\n",
            c.action.verb(),
            c.schedule_id,
            c.workflow,
            c.reason
        ));
    }
    let count = |a: Action| changes.iter().filter(|c| c.action == a).count();
    out.push_str(&format!(
        "schedules in namespace {namespace}: {} to create, {} to update, {} to delete, {} unchanged{}\n",
        count(Action::Create),
        count(Action::Update),
        count(Action::Delete),
        count(Action::Unchanged),
        if dry_run {
            " (dry run: nothing changed)"
        } else {
            ""
        }
    ));
    if !dry_run {
        out = out
            .replace(" to create,", " created,")
            .replace(" to update,", " updated,")
            .replace(" to delete,", " deleted,");
    }
    out
}

/// Schedules as a table: id, workflow, state, next run.
pub fn render_list(listed: &[Listed], namespace: &str) -> String {
    if listed.is_empty() {
        return format!(
            "no Stave-owned schedules in namespace {namespace} (run `stave schedules sync`)\n"
        );
    }
    let id_width = listed
        .iter()
        .map(|l| l.schedule_id.len())
        .max()
        .unwrap_or(0)
        .max(2);
    let wf_width = listed
        .iter()
        .map(|l| l.workflow.len())
        .max()
        .unwrap_or(0)
        .max(8);
    let mut out = format!(
        "{:<id_width$}  {:<wf_width$}  {:<6}  NEXT RUN\n",
        "ID", "WORKFLOW", "STATE"
    );
    for l in listed {
        out.push_str(&format!(
            "{:<id_width$}  {:<wf_width$}  {:<6}  {}\n",
            l.schedule_id,
            l.workflow,
            if l.paused { "paused" } else { "active" },
            l.next_runs.first().map(String::as_str).unwrap_or("-")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_render_with_counts() {
        let changes = vec![
            Change {
                schedule_id: "stave:nightly".into(),
                workflow: "report".into(),
                action: Action::Create,
                reason: "new".into(),
            },
            Change {
                schedule_id: "stave:old".into(),
                workflow: "report".into(),
                action: Action::Delete,
                reason: "no longer in the files".into(),
            },
        ];
        let text = render_changes(&changes, false, "default");
        assert_eq!(
            text,
            "create     stave:nightly  report  (new)\n\
             delete     stave:old      report  (no longer in the files)\n\
             schedules in namespace default: 1 created, 0 updated, 1 deleted, 0 unchanged\n"
        );
        let dry = render_changes(&changes, true, "default");
        assert!(
            dry.ends_with(
                "1 to create, 0 to update, 1 to delete, 0 unchanged (dry run: nothing changed)\n"
            ),
            "{dry}"
        );
    }
}
