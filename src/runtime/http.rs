//! The worker's operations endpoints: `/metrics`, `/healthz`, `/readyz` on hyper's HTTP/1.1 server, with limits.
//!
//! Prometheus scrapes and Kubernetes probes send one small GET per connection. Whoever can
//! reach the port can open connections, so each listener is bounded ([`Limits`]): at most
//! `max_connections` at once (further ones wait in the kernel's backlog until one closes), a
//! request head within `header_read_timeout` (a slowloris connection is dropped), the whole
//! connection within `connection_timeout` (a reader that never reads the answer is dropped
//! too), heads of at most 16 KiB, no keep-alive.
//!
//! With a token configured (`--ops-token-file` or `STAVE_OPS_TOKEN`), `/metrics` and
//! `/readyz` answer only requests with `Authorization: Bearer TOKEN`; `/healthz` (liveness:
//! "the process answers", nothing else) stays open so probes need no secret.
//!
//! [`Ops`] is everything operational a worker process runs besides its pollers: these
//! servers, core's own Prometheus exporter (`--core-metrics-addr`), and the task-queue
//! watcher that refreshes the queue-depth gauge and the connection state.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};

use temporalio_common::telemetry::{PrometheusExporterOptions, start_prometheus_metric_exporter};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::{AbortHandle, JoinHandle};

use crate::runtime::connect::Connected;
use crate::runtime::health::Readiness;
use crate::runtime::metrics::{Metrics, MetricsError, Observer, watch_task_queues};
use crate::runtime::worker::QueuePlan;

/// Largest request head read (hyper's buffer); probes and scrapers send a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;

/// What one client may hold of an endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once; more wait until one closes.
    pub max_connections: usize,
    /// Time to send the request head.
    pub header_read_timeout: Duration,
    /// Time for the whole connection: head, answer, and the client reading it.
    pub connection_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 64,
            header_read_timeout: Duration::from_secs(5),
            connection_timeout: Duration::from_secs(15),
        }
    }
}

/// What went wrong while starting the operations endpoints.
#[derive(Debug, Error)]
pub enum OpsError {
    /// `--metrics-addr 0.0.0.0:9090` while another process listens on 9090.
    #[error(
        "cannot listen on {addr} for {flag}: {source}; another process (another worker?) may use the port — pick a free one with {flag}"
    )]
    Bind {
        flag: &'static str,
        addr: String,
        source: std::io::Error,
    },
    /// `--core-metrics-addr nosuchhost:1`.
    #[error("cannot resolve {addr} for {flag}: {reason}")]
    Resolve {
        flag: &'static str,
        addr: String,
        reason: String,
    },
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

/// Where the operations endpoints listen; `None` = not served.
#[derive(Debug, Clone)]
pub struct OpsSettings {
    /// `/metrics` (plus `/healthz` and `/readyz`).
    pub metrics_addr: Option<String>,
    /// `/healthz` and `/readyz`; the same address as `metrics_addr` shares one listener.
    pub health_addr: Option<String>,
    /// Core's SDK metrics (its own Prometheus exporter: `/metrics` on this address).
    pub core_metrics_addr: Option<String>,
    /// How often the queue-depth gauge and the connection state are refreshed.
    pub queue_depth_interval: Duration,
    /// The bearer token `/metrics` and `/readyz` require; `None` = open.
    pub token: Option<String>,
    pub limits: Limits,
}

impl Default for OpsSettings {
    fn default() -> Self {
        OpsSettings {
            metrics_addr: None,
            health_addr: None,
            core_metrics_addr: None,
            queue_depth_interval: Duration::from_secs(15),
            token: None,
            limits: Limits::default(),
        }
    }
}

/// Parses a listen address: `HOST:PORT`, `[V6]:PORT`, `:PORT` for every interface (what the
/// container manifests use), or a bare `PORT` for this machine only (`127.0.0.1:PORT`).
pub fn parse_listen_addr(text: &str) -> Result<String, String> {
    let text = text.trim();
    let with_host = if text.starts_with(':') {
        format!("0.0.0.0{text}")
    } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        format!("127.0.0.1:{text}")
    } else {
        text.to_owned()
    };
    let Some((host, port)) = with_host.rsplit_once(':') else {
        return Err(format!(
            "`{text}` is not HOST:PORT; write e.g. `0.0.0.0:9090` or `:9090`"
        ));
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!(
            "`{text}` is not HOST:PORT with a port 0-65535; write e.g. `0.0.0.0:9090` or `:9090`"
        ));
    }
    Ok(with_host)
}

/// The running operations endpoints of one worker process. Dropping it stops them.
pub struct Ops {
    observer: Observer,
    readiness: Readiness,
    metrics: Option<Metrics>,
    /// (endpoint description, bound address, server task).
    servers: Vec<(String, SocketAddr, JoinHandle<()>)>,
    core: Option<(SocketAddr, AbortHandle)>,
    watcher: Option<JoinHandle<()>>,
    interval: Duration,
    /// The served task queues (from [`Ops::expect`]), watched once connected.
    task_queues: Vec<String>,
}

impl Ops {
    /// Binds every configured endpoint (so a port in use is reported before anything
    /// connects) and starts serving. Readiness starts as "connecting".
    pub async fn start(settings: &OpsSettings) -> Result<Ops, OpsError> {
        let readiness = Readiness::new();
        let metrics = match &settings.metrics_addr {
            Some(_) => Some(Metrics::new()?),
            None => None,
        };
        let mut servers = Vec::new();
        if let Some(addr) = &settings.metrics_addr {
            let listener = bind("--metrics-addr", addr).await?;
            let routes = Routes {
                metrics: metrics.clone(),
                readiness: readiness.clone(),
                token: settings.token.clone(),
            };
            servers.push(spawn(
                listener,
                routes,
                settings.limits,
                "/metrics /healthz /readyz",
            )?);
        }
        if let Some(addr) = &settings.health_addr
            && settings.metrics_addr.as_deref() != Some(addr.as_str())
        {
            let listener = bind("--health-addr", addr).await?;
            let routes = Routes {
                metrics: None,
                readiness: readiness.clone(),
                token: settings.token.clone(),
            };
            servers.push(spawn(
                listener,
                routes,
                settings.limits,
                "/healthz /readyz",
            )?);
        }
        let (core, core_meter) = match &settings.core_metrics_addr {
            Some(addr) => {
                let socket = resolve("--core-metrics-addr", addr).await?;
                let options = PrometheusExporterOptions::builder()
                    .socket_addr(socket)
                    .counters_total_suffix(true)
                    .unit_suffix(true)
                    .use_seconds_for_durations(true)
                    .build();
                let started =
                    start_prometheus_metric_exporter(options).map_err(|e| OpsError::Bind {
                        flag: "--core-metrics-addr",
                        addr: addr.clone(),
                        source: std::io::Error::other(e.to_string()),
                    })?;
                let meter: Arc<dyn temporalio_common::telemetry::metrics::CoreMeter> =
                    started.meter;
                (
                    Some((started.bound_addr, started.abort_handle)),
                    Some(meter),
                )
            }
            None => (None, None),
        };
        let observer = Observer::new(metrics.clone(), Some(readiness.clone()), core_meter);
        Ok(Ops {
            observer,
            readiness,
            metrics,
            servers,
            core,
            watcher: None,
            interval: settings.queue_depth_interval,
            task_queues: Vec::new(),
        })
    }

    /// The hooks to pass to the worker (`WorkerOptions::observer`).
    pub fn observer(&self) -> Observer {
        self.observer.clone()
    }

    pub fn readiness(&self) -> &Readiness {
        &self.readiness
    }

    pub fn metrics(&self) -> Option<&Metrics> {
        self.metrics.as_ref()
    }

    /// One line per endpoint, e.g. `http://127.0.0.1:9090 (/metrics /healthz /readyz)`.
    pub fn endpoints(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .servers
            .iter()
            .map(|(what, addr, _)| format!("http://{addr} ({what})"))
            .collect();
        if let Some((addr, _)) = &self.core {
            lines.push(format!(
                "http://{addr} (/metrics: Temporal core SDK metrics)"
            ));
        }
        lines
    }

    /// The bound address of the first server (tests bind port 0).
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.servers.first().map(|(_, addr, _)| *addr)
    }

    /// The bound address of core's exporter.
    pub fn core_addr(&self) -> Option<SocketAddr> {
        self.core.as_ref().map(|(addr, _)| *addr)
    }

    /// The worker serves all but `refused` workflow files: `/readyz` says "degraded" with
    /// `why`, and `stave_workflow_files_refused` counts them.
    pub fn degraded(&self, refused: usize, why: &str) {
        self.readiness.degraded(why);
        if let Some(metrics) = &self.metrics {
            metrics.refused_files(refused);
        }
    }

    /// The pools the worker will run: `/readyz` waits for their pollers, and their metric
    /// series exist (at zero) from now on.
    pub fn expect(&mut self, plans: &[QueuePlan]) {
        let task_queues: Vec<String> = plans.iter().map(|p| p.queue.task_queue.clone()).collect();
        let workflow_types: Vec<String> = plans
            .iter()
            .flat_map(|p| p.workflows.iter().map(|w| w.name.clone()))
            .collect();
        if let Some(metrics) = &self.metrics {
            metrics.declare(&task_queues, &workflow_types);
        }
        self.readiness.expect(task_queues.iter().cloned());
        self.task_queues.extend(task_queues);
    }

    /// The worker connected: readiness knows, and the task-queue watcher starts (queue depth
    /// when metrics are on; the connection state whenever `/readyz` is served).
    pub fn connected(&mut self, connected: &Connected) {
        self.readiness.connected();
        if self.servers.is_empty() {
            return;
        }
        let task_queues = self.task_queues.clone();
        if let Some(old) = self.watcher.take() {
            old.abort();
        }
        self.watcher = Some(watch_task_queues(
            connected.connection.clone(),
            connected.namespace.clone(),
            task_queues,
            self.interval,
            self.metrics.clone(),
            Some(self.readiness.clone()),
        ));
    }
}

impl Drop for Ops {
    fn drop(&mut self) {
        for (_, _, task) in &self.servers {
            task.abort();
        }
        if let Some((_, handle)) = &self.core {
            handle.abort();
        }
        if let Some(watcher) = &self.watcher {
            watcher.abort();
        }
    }
}

async fn bind(flag: &'static str, addr: &str) -> Result<TcpListener, OpsError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| OpsError::Bind {
            flag,
            addr: addr.to_owned(),
            source,
        })
}

async fn resolve(flag: &'static str, addr: &str) -> Result<SocketAddr, OpsError> {
    let resolve_error = |reason: String| OpsError::Resolve {
        flag,
        addr: addr.to_owned(),
        reason,
    };
    tokio::net::lookup_host(addr)
        .await
        .map_err(|e| resolve_error(e.to_string()))?
        .next()
        .ok_or_else(|| resolve_error("no address found".to_owned()))
}

fn spawn(
    listener: TcpListener,
    routes: Routes,
    limits: Limits,
    what: &str,
) -> Result<(String, SocketAddr, JoinHandle<()>), OpsError> {
    let addr = listener.local_addr().map_err(|source| OpsError::Bind {
        flag: "--metrics-addr",
        addr: what.to_owned(),
        source,
    })?;
    let task = tokio::spawn(serve(listener, Arc::new(routes), limits));
    Ok((what.to_owned(), addr, task))
}

/// What the endpoints answer from.
#[derive(Clone)]
struct Routes {
    metrics: Option<Metrics>,
    readiness: Readiness,
    token: Option<String>,
}

/// A response: status line, content type, body.
#[derive(Debug, PartialEq)]
struct Response {
    status: u16,
    content_type: &'static str,
    body: String,
}

impl Routes {
    fn answer(&self, method: &str, path: &str, authorization: Option<&str>) -> Response {
        let text = |status, body: String| Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body,
        };
        if method != "GET" && method != "HEAD" {
            return text(405, "only GET and HEAD are served\n".into());
        }
        if path != "/healthz"
            && let Some(token) = &self.token
            && !bearer_matches(authorization, token)
        {
            return text(
                401,
                "this endpoint needs `Authorization: Bearer TOKEN` (the worker's --ops-token-file or STAVE_OPS_TOKEN)\n".into(),
            );
        }
        match path {
            "/healthz" => text(200, "ok\n".into()),
            "/readyz" => match self.readiness.check() {
                Ok(summary) => text(200, format!("{summary}\n")),
                Err(reason) => text(503, format!("not ready: {reason}\n")),
            },
            "/metrics" => match &self.metrics {
                Some(metrics) => Response {
                    status: 200,
                    content_type: "text/plain; version=0.0.4; charset=utf-8",
                    body: metrics.render(),
                },
                None => text(404, "metrics are served on --metrics-addr\n".into()),
            },
            _ => {
                let paths = if self.metrics.is_some() {
                    "/metrics, /healthz, /readyz"
                } else {
                    "/healthz, /readyz"
                };
                text(404, format!("not found; this server answers {paths}\n"))
            }
        }
    }
}

/// Whether `Authorization` carries `Bearer TOKEN`, compared in constant time.
fn bearer_matches(authorization: Option<&str>, token: &str) -> bool {
    let Some(given) = authorization.and_then(|a| a.strip_prefix("Bearer ")) else {
        return false;
    };
    let (given, token) = (given.trim().as_bytes(), token.as_bytes());
    given.len() == token.len()
        && given
            .iter()
            .zip(token)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn serve(listener: TcpListener, routes: Arc<Routes>, limits: Limits) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        // A permit before accepting: past the bound, connections wait in the backlog.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            return;
        };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("operations endpoint cannot accept a connection: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let routes = routes.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = service_fn(move |request: hyper::Request<Incoming>| {
                let routes = routes.clone();
                async move { Ok::<_, Infallible>(respond(&routes, &request)) }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .keep_alive(false)
                .max_buf_size(MAX_HEAD);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(limits.connection_timeout, connection).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::debug!("operations endpoint: {e}"),
                Err(_) => tracing::debug!("operations endpoint: connection timed out"),
            }
        });
    }
}

fn respond(routes: &Routes, request: &hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let method = request.method().as_str();
    let authorization = request
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let answer = routes.answer(method, request.uri().path(), authorization);
    let length = answer.body.len();
    let body = if method == "HEAD" {
        Bytes::new()
    } else {
        Bytes::from(answer.body)
    };
    let mut response = hyper::Response::new(Full::new(body));
    *response.status_mut() = hyper::StatusCode::from_u16(answer.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(answer.content_type),
    );
    headers.insert(hyper::header::CONTENT_LENGTH, length.into());
    if answer.status == 401 {
        headers.insert(
            hyper::header::WWW_AUTHENTICATE,
            hyper::header::HeaderValue::from_static("Bearer"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::time::Instant;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    /// One request on a fresh connection; the whole answer.
    async fn get(addr: SocketAddr, head: impl Into<String>) -> String {
        let head: String = head.into();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut out = String::new();
        let _ = stream.read_to_string(&mut out).await;
        out
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen_addr(":9090").unwrap(), "0.0.0.0:9090");
        assert_eq!(parse_listen_addr("127.0.0.1:0").unwrap(), "127.0.0.1:0");
        assert_eq!(parse_listen_addr("[::]:9090").unwrap(), "[::]:9090");
        assert_eq!(parse_listen_addr("9090").unwrap(), "127.0.0.1:9090");
        assert!(parse_listen_addr("").is_err());
        assert!(parse_listen_addr("host:port").is_err());
    }

    #[test]
    fn routes_answer_probes_and_scrapes() {
        let readiness = Readiness::new();
        let routes = Routes {
            metrics: Some(Metrics::new().unwrap()),
            readiness: readiness.clone(),
            token: None,
        };
        assert_eq!(routes.answer("GET", "/healthz", None).status, 200);
        assert_eq!(routes.answer("GET", "/readyz", None).status, 503);
        readiness.connected();
        readiness.expect(["q".to_owned()]);
        readiness.polling("q");
        assert_eq!(routes.answer("GET", "/readyz", None).status, 200);
        let scrape = routes.answer("GET", "/metrics", None);
        assert_eq!(scrape.status, 200);
        assert!(scrape.content_type.contains("version=0.0.4"));
        assert_eq!(routes.answer("POST", "/healthz", None).status, 405);
        assert_eq!(routes.answer("GET", "/", None).status, 404);
    }

    #[test]
    fn a_token_guards_metrics_and_readiness_not_liveness() {
        let routes = Routes {
            metrics: Some(Metrics::new().unwrap()),
            readiness: Readiness::new(),
            token: Some("s3cret".into()),
        };
        assert_eq!(routes.answer("GET", "/healthz", None).status, 200);
        for path in ["/metrics", "/readyz"] {
            assert_eq!(routes.answer("GET", path, None).status, 401, "{path}");
            let wrong = routes.answer("GET", path, Some("Bearer s3cre"));
            assert_eq!(wrong.status, 401, "{path}");
            assert_eq!(routes.answer("GET", path, Some("Basic s3cret")).status, 401);
        }
        let scrape = routes.answer("GET", "/metrics", Some("Bearer s3cret"));
        assert_eq!(scrape.status, 200);
        assert_eq!(
            routes
                .answer("GET", "/readyz", Some("Bearer s3cret"))
                .status,
            503
        );
    }

    /// A connection that never finishes its head is dropped after the header timeout, and
    /// while it holds the only slot a second client waits rather than being served.
    #[tokio::test]
    async fn slow_clients_are_dropped_and_connections_are_bounded() {
        let settings = OpsSettings {
            metrics_addr: Some("127.0.0.1:0".into()),
            limits: Limits {
                max_connections: 1,
                header_read_timeout: Duration::from_millis(400),
                connection_timeout: Duration::from_secs(5),
            },
            ..OpsSettings::default()
        };
        let ops = Ops::start(&settings).await.unwrap();
        let addr = ops.local_addr().unwrap();
        let began = Instant::now();
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        // Give the server time to accept the slow one first.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let second = tokio::spawn(async move {
            let answer = get(addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
            (answer, began.elapsed())
        });
        let mut rest = Vec::new();
        // Closed (or reset) by the server: either way the read ends.
        let _ = tokio::time::timeout(Duration::from_secs(3), slow.read_to_end(&mut rest))
            .await
            .expect("the slow connection is closed by the server");
        let dropped_after = began.elapsed();
        assert!(
            dropped_after >= Duration::from_millis(400),
            "{dropped_after:?}"
        );
        let (answer, answered_after) = tokio::time::timeout(Duration::from_secs(3), second)
            .await
            .expect("the second client is served once the slot is free")
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        // Served only once the slow connection gave its slot back, not at once.
        assert!(
            answered_after >= Duration::from_millis(400),
            "{answered_after:?}"
        );
    }

    #[tokio::test]
    async fn the_token_is_required_over_tcp() {
        let settings = OpsSettings {
            metrics_addr: Some("127.0.0.1:0".into()),
            token: Some("t0ken".into()),
            ..OpsSettings::default()
        };
        let ops = Ops::start(&settings).await.unwrap();
        let addr = ops.local_addr().unwrap();
        let denied = get(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(denied.starts_with("HTTP/1.1 401"), "{denied}");
        assert!(
            denied
                .to_ascii_lowercase()
                .contains("www-authenticate: bearer"),
            "{denied}"
        );
        let scrape = get(
            addr,
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer t0ken\r\n\r\n",
        )
        .await;
        assert!(scrape.starts_with("HTTP/1.1 200"), "{scrape}");
        let alive = get(addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(alive.starts_with("HTTP/1.1 200"), "{alive}");
    }

    #[tokio::test]
    async fn a_port_in_use_is_a_clear_error() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = taken.local_addr().unwrap().to_string();
        let settings = OpsSettings {
            metrics_addr: Some(addr.clone()),
            ..OpsSettings::default()
        };
        let err = Ops::start(&settings).await.err().expect("bind must fail");
        let text = err.to_string();
        assert!(
            text.contains(&addr) && text.contains("--metrics-addr"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn endpoints_answer_over_tcp() {
        let settings = OpsSettings {
            metrics_addr: Some("127.0.0.1:0".into()),
            ..OpsSettings::default()
        };
        let ops = Ops::start(&settings).await.unwrap();
        ops.metrics()
            .unwrap()
            .declare(&["tq".to_owned()], &["wf".to_owned()]);
        let addr = ops.local_addr().unwrap();
        let get =
            move |path: &'static str| get(addr, format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"));
        assert!(get("/healthz").await.starts_with("HTTP/1.1 200 OK"));
        let ready = get("/readyz").await;
        assert!(ready.starts_with("HTTP/1.1 503"), "{ready}");
        assert!(ready.contains("connecting"), "{ready}");
        let scrape = get("/metrics").await;
        assert!(
            scrape.contains("temporal_task_queue_processed_total{queue_name=\"tq\"} 0"),
            "{scrape}"
        );
        assert!(
            scrape.contains("temporal_active_workflows{workflow_type=\"wf\"} 0"),
            "{scrape}"
        );
    }
}
