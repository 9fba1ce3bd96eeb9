//! Coverage: which steps and branches of each workflow some case reached (the union over
//! every case, children that ran for real included), against `ir::coverage::points`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::ir::Workflow;
use crate::ir::coverage::{CoveragePoint, points, steps_by_index};

/// Coverage of one workflow (a file may define several).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileCoverage {
    pub workflow: String,
    pub source: String,
    /// Whether some case of this run ran the workflow (named it, or started it as a child).
    pub tested: bool,
    pub covered: usize,
    pub total: usize,
    /// Points no case reached, described ("`if` at 12:5: else branch").
    pub missed: Vec<String>,
}

impl FileCoverage {
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            100.0
        } else {
            self.covered as f64 * 100.0 / self.total as f64
        }
    }
}

/// Coverage of every workflow of `programs` from the points `reached` (by workflow type).
pub fn report(
    programs: &[&Workflow],
    reached: &BTreeMap<String, BTreeSet<CoveragePoint>>,
    tested: &BTreeSet<&str>,
) -> Vec<FileCoverage> {
    let empty = BTreeSet::new();
    let mut out: Vec<FileCoverage> = programs
        .iter()
        .map(|program| {
            let universe = points(program);
            let hit = reached.get(&program.name).unwrap_or(&empty);
            let steps = steps_by_index(program);
            let missed: Vec<String> = universe
                .iter()
                .filter(|p| !hit.contains(p))
                .filter_map(|p| steps.get(&p.step()).map(|s| p.describe(s)))
                .collect();
            FileCoverage {
                workflow: program.name.clone(),
                source: super::display_path(std::path::Path::new(&program.source)),
                tested: tested.contains(program.name.as_str())
                    || reached.contains_key(&program.name),
                covered: universe.len() - missed.len(),
                total: universe.len(),
                missed,
            }
        })
        .collect();
    out.sort_by(|a, b| (&a.source, &a.workflow).cmp(&(&b.source, &b.workflow)));
    out
}
