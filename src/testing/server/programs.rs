//! The project's programs as a test run serves them: every task queue prefixed (so runs of two test sessions, or of a real worker, never share a queue), hashes recomputed, and the activity types they call.

use std::collections::BTreeSet;

use crate::ir::{ActivityCall, Bundle, Project, StepKind, Workflow};

/// `programs` and `project` with every task queue renamed `{prefix}{queue}`: the workflows'
/// own, their activities' (compensations included) and their children's. Each program is
/// re-hashed, so the pins of the test runs name these programs.
pub fn isolate(project: &Project, programs: &[&Workflow], prefix: &str) -> Bundle {
    let rename = |queue: &mut String| *queue = format!("{prefix}{queue}");
    let mut project = project.clone();
    for queue in &mut project.queues {
        rename(&mut queue.task_queue);
    }
    let workflows = programs
        .iter()
        .map(|program| {
            let mut program = (*program).clone();
            rename(&mut program.task_queue);
            program.walk_mut(&mut |step| match &mut step.kind {
                StepKind::Activity(call) => activity_mut(call, &mut |c| rename(&mut c.task_queue)),
                StepKind::Child(call) => rename(&mut call.task_queue),
                _ => {}
            });
            program.hash = program.compute_hash();
            program
        })
        .collect();
    Bundle {
        ir_version: crate::ir::IR_VERSION,
        project,
        workflows,
    }
}

/// Every activity type the programs call, compensations included.
pub fn activity_types(programs: &[Workflow]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for program in programs {
        program.walk(&mut |step| {
            if let StepKind::Activity(call) = &step.kind {
                let mut current = Some(call);
                while let Some(c) = current {
                    out.insert(c.activity.clone());
                    current = c.compensate.as_deref();
                }
            }
        });
    }
    out
}

fn activity_mut(call: &mut ActivityCall, f: &mut impl FnMut(&mut ActivityCall)) {
    f(call);
    if let Some(compensate) = &mut call.compensate {
        activity_mut(compensate, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_queue_is_prefixed_and_the_hash_follows() {
        let load = crate::check::load_project(std::path::Path::new(env!("CARGO_MANIFEST_DIR")));
        let bundle = load.bundle.expect("the sample project loads");
        let programs: Vec<&Workflow> = bundle.workflows.iter().collect();
        let isolated = isolate(&bundle.project, &programs, "t1-");
        assert!(
            isolated
                .project
                .queues
                .iter()
                .all(|q| q.task_queue.starts_with("t1-project-ai-"))
        );
        let mut queues = BTreeSet::new();
        for program in &isolated.workflows {
            assert_eq!(program.hash, program.compute_hash());
            queues.insert(program.task_queue.clone());
            program.walk(&mut |step| match &step.kind {
                StepKind::Activity(call) => {
                    queues.insert(call.task_queue.clone());
                }
                StepKind::Child(call) => {
                    queues.insert(call.task_queue.clone());
                }
                _ => {}
            });
        }
        assert!(queues.iter().all(|q| q.starts_with("t1-")), "{queues:?}");
        let order = isolated
            .workflows
            .iter()
            .find(|w| w.name == "order-fulfilment")
            .expect("order-fulfilment");
        let original = programs
            .iter()
            .find(|w| w.name == "order-fulfilment")
            .expect("order-fulfilment");
        assert_ne!(order.hash, original.hash);
        let types = activity_types(&isolated.workflows);
        assert!(
            types.contains("payments.refund"),
            "compensations: {types:?}"
        );
        assert!(types.contains("log"), "{types:?}");
    }
}
