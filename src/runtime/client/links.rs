//! Links to a run's page in the Temporal Web UI.

use super::Started;

/// The Web UI page of a run, when the UI's address is known or can be inferred: a local dev
/// server serves it on the gRPC port + 1000; Temporal Cloud on cloud.temporal.io.
pub fn web_ui_link(
    ui_base: Option<&str>,
    address: &str,
    namespace: &str,
    started: &Started,
) -> Option<String> {
    let base = match ui_base {
        Some(base) => base.trim_end_matches('/').to_string(),
        None => infer_ui_base(address)?,
    };
    Some(format!(
        "{base}/namespaces/{namespace}/workflows/{}/{}/history",
        started.workflow_id, started.run_id
    ))
}

fn infer_ui_base(address: &str) -> Option<String> {
    let host_port = address
        .trim_start_matches("http://")
        .trim_start_matches("https://")
        .trim_end_matches('/');
    let (host, port) = host_port.rsplit_once(':')?;
    if host.ends_with(".tmprl.cloud") {
        return Some("https://cloud.temporal.io".to_string());
    }
    if matches!(host, "localhost" | "127.0.0.1" | "0.0.0.0" | "[::1]") {
        let port: u16 = port.parse().ok()?;
        return Some(format!("http://localhost:{}", port.checked_add(1000)?));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_link_is_inferred_for_local_and_cloud_servers() {
        let started = Started {
            workflow_id: "w".into(),
            run_id: "r".into(),
        };
        assert_eq!(
            web_ui_link(None, "http://localhost:7233/", "default", &started).as_deref(),
            Some("http://localhost:8233/namespaces/default/workflows/w/r/history")
        );
        assert_eq!(
            web_ui_link(
                None,
                "https://ns.acct.tmprl.cloud:7233/",
                "ns.acct",
                &started
            )
            .as_deref(),
            Some("https://cloud.temporal.io/namespaces/ns.acct/workflows/w/r/history")
        );
        assert_eq!(
            web_ui_link(None, "http://temporal.internal:7233/", "x", &started),
            None
        );
        assert_eq!(
            web_ui_link(
                Some("https://ui.example/"),
                "http://temporal.internal:7233/",
                "x",
                &started
            )
            .as_deref(),
            Some("https://ui.example/namespaces/x/workflows/w/r/history")
        );
    }
}
