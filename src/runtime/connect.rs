//! Connecting to a Temporal server the way Temporal's own tools do: flags over env over `temporal.toml`.
//!
//! Precedence, highest first: command-line flags (`--address`, …), the environment
//! (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`), the
//! selected profile of `temporal.toml` (`--profile` / `TEMPORAL_PROFILE`, file from
//! `TEMPORAL_CONFIG_FILE` or the default path), the project's `stave.yaml` namespace, and
//! finally Temporal's defaults (`localhost:7233`, namespace `default`). The file and env
//! layers are Temporal's own `envconfig` loader, so a profile that works with the `temporal`
//! CLI works here.

use std::path::PathBuf;
use std::time::Duration;

use temporalio_client::envconfig::{
    ClientConfigProfile, ConfigError, DataSource, LoadClientConfigProfileOptions,
};
use temporalio_client::{Connection, ConnectionOptions};
use temporalio_common::envconfig::{ClientConfigTLS, load_client_config_profile};
use thiserror::Error;

/// Temporal's default frontend address.
pub const DEFAULT_ADDRESS: &str = "localhost:7233";
/// Temporal's default namespace.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Connection flags, flattened into every subcommand that talks to a server.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConnectArgs {
    /// Temporal frontend address, `host:port` or a URL [env: TEMPORAL_ADDRESS; default
    /// localhost:7233].
    #[arg(long, value_name = "HOST:PORT")]
    pub address: Option<String>,
    /// Temporal namespace [env: TEMPORAL_NAMESPACE; default: stave.yaml's, else `default`].
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// API key (enables TLS) [env: TEMPORAL_API_KEY].
    #[arg(long, value_name = "KEY")]
    pub api_key: Option<String>,
    /// CA certificate (PEM) that signed the server's certificate [env:
    /// TEMPORAL_TLS_SERVER_CA_CERT_PATH or TEMPORAL_TLS_CA_CERT_PATH].
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mTLS [env: TEMPORAL_TLS_CLIENT_CERT_PATH].
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// Client private key (PEM) for mTLS [env: TEMPORAL_TLS_CLIENT_KEY_PATH].
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Server name to verify the server's certificate against (SNI) [env:
    /// TEMPORAL_TLS_SERVER_NAME].
    #[arg(long, value_name = "NAME")]
    pub tls_server_name: Option<String>,
    /// Profile of temporal.toml to use [env: TEMPORAL_PROFILE; file: TEMPORAL_CONFIG_FILE].
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

/// What went wrong while resolving settings or connecting.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// `--profile prod` when temporal.toml has no `[profile.prod]`, a malformed file, or an
    /// unreadable certificate path.
    #[error(
        "temporal client configuration: {0}; check temporal.toml, TEMPORAL_PROFILE and the TEMPORAL_* variables"
    )]
    Config(String),
    /// `--tls-ca /missing.pem`.
    #[error("cannot read {what} `{path}`: {source}")]
    ReadFile {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// Nothing listens on the address, DNS fails, TLS handshake fails.
    #[error(
        "cannot reach the Temporal server at {address}{tried}: {cause}\n  \
         help: start a local server with `stave dev`, or point TEMPORAL_ADDRESS / --address at a running one"
    )]
    Unreachable {
        address: String,
        /// ` (after N attempts over Ts)` when retried.
        tried: String,
        cause: String,
    },
}

/// Settings resolved from flags, env, profile and project; ready to connect.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The address as shown to people (`http://localhost:7233/`).
    pub address: String,
    pub namespace: String,
    /// Whether TLS is used (explicitly, or implied by an API key).
    pub tls: bool,
    options: ConnectionOptions,
}

/// How long to keep trying when the server is not (yet) reachable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Retry {
    /// One attempt: interactive commands report at once.
    Once,
    /// Exponential backoff (200 ms doubling to 5 s) until the deadline: workers that start
    /// alongside the server.
    For(Duration),
}

/// A live connection and the namespace to use it with.
#[derive(Debug, Clone)]
pub struct Connected {
    pub connection: Connection,
    pub namespace: String,
    pub address: String,
}

impl ConnectArgs {
    /// Resolves every layer into an [`Endpoint`]. `project_namespace` is the namespace of
    /// `stave.yaml`, used when neither a flag, the environment nor a profile sets one.
    pub fn resolve(&self, project_namespace: Option<&str>) -> Result<Endpoint, ConnectError> {
        self.resolve_with_env(project_namespace, None)
    }

    /// [`ConnectArgs::resolve`] with the environment given as a map (tests); `None` reads the
    /// process environment.
    pub fn resolve_with_env(
        &self,
        project_namespace: Option<&str>,
        env: Option<&std::collections::HashMap<String, String>>,
    ) -> Result<Endpoint, ConnectError> {
        let options = LoadClientConfigProfileOptions::builder()
            .maybe_config_file_profile(self.profile.clone())
            .build();
        let mut profile = load_client_config_profile(options, env).map_err(|e| config_error(&e))?;
        let env_var = |key: &str| -> Option<String> {
            match env {
                Some(map) => map.get(key).cloned(),
                None => std::env::var(key).ok(),
            }
            .filter(|v| !v.is_empty())
        };
        // The brief spelling `TEMPORAL_TLS_CA_CERT_PATH` is accepted as an alias of Temporal's
        // `TEMPORAL_TLS_SERVER_CA_CERT_PATH`, which wins when both are set.
        let ca_alias = env_var("TEMPORAL_TLS_CA_CERT_PATH")
            .filter(|_| env_var("TEMPORAL_TLS_SERVER_CA_CERT_PATH").is_none())
            .map(PathBuf::from);
        self.apply_overrides(&mut profile, ca_alias)?;
        // Without a scheme the loader picks `https` when TLS is on; its own default carries
        // `http://`, which would silently disagree with a TLS flag.
        profile
            .address
            .get_or_insert_with(|| DEFAULT_ADDRESS.to_owned());

        let namespace = profile
            .namespace
            .clone()
            .or_else(|| project_namespace.map(str::to_owned))
            .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let options = ConnectionOptions::try_from(profile).map_err(|e| config_error(&e))?;
        let tls = options.tls_options.is_some();
        Ok(Endpoint {
            address: options.target.to_string(),
            namespace,
            tls,
            options,
        })
    }

    fn apply_overrides(
        &self,
        profile: &mut ClientConfigProfile,
        ca_alias: Option<PathBuf>,
    ) -> Result<(), ConnectError> {
        if let Some(address) = &self.address {
            profile.address = Some(address.clone());
        }
        if let Some(namespace) = &self.namespace {
            profile.namespace = Some(namespace.clone());
        }
        if let Some(key) = &self.api_key {
            profile.api_key = Some(key.clone());
        }
        let ca = self.tls_ca.clone().or(ca_alias);
        let any_tls = ca.is_some()
            || self.tls_cert.is_some()
            || self.tls_key.is_some()
            || self.tls_server_name.is_some();
        if !any_tls {
            return Ok(());
        }
        let tls = profile.tls.get_or_insert_with(ClientConfigTLS::default);
        // Reading the files here, not inside the Temporal client, gives an error that names
        // the flag's file instead of a generic load error.
        if let Some(path) = ca {
            tls.server_ca_cert = Some(DataSource::Data(read("CA certificate", &path)?));
        }
        if let Some(path) = &self.tls_cert {
            tls.client_cert = Some(DataSource::Data(read("client certificate", path)?));
        }
        if let Some(path) = &self.tls_key {
            tls.client_key = Some(DataSource::Data(read("client key", path)?));
        }
        if let Some(name) = &self.tls_server_name {
            tls.server_name = Some(name.clone());
        }
        // A TLS flag on the command line means TLS, even if the profile disabled it.
        tls.disabled = Some(false);
        Ok(())
    }

    /// Resolves and connects; see [`Endpoint::connect`].
    pub async fn connect(
        &self,
        project_namespace: Option<&str>,
        identity: &str,
        retry: Retry,
    ) -> Result<Connected, ConnectError> {
        self.resolve(project_namespace)?
            .connect(identity, retry)
            .await
    }
}

impl Endpoint {
    /// Connects, retrying with backoff as `retry` says. `identity` names this process in the
    /// server's poller lists; an empty one is replaced by `stave@HOST:PID`.
    pub async fn connect(&self, identity: &str, retry: Retry) -> Result<Connected, ConnectError> {
        let mut options = self.options.clone();
        options.identity = if identity.is_empty() {
            default_identity()
        } else {
            identity.to_owned()
        };
        if options.connect_timeout.is_none() {
            options.connect_timeout = Some(Duration::from_secs(5));
        }
        let started = std::time::Instant::now();
        let mut delay = Duration::from_millis(200);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let error = match Connection::connect(options.clone()).await {
                Ok(connection) => {
                    return Ok(Connected {
                        connection,
                        namespace: self.namespace.clone(),
                        address: self.address.clone(),
                    });
                }
                Err(e) => e,
            };
            let elapsed = started.elapsed();
            let give_up = match retry {
                Retry::Once => true,
                Retry::For(limit) => elapsed + delay > limit,
            };
            if give_up {
                let tried = if attempts > 1 {
                    format!(" (after {attempts} attempts over {}s)", elapsed.as_secs())
                } else {
                    String::new()
                };
                return Err(ConnectError::Unreachable {
                    address: self.address.clone(),
                    tried,
                    cause: describe(&error),
                });
            }
            tracing::warn!(address = %self.address, error = %describe(&error), "temporal server not reachable yet; retrying in {delay:?}");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}

/// `stave@HOST:PID`: what Temporal's SDKs use (`PID@HOST`), spelled for this tool.
pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("stave@{host}:{}", std::process::id())
}

fn read(what: &'static str, path: &std::path::Path) -> Result<Vec<u8>, ConnectError> {
    std::fs::read(path).map_err(|source| ConnectError::ReadFile {
        what,
        path: path.to_owned(),
        source,
    })
}

fn config_error(e: &ConfigError) -> ConnectError {
    ConnectError::Config(e.to_string())
}

/// The innermost cause of a connect error: tonic wraps "connection refused" several layers
/// deep, and the outer layers only say "transport error".
fn describe(error: &temporalio_client::errors::ClientConnectError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        text = inner.to_string();
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn no_file() -> HashMap<String, String> {
        env(&[("TEMPORAL_CONFIG_FILE", "/nonexistent/temporal.toml")])
    }

    #[test]
    fn defaults_are_temporals() {
        let e = ConnectArgs::default()
            .resolve_with_env(None, Some(&no_file()))
            .unwrap();
        assert_eq!(e.address, "http://localhost:7233/");
        assert_eq!(e.namespace, "default");
        assert!(!e.tls);
    }

    #[test]
    fn project_namespace_is_used_when_nothing_else_sets_one() {
        let e = ConnectArgs::default()
            .resolve_with_env(Some("project-ai"), Some(&no_file()))
            .unwrap();
        assert_eq!(e.namespace, "project-ai");
    }

    #[test]
    fn env_overrides_project_and_flags_override_env() {
        let mut vars = no_file();
        vars.insert("TEMPORAL_ADDRESS".into(), "10.0.0.1:7233".into());
        vars.insert("TEMPORAL_NAMESPACE".into(), "from-env".into());
        let e = ConnectArgs::default()
            .resolve_with_env(Some("project-ai"), Some(&vars))
            .unwrap();
        assert_eq!(e.address, "http://10.0.0.1:7233/");
        assert_eq!(e.namespace, "from-env");
        let args = ConnectArgs {
            address: Some("127.0.0.1:7411".into()),
            namespace: Some("from-flag".into()),
            ..ConnectArgs::default()
        };
        let e = args
            .resolve_with_env(Some("project-ai"), Some(&vars))
            .unwrap();
        assert_eq!(e.address, "http://127.0.0.1:7411/");
        assert_eq!(e.namespace, "from-flag");
    }

    #[test]
    fn api_key_implies_tls() {
        let args = ConnectArgs {
            address: Some("ns.acct.tmprl.cloud:7233".into()),
            api_key: Some("secret".into()),
            ..ConnectArgs::default()
        };
        let e = args.resolve_with_env(None, Some(&no_file())).unwrap();
        assert!(e.tls);
        assert_eq!(e.address, "https://ns.acct.tmprl.cloud:7233/");
    }

    #[test]
    fn profile_from_toml_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("temporal.toml");
        std::fs::write(
            &file,
            "[profile.staging]\naddress = \"staging.example:7233\"\nnamespace = \"staging\"\n",
        )
        .unwrap();
        let vars = env(&[("TEMPORAL_CONFIG_FILE", file.to_str().unwrap())]);
        let args = ConnectArgs {
            profile: Some("staging".into()),
            ..ConnectArgs::default()
        };
        let e = args.resolve_with_env(None, Some(&vars)).unwrap();
        assert_eq!(e.address, "http://staging.example:7233/");
        assert_eq!(e.namespace, "staging");

        let missing = ConnectArgs {
            profile: Some("prod".into()),
            ..ConnectArgs::default()
        };
        let err = missing.resolve_with_env(None, Some(&vars)).unwrap_err();
        assert!(err.to_string().contains("'prod' not found"), "{err}");
    }

    #[test]
    fn tls_files_are_read_and_named_when_missing() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").unwrap();
        let args = ConnectArgs {
            tls_ca: Some(ca),
            tls_server_name: Some("temporal.internal".into()),
            ..ConnectArgs::default()
        };
        let e = args.resolve_with_env(None, Some(&no_file())).unwrap();
        assert!(e.tls);
        assert!(e.address.starts_with("https://"), "{}", e.address);

        let args = ConnectArgs {
            tls_cert: Some(dir.path().join("missing.pem")),
            tls_key: Some(dir.path().join("key.pem")),
            ..ConnectArgs::default()
        };
        let err = args.resolve_with_env(None, Some(&no_file())).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read client certificate"),
            "{err}"
        );
        assert!(err.to_string().contains("missing.pem"), "{err}");
    }

    #[test]
    fn ca_alias_variable_enables_tls() {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "pem").unwrap();
        let mut vars = no_file();
        vars.insert(
            "TEMPORAL_TLS_CA_CERT_PATH".into(),
            ca.to_str().unwrap().into(),
        );
        let e = ConnectArgs::default()
            .resolve_with_env(None, Some(&vars))
            .unwrap();
        assert!(e.tls);
    }

    #[tokio::test]
    async fn unreachable_server_names_the_address_and_the_fix() {
        // Port 1 on loopback: nothing listens there, so the connect is refused at once.
        let args = ConnectArgs {
            address: Some("127.0.0.1:1".into()),
            ..ConnectArgs::default()
        };
        let endpoint = args.resolve_with_env(None, Some(&no_file())).unwrap();
        let err = endpoint.connect("test", Retry::Once).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("http://127.0.0.1:1/"), "{text}");
        assert!(text.contains("stave dev"), "{text}");
        assert!(text.contains("TEMPORAL_ADDRESS"), "{text}");

        let err = endpoint
            .connect("test", Retry::For(Duration::from_millis(700)))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("attempts"), "{err}");
    }
}
