//! The worker process's allocator, tuned once at start: on glibc, a fixed mmap threshold.
//!
//! tonic gzips every gRPC request, and flate2's zlib-rs backend (selected for the whole
//! build by core's `ephemeral-server` feature, through `zip`) takes its deflate state as one
//! ~380 KB block per request. glibc mmaps the first such block; when it is freed, glibc
//! raises its threshold, so every later block comes from an arena, where fragmentation keeps
//! it resident: a 50-run load grew the worker's RSS by about 19 MiB (heaptrack and the
//! bench, `bench/results/2026-12-04-rss/`). A fixed threshold of 128 KiB keeps such blocks
//! mapped and unmapped, so RSS stays near the live heap; smaller allocations are unaffected.
//! The same setting from outside is `GLIBC_TUNABLES=glibc.malloc.mmap_threshold=131072`.

/// Blocks at least this large are mmapped, and the threshold no longer moves.
pub const MMAP_THRESHOLD: i32 = 128 * 1024;

/// Applies the setting (once per process; later calls do nothing). Whether it took effect:
/// false off glibc, or when glibc refused it.
pub fn tune_allocator() -> bool {
    static TUNED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TUNED.get_or_init(apply)
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn apply() -> bool {
    // SAFETY: mallopt only sets an allocator parameter; it is thread-safe in glibc and has
    // no memory-safety preconditions.
    unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn apply() -> bool {
    false
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn the_threshold_is_set_on_glibc_and_only_once() {
        assert!(super::tune_allocator());
        assert!(super::tune_allocator());
    }
}
