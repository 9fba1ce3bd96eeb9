//! A program's identity: the IR with its positions removed by type, and its content hash.
//!
//! Invariant (property-tested in `tests/pin_hash.rs`): two programs have the same hash exactly
//! when they are equal once positions are removed. Positions are the IR's own position fields
//! — `Step::loc` and the spans of expression nodes — and the source path; they are cleared by
//! an exhaustive walk (every struct destructured, every enum matched without `_`), so a field
//! added to the IR cannot be forgotten. Data is never touched: a literal `{loc: "NYC"}` is part
//! of the program like any other value.

use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use super::{
    ActivityCall, Args, Branch, Catch, ChildCall, Loc, Priority, Schedule, SignalHandler, Sleep,
    Step, StepKind, SwitchArm, UpdateHandler, Validator, Value, Workflow,
};
use crate::expr::TemplatePart;

impl Workflow {
    /// The IR as JSON without positions and source path: a program's identity, the same for
    /// both forms and for reformatted files.
    pub fn canonical_json(&self) -> Json {
        let mut program = self.clone();
        program.strip_positions();
        let mut json = serde_json::to_value(&program).unwrap_or(Json::Null);
        // `hash` and `source` are fields of `Workflow` itself, the top-level object.
        if let Json::Object(map) = &mut json {
            map.remove("hash");
            map.remove("source");
        }
        json
    }

    /// sha256 of the canonical JSON, lower-case hex. A version-1 program (written by an
    /// earlier release) is hashed the way it was pinned then, so its pin still verifies.
    pub fn compute_hash(&self) -> String {
        if self.ir_version == 1 {
            return super::legacy::hash_v1(self);
        }
        sha256_hex(&self.canonical_json())
    }

    /// Clears every position field: step locations and expression spans.
    pub fn strip_positions(&mut self) {
        let Workflow {
            ir_version: _,
            hash: _,
            source: _,
            name: _,
            description: _,
            queue: _,
            task_queue: _,
            execution_timeout_ms: _,
            input_schema: _,
            vars,
            signals,
            updates,
            queries,
            steps,
            output,
            schedules,
            search_attributes,
            memo,
            continue_as_new_after: _,
            expose_status: _,
            step_count: _,
            priority,
        } = self;
        strip_priority(priority);
        named_values(vars);
        for SignalHandler { name: _, set } in signals {
            named_values(set);
        }
        for UpdateHandler {
            name: _,
            validate,
            set,
            steps,
            result,
        } in updates
        {
            strip_steps(steps);
            if let Some(Validator { cond, message }) = validate {
                strip_value(cond);
                if let Some(message) = message {
                    strip_value(message);
                }
            }
            named_values(set);
            if let Some(result) = result {
                strip_value(result);
            }
        }
        named_values(queries);
        strip_steps(steps);
        if let Some(output) = output {
            strip_value(output);
        }
        for Schedule {
            id: _,
            spec: _,
            timezone: _,
            overlap: _,
            paused: _,
            input: _,
        } in schedules
        {}
        named_values(search_attributes);
        named_values(memo);
    }
}

pub(super) fn sha256_hex(json: &Json) -> String {
    let bytes = serde_json::to_vec(json).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn named_values(values: &mut [(String, Value)]) {
    for (_, value) in values {
        strip_value(value);
    }
}

fn strip_value(value: &mut Value) {
    match value {
        Value::Literal(_) => {}
        Value::Expr(e) => e.strip_spans(),
        Value::Interp(parts) => {
            for part in parts {
                match part {
                    TemplatePart::Text(_) => {}
                    TemplatePart::Expr(e) => e.strip_spans(),
                }
            }
        }
        Value::List(items) => items.iter_mut().for_each(strip_value),
        Value::Map(entries) => named_values(entries),
    }
}

fn strip_steps(steps: &mut [Step]) {
    for Step {
        index: _,
        id: _,
        guard,
        kind,
        loc,
    } in steps
    {
        *loc = Loc::default();
        if let Some(guard) = guard {
            strip_value(guard);
        }
        strip_kind(kind);
    }
}

fn strip_kind(kind: &mut StepKind) {
    match kind {
        StepKind::Activity(call) => strip_activity(call),
        StepKind::Child(call) => strip_child(call),
        StepKind::Sequence(steps) => strip_steps(steps),
        StepKind::If {
            cond,
            then,
            otherwise,
        } => {
            strip_value(cond);
            strip_steps(then);
            strip_steps(otherwise);
        }
        StepKind::Switch { arms, default } => {
            for SwitchArm { when, steps } in arms {
                strip_value(when);
                strip_steps(steps);
            }
            strip_steps(default);
        }
        StepKind::Parallel { branches, race: _ } => {
            for Branch { name: _, steps } in branches {
                strip_steps(steps);
            }
        }
        StepKind::Foreach {
            over,
            item: _,
            concurrency: _,
            steps,
        } => {
            strip_value(over);
            strip_steps(steps);
        }
        StepKind::While {
            cond,
            max_iterations: _,
            steps,
        } => {
            strip_value(cond);
            strip_steps(steps);
        }
        StepKind::Wait {
            signal: _,
            others: _,
            mode: _,
            until,
            timeout_ms: _,
            on_timeout: _,
        } => {
            if let Some(until) = until {
                strip_value(until);
            }
        }
        StepKind::Sleep(sleep) => match sleep {
            Sleep::ForMs(_) => {}
            Sleep::For(v) | Sleep::Until(v) => strip_value(v),
        },
        StepKind::Set(assignments) => named_values(assignments),
        StepKind::Try { steps, catches } => {
            strip_steps(steps);
            for Catch {
                errors: _,
                when,
                name: _,
                steps,
            } in catches
            {
                if let Some(when) = when {
                    strip_value(when);
                }
                strip_steps(steps);
            }
        }
        StepKind::Fail {
            error_type,
            message,
            details,
        } => {
            strip_value(error_type);
            strip_value(message);
            strip_value(details);
        }
        StepKind::Return(v) => strip_value(v),
        StepKind::Rethrow => {}
    }
}

fn strip_args(args: &mut Args) {
    match args {
        Args::Input(v) => strip_value(v),
        Args::Positional(values) => values.iter_mut().for_each(strip_value),
    }
}

fn strip_activity(call: &mut ActivityCall) {
    let ActivityCall {
        activity: _,
        args,
        task_queue: _,
        start_to_close_ms: _,
        schedule_to_close_ms: _,
        schedule_to_start_ms: _,
        heartbeat_ms: _,
        retry: _,
        summary,
        compensate,
        priority,
    } = call;
    strip_priority(priority);
    strip_args(args);
    if let Some(summary) = summary {
        strip_value(summary);
    }
    if let Some(compensate) = compensate {
        strip_activity(compensate);
    }
}

fn strip_child(call: &mut ChildCall) {
    let ChildCall {
        workflow: _,
        args,
        workflow_id,
        task_queue: _,
        execution_timeout_ms: _,
        parent_close: _,
        retry: _,
        priority,
    } = call;
    strip_args(args);
    if let Some(id) = workflow_id {
        strip_value(id);
    }
    strip_priority(priority);
}

fn strip_priority(priority: &mut Option<Priority>) {
    if let Some(Priority {
        key,
        fairness,
        weight,
    }) = priority
    {
        for value in [key, fairness, weight].into_iter().flatten() {
            strip_value(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn program(output: Json) -> Workflow {
        super::super::test_program(super::super::IR_VERSION, "a", output)
    }

    #[test]
    fn data_keys_named_like_positions_are_part_of_the_program() {
        let nyc = program(json!({"loc": "NYC", "span": [1, 2]}));
        let la = program(json!({"loc": "LA", "span": [1, 2]}));
        assert_ne!(nyc.compute_hash(), la.compute_hash());
        let moved = program(json!({"loc": "NYC", "span": [3, 4]}));
        assert_ne!(nyc.compute_hash(), moved.compute_hash());
    }

    #[test]
    fn the_source_path_is_not_part_of_the_program() {
        let a = program(json!(1));
        let mut b = a.clone();
        b.source = "elsewhere/b.stave".into();
        assert_eq!(a.compute_hash(), b.compute_hash());
    }
}
