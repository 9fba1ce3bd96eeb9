//! The worker's operations endpoints: `/metrics`, `/healthz`, `/readyz` on a tiny HTTP/1.1 server.
//!
//! Prometheus scrapes and Kubernetes probes send one small GET per connection, so a
//! hand-written responder on tokio is enough: it reads the request head (at most 8 KiB, 5 s),
//! answers, and closes. No web framework, nothing to configure.
//!
//! [`Ops`] is everything operational a worker process runs besides its pollers: these
//! servers, core's own Prometheus exporter (`--core-metrics-addr`), and the task-queue
//! watcher that refreshes the queue-depth gauge and the connection state.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use temporalio_common::telemetry::{PrometheusExporterOptions, start_prometheus_metric_exporter};
use thiserror::Error;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{AbortHandle, JoinHandle};

use crate::runtime::connect::Connected;
use crate::runtime::health::Readiness;
use crate::runtime::metrics::{Metrics, MetricsError, Observer, watch_task_queues};
use crate::runtime::worker::QueuePlan;

/// Largest request head read; probes and scrapers send a few hundred bytes.
const MAX_HEAD: usize = 8 * 1024;
/// How long a client may take to send its request head.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

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
}

impl Default for OpsSettings {
    fn default() -> Self {
        OpsSettings {
            metrics_addr: None,
            health_addr: None,
            core_metrics_addr: None,
            queue_depth_interval: Duration::from_secs(15),
        }
    }
}

/// Parses a listen address: `HOST:PORT`, `[V6]:PORT`, or `:PORT` for every interface.
pub fn parse_listen_addr(text: &str) -> Result<String, String> {
    let text = text.trim();
    let with_host = if text.starts_with(':') {
        format!("0.0.0.0{text}")
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
            };
            servers.push(spawn(listener, routes, "/metrics /healthz /readyz")?);
        }
        if let Some(addr) = &settings.health_addr
            && settings.metrics_addr.as_deref() != Some(addr.as_str())
        {
            let listener = bind("--health-addr", addr).await?;
            let routes = Routes {
                metrics: None,
                readiness: readiness.clone(),
            };
            servers.push(spawn(listener, routes, "/healthz /readyz")?);
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
    what: &str,
) -> Result<(String, SocketAddr, JoinHandle<()>), OpsError> {
    let addr = listener.local_addr().map_err(|source| OpsError::Bind {
        flag: "--metrics-addr",
        addr: what.to_owned(),
        source,
    })?;
    let task = tokio::spawn(serve(listener, routes));
    Ok((what.to_owned(), addr, task))
}

/// What the endpoints answer from.
#[derive(Clone)]
struct Routes {
    metrics: Option<Metrics>,
    readiness: Readiness,
}

/// A response: status line, content type, body.
#[derive(Debug, PartialEq)]
struct Response {
    status: u16,
    content_type: &'static str,
    body: String,
}

impl Routes {
    fn answer(&self, method: &str, path: &str) -> Response {
        let text = |status, body: String| Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body,
        };
        if method != "GET" && method != "HEAD" {
            return text(405, "only GET and HEAD are served\n".into());
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

async fn serve(listener: TcpListener, routes: Routes) {
    loop {
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
            if let Err(e) = respond(stream, &routes).await {
                tracing::debug!("operations endpoint: {e}");
            }
        });
    }
}

async fn respond(mut stream: TcpStream, routes: &Routes) -> std::io::Result<()> {
    let head = match tokio::time::timeout(READ_TIMEOUT, read_head(&mut stream)).await {
        Ok(head) => head?,
        Err(_) => return Ok(()),
    };
    let response = match parse_request_line(&head) {
        Some((method, path)) => {
            let mut response = routes.answer(method, path);
            if method == "HEAD" {
                let length = response.body.len();
                response.body.clear();
                return write(&mut stream, &response, length).await;
            }
            response
        }
        None => Response {
            status: 400,
            content_type: "text/plain; charset=utf-8",
            body: "malformed request\n".into(),
        },
    };
    let length = response.body.len();
    write(&mut stream, &response, length).await
}

/// Reads until the blank line that ends the head, or [`MAX_HEAD`] bytes.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    while head.len() < MAX_HEAD {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// `GET /metrics?x=1 HTTP/1.1` → (`GET`, `/metrics`).
fn parse_request_line(head: &str) -> Option<(&str, &str)> {
    let line = head.lines().next()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next()?;
    if !version.starts_with("HTTP/") {
        return None;
    }
    let path = target.split(['?', '#']).next().unwrap_or(target);
    Some((method, path))
}

async fn write(stream: &mut TcpStream, response: &Response, length: usize) -> std::io::Result<()> {
    let reason = match response.status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        503 => "Service Unavailable",
        _ => "",
    };
    let head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n",
        response.status, response.content_type
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(response.body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_parse() {
        assert_eq!(
            parse_request_line("GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n"),
            Some(("GET", "/metrics"))
        );
        assert_eq!(parse_request_line("garbage\r\n\r\n"), None);
        assert_eq!(parse_request_line(""), None);
    }

    #[test]
    fn listen_addresses() {
        assert_eq!(parse_listen_addr(":9090").unwrap(), "0.0.0.0:9090");
        assert_eq!(parse_listen_addr("127.0.0.1:0").unwrap(), "127.0.0.1:0");
        assert_eq!(parse_listen_addr("[::]:9090").unwrap(), "[::]:9090");
        assert!(parse_listen_addr("9090").is_err());
        assert!(parse_listen_addr("host:port").is_err());
    }

    #[test]
    fn routes_answer_probes_and_scrapes() {
        let readiness = Readiness::new();
        let routes = Routes {
            metrics: Some(Metrics::new().unwrap()),
            readiness: readiness.clone(),
        };
        assert_eq!(routes.answer("GET", "/healthz").status, 200);
        assert_eq!(routes.answer("GET", "/readyz").status, 503);
        readiness.connected();
        readiness.expect(["q".to_owned()]);
        readiness.polling("q");
        assert_eq!(routes.answer("GET", "/readyz").status, 200);
        let scrape = routes.answer("GET", "/metrics");
        assert_eq!(scrape.status, 200);
        assert!(scrape.content_type.contains("version=0.0.4"));
        assert_eq!(routes.answer("POST", "/healthz").status, 405);
        assert_eq!(routes.answer("GET", "/").status, 404);
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
        let get = |path: &'static str| async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            stream.read_to_string(&mut out).await.unwrap();
            out
        };
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
