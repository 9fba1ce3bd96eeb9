//! Unique ids the client makes up: request ids for idempotent retries, fresh workflow ids.

use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// A request id for idempotent retries of one call: unique per call, not random-crate based.
pub(super) fn request_id() -> String {
    unique_hex(32)
}

/// A fresh workflow id for `stave start` without `--id`: `TYPE-` plus 12 hex digits.
pub fn new_workflow_id(workflow_type: &str) -> String {
    format!("{workflow_type}-{}", unique_hex(12))
}

fn unique_hex(len: usize) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let digest = Sha256::digest(format!("{now}:{}:{count}", std::process::id()));
    digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .chars()
        .take(len)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_unique_and_prefixed() {
        let a = new_workflow_id("order-fulfilment");
        let b = new_workflow_id("order-fulfilment");
        assert_ne!(a, b);
        assert!(a.starts_with("order-fulfilment-"));
        assert_eq!(a.len(), "order-fulfilment-".len() + 12);
    }
}
