//! The benchmark's worker built as a worker only (`stave::cli::worker_main_with`): the same
//! `inc` activity as `bench_worker`, without the rest of the CLI linked in.
//!
//! `bench-worker-lean --address HOST:PORT --task-queue bench --project bench/stave`

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stave::cli::Context;
use stave::runtime::activity::{ActivityContext, ActivityError, Registry};

#[derive(Deserialize, Serialize, JsonSchema)]
struct Counter {
    n: i64,
}

fn main() -> std::process::ExitCode {
    let activities = Registry::with_builtins()
        .activity("inc", |_ctx: ActivityContext, input: Counter| async move {
            Ok::<_, ActivityError>(Counter { n: input.n + 1 })
        })
        .description("Returns its input plus one.");
    stave::cli::worker_main_with(Context { activities })
}
