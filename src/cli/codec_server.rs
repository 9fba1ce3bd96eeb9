//! `stave codec-server`: serve the project's payload codec to the Temporal Web UI and CLI.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::common::runtime;
use crate::runtime::codec_server::{self, Access};
use crate::runtime::payload;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Project directory whose stave.yaml has `encryption:` [default: found from the current directory].
    #[arg(long, value_name = "DIR")]
    pub project: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// Browser origin allowed to call (the Web UI's, e.g. `http://localhost:8233`); repeat for
    /// several, `*` for any.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// File holding the bearer token callers must send (`Authorization: Bearer TOKEN`; in the
    /// Web UI: "Pass the user access token"). Also from env STAVE_CODEC_TOKEN.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// Serves until SIGINT/SIGTERM.
pub fn run(args: Args) -> ExitCode {
    let Some(codec) = payload::codec() else {
        eprintln!(
            "error: the project has no `encryption:` in stave.yaml, so its payloads are plain JSON \
             and need no codec server; run it in the project directory or pass --project DIR"
        );
        return ExitCode::FAILURE;
    };
    let token = match token(&args) {
        Ok(token) => token,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(runtime) = runtime(tokio::runtime::Builder::new_multi_thread()) else {
        return ExitCode::FAILURE;
    };
    let access = Access {
        origins: args.cors_origins.clone(),
        token,
    };
    let result = runtime.block_on(async {
        let listener = codec_server::bind(args.listen).await?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        println!(
            "stave codec-server listening on http://{addr} (key `{}`); in the Web UI set the codec \
             server endpoint to http://{addr}",
            codec.write_key()
        );
        tokio::select! {
            () = codec_server::serve(listener, Arc::new(codec.clone()), access) => {}
            () = crate::runtime::worker::shutdown_signal() => {}
        }
        Ok::<_, String>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The bearer token from `--token-file`, else env `STAVE_CODEC_TOKEN`; never from the command
/// line, where any user of the machine could read it.
fn token(args: &Args) -> Result<Option<String>, String> {
    let token = match &args.token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read --token-file {}: {e}", path.display()))?
                .trim()
                .to_owned(),
        ),
        None => std::env::var("STAVE_CODEC_TOKEN")
            .ok()
            .map(|t| t.trim().to_owned()),
    };
    match token {
        Some(t) if t.is_empty() => Err(match &args.token_file {
            Some(path) => format!("--token-file {} is empty", path.display()),
            None => "STAVE_CODEC_TOKEN is empty; unset it or give it the token".into(),
        }),
        other => Ok(other),
    }
}
