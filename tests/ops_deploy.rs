//! The deployment files under `deploy/` agree with the code: they parse, every file they
//! reference exists, and every flag, environment variable, port and probe path they use is one
//! the `stave` binary really has. Docker and Kubernetes do not run here; this is what keeps the
//! manifests honest without them.

use serde_json::Value as Json;
use stave::runtime::metrics::names;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn yaml(relative: &str) -> Json {
    serde_saphyr::from_str(&read(relative))
        .unwrap_or_else(|e| panic!("{relative} is not valid YAML: {e}"))
}

/// Flags (`--name`) and environment variables (`[env: NAME=…]`) of `stave ARGS --help`.
fn help(args: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let out = Command::new(env!("CARGO_BIN_EXE_stave"))
        .args(args)
        .arg("--help")
        .output()
        .expect("run stave --help");
    assert!(out.status.success(), "stave {args:?} --help failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let flags = regex::Regex::new(r"(?m)^\s+(?:-\w, )?(--[a-z][a-z0-9-]*)")
        .unwrap()
        .captures_iter(&text)
        .map(|c| c[1].to_string())
        .collect();
    let envs = regex::Regex::new(r"\[env: ([A-Z_]+)")
        .unwrap()
        .captures_iter(&text)
        .map(|c| c[1].to_string())
        .collect();
    (flags, envs)
}

/// Every variable the worker reads: its own (`[env: …]` of `stave worker --help`) and
/// Temporal's client settings, which `src/runtime/connect.rs` documents and resolves.
fn known_env() -> BTreeSet<String> {
    let (_, mut envs) = help(&["worker"]);
    let connect = read("src/runtime/connect.rs");
    envs.extend(
        regex::Regex::new(r"TEMPORAL_[A-Z_]+")
            .unwrap()
            .find_iter(&connect)
            .map(|m| m.as_str().to_string()),
    );
    envs
}

/// Flags used in an argument list, checked against `stave SUBCOMMAND --help`.
fn check_args(what: &str, args: &[String]) {
    let mut sub: Vec<&str> = Vec::new();
    for arg in args {
        if arg.starts_with('-') {
            break;
        }
        sub.push(arg);
    }
    assert!(!sub.is_empty(), "{what}: no stave subcommand in {args:?}");
    let (flags, _) = help(&sub);
    for arg in args.iter().filter(|a| a.starts_with("--")) {
        let flag = arg.split('=').next().unwrap_or(arg);
        assert!(
            flags.contains(flag),
            "{what}: `stave {}` has no flag {flag} (it has {flags:?})",
            sub.join(" ")
        );
    }
}

fn strings(value: &Json) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The port of a listen address (`:9090`, `0.0.0.0:9090`).
fn port_of(addr: &str) -> u16 {
    addr.rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("`{addr}` has no port"))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn every_deploy_yaml_file_parses() {
    let mut files = Vec::new();
    yaml_files(&root().join("deploy"), &mut files);
    assert!(
        files.len() >= 9,
        "expected the compose file and the manifests: {files:?}"
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed: Result<Json, _> = serde_saphyr::from_str(&text);
        assert!(
            parsed.is_ok(),
            "{} does not parse: {:?}",
            file.display(),
            parsed.err()
        );
    }
}

#[test]
fn dockerfile_is_multi_stage_non_root_and_uses_real_files_and_flags() {
    let text = read("deploy/Dockerfile");
    // Join continuation lines so each instruction is one line.
    let joined = text.replace("\\\n", " ");
    let instructions: Vec<&str> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let stages = instructions
        .iter()
        .filter(|l| l.starts_with("FROM "))
        .count();
    assert!(
        stages >= 2,
        "the Dockerfile must build in one stage and run in another"
    );
    let last_from = instructions
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .unwrap();
    let user = instructions[last_from..]
        .iter()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage sets USER");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "runs as `{user}`"
    );

    for line in instructions.iter().filter(|l| l.starts_with("COPY ")) {
        let parts: Vec<&str> = line.split_whitespace().skip(1).collect();
        if parts.iter().any(|p| p.starts_with("--from")) {
            continue;
        }
        let sources: Vec<&&str> = parts.iter().filter(|p| !p.starts_with("--")).collect();
        for source in &sources[..sources.len() - 1] {
            assert!(
                root().join(source).exists(),
                "COPY source `{source}` does not exist"
            );
        }
    }
    let known = known_env();
    let mut env = BTreeMap::new();
    for line in instructions.iter().filter(|l| l.starts_with("ENV ")) {
        for pair in line[4..].split_whitespace() {
            let (key, value) = pair.split_once('=').expect("ENV KEY=VALUE");
            assert!(known.contains(key), "ENV {key} is not read by the worker");
            env.insert(key.to_string(), value.to_string());
        }
    }
    let exposed: BTreeSet<u16> = instructions
        .iter()
        .filter_map(|l| l.strip_prefix("EXPOSE "))
        .flat_map(|ports| ports.split_whitespace().map(|p| p.parse::<u16>().unwrap()))
        .collect();
    let metrics = env
        .get("STAVE_METRICS_ADDR")
        .expect("the image serves metrics");
    assert!(
        exposed.contains(&port_of(metrics)),
        "EXPOSE lacks the metrics port"
    );

    let entrypoint = instructions
        .iter()
        .find_map(|l| l.strip_prefix("ENTRYPOINT "))
        .expect("ENTRYPOINT");
    assert_eq!(
        serde_json::from_str::<Vec<String>>(entrypoint).unwrap(),
        vec!["stave"]
    );
    let cmd: Vec<String> = instructions
        .iter()
        .find_map(|l| l.strip_prefix("CMD "))
        .map(|c| serde_json::from_str(c).expect("CMD in exec form"))
        .expect("CMD");
    check_args("Dockerfile CMD", &cmd);
    assert!(
        read("Cargo.toml").contains("name = \"project-ai\""),
        "the Dockerfile documents --example project-ai"
    );
}

#[test]
fn compose_stack_mirrors_the_seed_and_the_worker_uses_real_settings() {
    let compose = yaml("deploy/docker-compose.yml");
    let services = &compose["services"];
    for name in [
        "postgresql",
        "temporal",
        "temporal-ui",
        "temporal-admin-tools",
        "stave-worker",
    ] {
        assert!(services[name].is_object(), "service `{name}` missing");
    }
    assert!(services["postgresql"]["healthcheck"]["test"].is_array());
    assert_eq!(
        services["temporal"]["depends_on"]["postgresql"]["condition"],
        "service_healthy"
    );
    let worker = &services["stave-worker"];
    let build = &worker["build"];
    let context = root()
        .join("deploy")
        .join(build["context"].as_str().unwrap());
    assert!(
        context
            .join(build["dockerfile"].as_str().unwrap())
            .is_file()
    );
    let target = build["args"]["CARGO_TARGET"].as_str().unwrap();
    let example = target
        .strip_prefix("--example ")
        .expect("an example worker");
    assert!(read("Cargo.toml").contains(&format!("name = \"{example}\"")));
    assert_eq!(
        build["args"]["BIN_PATH"].as_str().unwrap(),
        format!("examples/{example}")
    );

    let known = known_env();
    let env = worker["environment"].as_object().unwrap();
    for key in env.keys() {
        assert!(
            known.contains(key),
            "stave-worker sets {key}, which the worker does not read"
        );
    }
    check_args("compose command", &strings(&worker["command"]));
    let published: BTreeSet<u16> = strings(&worker["ports"])
        .iter()
        .map(|p| p.rsplit(':').next().unwrap().parse().unwrap())
        .collect();
    for key in [
        "STAVE_METRICS_ADDR",
        "STAVE_CORE_METRICS_ADDR",
        "STAVE_HEALTH_ADDR",
    ] {
        let port = port_of(env[key].as_str().unwrap());
        assert!(
            published.contains(&port),
            "{key} port {port} is not published"
        );
    }
    let probe = strings(&worker["healthcheck"]["test"]).join(" ");
    let health_port = port_of(env["STAVE_HEALTH_ADDR"].as_str().unwrap());
    assert!(
        probe.contains("/readyz") && probe.contains(&format!("/{health_port}")),
        "{probe}"
    );
}

struct Deployment {
    queue: String,
    replicas: u64,
    pod_labels: Json,
}

#[test]
fn kubernetes_manifests_match_the_project_and_the_worker() {
    let kustomization = yaml("deploy/k8s/kustomization.yaml");
    let resources = strings(&kustomization["resources"]);
    for resource in &resources {
        assert!(
            root().join("deploy/k8s").join(resource).is_file(),
            "kustomization lists missing {resource}"
        );
    }

    // The ConfigMap is the project the pods run: it must load cleanly, its workflow files
    // come from workflows/, and its queues are the repository's.
    let configmap = yaml("deploy/k8s/configmap.yaml");
    let data = configmap["data"].as_object().expect("ConfigMap data");
    let dir = tempfile::tempdir().unwrap();
    for (key, value) in data {
        if key.ends_with(".stave.yaml") {
            assert!(
                root().join("workflows").join(key).is_file(),
                "ConfigMap key {key} is not a file of workflows/"
            );
        }
        std::fs::write(dir.path().join(key), value.as_str().unwrap()).unwrap();
    }
    let load = stave::check::load_project(dir.path());
    let bundle = load.bundle.clone().filter(|_| !load.has_errors()).unwrap_or_else(|| {
        panic!(
            "the ConfigMap's project does not load (regenerate it with deploy/k8s/configmap.sh): {:?}",
            load.diagnostics
        )
    });
    let repo = stave::check::load_project(&root());
    assert_eq!(
        bundle.project.queues, repo.context.settings.queues,
        "the ConfigMap's queues differ from stave.yaml's; run deploy/k8s/configmap.sh"
    );
    let configmap_name = configmap["metadata"]["name"].as_str().unwrap();

    let known = known_env();
    let mut deployments = Vec::new();
    for resource in resources.iter().filter(|r| r.starts_with("deployment-")) {
        let manifest = yaml(&format!("deploy/k8s/{resource}"));
        assert_eq!(manifest["kind"], "Deployment", "{resource}");
        let spec = &manifest["spec"];
        let pod = &spec["template"]["spec"];
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{resource}");
        let container = &pod["containers"][0];
        let args = strings(&container["args"]);
        check_args(resource, &args);

        let mut env = BTreeMap::new();
        for var in container["env"].as_array().unwrap() {
            let name = var["name"].as_str().unwrap().to_string();
            assert!(
                known.contains(&name),
                "{resource}: env {name} is not read by the worker"
            );
            if let Some(secret) = var["valueFrom"]["secretKeyRef"].as_object() {
                assert_eq!(
                    secret["optional"], true,
                    "{resource}: {name} must not require the Secret"
                );
            }
            env.insert(name, var["value"].as_str().unwrap_or_default().to_string());
        }
        let queue = env["STAVE_QUEUES"].clone();
        let project_queue = bundle.project.queue(&queue).unwrap_or_else(|| {
            panic!("{resource}: STAVE_QUEUES={queue} is not a queue of stave.yaml")
        });
        let replicas = spec["replicas"].as_u64().unwrap();
        assert_eq!(
            Some(replicas),
            project_queue.max_workers.map(u64::from),
            "{resource}: replicas must be the queue's max_workers"
        );

        let ports: BTreeMap<String, u64> = container["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["containerPort"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            ports["metrics"],
            u64::from(port_of(&env["STAVE_METRICS_ADDR"]))
        );
        assert_eq!(
            ports["core-metrics"],
            u64::from(port_of(&env["STAVE_CORE_METRICS_ADDR"]))
        );
        for (probe, path) in [("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")] {
            let get = &container[probe]["httpGet"];
            assert_eq!(get["path"], path, "{resource}: {probe}");
            assert!(
                ports.contains_key(get["port"].as_str().unwrap()),
                "{resource}: {probe} port"
            );
        }
        assert_eq!(
            spec["template"]["metadata"]["annotations"]["prometheus.io/port"],
            ports["metrics"].to_string()
        );
        let limits = &container["resources"];
        assert!(limits["requests"]["cpu"].is_string() && limits["limits"]["memory"].is_string());

        // Volumes: the project is the ConfigMap, mounted where --project points; TLS comes
        // from the optional Secret, mounted where TEMPORAL_CONFIG_FILE points.
        let volumes: BTreeMap<String, &Json> = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["name"].as_str().unwrap().to_string(), v))
            .collect();
        let project_dir = &args[args.iter().position(|a| a == "--project").unwrap() + 1];
        for mount in container["volumeMounts"].as_array().unwrap() {
            let volume = volumes[mount["name"].as_str().unwrap()];
            let path = mount["mountPath"].as_str().unwrap();
            if let Some(name) = volume["configMap"]["name"].as_str() {
                assert_eq!(name, configmap_name);
                assert_eq!(
                    path, project_dir,
                    "{resource}: --project must be the ConfigMap mount"
                );
            }
            if volume["secret"].is_object() {
                assert_eq!(volume["secret"]["optional"], true);
                assert!(env["TEMPORAL_CONFIG_FILE"].starts_with(path));
            }
        }
        deployments.push(Deployment {
            queue,
            replicas,
            pod_labels: spec["template"]["metadata"]["labels"].clone(),
        });
    }
    let pools: BTreeSet<&str> = deployments.iter().map(|d| d.queue.as_str()).collect();
    let all: BTreeSet<&str> = bundle
        .project
        .queues
        .iter()
        .map(|q| q.name.as_str())
        .collect();
    assert_eq!(pools, all, "one Deployment per queue of stave.yaml");
    assert!(deployments.iter().all(|d| d.replicas >= 1));

    let service = yaml("deploy/k8s/service.yaml");
    for (key, value) in service["spec"]["selector"].as_object().unwrap() {
        for d in &deployments {
            assert_eq!(
                &d.pod_labels[key], value,
                "the Service must select the {} pods",
                d.queue
            );
        }
    }
    for port in service["spec"]["ports"].as_array().unwrap() {
        assert!(
            ["metrics", "core-metrics"].contains(&port["targetPort"].as_str().unwrap()),
            "{port}"
        );
    }

    let job = yaml("deploy/k8s/schedules-sync-job.yaml");
    check_args(
        "schedules-sync-job.yaml",
        &strings(&job["spec"]["template"]["spec"]["containers"][0]["args"]),
    );
    let secret = yaml("deploy/k8s/secret.example.yaml");
    let toml = secret["stringData"]["temporal.toml"].as_str().unwrap();
    assert!(toml.contains("[profile.default.tls]") && toml.contains("/etc/temporal/"));
}

#[test]
fn operations_guide_uses_real_flags_and_names_every_metric() {
    let doc = read("docs/operations.md");
    for metric in [
        names::WORKFLOW_EXECUTION_COUNT,
        names::WORKFLOW_DURATION,
        names::ACTIVE_WORKFLOWS,
        names::ACTIVITY_EXECUTION_COUNT,
        names::ACTIVITY_DURATION,
        names::TASK_QUEUE_DEPTH,
        names::TASK_QUEUE_PROCESSED,
    ] {
        assert!(
            doc.contains(metric),
            "docs/operations.md does not describe {metric}"
        );
    }
    let command = regex::Regex::new(r"stave ((?:schedules )?[a-z]+)((?: +[^|&;`\n]*)?)").unwrap();
    let flag = regex::Regex::new(r"(--[a-z][a-z0-9-]*)").unwrap();
    // Commands in fenced code blocks (prose may mention several commands on one line).
    let code: String = doc
        .split("```")
        .skip(1)
        .step_by(2)
        .collect::<Vec<_>>()
        .join("\n");
    let mut checked = 0;
    for c in command.captures_iter(&code) {
        let sub: Vec<&str> = c[1].split(' ').collect();
        if !["worker", "health", "schedules"].contains(&sub[0]) || sub == ["schedules"] {
            continue;
        }
        let (flags, _) = help(&sub);
        for f in flag.captures_iter(&c[2]) {
            assert!(
                flags.contains(&f[1]),
                "docs: `stave {}` has no flag {}",
                c[1].trim(),
                &f[1]
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "the guide shows the flags it documents ({checked} checked)"
    );
}
