//! Runs each case of a suite through the simulator and compares it with its expectations.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::check::ProjectLoad;
use crate::ir::{CoveragePoint, Workflow};
use crate::runtime::sim::{self, Event, SimResult, Simulator, Timed};
use crate::syntax::yaml::testfile::Case;

use super::coverage::{self, FileCoverage};
use super::expect::{Mismatch, compare_within};
use super::mocks::CaseMocks;
use super::{LoadedFile, Suite, display_path};

/// What `stave test` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub files: Vec<FileReport>,
    /// Empty when the cases ran on a server: coverage is a simulator measurement.
    pub coverage: Vec<FileCoverage>,
    /// Real time of the whole run.
    pub elapsed_ms: f64,
    pub runner: Runner,
}

/// Where the cases ran.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Runner {
    /// In-process, virtual time (`runtime::sim`); coverage measured.
    Simulator,
    /// On a Temporal server (`testing::server`): real time, or the test server's skipped time.
    Server {
        address: String,
        time_skipping: bool,
        /// How far `duration` expectations may be off.
        duration_tolerance_ms: u64,
    },
}

impl Runner {
    pub fn measures_coverage(&self) -> bool {
        matches!(self, Runner::Simulator)
    }
}

impl Report {
    pub fn cases(&self) -> impl Iterator<Item = &CaseReport> {
        self.files.iter().flat_map(|f| f.cases.iter())
    }

    pub fn failed(&self) -> usize {
        self.cases().filter(|c| !c.passed).count()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: String,
    pub workflow: String,
    pub cases: Vec<CaseReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CaseReport {
    pub name: String,
    /// `file:line:col` of the case.
    pub location: String,
    pub passed: bool,
    /// How the run ended ("completed", "failed: CardDeclined: …").
    pub outcome: String,
    pub mismatches: Vec<MismatchReport>,
    /// Calls no mock answered, failing `when:` expressions.
    pub problems: Vec<String>,
    pub virtual_ms: u64,
    pub real_us: u64,
    /// The run's timeline, for the failure report.
    pub trace: Vec<String>,
}

/// A mismatch with its place in the test file.
#[derive(Debug, Clone, Serialize)]
pub struct MismatchReport {
    #[serde(flatten)]
    pub mismatch: Mismatch,
    pub location: String,
}

/// The simulator case for a test case.
pub fn sim_case(workflow: &str, case: &Case, index: usize) -> Result<sim::Case, String> {
    let start_time_ms = match &case.start_time {
        Some(t) => crate::runtime::time::parse_rfc3339(&t.value)
            .map_err(|e| format!("`start_time`: {e}"))?,
        None => sim::DEFAULT_START_TIME_MS,
    };
    let mut events = Vec::new();
    for s in &case.signals {
        events.push(Timed {
            at_ms: s.at_ms,
            event: Event::Signal {
                name: s.name.value.clone(),
                payload: s.payload.clone(),
            },
        });
    }
    for u in &case.updates {
        events.push(Timed {
            at_ms: u.at_ms,
            event: Event::Update {
                name: u.name.value.clone(),
                payload: u.payload.clone(),
            },
        });
    }
    for q in &case.queries {
        events.push(Timed {
            at_ms: q.at_ms,
            event: Event::Query {
                name: q.name.value.clone(),
            },
        });
    }
    if let Some(at) = &case.cancel_at {
        events.push(Timed {
            at_ms: at.value,
            event: Event::Cancel,
        });
    }
    let mut out = sim::Case::new(workflow, case.input.value.clone());
    out.workflow_id = case
        .id
        .clone()
        .unwrap_or_else(|| format!("test-{workflow}-{}", index + 1));
    out.start_time_ms = start_time_ms;
    out.events = events;
    Ok(out)
}

/// The programs a suite runs against: the whole project, or the servable part of it.
pub fn programs(project: &ProjectLoad) -> Vec<&Workflow> {
    match (&project.bundle, &project.partial) {
        (Some(b), _) => b.workflows.iter().collect(),
        (None, Some(p)) => p.bundle.workflows.iter().collect(),
        _ => Vec::new(),
    }
}

/// Runs every case of `suite` in the simulator.
pub fn simulate(project: &ProjectLoad, suite: &Suite) -> Report {
    let began = Instant::now();
    let programs = programs(project);
    let simulator = Simulator::new(programs.iter().map(|w| Arc::new((*w).clone())));
    let mut reached: BTreeMap<String, BTreeSet<CoveragePoint>> = BTreeMap::new();
    let mut files = Vec::new();
    let steps = step_activities(simulator.programs().map(|p| p.as_ref()));
    for loaded in &suite.files {
        files.push(run_file(project, &simulator, &steps, loaded, &mut reached));
    }
    Report {
        files,
        coverage: coverage::report(
            &programs,
            &reached,
            &suite
                .files
                .iter()
                .map(|f| f.test.workflow.value.as_str())
                .collect(),
        ),
        elapsed_ms: began.elapsed().as_secs_f64() * 1000.0,
        runner: Runner::Simulator,
    }
}

fn run_file(
    project: &ProjectLoad,
    simulator: &Simulator,
    steps: &BTreeMap<String, String>,
    loaded: &LoadedFile,
    reached: &mut BTreeMap<String, BTreeSet<CoveragePoint>>,
) -> FileReport {
    let test = &loaded.test;
    let mut cases = Vec::new();
    for (i, case) in test.cases.iter().enumerate() {
        let location = project.sources.locate(case.name.span);
        let began = Instant::now();
        let sim_case = match sim_case(&test.workflow.value, case, i) {
            Ok(c) => c,
            Err(problem) => {
                cases.push(CaseReport {
                    name: case.name.value.clone(),
                    location,
                    passed: false,
                    outcome: "not run".into(),
                    mismatches: Vec::new(),
                    problems: vec![problem],
                    virtual_ms: 0,
                    real_us: 0,
                    trace: Vec::new(),
                });
                continue;
            }
        };
        let mut mocks = CaseMocks::new(&case.mocks, &test.mocks, steps);
        let result = simulator.run(&sim_case, &mut mocks);
        for (workflow, points) in &result.coverage {
            reached
                .entry(workflow.clone())
                .or_default()
                .extend(points.iter().copied());
        }
        cases.push(case_report(
            project,
            case,
            location,
            &result,
            mocks.problems,
            began,
            0,
        ));
    }
    FileReport {
        path: display_path(&loaded.path),
        workflow: test.workflow.value.clone(),
        cases,
    }
}

/// Compares one finished case and packages the verdict; `duration` expectations hold within
/// `tolerance_ms` (0 in the simulator).
pub fn case_report(
    project: &ProjectLoad,
    case: &Case,
    location: String,
    result: &SimResult,
    problems: Vec<String>,
    began: Instant,
    tolerance_ms: u64,
) -> CaseReport {
    let mismatches: Vec<MismatchReport> = compare_within(case, result, tolerance_ms)
        .into_iter()
        .map(|m| MismatchReport {
            location: project.sources.locate(m.at),
            mismatch: m,
        })
        .collect();
    CaseReport {
        name: case.name.value.clone(),
        location,
        passed: mismatches.is_empty() && problems.is_empty(),
        outcome: result.status.summary(),
        mismatches,
        problems,
        virtual_ms: result.virtual_ms,
        real_us: u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX),
        trace: result.trace.clone(),
    }
}

/// Step name → activity type, over `programs`.
pub fn step_activities<'p>(
    programs: impl IntoIterator<Item = &'p Workflow>,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for program in programs {
        program.walk(&mut |step| {
            if let crate::ir::StepKind::Activity(call) = &step.kind {
                out.entry(step.name())
                    .or_insert_with(|| call.activity.clone());
            }
        });
    }
    out
}
