//! The stock binary's built-in activities: `http.request` and `log`.

pub mod http;
pub mod log;

use crate::runtime::activity::Registry;

/// Adds every built-in activity to `registry`.
pub fn register(registry: Registry) -> Registry {
    log::register(http::register(registry))
}
