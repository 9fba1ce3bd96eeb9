//! Throw-away Stave projects whose task queues are unique, so tests share one server safely.

use std::path::{Path, PathBuf};

/// The queues every test project declares (the samples' names).
pub const QUEUES: &[&str] = &["standard", "high-priority", "background", "scheduled"];

/// A project directory: `stave.yaml` with unique task queues plus the files a test adds.
pub struct TestProject {
    dir: tempfile::TempDir,
    /// Prefix of every Temporal task queue of this project.
    pub prefix: String,
}

impl TestProject {
    /// A project whose task queues are `{name}-{pid}-{n}-{queue}`.
    pub fn new(name: &str) -> TestProject {
        let dir = tempfile::tempdir().expect("create a temp project dir");
        let prefix = super::unique_id(name);
        let project = TestProject { dir, prefix };
        project.write("stave.yaml", &project.settings());
        project
    }

    /// A copy of the project at `root` (its `stave.yaml`, the manifest it names and every
    /// workflow file below it), with each `task_queue:` of `stave.yaml` prefixed so the copy's
    /// queues are its own.
    pub fn copy_of(name: &str, root: &Path) -> TestProject {
        let project = TestProject::new(name);
        let settings = std::fs::read_to_string(root.join("stave.yaml"))
            .unwrap_or_else(|e| panic!("cannot read {}/stave.yaml: {e}", root.display()));
        let prefixed = regex::Regex::new(r"task_queue:\s*([A-Za-z0-9_.-]+)")
            .expect("valid regex")
            .replace_all(&settings, format!("task_queue: {}-$1", project.prefix));
        project.write("stave.yaml", &prefixed);
        let manifest = root.join("activities.json");
        if manifest.exists() {
            let text = std::fs::read_to_string(&manifest).expect("read activities.json");
            project.write("activities.json", &text);
        }
        let files = stave::check::workflow_files(&root.join("workflows"))
            .unwrap_or_else(|e| panic!("cannot list {}/workflows: {e}", root.display()));
        for file in files {
            let relative = file.strip_prefix(root).expect("a file under the root");
            let text = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
            project.write(&relative.display().to_string(), &text);
        }
        project
    }

    fn settings(&self) -> String {
        let mut yaml = String::from("namespace: default\ndefault_queue: standard\nqueues:\n");
        for queue in QUEUES {
            yaml.push_str(&format!(
                "  {queue}: {{ task_queue: {} }}\n",
                self.task_queue(queue)
            ));
        }
        yaml
    }

    /// Lets `http.request` call servers on this machine (`http.allow_hosts` of stave.yaml):
    /// the egress policy denies loopback addresses by default.
    pub fn allow_loopback_http(&self) {
        let path = self.dir.path().join("stave.yaml");
        let settings = std::fs::read_to_string(&path).expect("read stave.yaml");
        self.write(
            "stave.yaml",
            &format!("{settings}http: {{ allow_hosts: [127.0.0.1, localhost] }}\n"),
        );
    }

    /// The Temporal task queue of project queue `queue`.
    pub fn task_queue(&self, queue: &str) -> String {
        format!("{}-{queue}", self.prefix)
    }

    /// Writes (or overwrites) a file of the project.
    pub fn write(&self, name: &str, contents: &str) {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the file's directory");
        }
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn path_string(&self) -> String {
        self.dir.path().display().to_string()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}
