//! `stave codec-server`: the HTTP endpoint the Temporal Web UI and CLI call to read encrypted payloads.
//!
//! The protocol is Temporal's remote codec: `POST …/decode` (and `…/encode`) with
//! `{"payloads": [Payload, …]}` in protobuf JSON (bytes as base64) returns the same shape,
//! each payload decrypted (encrypted). The Web UI calls it from the browser, so it answers
//! CORS preflights for the origins it is given, and takes the UI's `Authorization` header as a
//! bearer token when one is required. Limits: a bounded number of connections, a time limit
//! per connection (headers and whole request), and a bounded body.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use temporalio_common::protos::temporal::api::common::v1::Payload;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::codec::Codec;

/// Largest request body: the UI sends a page of payloads, each at most 2 MiB.
pub const MAX_BODY: usize = 16 * 1024 * 1024;
/// Connections served at once; more wait in the listen backlog.
pub const MAX_CONNECTIONS: usize = 64;
/// Time for a client to send its request headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Time for a whole connection: a keep-alive browser reconnects after it.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(60);

/// Who may call the codec server.
#[derive(Clone, Default)]
pub struct Access {
    /// Origins allowed to call from a browser (`http://localhost:8233`); `*` allows any.
    pub origins: Vec<String>,
    /// When set, requests need `Authorization: Bearer TOKEN`.
    pub token: Option<String>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access")
            .field("origins", &self.origins)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// A payload in protobuf JSON: metadata values and data as base64.
#[derive(Debug, Serialize, Deserialize)]
struct JsonPayload {
    #[serde(default)]
    metadata: HashMap<String, String>,
    #[serde(default)]
    data: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct JsonPayloads {
    #[serde(default)]
    payloads: Vec<JsonPayload>,
}

/// Serves the codec on `listener` until the future is dropped.
pub async fn serve(listener: TcpListener, codec: Arc<Codec>, access: Access) {
    let access = Arc::new(access);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        // A slot first: beyond the bound, connections wait in the kernel's backlog.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let Ok((stream, _peer)) = listener.accept().await else {
            continue;
        };
        let (codec, access) = (codec.clone(), access.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let (codec, access) = (codec.clone(), access.clone());
                async move { Ok::<_, Infallible>(handle(request, &codec, &access).await) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
            drop(slot);
        });
    }
}

/// Binds `addr`; the error names the address and the flag.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} (--listen): {e}"))
}

async fn handle(
    request: Request<Incoming>,
    codec: &Codec,
    access: &Access,
) -> Response<Full<Bytes>> {
    let origin = request
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
        .map(str::to_owned);
    let allowed_origin = origin.filter(|o| {
        access
            .origins
            .iter()
            .any(|allowed| allowed == "*" || allowed.trim_end_matches('/') == o)
    });
    let mut response = route(request, codec, access).await;
    if let Some(origin) = allowed_origin {
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&origin) {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        }
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type, x-namespace, authorization"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
    }
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("origin"));
    response
}

async fn route(
    request: Request<Incoming>,
    codec: &Codec,
    access: &Access,
) -> Response<Full<Bytes>> {
    // Preflights carry no credentials; the CORS headers are added by the caller.
    if request.method() == Method::OPTIONS {
        return reply(StatusCode::NO_CONTENT, "");
    }
    let path = request.uri().path().trim_end_matches('/');
    let encode = if path.ends_with("/encode") {
        true
    } else if path.ends_with("/decode") {
        false
    } else {
        return error(
            StatusCode::NOT_FOUND,
            "the codec server answers POST …/encode and POST …/decode",
        );
    };
    if request.method() != Method::POST {
        return error(StatusCode::METHOD_NOT_ALLOWED, "use POST");
    }
    if let Some(token) = &access.token {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !same_secret(given, token) {
            return error(
                StatusCode::UNAUTHORIZED,
                "a bearer token is required: send `Authorization: Bearer TOKEN`",
            );
        }
    }
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is over {} MiB, or was cut off", MAX_BODY >> 20),
            );
        }
    };
    match transform(&body, codec, encode) {
        Ok(json) => {
            let mut response = reply(StatusCode::OK, &json);
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            response
        }
        Err(why) => error(StatusCode::BAD_REQUEST, &why),
    }
}

/// The request body's payloads encoded or decoded, as the response body.
fn transform(body: &[u8], codec: &Codec, encode: bool) -> Result<String, String> {
    let request: JsonPayloads = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not {{\"payloads\": [...]}}: {e}"))?;
    let mut out = Vec::with_capacity(request.payloads.len());
    for (i, json) in request.payloads.into_iter().enumerate() {
        let payload = from_json(json).map_err(|e| format!("payload {i}: {e}"))?;
        let done = if encode {
            codec.encode(&payload)
        } else {
            codec
                .decode(&payload)
                .map_err(|e| format!("payload {i}: {e}"))?
        };
        out.push(to_json(&done));
    }
    serde_json::to_string(&JsonPayloads { payloads: out }).map_err(|e| e.to_string())
}

fn from_json(json: JsonPayload) -> Result<Payload, String> {
    let mut payload = Payload {
        data: STANDARD
            .decode(json.data)
            .map_err(|e| format!("`data` is not base64: {e}"))?,
        ..Default::default()
    };
    for (key, value) in json.metadata {
        let bytes = STANDARD
            .decode(value)
            .map_err(|e| format!("metadata `{key}` is not base64: {e}"))?;
        payload.metadata.insert(key, bytes);
    }
    Ok(payload)
}

fn to_json(payload: &Payload) -> JsonPayload {
    JsonPayload {
        metadata: payload
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), STANDARD.encode(v)))
            .collect(),
        data: STANDARD.encode(&payload.data),
    }
}

/// Compares two secrets in time independent of where they differ.
fn same_secret(given: &str, expected: &str) -> bool {
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

fn reply(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_owned())));
    *response.status_mut() = status;
    response
}

fn error(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "error": message }).to_string();
    let mut response = reply(status, &body);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::payload;
    use serde_json::json;

    fn codec() -> Codec {
        Codec::from_keys(&[("k1", [7u8; 32])])
    }

    #[test]
    fn decode_returns_what_encode_was_given_in_protobuf_json() {
        let codec = codec();
        let plain = to_json(&payload::encode_plain(&json!({"amount": 42})));
        let request = serde_json::to_string(&JsonPayloads {
            payloads: vec![plain],
        })
        .unwrap();
        let encoded = transform(request.as_bytes(), &codec, true).unwrap();
        assert!(!encoded.contains(&STANDARD.encode(br#"{"amount":42}"#)));
        let decoded: JsonPayloads =
            serde_json::from_str(&transform(encoded.as_bytes(), &codec, false).unwrap()).unwrap();
        let back = from_json(decoded.payloads.into_iter().next().unwrap()).unwrap();
        assert_eq!(payload::decode_plain(&back).unwrap(), json!({"amount": 42}));
    }

    #[test]
    fn bad_bodies_are_400s_that_say_what_is_wrong() {
        let codec = codec();
        let err = transform(b"\"payloads\"", &codec, false).unwrap_err();
        assert!(err.contains("{\"payloads\""), "{err}");
        let err = transform(br#"{"payloads":[{"data":"!!"}]}"#, &codec, false).unwrap_err();
        assert!(err.starts_with("payload 0: `data` is not base64"), "{err}");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", "abc"));
    }
}
