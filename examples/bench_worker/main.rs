//! The benchmark's worker: the whole `stave` CLI plus the `inc` activity ({"n": k} → {"n": k+1}).
//!
//! `bench-worker worker --address HOST:PORT --task-queue bench --project bench/stave`
//! serves the four workloads of bench/stave (seq3, fanout50, timer_signal, noop).

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
    stave::cli::main_with(Context { activities })
}
