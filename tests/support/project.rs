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
        project.write("stave.yaml", &project.settings(None));
        project
    }

    /// Copies every workflow file and the manifest of `source` (e.g. `workflows/`) into a new
    /// project, keeping its `stave.yaml` except the task queues, which are made unique.
    pub fn copy_of(name: &str, source: &Path) -> TestProject {
        let project = TestProject::new(name);
        let entries = std::fs::read_dir(source)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
        for entry in entries.flatten() {
            let path = entry.path();
            let file_name = entry.file_name().to_string_lossy().into_owned();
            if path.is_file() && file_name != "stave.yaml" {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
                project.write(&file_name, &text);
            }
        }
        let activities = source.join("activities.json");
        let manifest = activities.exists().then(|| "activities.json".to_string());
        project.write("stave.yaml", &project.settings(manifest.as_deref()));
        project
    }

    fn settings(&self, manifest: Option<&str>) -> String {
        let mut yaml = String::from("namespace: default\n");
        if let Some(manifest) = manifest {
            yaml.push_str(&format!("activities: {manifest}\n"));
        }
        yaml.push_str("queues:\n");
        for queue in QUEUES {
            yaml.push_str(&format!(
                "  {queue}: {{ task_queue: {} }}\n",
                self.task_queue(queue)
            ));
        }
        yaml
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
