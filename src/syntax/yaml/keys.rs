//! Every key the YAML form accepts, by construct: one table for the loader and the schema.
//!
//! The loader checks mappings against these tables and `stave schema` builds its JSON Schema
//! from them, so the two cannot drift apart.

/// Keys of a file that lists its workflows (`workflows:`); a file without that list holds
/// one workflow, its keys ([`WORKFLOW_KEYS`]) at the top beside `stave` and `fragments`.
pub const FILE_KEYS: &[&str] = &["stave", "fragments", "workflows"];
/// Keys of one workflow: the top of a one-workflow file (with `stave` and `fragments`), or an
/// entry of `workflows:` (without them).
pub const WORKFLOW_KEYS: &[&str] = &[
    "stave",
    "fragments",
    "workflow",
    "description",
    "queue",
    "timeout",
    "input",
    "vars",
    "defaults",
    "signals",
    "updates",
    "queries",
    "steps",
    "output",
    "schedules",
    "search_attributes",
    "memo",
    "continue_as_new_after",
    "priority",
    "expose_status",
];
/// Activity options: `defaults:` of a workflow file and of `stave.yaml`.
pub const OPTION_KEYS: &[&str] = &[
    "queue",
    "task_queue",
    "timeout",
    "schedule_to_close",
    "schedule_to_start",
    "heartbeat",
    "retry",
    "summary",
    "priority",
];
/// Keys of a retry policy.
pub const RETRY_KEYS: &[&str] = &[
    "max_attempts",
    "initial_interval",
    "backoff",
    "max_interval",
    "non_retryable",
];
/// Keys of an entry of `workflows:`: a workflow's own keys, without the file's.
pub const LISTED_WORKFLOW_KEYS: &[&str] = WORKFLOW_KEYS.split_at(2).1;
/// The step kinds: a step holds exactly one of these keys.
pub const STEP_KINDS: &[&str] = &[
    "activity", "workflow", "foreach", "while", "steps", "switch", "parallel", "wait", "sleep",
    "set", "try", "fail", "return", "rethrow", "use",
];
/// Keys of a call: what runs and its input.
const CALL_KEYS: &[&str] = &["activity", "input", "args"];
/// Keys of an activity step: the call, the activity options, `compensate`.
pub const ACTIVITY_KEYS: &[&str] =
    &concat::<15>(&[&["id", "if"], CALL_KEYS, OPTION_KEYS, &["compensate"]]);
/// Keys of `compensate`: an activity call without `id`, `if` or a compensation of its own.
pub const COMPENSATE_KEYS: &[&str] = &concat::<12>(&[CALL_KEYS, OPTION_KEYS]);
/// Keys of a child workflow step.
pub const CHILD_KEYS: &[&str] = &[
    "id",
    "if",
    "workflow",
    "input",
    "args",
    "workflow_id",
    "queue",
    "task_queue",
    "timeout",
    "parent_close",
    "retry",
    "priority",
];
/// The keys of each step kind (the schema defines the kinds in this order).
pub const STEP_SHAPES: &[(&str, &[&str])] = &[
    ("activity", ACTIVITY_KEYS),
    ("workflow", CHILD_KEYS),
    (
        "foreach",
        &["id", "if", "foreach", "as", "concurrency", "steps"],
    ),
    ("while", &["id", "if", "while", "max_iterations", "steps"]),
    ("steps", &["id", "if", "steps", "else"]),
    ("switch", &["id", "if", "switch"]),
    ("parallel", &["id", "if", "parallel", "race"]),
    ("wait", &["id", "if", "wait"]),
    ("sleep", &["id", "if", "sleep"]),
    ("set", &["id", "if", "set"]),
    ("try", &["id", "if", "try", "catch"]),
    ("fail", &["id", "if", "fail"]),
    ("return", &["id", "if", "return"]),
    ("rethrow", &["id", "if", "rethrow"]),
    ("use", &["id", "if", "use"]),
];
/// Keys of a `catch` clause.
pub const CATCH_KEYS: &[&str] = &["errors", "when", "as", "steps"];
/// Keys of a `switch` case.
pub const CASE_KEYS: &[&str] = &["when", "steps", "default"];
/// Keys of the mapping form of `wait`.
pub const WAIT_KEYS: &[&str] = &["signal", "any", "all", "until", "timeout", "on_timeout"];
/// Keys of the mapping form of `sleep`.
pub const SLEEP_KEYS: &[&str] = &["until"];
/// Keys of `fail`.
pub const FAIL_KEYS: &[&str] = &["type", "message", "details"];
/// Keys of a schedule.
pub const SCHEDULE_KEYS: &[&str] = &[
    "id", "cron", "every", "timezone", "overlap", "paused", "input",
];
/// Keys of a signal handler.
pub const SIGNAL_KEYS: &[&str] = &["set"];
/// Keys of an update handler.
pub const UPDATE_KEYS: &[&str] = &["validate", "message", "set", "steps", "result"];
/// Keys of `stave.yaml`.
pub const PROJECT_KEYS: &[&str] = &[
    "namespace",
    "activities",
    "queues",
    "default_queue",
    "defaults",
    "workflows",
    "secrets",
    "encryption",
    "http",
];
/// Keys of `http:` in `stave.yaml`.
pub const HTTP_KEYS: &[&str] = &["allow_hosts", "allow_private"];
/// Keys of `secrets:` in `stave.yaml`.
pub const SECRETS_KEYS: &[&str] = &["dir", "env_prefix"];
/// Keys of `encryption:` in `stave.yaml`.
pub const ENCRYPTION_KEYS: &[&str] = &["key", "decrypt_with"];
/// Keys of a queue in `stave.yaml`.
pub const QUEUE_KEYS: &[&str] = &[
    "task_queue",
    "max_concurrent_workflow_tasks",
    "max_concurrent_activities",
    "max_workers",
    "rate_limit",
];

/// `parts` one after another, so that a table built of others lists each key once; `N` is
/// their total length (a wrong `N` fails the build).
const fn concat<const N: usize>(parts: &[&[&'static str]]) -> [&'static str; N] {
    let mut out = [""; N];
    let (mut i, mut n) = (0, 0);
    while i < parts.len() {
        let mut j = 0;
        while j < parts[i].len() {
            out[n] = parts[i][j];
            n += 1;
            j += 1;
        }
        i += 1;
    }
    assert!(n == N, "N is not the total length of the parts");
    out
}

/// The keys a step of `kind` (one of [`STEP_KINDS`]) accepts.
pub fn step_keys(kind: &str) -> &'static [&'static str] {
    STEP_SHAPES
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or(&[], |(_, keys)| *keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_kind_has_a_shape() {
        let shapes: Vec<&str> = STEP_SHAPES.iter().map(|(k, _)| *k).collect();
        let mut kinds = STEP_KINDS.to_vec();
        kinds.sort_unstable();
        let mut sorted = shapes.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, kinds);
        for (kind, keys) in STEP_SHAPES {
            assert!(
                keys.contains(kind) && keys.contains(&"id") && keys.contains(&"if"),
                "{kind}: {keys:?}"
            );
        }
    }
}
