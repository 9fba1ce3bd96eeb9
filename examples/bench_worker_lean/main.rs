//! The benchmark's worker built as a worker only (`stave::cli::worker_main_with`): the same
//! `inc` activity as `bench_worker`, without the rest of the CLI linked in.
//!
//! `bench-worker-lean --address HOST:PORT --task-queue bench --project bench/stave`

#[path = "../bench_worker/inc.rs"]
mod inc;

fn main() -> std::process::ExitCode {
    stave::cli::worker_main_with(stave::cli::Context {
        activities: inc::registry(),
    })
}
