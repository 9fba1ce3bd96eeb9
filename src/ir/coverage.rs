//! Coverage points of a program: every step, and every way each branching construct can go.
//!
//! The interpreter records the points a run reaches (`Run::enable_coverage`); `stave test`
//! compares them with [`points`], the universe. A point is identified by step index (stable
//! within one program) plus the arm, so two runs of one program merge by set union.

use serde::Serialize;

use super::{Step, StepKind, Workflow};

/// One thing a run can exercise. Points order by step, then as listed here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CoveragePoint {
    /// The step ran (its guard, if any, held).
    Step { step: u32 },
    /// The step's guard (`if:` on the step) was false, so it was skipped.
    Skipped { step: u32 },
    /// An `if` took its `then` branch.
    Then { step: u32 },
    /// An `if` took its `else` branch (also when the branch is empty).
    Else { step: u32 },
    /// A `switch` took arm `arm` (0-based, in file order).
    Case { step: u32, arm: u32 },
    /// A `switch` took its default (also when it is empty).
    Default { step: u32 },
    /// A `try` handled an error with catch clause `clause`.
    Catch { step: u32, clause: u32 },
    /// Branch `branch` won a `race`.
    Won { step: u32, branch: u32 },
    /// A `wait` with a timeout timed out.
    TimedOut { step: u32 },
    /// The step's `compensate` ran as the saga unwound.
    Compensated { step: u32 },
}

impl Ord for CoveragePoint {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

impl PartialOrd for CoveragePoint {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl CoveragePoint {
    /// Step, variant rank, arm: the order reports list points in.
    fn key(&self) -> (u32, u8, u32) {
        match *self {
            CoveragePoint::Step { step } => (step, 0, 0),
            CoveragePoint::Skipped { step } => (step, 1, 0),
            CoveragePoint::Then { step } => (step, 2, 0),
            CoveragePoint::Else { step } => (step, 3, 0),
            CoveragePoint::Case { step, arm } => (step, 4, arm),
            CoveragePoint::Default { step } => (step, 5, 0),
            CoveragePoint::Catch { step, clause } => (step, 6, clause),
            CoveragePoint::Won { step, branch } => (step, 7, branch),
            CoveragePoint::TimedOut { step } => (step, 8, 0),
            CoveragePoint::Compensated { step } => (step, 9, 0),
        }
    }

    /// The step the point belongs to.
    pub fn step(&self) -> u32 {
        self.key().0
    }

    /// Whether the point is a branch (as opposed to a step merely running).
    pub fn is_branch(&self) -> bool {
        !matches!(self, CoveragePoint::Step { .. })
    }

    /// How a report names the point, given its step: "step `charge`", "`if` at 12:5: else".
    pub fn describe(&self, step: &Step) -> String {
        let at = if step.loc.is_unknown() {
            String::new()
        } else {
            format!(" at {}:{}", step.loc.line, step.loc.col)
        };
        let name = format!("`{}`{at}", step.name());
        match *self {
            CoveragePoint::Step { .. } => format!("step {name}"),
            CoveragePoint::Skipped { .. } => format!("step {name} skipped by its `if:`"),
            CoveragePoint::Then { .. } => format!("{name}: then branch"),
            CoveragePoint::Else { .. } => format!("{name}: else branch"),
            CoveragePoint::Case { arm, .. } => format!("{name}: case {}", arm + 1),
            CoveragePoint::Default { .. } => format!("{name}: default"),
            CoveragePoint::Catch { clause, .. } => format!("{name}: catch clause {}", clause + 1),
            CoveragePoint::Won { branch, .. } => match &step.kind {
                StepKind::Parallel { branches, .. } => match branches.get(branch as usize) {
                    Some(b) => format!("{name}: branch `{}` wins the race", b.name),
                    None => format!("{name}: branch {} wins the race", branch + 1),
                },
                _ => format!("{name}: branch {} wins the race", branch + 1),
            },
            CoveragePoint::TimedOut { .. } => format!("{name}: times out"),
            CoveragePoint::Compensated { .. } => format!("{name}: compensation runs"),
        }
    }
}

/// Every point of `program`, in step order: what 100% coverage means.
pub fn points(program: &Workflow) -> Vec<CoveragePoint> {
    let mut out = Vec::new();
    program.walk(&mut |step| {
        let s = step.index;
        out.push(CoveragePoint::Step { step: s });
        if step.guard.is_some() {
            out.push(CoveragePoint::Skipped { step: s });
        }
        match &step.kind {
            StepKind::If { .. } => {
                out.push(CoveragePoint::Then { step: s });
                out.push(CoveragePoint::Else { step: s });
            }
            StepKind::Switch { arms, .. } => {
                for arm in 0..arms.len() {
                    out.push(CoveragePoint::Case {
                        step: s,
                        arm: arm as u32,
                    });
                }
                out.push(CoveragePoint::Default { step: s });
            }
            StepKind::Try { catches, .. } => {
                for clause in 0..catches.len() {
                    out.push(CoveragePoint::Catch {
                        step: s,
                        clause: clause as u32,
                    });
                }
            }
            StepKind::Parallel {
                branches,
                race: true,
            } => {
                for branch in 0..branches.len() {
                    out.push(CoveragePoint::Won {
                        step: s,
                        branch: branch as u32,
                    });
                }
            }
            StepKind::Wait {
                timeout_ms: Some(_),
                ..
            } => out.push(CoveragePoint::TimedOut { step: s }),
            StepKind::Activity(call) if call.compensate.is_some() => {
                out.push(CoveragePoint::Compensated { step: s });
            }
            _ => {}
        }
    });
    out
}

/// Steps by index, for describing points.
pub fn steps_by_index(program: &Workflow) -> std::collections::BTreeMap<u32, &Step> {
    let mut out = std::collections::BTreeMap::new();
    program.walk(&mut |step| {
        out.insert(step.index, step);
    });
    out
}
