//! Stage 3: the IR on Temporal core — connection, worker, activities, pinned versions, replay.
//!
//! Only this module touches tokio and Temporal; it never sees YAML or the AST.

pub mod activity;
pub mod client;
pub mod codec;
pub mod codec_server;
pub mod connect;
pub mod egress;
pub mod health;
pub mod http;
pub mod interpreter;
pub mod logging;
pub mod metrics;
pub mod payload;
pub mod pools;
pub mod priority;
pub mod replay;
pub mod schedules;
pub mod secrets;
pub mod sim;
pub(crate) mod time;
pub mod versions;
pub mod worker;
