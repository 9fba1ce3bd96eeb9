//! `http.request`: one HTTP call (rustls), its status mapped to typed, retry-aware errors.
//!
//! Where it may connect is the worker's egress policy (`runtime::egress`, `http:` of
//! stave.yaml): a host outside `allow_hosts`, an address that is loopback, link-local,
//! private, unspecified or multicast (checked after DNS resolution, for every address), or a
//! redirect to another origin → `HttpDenied`, non-retryable, naming the host and the key that
//! allows it. URLs in errors are redacted (no userinfo, query values `REDACTED`).
//!
//! Redirects (301, 302, 303, 307, 308 with a `Location`) within the same origin are followed,
//! up to 5, and the status of the response they lead to is mapped; more redirects than that
//! → `HttpConnectError`.
//!
//! Status mapping: 2xx, and a 3xx that is not followed (304, or no `Location`) → output;
//! 4xx → `HttpClientError`, non-retryable except 408 and 429; 5xx → `HttpServerError`,
//! retryable; no answer within `timeout` → `HttpTimeout`, retryable; no connection →
//! `HttpConnectError`, retryable. A failing status with a `Retry-After` in seconds delays the
//! next attempt by that much. `fail_on_status: false` returns every response as output
//! instead.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::runtime::activity::{
    ActivityContext, ActivityError, INVALID_INPUT, PAYLOAD_TOO_LARGE, Registry,
};
use crate::runtime::egress::{self, Denied, HttpPolicy};

pub use crate::ir::errors::HTTP_DENIED;

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
                    result = call(ctx.http_policy(), input) => result,
                    _ = ctx.cancelled() => Err(ActivityError::cancelled()),
                }
            },
        )
        .errors([
            "HttpClientError",
            "HttpConnectError",
            HTTP_DENIED,
            "HttpServerError",
            "HttpTimeout",
        ])
        .description("Makes one HTTP request; 4xx → HttpClientError, 5xx → HttpServerError.")
}

fn invalid(message: String) -> ActivityError {
    ActivityError::new(INVALID_INPUT, message).non_retryable()
}

fn denied(denied: Denied) -> ActivityError {
    ActivityError::new(HTTP_DENIED, format!("http.request: {denied}")).non_retryable()
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

async fn call(policy: &HttpPolicy, input: HttpRequest) -> Result<HttpResponse, ActivityError> {
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
            egress::redact_text(&input.url)
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
    policy.check_url(&url).map_err(denied)?;
    let client = policy.client().map_err(|e| {
        ActivityError::new(
            "HttpConnectError",
            format!("cannot build the HTTP client: {e}"),
        )
    })?;
    let mut request = client.request(method.clone(), url.clone()).timeout(timeout);
    for (name, value) in &input.headers {
        request = request.header(name, value);
    }
    if let Some(json) = &input.json {
        request = request.json(json);
    } else if let Some(body) = input.body {
        request = request.body(body);
    }
    let target = format!("{method} {}", egress::redact_url(&url));
    let response = request
        .send()
        .await
        .map_err(|e| transport_error(&target, timeout, e))?;
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
        .map_err(|e| transport_error(target, timeout, e))?
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

fn transport_error(target: &str, timeout: Duration, e: reqwest::Error) -> ActivityError {
    if let Some(refused) = egress::denied_in(&e) {
        return denied(refused);
    }
    if e.is_timeout() {
        return ActivityError::new(
            "HttpTimeout",
            format!("{target}: no complete response within {timeout:?}"),
        );
    }
    // reqwest's Display stops at "error sending request"; the cause says what failed. The
    // URL it would name is the unredacted one: `target` names it instead.
    let e = e.without_url();
    let mut cause = e.to_string();
    let mut source = std::error::Error::source(&e);
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
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves `responses` (raw HTTP/1.1 text), one per connection, on a free port.
    async fn serve(responses: Vec<String>) -> String {
        serve_recording(responses).await.0
    }

    /// [`serve`], also sending each request head received.
    async fn serve_recording(
        responses: Vec<String>,
    ) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (heads, received) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            for response in responses {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let _ = heads.send(String::from_utf8_lossy(&buf[..n]).into_owned());
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        (format!("http://{addr}"), received)
    }

    fn redirect(location: &str) -> String {
        format!(
            "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
    }

    fn policy(hosts: &[&str], allow_private: bool) -> Arc<HttpPolicy> {
        HttpPolicy::new(&crate::ir::HttpSettings {
            allow_hosts: hosts.iter().map(|h| h.to_string()).collect(),
            allow_private,
        })
    }

    fn response(status: &str, content_type: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
    }

    /// Runs `http.request` with loopback allowed (the test servers listen there).
    async fn run(input: Json) -> Result<Json, ActivityError> {
        run_with(policy(&[], true), input).await
    }

    async fn run_with(policy: Arc<HttpPolicy>, input: Json) -> Result<Json, ActivityError> {
        let registry = register(Registry::new());
        let (ctx, _c) = ActivityContext::new(ActivityInfo::default(), |_| {});
        registry
            .run("http.request", ctx.with_http_policy(policy), input)
            .await
    }

    #[tokio::test]
    async fn loopback_is_denied_unless_allowed() {
        let url = serve(vec![response("200 OK", "text/plain", "hi")]).await;
        let port = url.rsplit(':').next().unwrap().to_owned();
        // By address, checked before connecting.
        let e = run_with(HttpPolicy::shared_default(), json!({"url": url}))
            .await
            .unwrap_err();
        assert_eq!(
            (e.error_type.as_str(), e.non_retryable),
            (HTTP_DENIED, true)
        );
        assert!(e.message.contains("`127.0.0.1`"), "{}", e.message);
        assert!(e.message.contains("loopback"), "{}", e.message);
        assert!(e.message.contains("http.allow_hosts"), "{}", e.message);
        // By name, checked by the resolver after the lookup.
        let by_name = format!("http://localhost:{port}/");
        let e = run_with(HttpPolicy::shared_default(), json!({"url": by_name}))
            .await
            .unwrap_err();
        assert_eq!(e.error_type, HTTP_DENIED, "{}", e.message);
        assert!(e.message.contains("`localhost`"), "{}", e.message);
        // Not in the allow-list at all.
        let e = run_with(policy(&["api.example.com"], true), json!({"url": by_name}))
            .await
            .unwrap_err();
        assert_eq!(e.error_type, HTTP_DENIED);
        assert!(e.message.contains("allow-list"), "{}", e.message);
        // Listed by name: allowed, though it resolves to loopback.
        let out = run_with(policy(&["localhost"], false), json!({"url": by_name}))
            .await
            .unwrap();
        assert_eq!(out["body"], "hi");
    }

    #[tokio::test]
    async fn same_origin_redirects_are_followed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            for answer in [
                redirect("/next"),
                response("200 OK", "text/plain", "arrived"),
            ] {
                let Ok((mut socket, _)) = listener.accept().await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        let out = run(json!({"url": format!("http://{addr}/start")}))
            .await
            .unwrap();
        assert_eq!(out["body"], "arrived");
    }

    #[tokio::test]
    async fn cross_origin_redirects_are_refused() {
        let (elsewhere, mut reached) =
            serve_recording(vec![response("200 OK", "text/plain", "leaked")]).await;
        let port = elsewhere.rsplit(':').next().unwrap().to_owned();
        // Another port, another host name, another scheme: each is another origin.
        for target in [
            format!("{elsewhere}/x"),
            format!("http://localhost:{port}/x"),
            format!("https://127.0.0.1:{port}/x"),
        ] {
            let url = serve(vec![redirect(&target)]).await;
            let e = run(json!({"url": url, "headers": {"authorization": "Bearer t"}}))
                .await
                .unwrap_err();
            assert_eq!(
                (e.error_type.as_str(), e.non_retryable),
                (HTTP_DENIED, true)
            );
            assert!(e.message.contains("leaves the origin"), "{}", e.message);
        }
        assert!(reached.try_recv().is_err(), "the other origin was called");
    }

    #[tokio::test]
    async fn redirects_are_bounded() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = vec![0u8; 8192];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(redirect("/again").as_bytes()).await;
                let _ = socket.shutdown().await;
            }
        });
        let e = run(json!({"url": format!("http://{addr}/")}))
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "HttpConnectError");
        assert!(e.message.contains("more than 5 redirects"), "{}", e.message);
    }

    #[tokio::test]
    async fn urls_in_errors_are_redacted() {
        let e = run(json!({"url": "http://user:pw@127.0.0.1:1/p?token=s3cret&page=2"}))
            .await
            .unwrap_err();
        assert_eq!(e.error_type, "HttpConnectError");
        assert!(
            e.message
                .contains("http://127.0.0.1:1/p?token=REDACTED&page=REDACTED"),
            "{}",
            e.message
        );
        for secret in ["s3cret", "pw", "user"] {
            assert!(!e.message.contains(secret), "{secret} in {}", e.message);
        }
        let url = serve(vec![response(
            "500 Internal Server Error",
            "text/plain",
            "",
        )])
        .await;
        let e = run(json!({"url": format!("{url}/?key=abc")}))
            .await
            .unwrap_err();
        assert!(
            e.message.contains("?key=REDACTED answered 500"),
            "{}",
            e.message
        );
        let e = run_with(
            HttpPolicy::shared_default(),
            json!({"url": "http://169.254.169.254/latest?sig=abc"}),
        )
        .await
        .unwrap_err();
        assert_eq!(e.error_type, HTTP_DENIED);
        assert!(!e.message.contains("abc"), "{}", e.message);
        let e = run(json!({"url": "http://u:pw@/?t=abc"}))
            .await
            .unwrap_err();
        assert!(
            !e.message.contains("abc") && !e.message.contains("pw"),
            "{}",
            e.message
        );
    }

    /// The worker resolves `secret('…')` references in the input before the activity runs;
    /// header values are where they usually are.
    #[tokio::test]
    async fn secret_references_in_headers_are_sent_resolved() {
        struct Table;
        impl crate::runtime::secrets::SecretProvider for Table {
            fn get(
                &self,
                name: &str,
            ) -> Result<Option<String>, crate::runtime::secrets::SecretError> {
                Ok((name == "api/token").then(|| "tok-123".to_owned()))
            }
            fn describe(&self, name: &str) -> String {
                format!("the test table ({name})")
            }
        }
        let (url, mut heads) =
            serve_recording(vec![response("200 OK", "text/plain", "echo tok-123")]).await;
        let input = json!({
            "url": url,
            "headers": {"authorization": format!("Bearer {}", crate::expr::secret_reference("api/token"))},
        });
        let secrets = crate::runtime::secrets::Secrets::default().with(Table);
        let resolved = secrets.resolve(&input).unwrap();
        let out = run(resolved.value.clone()).await.unwrap();
        let head = heads.recv().await.unwrap();
        assert!(head.contains("authorization: Bearer tok-123"), "{head}");
        // What the activity returns goes back through the redactor.
        let redacted = resolved.redactor().redact_json(&out);
        assert_eq!(redacted["body"], "echo ⟦secret:api/token⟧");
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
