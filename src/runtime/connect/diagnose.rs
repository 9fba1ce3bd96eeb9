//! Why a connection attempt failed, in words that name the cause and the flag that fixes it.
//!
//! tonic and rustls report TLS problems as `invalid peer certificate: UnknownIssuer`, or —
//! when the server refuses the client's certificate after a TLS 1.3 handshake — as a broken
//! pipe on the first call. The texts matched here are those of rustls 0.23 and hyper 1,
//! observed in `tests/e2e_tls.rs`; an unknown text falls back to the generic advice.

use temporalio_client::errors::ClientConnectError;
use temporalio_client::tonic::Code;

/// The innermost cause of a failed attempt and the advice for it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Diagnosis {
    /// The innermost error text, without tonic's wrappers.
    pub cause: String,
    /// What to do, one sentence.
    pub help: String,
    /// Retrying cannot help (a certificate the client rejects stays rejected): give up at once.
    pub permanent: bool,
}

/// What the attempt was configured with, as far as the advice depends on it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Attempt {
    pub tls: bool,
    pub client_cert: bool,
    pub api_key: bool,
}

const UNREACHABLE_HELP: &str = "start a local server with `stave dev`, or point \
     TEMPORAL_ADDRESS / --address at a running one";

pub(super) fn diagnose(error: &ClientConnectError, attempt: Attempt) -> Diagnosis {
    let (cause, status) = match error {
        // Its `Display` is tonic's `Debug` of the status; the status's own chain is clearer.
        ClientConnectError::SystemInfoCallError(status) => {
            let inner = innermost(status);
            let cause = if inner.is_empty() || inner == status.message() {
                format!("{:?}: {}", status.code(), status.message())
            } else {
                inner
            };
            (cause, Some(status.code()))
        }
        other => (innermost(other), None),
    };
    let (help, permanent) = advice(&cause, status, attempt);
    Diagnosis {
        cause,
        help,
        permanent,
    }
}

fn advice(cause: &str, status: Option<Code>, attempt: Attempt) -> (String, bool) {
    let lower = cause.to_ascii_lowercase();
    let has = |needle: &str| lower.contains(needle);
    if has("unknownissuer") || has("unknown issuer") {
        return (
            "the server's certificate is not signed by a CA this client trusts: pass the CA \
             that signed it with --tls-ca (or TEMPORAL_TLS_SERVER_CA_CERT_PATH); leave it out \
             for a server with a public certificate such as Temporal Cloud"
                .to_owned(),
            true,
        );
    }
    if has("certificate expired") {
        return (
            "the server's certificate has expired: renew it on the server (or check this \
             machine's clock)"
                .to_owned(),
            true,
        );
    }
    if has("not valid yet") {
        return (
            "the server's certificate is not valid yet: check this machine's clock and the \
             server's"
                .to_owned(),
            true,
        );
    }
    if has("not valid for name") || has("notvalidforname") {
        return (
            "the server's certificate is for another host name: pass the name it was issued \
             for with --tls-server-name (or TEMPORAL_TLS_SERVER_NAME)"
                .to_owned(),
            true,
        );
    }
    if has("invalidcontenttype") || has("corrupt message") {
        return (
            "the server does not speak TLS at this address: drop the TLS flags and the API \
             key, or use the server's TLS port"
                .to_owned(),
            true,
        );
    }
    let refused_after_handshake = attempt.tls
        && (has("received fatal alert")
            || has("broken pipe")
            || has("connection reset")
            || has("connection closed")
            || has("tls handshake eof"));
    if refused_after_handshake {
        // A server that requires mTLS refuses a missing or untrusted client certificate
        // only after a TLS 1.3 handshake has completed, so the client sees the connection
        // drop (or the alert) on its first call.
        let help = if attempt.client_cert {
            "the server closed the connection during or after the TLS handshake: it most \
             likely refused the client certificate (signed by a CA it does not trust, expired, \
             or not for client authentication); check --tls-cert and --tls-key"
        } else {
            "the server closed the connection during or after the TLS handshake: it most \
             likely requires a client certificate (mTLS); pass --tls-cert and --tls-key (or \
             TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH)"
        };
        return (help.to_owned(), has("received fatal alert"));
    }
    if matches!(status, Some(Code::Unauthenticated | Code::PermissionDenied)) {
        let help = if attempt.api_key {
            "the server refused the credentials: check the API key (--api-key-file, \
             TEMPORAL_API_KEY) and that it may use this namespace"
        } else {
            "the server requires credentials: pass an API key with --api-key-file (or \
             TEMPORAL_API_KEY), or a client certificate with --tls-cert and --tls-key"
        };
        return (help.to_owned(), true);
    }
    if !attempt.tls && (has("connection reset") || has("frame") || has("http2")) {
        return (
            format!(
                "{UNREACHABLE_HELP}; if the server requires TLS, pass --tls-ca (or an API key)"
            ),
            false,
        );
    }
    (UNREACHABLE_HELP.to_owned(), false)
}

/// The innermost error's text: tonic wraps "connection refused" several layers deep, and
/// the outer layers only say "transport error".
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        text = inner.to_string();
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Attempt {
        Attempt {
            tls: false,
            client_cert: false,
            api_key: false,
        }
    }

    fn tls(client_cert: bool) -> Attempt {
        Attempt {
            tls: true,
            client_cert,
            api_key: false,
        }
    }

    #[test]
    fn certificate_problems_name_the_flag_and_are_permanent() {
        let cases = [
            ("invalid peer certificate: UnknownIssuer", "--tls-ca"),
            (
                "invalid peer certificate: certificate expired: verification time 1 (UNIX)",
                "expired",
            ),
            (
                "invalid peer certificate: certificate not valid for name \"x\"",
                "--tls-server-name",
            ),
            (
                "received corrupt message of type InvalidContentType",
                "does not speak TLS",
            ),
        ];
        for (cause, flag) in cases {
            let (help, permanent) = advice(cause, None, tls(true));
            assert!(help.contains(flag), "{cause}: {help}");
            assert!(permanent, "{cause}");
        }
    }

    #[test]
    fn a_drop_after_the_handshake_points_at_the_client_certificate() {
        let cause = "stream closed because of a broken pipe";
        let (help, permanent) = advice(cause, None, tls(false));
        assert!(help.contains("requires a client certificate"), "{help}");
        assert!(!permanent, "a broken pipe may be transient");
        let (help, _) = advice(cause, None, tls(true));
        assert!(help.contains("refused the client certificate"), "{help}");
        let (_, permanent) = advice(
            "received fatal alert: CertificateRequired",
            None,
            tls(false),
        );
        assert!(permanent);
        // The same drop, seen as a closed connection (it depends on when the alert arrives).
        let (help, _) = advice("connection closed", None, tls(false));
        assert!(help.contains("requires a client certificate"), "{help}");
        // Without TLS a broken pipe is an ordinary network problem.
        let (help, _) = advice(cause, None, plain());
        assert!(help.contains("stave dev"), "{help}");
    }

    #[test]
    fn refused_credentials_name_the_key_options() {
        let with_key = Attempt {
            api_key: true,
            ..tls(false)
        };
        let (help, permanent) = advice(
            "Request unauthorized",
            Some(Code::Unauthenticated),
            with_key,
        );
        assert!(help.contains("--api-key-file"), "{help}");
        assert!(permanent);
    }

    #[test]
    fn anything_else_gets_the_reachability_advice() {
        let (help, permanent) = advice("Connection refused (os error 111)", None, plain());
        assert!(help.contains("stave dev"), "{help}");
        assert!(!permanent);
    }
}
