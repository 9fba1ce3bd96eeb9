//! `stave init`: the files of a new project — settings with the four queues, an example
//! workflow in both forms, the activity manifest, the editor schema and a README.

use crate::manifest::Manifest;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The activities the example workflow calls: the stock binary's built-ins, so that the new
/// project runs under `stave dev` as it is.
pub const EXAMPLE_ACTIVITIES: &[&str] = &["http.request", "log"];

const STAVE_YAML: &str = include_str!("templates/stave.yaml");
const HELLO_YAML: &str = include_str!("templates/hello.stave.yaml");
const HELLO_TEXT: &str = include_str!("templates/hello.stave");
const HELLO_TEST: &str = include_str!("templates/hello.test.yaml");
const README: &str = include_str!("templates/README.md");

#[derive(Debug, Error)]
pub enum InitError {
    /// `--name "my project"`.
    #[error(
        "`{0}` is not a valid project name: use letters, digits, `-` and `_`, starting with a letter"
    )]
    BadName(String),
    /// `stave init` where `stave.yaml` already is.
    #[error("{}", exists_message(.0))]
    Exists(Vec<PathBuf>),
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn exists_message(paths: &[PathBuf]) -> String {
    let list: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
    match list.as_slice() {
        [one] => format!("{one} already exists"),
        _ => format!("these files already exist: {}", list.join(", ")),
    }
}

/// The project name used when none is given: the directory's name, made a valid task-queue
/// prefix (`My Project` → `my-project`).
pub fn default_name(dir: &Path) -> String {
    let base = std::fs::canonicalize(dir)
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut name = String::new();
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-').to_string();
    if name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        name
    } else {
        format!("stave-{name}").trim_end_matches('-').to_string()
    }
}

/// Checks a project name: it prefixes the Temporal task queues.
pub fn check_name(name: &str) -> Result<(), InitError> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(InitError::BadName(name.to_string()))
    }
}

/// The files of a new project named `name`, as (path relative to the project, contents).
/// `activities` supplies the manifest entries of [`EXAMPLE_ACTIVITIES`].
pub fn files(name: &str, activities: &Manifest) -> Vec<(PathBuf, String)> {
    let manifest = Manifest {
        version: activities.version,
        activities: activities
            .activities
            .iter()
            .filter(|a| EXAMPLE_ACTIVITIES.contains(&a.name.as_str()))
            .cloned()
            .collect(),
    };
    let mut manifest_text = manifest.to_json();
    if !manifest_text.ends_with('\n') {
        manifest_text.push('\n');
    }
    vec![
        (
            PathBuf::from("stave.yaml"),
            STAVE_YAML.replace("{{name}}", name),
        ),
        (PathBuf::from("activities.json"), manifest_text),
        (
            PathBuf::from("workflows/hello.stave.yaml"),
            HELLO_YAML.to_string(),
        ),
        (
            PathBuf::from("workflows/hello.stave"),
            HELLO_TEXT.to_string(),
        ),
        (
            PathBuf::from("workflows/tests/hello.test.yaml"),
            HELLO_TEST.to_string(),
        ),
        (
            PathBuf::from("stave.schema.json"),
            crate::schema::to_text(&crate::schema::workflow_schema()),
        ),
        (
            PathBuf::from("stave.test.schema.json"),
            crate::schema::to_text(&crate::schema::test_schema()),
        ),
        (PathBuf::from("README.md"), README.replace("{{name}}", name)),
    ]
}

/// Writes `files` under `dir`. Without `force`, refuses before writing anything if one of
/// them exists. Returns the paths written.
pub fn write(
    dir: &Path,
    files: &[(PathBuf, String)],
    force: bool,
) -> Result<Vec<PathBuf>, InitError> {
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| dir.join(p)).collect();
    if !force {
        let existing: Vec<PathBuf> = paths.iter().filter(|p| p.exists()).cloned().collect();
        if !existing.is_empty() {
            return Err(InitError::Exists(existing));
        }
    }
    for (path, (_, text)) in paths.iter().zip(files) {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| InitError::Write {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        std::fs::write(path, text).map_err(|source| InitError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_the_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let project = dir.path().join("My Shop_2");
        std::fs::create_dir(&project).expect("mkdir");
        assert_eq!(default_name(&project), "my-shop-2");
        let digits = dir.path().join("42");
        std::fs::create_dir(&digits).expect("mkdir");
        assert_eq!(default_name(&digits), "stave-42");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("shop").is_ok() && check_name("shop_2-eu").is_ok());
        assert!(
            check_name("my shop").is_err()
                && check_name("2shop").is_err()
                && check_name("").is_err()
        );
    }

    #[test]
    fn the_name_prefixes_the_task_queues() {
        let files = files("shop", &Manifest::default());
        let (_, settings) = files
            .iter()
            .find(|(p, _)| p == Path::new("stave.yaml"))
            .expect("stave.yaml");
        for queue in ["high-priority", "standard", "background", "scheduled"] {
            assert!(
                settings.contains(&format!("task_queue: shop-{queue},")),
                "{queue}:\n{settings}"
            );
        }
        assert!(!settings.contains("{{"));
    }
}
