//! `http.request`: one HTTP call (rustls), its status mapped to typed, retry-aware errors.
//!
//! Redirects (301, 302, 303, 307, 308 with a `Location`) are followed, up to 10 (reqwest's
//! default policy), and the status of the response they lead to is mapped; more redirects
//! than that → `HttpConnectError`.
//!
//! Status mapping: 2xx, and a 3xx that is not followed (304, or no `Location`) → output;
//! 4xx → `HttpClientError`, non-retryable except 408 and 429; 5xx → `HttpServerError`,
//! retryable; no answer within `timeout` → `HttpTimeout`, retryable; no connection →
//! `HttpConnectError`, retryable. A failing status with a `Retry-After` in seconds delays the
//! next attempt by that much. `fail_on_status: false` returns every response as output
//! instead.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::runtime::activity::{
    ActivityContext, ActivityError, INVALID_INPUT, PAYLOAD_TOO_LARGE, Registry,
};

/// Default time for the whole call.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Responses larger than this cannot be returned as a Temporal payload anyway (2 MiB limit).
const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;
/// How much of an error response's body goes into the failure's details.
const ERROR_BODY_BYTES: usize = 2048;

/// Input of `http.request`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpRequest {
    /// `GET` (default), `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`, `OPTIONS`.
    #[serde(default = "get")]
    pub method: String,
    /// Absolute `http://` or `https://` URL.
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// A text body, sent as is.
    #[serde(default)]
    pub body: Option<String>,
    /// A JSON body (sets `content-type: application/json`); exclusive with `body`.
    #[serde(default)]
    pub json: Option<Json>,
    /// Time for the whole call: a duration (`"10s"`, `"1m30s"`) or a number of seconds.
    #[serde(default)]
    pub timeout: Option<Timeout>,
    /// When false, 4xx and 5xx responses are returned as output instead of failing.
    #[serde(default = "yes")]
    pub fail_on_status: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Timeout {
    Seconds(f64),
    Text(String),
}

/// Output of `http.request`.
#[derive(Debug, Serialize, JsonSchema, PartialEq)]
pub struct HttpResponse {
    pub status: u16,
    /// Response headers, names lower-case; repeated headers joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The body as text (lossy UTF-8).
    pub body: String,
    /// The body parsed, when it is JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub json: Option<Json>,
}

fn get() -> String {
    "GET".into()
}

fn yes() -> bool {
    true
}

/// Registers `http.request`.
pub fn register(registry: Registry) -> Registry {
    registry
        .activity(
            "http.request",
            |ctx: ActivityContext, input: HttpRequest| async move {
                tokio::select! {
                    result = call(input) => result,
                    _ = ctx.cancelled() => Err(ActivityError::cancelled()),
                }
            },
        )
        .errors([
            "HttpClientError",
            "HttpConnectError",
            "HttpServerError",
            "HttpTimeout",
        ])
        .description("Makes one HTTP request; 4xx → HttpClientError, 5xx → HttpServerError.")
}

fn invalid(message: String) -> ActivityError {
    ActivityError::new(INVALID_INPUT, message).non_retryable()
}

fn client() -> Result<&'static reqwest::Client, ActivityError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    let built = CLIENT.get_or_init(|| {
        // reqwest is built without a default crypto provider; ring is the one the Temporal
        // client already links. Installing twice is harmless (the first one stays).
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::builder()
            .user_agent(concat!("stave/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())
    });
    built.as_ref().map_err(|e| {
        ActivityError::new(
            "HttpConnectError",
            format!("cannot build the HTTP client: {e}"),
        )
    })
}

fn timeout_of(timeout: &Option<Timeout>) -> Result<Duration, ActivityError> {
    match timeout {
        None => Ok(DEFAULT_TIMEOUT),
        // Checked arithmetic: a huge number is an input error, never a panic.
        Some(Timeout::Seconds(s)) if *s > 0.0 => crate::syntax::duration::from_secs(*s)
            .map_err(|e| invalid(format!("http.request: `timeout`: {e}"))),
        Some(Timeout::Seconds(s)) => Err(invalid(format!(
            "http.request: `timeout` must be a positive number of seconds, got {s}"
        ))),
        Some(Timeout::Text(t)) => crate::syntax::duration::parse(t)
            .map_err(|e| invalid(format!("http.request: `timeout` {t:?}: {e}"))),
    }
}

async fn call(input: HttpRequest) -> Result<HttpResponse, ActivityError> {
    let method = reqwest::Method::from_bytes(input.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| {
            invalid(format!(
                "http.request: `method` {:?} is not an HTTP method",
                input.method
            ))
        })?;
    let url = reqwest::Url::parse(&input.url).map_err(|e| {
        invalid(format!(
            "http.request: `url` {:?} is not a URL: {e}",
            input.url
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid(format!(
            "http.request: `url` must be http or https, got {:?}",
            url.scheme()
        )));
    }
    if input.body.is_some() && input.json.is_some() {
        return Err(invalid(
            "http.request: give `body` or `json`, not both".into(),
        ));
    }
    let timeout = timeout_of(&input.timeout)?;
    let mut request = client()?
        .request(method.clone(), url.clone())
        .timeout(timeout);
    for (name, value) in &input.headers {
        request = request.header(name, value);
    }
    if let Some(json) = &input.json {
        request = request.json(json);
    } else if let Some(body) = input.body {
        request = request.body(body);
    }
    let target = format!("{method} {url}");
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(&target, timeout, &e))?;
    let status = response.status();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in response.headers() {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let is_json = headers
        .get("content-type")
        .is_some_and(|t| t.contains("json"));
    let bytes = read_body(response, &target, timeout).await?;
    let body = String::from_utf8_lossy(&bytes).into_owned();
    let json = if is_json {
        serde_json::from_slice(&bytes).ok()
    } else {
        None
    };
    let output = HttpResponse {
        status: status.as_u16(),
        headers,
        body,
        json,
    };
    if input.fail_on_status && (status.is_client_error() || status.is_server_error()) {
        return Err(status_error(&target, output));
    }
    Ok(output)
}

async fn read_body(
    mut response: reqwest::Response,
    target: &str,
    timeout: Duration,
) -> Result<Vec<u8>, ActivityError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(target, timeout, &e))?
    {
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ActivityError::new(
                PAYLOAD_TOO_LARGE,
                format!(
                    "{target}: the response body is over {} MiB, more than a Temporal payload may hold; \
                     have the service return a reference (URL, object key) instead",
                    MAX_BODY_BYTES / (1024 * 1024)
                ),
            )
            .non_retryable());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn transport_error(target: &str, timeout: Duration, e: &reqwest::Error) -> ActivityError {
    if e.is_timeout() {
        return ActivityError::new(
            "HttpTimeout",
            format!("{target}: no complete response within {timeout:?}"),
        );
    }
    // reqwest's Display stops at "error sending request"; the cause says what failed.
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        cause = format!("{cause}: {inner}");
        source = inner.source();
    }
    ActivityError::new("HttpConnectError", format!("{target}: {cause}"))
}

fn status_error(target: &str, response: HttpResponse) -> ActivityError {
    let status = response.status;
    let mut body = response.body;
    if body.len() > ERROR_BODY_BYTES {
        let mut cut = ERROR_BODY_BYTES;
        while !body.is_char_boundary(cut) {
            cut -= 1;
        }
        body.truncate(cut);
    }
    let retry_after = response
        .headers
        .get("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let details = serde_json::json!({"status": status, "body": body});
    let mut error = if status >= 500 {
        ActivityError::new("HttpServerError", format!("{target} answered {status}"))
    } else if status == 408 || status == 429 {
        ActivityError::new("HttpClientError", format!("{target} answered {status}"))
    } else {
        ActivityError::new("HttpClientError", format!("{target} answered {status}")).non_retryable()
    };
    if let Some(delay) = retry_after {
        error = error.retry_after(delay);
    }
    error.details(details)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::activity::ActivityInfo;
    use serde_json::json;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves `responses` (raw HTTP/1.1 text), one per connection, on a free port.
    async fn serve(responses: Vec<String>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for response in responses {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        format!("http://{addr}")
    }

    fn response(status: &str, content_type: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    async fn run(input: Json) -> Result<Json, ActivityError> {
        let registry = register(Registry::new());
        let (ctx, _c) = ActivityContext::new(ActivityInfo::default(), |_| {});
        registry.run("http.request", ctx, input).await
    }

    #[tokio::test]
    async fn json_response_is_parsed() {
        let url = serve(vec![response("200 OK", "application/json", r#"{"n":2}"#)]).await;
        let out = run(json!({"method": "post", "url": url, "json": {"n": 1}}))
            .await
            .unwrap();
        assert_eq!(out["status"], 200);
        assert_eq!(out["json"], json!({"n": 2}));
        assert_eq!(out["headers"]["content-type"], "application/json");
    }

    #[tokio::test]
    async fn statuses_map_to_typed_errors() {
        let url = serve(vec![
            response("404 Not Found", "text/plain", "nope"),
            response("429 Too Many Requests", "text/plain", ""),
            response("503 Service Unavailable", "text/plain", "later"),
            response("404 Not Found", "text/plain", "nope"),
        ])
        .await;
        let e = run(json!({"url": url})).await.unwrap_err();
        assert_eq!(
            (e.error_type.as_str(), e.non_retryable),
            ("HttpClientError", true)
        );
        assert_eq!(
            e.details.as_deref(),
            Some(&json!({"status": 404, "body": "nope"}))
        );
        let e = run(json!({"url": url})).await.unwrap_err();
        assert_eq!(
            (e.error_type.as_str(), e.non_retryable),
            ("HttpClientError", false)
        );
        let e = run(json!({"url": url})).await.unwrap_err();
        assert_eq!(
            (e.error_type.as_str(), e.non_retryable),
            ("HttpServerError", false)
        );
        let out = run(json!({"url": url, "fail_on_status": false}))
            .await
            .unwrap();
        assert_eq!(out["status"], 404);
    }

    #[tokio::test]
    async fn slow_server_is_a_timeout() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hold = tokio::spawn(async move {
            let accepted = listener.accept().await;
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(accepted);
        });
        let e = run(json!({"url": format!("http://{addr}"), "timeout": "200ms"}))
            .await
            .unwrap_err();
        hold.abort();
        assert_eq!(e.error_type, "HttpTimeout");
        assert!(!e.non_retryable);
    }

    #[tokio::test]
    async fn refused_connection_and_bad_input() {
        let e = run(json!({"url": "http://127.0.0.1:1/"}))
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "HttpConnectError");
        let e = run(json!({"url": "ftp://example.com/"})).await.unwrap_err();
        assert_eq!(
            (e.error_type.as_str(), e.non_retryable),
            (INVALID_INPUT, true)
        );
        let e = run(json!({"url": "http://x/", "timeout": "soon"}))
            .await
            .unwrap_err();
        assert!(e.message.contains("`timeout`"), "{}", e.message);
    }

    #[test]
    fn huge_or_odd_timeouts_are_input_errors_not_panics() {
        for s in [1e300, f64::MAX, f64::INFINITY, f64::NAN, -1.0, 0.0] {
            let err = timeout_of(&Some(Timeout::Seconds(s))).unwrap_err();
            assert_eq!(err.error_type, INVALID_INPUT, "{s}");
        }
        assert_eq!(
            timeout_of(&Some(Timeout::Seconds(2.5))).unwrap(),
            Duration::from_millis(2500)
        );
    }
}
