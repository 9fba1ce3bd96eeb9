//! Child workflow calls, and routing children to their own workflow's task queue.

use super::scope::Scope;
use super::{Lowerer, ms};
use crate::diagnostics::{Code, Diagnostic};
use crate::ir;
use crate::syntax::ast;
use std::collections::BTreeMap;

impl Lowerer<'_> {
    pub(super) fn child(&mut self, call: &ast::ChildCall, scope: &Scope) -> ir::ChildCall {
        self.check_temporal_name(&call.workflow, "workflow");
        if let (Some(_), Some(args)) = (&call.input, &call.args) {
            self.error(Diagnostic::new(
                Code::E045,
                args.span,
                "a step takes `input:` or `args:`, not both",
            ));
        }
        let args = match &call.args {
            Some(args) => {
                ir::Args::Positional(args.value.iter().map(|a| self.value(a, scope)).collect())
            }
            None => ir::Args::Input(
                call.input
                    .as_ref()
                    .map_or(ir::Value::null(), |i| self.value(i, scope)),
            ),
        };
        let task_queue = match (&call.task_queue, &call.queue) {
            (Some(tq), _) => tq.value.clone(),
            (None, Some(q)) => self.queue_task_queue(q),
            // Routed to the child's own queue when it is a workflow of this project.
            (None, None) => String::new(),
        };
        let parent_close = match call.parent_close.as_ref().map(|p| p.value.as_str()) {
            None | Some("terminate") => ir::ParentClose::Terminate,
            Some("abandon") => ir::ParentClose::Abandon,
            Some("request_cancel") => ir::ParentClose::RequestCancel,
            Some(other) => {
                let span = call
                    .parent_close
                    .as_ref()
                    .map_or(call.workflow.span, |p| p.span);
                self.error(
                    Diagnostic::new(
                        Code::E044,
                        span,
                        format!("unknown `parent_close` value `{other}`"),
                    )
                    .help("use terminate, abandon or request_cancel"),
                );
                ir::ParentClose::Terminate
            }
        };
        ir::ChildCall {
            workflow: call.workflow.value.clone(),
            args,
            workflow_id: call.workflow_id.as_ref().map(|w| self.value(w, scope)),
            task_queue,
            execution_timeout_ms: call.timeout.as_ref().map(|t| ms(t.value)),
            parent_close,
            retry: call.retry.as_ref().map(|r| self.retry(r, None)),
            priority: call.priority.as_ref().map(|p| self.priority(p, scope)),
        }
    }
}

/// Children with no queue go to their own workflow's task queue when it is in the project;
/// others keep an empty one, which runs them on the parent's. Update handlers' children too.
pub(in crate::check) fn route_children(
    wf: &mut ir::Workflow,
    queues: &BTreeMap<String, String>,
    changed: &mut bool,
) {
    wf.walk_mut(&mut |step| {
        if let ir::StepKind::Child(call) = &mut step.kind
            && call.task_queue.is_empty()
        {
            call.task_queue = queues.get(&call.workflow).cloned().unwrap_or_default();
            *changed = true;
        }
    });
}
