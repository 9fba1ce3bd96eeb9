//! Secret values, resolved inside the activity worker and nowhere else.
//!
//! A workflow names a secret (`secret('payments/api_key')`), which evaluates to a reference
//! (`expr::secret_reference`); only references are ever written to history. Just before an
//! activity runs, [`Secrets::resolve`] replaces every reference in its input with the value
//! from the configured providers (`secrets:` in `stave.yaml`: a directory of files, such as a
//! mounted Kubernetes secret, then environment variables), and [`Resolved::redact`] turns the
//! values back into references in whatever the activity returns, fails with or heartbeats.

use crate::expr::{SECRET_CLOSE, SECRET_OPEN, is_secret_name};
use serde_json::Value as Json;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Why a secret could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// No provider has the secret. Fix: create it where the message says.
    #[error("secret `{name}` is not set: looked in {looked}")]
    NotFound { name: String, looked: String },
    /// A provider failed to read it (permissions, not UTF-8).
    #[error("secret `{name}` cannot be read from {source_name}: {why}")]
    Unreadable {
        name: String,
        source_name: String,
        why: String,
    },
    /// A reference whose name is not a secret name (never written by `secret()`).
    #[error("`{0}` is not a secret name")]
    BadName(String),
}

/// Where secret values come from. Implement it to read a vault; register it on the worker
/// (`Secrets::with`).
pub trait SecretProvider: Send + Sync {
    /// The value of `name`, or None when this provider does not hold it.
    fn get(&self, name: &str) -> Result<Option<String>, SecretError>;
    /// Where it looks, for "not found" messages: `environment variable STAVE_SECRET_X`.
    fn describe(&self, name: &str) -> String;
}

/// Secrets in environment variables: `payments/api_key` is `STAVE_SECRET_PAYMENTS_API_KEY`
/// (upper case, every other character `_`) with the default prefix.
#[derive(Debug, Clone)]
pub struct EnvProvider {
    pub prefix: String,
}

impl EnvProvider {
    pub fn variable(&self, name: &str) -> String {
        let mut var = self.prefix.clone();
        var.extend(name.chars().map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        }));
        var
    }
}

impl SecretProvider for EnvProvider {
    fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        Ok(std::env::var(self.variable(name)).ok())
    }

    fn describe(&self, name: &str) -> String {
        format!("environment variable `{}`", self.variable(name))
    }
}

/// Secrets as files: `payments/api_key` is `DIR/payments/api_key` (a mounted Kubernetes
/// secret, a Docker secret). One trailing newline is dropped.
#[derive(Debug, Clone)]
pub struct FileProvider {
    pub dir: PathBuf,
}

impl SecretProvider for FileProvider {
    fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
        // Names are checked (`is_secret_name`): no `..`, no absolute paths.
        let path = self.dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(mut value) => {
                if value.ends_with('\n') {
                    value.pop();
                    if value.ends_with('\r') {
                        value.pop();
                    }
                }
                Ok(Some(value))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(SecretError::Unreadable {
                name: name.to_string(),
                source_name: format!("`{}`", path.display()),
                why: e.to_string(),
            }),
        }
    }

    fn describe(&self, name: &str) -> String {
        format!("file `{}`", self.dir.join(name).display())
    }
}

/// The providers a worker reads secrets from, in order.
#[derive(Clone, Default)]
pub struct Secrets {
    providers: Vec<Arc<dyn SecretProvider>>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secrets({} providers)", self.providers.len())
    }
}

/// The default prefix of secrets in environment variables.
pub const ENV_PREFIX: &str = "STAVE_SECRET_";

impl Secrets {
    /// The providers `secrets:` of `stave.yaml` configures: its `dir` (if any), then the
    /// environment (prefix `env_prefix`, default `STAVE_SECRET_`).
    pub fn from_settings(settings: &crate::ir::SecretSettings) -> Secrets {
        let mut secrets = Secrets::default();
        if let Some(dir) = &settings.dir {
            secrets = secrets.with(FileProvider {
                dir: PathBuf::from(dir),
            });
        }
        secrets.with(EnvProvider {
            prefix: settings
                .env_prefix
                .clone()
                .unwrap_or_else(|| ENV_PREFIX.to_string()),
        })
    }

    /// These providers and one more, consulted after them.
    pub fn with(mut self, provider: impl SecretProvider + 'static) -> Secrets {
        self.providers.push(Arc::new(provider));
        self
    }

    /// The value of one secret.
    pub fn get(&self, name: &str) -> Result<String, SecretError> {
        if !is_secret_name(name) {
            return Err(SecretError::BadName(name.to_string()));
        }
        for p in &self.providers {
            if let Some(value) = p.get(name)? {
                return Ok(value);
            }
        }
        let looked: Vec<String> = self.providers.iter().map(|p| p.describe(name)).collect();
        Err(SecretError::NotFound {
            name: name.to_string(),
            looked: if looked.is_empty() {
                "no provider (configure `secrets:` in stave.yaml)".into()
            } else {
                looked.join(", ")
            },
        })
    }

    /// `value` with every secret reference replaced by the secret's value.
    pub fn resolve(&self, value: &Json) -> Result<Resolved, SecretError> {
        let mut revealed = Vec::new();
        let value = self.resolve_in(value, &mut revealed)?;
        // Longest first, so a value containing another is redacted whole.
        revealed.sort_by_key(|(v, _): &(String, String)| std::cmp::Reverse(v.len()));
        revealed.dedup();
        Ok(Resolved {
            value,
            redactor: Redactor { revealed },
        })
    }

    fn resolve_in(
        &self,
        value: &Json,
        revealed: &mut Vec<(String, String)>,
    ) -> Result<Json, SecretError> {
        Ok(match value {
            Json::String(s) if s.contains(SECRET_OPEN) => {
                Json::String(self.resolve_str(s, revealed)?)
            }
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .map(|i| self.resolve_in(i, revealed))
                    .collect::<Result<_, _>>()?,
            ),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.resolve_in(v, revealed)?)))
                    .collect::<Result<_, SecretError>>()?,
            ),
            other => other.clone(),
        })
    }

    fn resolve_str(
        &self,
        s: &str,
        revealed: &mut Vec<(String, String)>,
    ) -> Result<String, SecretError> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(start) = rest.find(SECRET_OPEN) {
            let after = &rest[start + SECRET_OPEN.len()..];
            let Some(end) = after.find(SECRET_CLOSE) else {
                break;
            };
            let name = &after[..end];
            out.push_str(&rest[..start]);
            let value = self.get(name)?;
            out.push_str(&value);
            if !value.is_empty() {
                revealed.push((value, crate::expr::secret_reference(name)));
            }
            rest = &after[end + SECRET_CLOSE.len()..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// An activity's input with its secrets resolved, and how to hide them again.
#[derive(Debug, Default)]
pub struct Resolved {
    pub value: Json,
    pub redactor: Redactor,
}

impl Resolved {
    /// What hides the resolved values again (kept after the value is handed over).
    pub fn redactor(&self) -> Redactor {
        self.redactor.clone()
    }
}

/// Turns resolved secret values back into their references.
#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// (value, reference) of every secret resolved, longest value first.
    revealed: Vec<(String, String)>,
}

impl Redactor {
    /// Whether any secret was resolved (nothing to redact otherwise).
    pub fn is_empty(&self) -> bool {
        self.revealed.is_empty()
    }

    /// `text` with every resolved value replaced by its reference.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (value, reference) in &self.revealed {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), reference);
            }
        }
        out
    }

    /// Every string (and object key) of `value`, redacted.
    pub fn redact_json(&self, value: &Json) -> Json {
        if self.is_empty() {
            return value.clone();
        }
        match value {
            Json::String(s) => Json::String(self.redact(s)),
            Json::Array(items) => Json::Array(items.iter().map(|i| self.redact_json(i)).collect()),
            Json::Object(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (self.redact(k), self.redact_json(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fixed;
    impl SecretProvider for Fixed {
        fn get(&self, name: &str) -> Result<Option<String>, SecretError> {
            Ok((name == "api/key").then(|| "s3cr3t-value".to_string()))
        }
        fn describe(&self, name: &str) -> String {
            format!("the test table ({name})")
        }
    }

    #[test]
    fn references_resolve_and_redact_back() {
        let secrets = Secrets::default().with(Fixed);
        let input = json!({
            "headers": { "Authorization": format!("Bearer {}", crate::expr::secret_reference("api/key")) },
            "list": [crate::expr::secret_reference("api/key")],
            "plain": "no secret",
        });
        let resolved = secrets.resolve(&input).unwrap();
        assert_eq!(
            resolved.value["headers"]["Authorization"],
            "Bearer s3cr3t-value"
        );
        assert_eq!(resolved.value["list"][0], "s3cr3t-value");
        let echoed = json!({ "echo": "got Bearer s3cr3t-value", "s3cr3t-value": 1 });
        let redacted = resolved.redactor.redact_json(&echoed).to_string();
        assert!(!redacted.contains("s3cr3t-value"), "{redacted}");
        assert!(redacted.contains("⟦secret:api/key⟧"), "{redacted}");
    }

    #[test]
    fn a_missing_secret_says_where_it_looked() {
        let secrets = Secrets::from_settings(&crate::ir::SecretSettings {
            dir: Some("/nonexistent/secrets".into()),
            env_prefix: None,
        });
        let e = secrets.get("payments/api_key").unwrap_err().to_string();
        assert_eq!(
            e,
            "secret `payments/api_key` is not set: looked in file `/nonexistent/secrets/payments/api_key`, environment variable `STAVE_SECRET_PAYMENTS_API_KEY`"
        );
        assert!(matches!(
            secrets.get("../etc/passwd"),
            Err(SecretError::BadName(_))
        ));
    }

    #[test]
    fn files_hold_values_without_their_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        std::fs::write(dir.path().join("db/password"), "hunter2\n").unwrap();
        let secrets = Secrets::default().with(FileProvider {
            dir: dir.path().to_path_buf(),
        });
        assert_eq!(secrets.get("db/password").unwrap(), "hunter2");
    }
}
