//! The benchmark's worker: the whole `stave` CLI plus the `inc` activity ({"n": k} → {"n": k+1}).
//!
//! `bench-worker worker --address HOST:PORT --task-queue bench --project bench/stave`
//! serves the four workloads of bench/stave (seq3, fanout50, timer_signal, noop).

mod inc;

fn main() -> std::process::ExitCode {
    stave::cli::main_with(stave::cli::Context {
        activities: inc::registry(),
    })
}
