//! The activity manifest (`activities.json`): each activity's name, schemas, errors and defaults.
//!
//! A worker exports it (`stave worker --export-manifest`); the checker reads it to check steps.

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// `activities.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Format version of the manifest.
    #[serde(default = "one")]
    pub version: u32,
    pub activities: Vec<ActivitySpec>,
}

fn one() -> u32 {
    1
}

/// One registered activity. Its `name` is its Temporal activity type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivitySpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the input; absent = anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Json>,
    /// JSON Schema of the output; absent = anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<Json>,
    /// Error types the activity may raise (its `ApplicationFailure` types).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Options used when neither the step, the workflow's `defaults` nor `stave.yaml`'s set them.
    #[serde(default, skip_serializing_if = "ActivityDefaults::is_empty")]
    pub defaults: ActivityDefaults,
}

/// Default options of an activity, in workflow-file spelling (`"30s"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ActivityDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_to_close: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryDefaults>,
}

impl ActivityDefaults {
    pub fn is_empty(&self) -> bool {
        *self == ActivityDefaults::default()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RetryDefaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_interval: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub non_retryable: Vec<String>,
}

impl Manifest {
    pub fn get(&self, name: &str) -> Option<&ActivitySpec> {
        self.activities.iter().find(|a| a.name == name)
    }

    /// Reads a manifest from JSON text.
    pub fn from_json(text: &str) -> Result<Manifest, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// Pretty JSON with a trailing newline, sorted by name, for committing.
    pub fn to_json(&self) -> String {
        let mut sorted = self.clone();
        sorted.activities.sort_by(|a, b| a.name.cmp(&b.name));
        let mut text = serde_json::to_string_pretty(&sorted).unwrap_or_default();
        text.push('\n');
        text
    }
}
