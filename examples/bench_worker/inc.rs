//! The benchmark's one activity, `inc` ({"n": k} → {"n": k+1}), shared by both bench workers.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use stave::runtime::activity::{ActivityContext, ActivityError, Registry};

#[derive(Deserialize, Serialize, JsonSchema)]
struct Counter {
    n: i64,
}

/// The built-ins and `inc`.
pub fn registry() -> Registry {
    Registry::with_builtins()
        .activity("inc", |_ctx: ActivityContext, input: Counter| async move {
            Ok::<_, ActivityError>(Counter { n: input.n + 1 })
        })
        .description("Returns its input plus one.")
}
