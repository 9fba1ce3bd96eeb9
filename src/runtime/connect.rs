//! Connecting to a Temporal server the way Temporal's own tools do: flags over env over `temporal.toml`.
//!
//! Precedence, highest first: command-line flags (`--address`, …), the environment
//! (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS_*`), the
//! selected profile of `temporal.toml` (`--profile` / `TEMPORAL_PROFILE`, file from
//! `TEMPORAL_CONFIG_FILE` or the default path), the project's `stave.yaml` namespace, and
//! finally Temporal's defaults (`localhost:7233`, namespace `default`). The file and env
//! layers are Temporal's own `envconfig` loader, so a profile that works with the `temporal`
//! CLI works here.
//!
//! The API key is a secret: it can come from a file (`--api-key-file`, `STAVE_API_KEY_FILE`)
//! or the environment (`TEMPORAL_API_KEY`) so it never has to be on a command line, and no
//! error, `Debug` output or log line of this module contains it.

use std::path::PathBuf;
use std::time::Duration;

use temporalio_client::envconfig::{
    ClientConfigProfile, ConfigError, DataSource, LoadClientConfigProfileOptions,
};
use temporalio_client::{Connection, ConnectionOptions};
use temporalio_common::envconfig::{ClientConfigTLS, load_client_config_profile};
use thiserror::Error;

mod diagnose;

/// Temporal's default frontend address.
pub const DEFAULT_ADDRESS: &str = "localhost:7233";
/// Temporal's default namespace.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The largest API key file read: a key is one short line; this bounds a mistaken path
/// (`/dev/zero`, a log file).
const MAX_API_KEY_FILE: u64 = 64 * 1024;

/// Connection flags, flattened into every subcommand that talks to a server. Its `Debug`
/// shows whether an API key is set, never the key.
#[derive(Clone, Default, clap::Args)]
pub struct ConnectArgs {
    /// Temporal frontend address, `host:port` or a URL [env: TEMPORAL_ADDRESS; default
    /// localhost:7233].
    #[arg(long, value_name = "HOST:PORT")]
    pub address: Option<String>,
    /// Temporal namespace [env: TEMPORAL_NAMESPACE; default: stave.yaml's, else `default`].
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// API key (enables TLS) [env: TEMPORAL_API_KEY]. Other local users can read it in the
    /// process list: prefer --api-key-file or the environment variable.
    #[arg(long, value_name = "KEY", conflicts_with = "api_key_file")]
    pub api_key: Option<String>,
    /// File holding the API key (enables TLS); surrounding whitespace and the trailing
    /// newline are ignored [env: STAVE_API_KEY_FILE].
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,
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
    /// `--api-key-file` naming a missing, empty or multi-line file. The message never
    /// contains the file's contents.
    #[error(
        "API key file `{path}`: {problem}\n  \
         help: put only the key in the file (a trailing newline is fine), or set TEMPORAL_API_KEY"
    )]
    ApiKeyFile { path: PathBuf, problem: String },
    /// An API key with a character an HTTP header cannot carry (a control character, a
    /// second line): the Temporal client would drop it silently and the server would answer
    /// "unauthenticated".
    #[error(
        "the API key from {source_name} contains a character an HTTP header cannot carry \
         (a control character or a line break); it must be the key alone"
    )]
    ApiKeyInvalid { source_name: String },
    /// `TEMPORAL_API_KEY` and `STAVE_API_KEY_FILE` both set: which one is meant is a guess.
    #[error(
        "both TEMPORAL_API_KEY and STAVE_API_KEY_FILE are set; unset one of them \
         (or pass --api-key-file, which wins over both)"
    )]
    ApiKeyAmbiguous,
    /// Nothing listens on the address, DNS fails, the server's certificate is not trusted,
    /// the server refuses the client's certificate or credentials.
    #[error("cannot reach the Temporal server at {address}{tried}: {cause}\n  help: {help}")]
    Unreachable {
        address: String,
        /// ` (after N attempts over Ts)` when retried.
        tried: String,
        cause: String,
        /// The likely fix ([`diagnose`]): the TLS flag to change, or how to start a server.
        help: String,
    },
}

/// Settings resolved from flags, env, profile and project; ready to connect. Its `Debug`
/// leaves out the connection options, whose own `Debug` prints the API key.
#[derive(Clone)]
pub struct Endpoint {
    /// The address as shown to people (`http://localhost:7233/`).
    pub address: String,
    pub namespace: String,
    /// Whether TLS is used (explicitly, or implied by an API key).
    pub tls: bool,
    /// What the person running the command should know (`--api-key` on the command line);
    /// printed to stderr by [`Endpoint::connect`].
    pub warnings: Vec<String>,
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

/// A live connection and the namespace to use it with. Its `Debug` leaves out the
/// connection, whose own `Debug` prints the API key header.
#[derive(Clone)]
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
        let mut warnings = Vec::new();
        if self.api_key.is_some() {
            warnings.push(
                "--api-key puts the key in the process list, where other local users can read \
                 it; use --api-key-file FILE or TEMPORAL_API_KEY instead"
                    .to_owned(),
            );
        } else if self.api_key_file.is_none()
            && let Some(file) = env_var("STAVE_API_KEY_FILE")
        {
            if env_var("TEMPORAL_API_KEY").is_some() {
                return Err(ConnectError::ApiKeyAmbiguous);
            }
            profile.api_key = Some(read_api_key(std::path::Path::new(&file))?);
        }
        // A key from a Kubernetes secret or `echo` often ends in a newline, which would make
        // the header invalid; no key has surrounding whitespace.
        if let Some(key) = profile.api_key.as_mut() {
            let trimmed = key.trim();
            if trimmed.len() != key.len() {
                *key = trimmed.to_owned();
            }
        }
        let from_file = self.api_key.is_none()
            && (self.api_key_file.is_some() || env_var("STAVE_API_KEY_FILE").is_some());
        if let Some(key) = profile.api_key.as_deref().filter(|_| !from_file) {
            let source = if self.api_key.is_some() {
                "--api-key"
            } else if env_var("TEMPORAL_API_KEY").is_some() {
                "TEMPORAL_API_KEY"
            } else {
                "the temporal.toml profile"
            };
            check_api_key(key, source)?;
        }
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
            warnings,
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
        if let Some(path) = &self.api_key_file {
            profile.api_key = Some(read_api_key(path)?);
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
        for warning in &self.warnings {
            eprintln!("warning: {warning}");
        }
        let mut options = self.options.clone();
        options.identity = if identity.is_empty() {
            default_identity()
        } else {
            identity.to_owned()
        };
        if options.connect_timeout.is_none() {
            options.connect_timeout = Some(Duration::from_secs(5));
        }
        let attempt = diagnose::Attempt {
            tls: options.tls_options.is_some() || options.api_key.is_some(),
            client_cert: options
                .tls_options
                .as_ref()
                .is_some_and(|t| t.client_tls_options.is_some()),
            api_key: options.api_key.is_some(),
        };
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
            let diagnosis = diagnose::diagnose(&error, attempt);
            let elapsed = started.elapsed();
            let give_up = diagnosis.permanent
                || match retry {
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
                    cause: diagnosis.cause,
                    help: diagnosis.help,
                });
            }
            tracing::warn!(address = %self.address, error = %diagnosis.cause, "temporal server not reachable yet; retrying in {delay:?}");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(5));
        }
    }
}

impl std::fmt::Debug for ConnectArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectArgs")
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("api_key_file", &self.api_key_file)
            .field("tls_ca", &self.tls_ca)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .field("tls_server_name", &self.tls_server_name)
            .field("profile", &self.profile)
            .finish()
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .field("tls", &self.tls)
            .field(
                "api_key",
                &self.options.api_key.as_ref().map(|_| "<redacted>"),
            )
            .field("tls_options", &self.options.tls_options)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Connected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connected")
            .field("address", &self.address)
            .field("namespace", &self.namespace)
            .finish_non_exhaustive()
    }
}

/// Reads an API key file: at most [`MAX_API_KEY_FILE`] bytes, UTF-8, one non-empty line
/// once surrounding whitespace (an editor's trailing newline) is removed.
fn read_api_key(path: &std::path::Path) -> Result<String, ConnectError> {
    use std::io::Read as _;
    let problem = |problem: String| ConnectError::ApiKeyFile {
        path: path.to_owned(),
        problem,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(MAX_API_KEY_FILE + 1).read_to_end(&mut bytes))
        .map_err(|e| problem(format!("cannot read it: {e}")))?;
    if bytes.len() as u64 > MAX_API_KEY_FILE {
        return Err(problem(format!(
            "it is larger than {} KiB; is this the right file?",
            MAX_API_KEY_FILE / 1024
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| problem("it is not UTF-8 text".into()))?;
    let key = text.trim();
    if key.is_empty() {
        return Err(problem("it is empty".into()));
    }
    if key.lines().nth(1).is_some() {
        return Err(problem("it holds more than one line".into()));
    }
    check_api_key(key, &format!("`{}`", path.display()))?;
    Ok(key.to_owned())
}

/// Rejects a key the client could not send: `Bearer KEY` must be a valid header value.
fn check_api_key(key: &str, source_name: &str) -> Result<(), ConnectError> {
    let sendable = key.bytes().all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
    if sendable {
        Ok(())
    } else {
        Err(ConnectError::ApiKeyInvalid {
            source_name: source_name.to_owned(),
        })
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

    const KEY: &str = "tmprl-key-0123456789abcdef";

    #[test]
    fn api_key_file_is_trimmed_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, format!("{KEY}\r\n")).unwrap();
        let args = ConnectArgs {
            api_key_file: Some(file),
            ..ConnectArgs::default()
        };
        let e = args.resolve_with_env(None, Some(&no_file())).unwrap();
        assert!(e.tls);
        assert!(e.warnings.is_empty(), "{:?}", e.warnings);
        assert_eq!(e.options.api_key.as_deref(), Some(KEY));
        let shown = format!("{e:?} {e:#?} {args:?}");
        assert!(!shown.contains(KEY), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }

    #[test]
    fn api_key_flag_is_redacted_and_warned_about() {
        let args = ConnectArgs {
            api_key: Some(KEY.into()),
            ..ConnectArgs::default()
        };
        let shown = format!("{args:?}");
        assert!(!shown.contains(KEY), "{shown}");
        let e = args.resolve_with_env(None, Some(&no_file())).unwrap();
        assert!(!format!("{e:?}").contains(KEY));
        assert_eq!(e.warnings.len(), 1);
        assert!(e.warnings[0].contains("--api-key-file"), "{:?}", e.warnings);
        assert!(!e.warnings[0].contains(KEY));
    }

    #[test]
    fn api_key_file_problems_name_the_file_never_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let resolve = |name: &str, contents: Option<&[u8]>| {
            let path = dir.path().join(name);
            if let Some(contents) = contents {
                std::fs::write(&path, contents).unwrap();
            }
            let args = ConnectArgs {
                api_key_file: Some(path),
                ..ConnectArgs::default()
            };
            args.resolve_with_env(None, Some(&no_file()))
                .unwrap_err()
                .to_string()
        };
        let cases = [
            resolve("missing", None),
            resolve("empty", Some(b"\n  \n")),
            resolve("two-lines", Some(format!("{KEY}\n{KEY}\n").as_bytes())),
            resolve("control", Some(format!("{KEY}\x07").as_bytes())),
            resolve("binary", Some(&[0xff, 0xfe, 0x00])),
        ];
        let expected = [
            "cannot read it",
            "it is empty",
            "more than one line",
            "HTTP header",
            "not UTF-8",
        ];
        for ((name, text), want) in ["missing", "empty", "two-lines", "control", "binary"]
            .iter()
            .zip(&cases)
            .zip(expected)
        {
            assert!(text.contains(name), "{text}");
            assert!(text.contains(want), "{text}");
            assert!(!text.contains(KEY), "{text}");
        }
    }

    #[test]
    fn api_key_file_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, KEY).unwrap();
        let mut vars = no_file();
        vars.insert("STAVE_API_KEY_FILE".into(), file.display().to_string());
        let e = ConnectArgs::default()
            .resolve_with_env(None, Some(&vars))
            .unwrap();
        assert_eq!(e.options.api_key.as_deref(), Some(KEY));

        vars.insert("TEMPORAL_API_KEY".into(), "other".into());
        let err = ConnectArgs::default()
            .resolve_with_env(None, Some(&vars))
            .unwrap_err();
        assert!(matches!(err, ConnectError::ApiKeyAmbiguous), "{err}");
        // A flag settles it.
        let args = ConnectArgs {
            api_key_file: Some(file),
            ..ConnectArgs::default()
        };
        let e = args.resolve_with_env(None, Some(&vars)).unwrap();
        assert_eq!(e.options.api_key.as_deref(), Some(KEY));
    }

    #[test]
    fn api_key_from_the_environment_with_a_line_break_is_refused() {
        let mut vars = no_file();
        vars.insert("TEMPORAL_API_KEY".into(), format!("{KEY}\nmore"));
        let err = ConnectArgs::default()
            .resolve_with_env(None, Some(&vars))
            .unwrap_err()
            .to_string();
        assert!(err.contains("TEMPORAL_API_KEY"), "{err}");
        assert!(!err.contains(KEY), "{err}");

        // A trailing newline (a secret made from a file) is not part of the key.
        vars.insert("TEMPORAL_API_KEY".into(), format!("{KEY}\n"));
        let e = ConnectArgs::default()
            .resolve_with_env(None, Some(&vars))
            .unwrap();
        assert_eq!(e.options.api_key.as_deref(), Some(KEY));
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
