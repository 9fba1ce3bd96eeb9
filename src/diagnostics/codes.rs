//! The registry of stable diagnostic codes; each code has a page printed by `stave explain`.
//!
//! Never reuse or renumber a code. Ranges: E001–E009 sources and YAML shape, E010–E029
//! expressions, E030–E059 checking against the project, E060–E079 the text form,
//! E080–E089 test files (`stave test`), W001–W049 warnings.

use super::Severity;

macro_rules! codes {
    ($( $code:ident $sev:ident $title:literal => $page:literal ),* $(,)?) => {
        /// A stable diagnostic code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $( $code ),* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$code ),* ];

            pub fn as_str(self) -> &'static str {
                match self { $( Code::$code => stringify!($code) ),* }
            }

            pub fn severity(self) -> Severity {
                match self { $( Code::$code => Severity::$sev ),* }
            }

            /// A one-line summary.
            pub fn title(self) -> &'static str {
                match self { $( Code::$code => $title ),* }
            }

            /// The explanation page: What, Why, Example, Fix.
            pub fn page(self) -> &'static str {
                match self { $( Code::$code => $page ),* }
            }
        }
    };
}

impl Code {
    pub fn parse(s: &str) -> Option<Code> {
        let s = s.trim().to_ascii_uppercase();
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }

    /// Warnings `stave lint` reports only when asked (`--warn CODE`): on real files they
    /// mostly flag a deliberate style, not a mistake.
    pub fn off_by_default(self) -> bool {
        matches!(self, Code::W001)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

codes! {
    E001 Error "cannot read a workflow or project file" => r#"## What
A path given to stave cannot be read: it does not exist, is a directory without workflow
files, is not valid UTF-8, or permissions forbid reading it.
## Why
Stave cannot check or run a file it cannot read.
## Example
```
stave lint workflows/ordr.stave.yaml
```
## Fix
Check the path and the file's permissions; workflow files end in `.stave.yaml` or `.stave`
and must be UTF-8."#,
    E002 Error "YAML syntax error" => r#"## What
The file is not well-formed YAML: a bad indentation, an unclosed quote or bracket, a tab
used for indentation, or an undefined alias.
## Why
The YAML parser cannot build a document, so nothing else in the file can be checked.
## Example
```yaml
steps:
  - id: charge
   activity: payments.charge   # indented by one space too few
```
## Fix
Fix the YAML at the position shown. Indent with spaces, close every quote and bracket."#,
    E003 Error "duplicate key" => r#"## What
A mapping has the same key twice.
## Why
YAML parsers disagree on which value wins; Stave refuses to guess.
## Example
```yaml
- id: charge
  timeout: 10s
  timeout: 30s
```
## Fix
Keep one of the two entries."#,
    E004 Error "wrong kind of value" => r#"## What
A value has the wrong shape: a list where a mapping is expected, a string where a number is
expected, and so on.
## Why
Every key of the workflow file has one meaning and one shape.
## Example
```yaml
steps:
  id: charge          # `steps` takes a list of steps
```
## Fix
Write the value in the shape the message names; `stave explain` of the key's construct and
LANGUAGE.md show examples."#,
    E005 Error "unknown key" => r#"## What
A mapping has a key that Stave does not know in that place.
## Why
A misspelt key would otherwise be ignored silently (`retries:` instead of `retry:`), and the
workflow would run without the option you meant.
## Example
```yaml
- id: charge
  activity: payments.charge
  retries: { max_attempts: 3 }
```
## Fix
Use the key the "did you mean" hint suggests, or remove the key."#,
    E006 Error "missing required key" => r#"## What
A construct lacks a key it needs: a workflow without `workflow:` or `steps:`, a `foreach`
without `steps:`, a `wait` without `signal:`, and so on.
## Why
The construct has no meaning without it.
## Example
```yaml
stave: 1
steps: []            # no `workflow:` name
```
## Fix
Add the key named in the message."#,
    E007 Error "invalid name" => r#"## What
A step id, variable, workflow, activity, signal, query or queue name does not have the allowed
form. Step ids and variables are `[a-z_][a-z0-9_]*` (they appear in expressions); Temporal
names are `[A-Za-z_][A-Za-z0-9_.-]*`.
## Why
Names appear in expressions and in Temporal; other characters cannot be referenced.
## Example
```yaml
- id: charge-card      # `-` is not allowed in a step id
```
## Fix
Rename it, e.g. `charge_card`."#,
    E008 Error "invalid duration" => r#"## What
A duration cannot be read. Durations are `500ms`, `30s`, `5m`, `2h`, `1d`, combinations such
as `1h30m`, or ISO 8601 such as `PT30S`.
## Why
Timeouts and timers need an exact length.
## Example
```yaml
timeout: 30 seconds
```
## Fix
Write `30s`."#,
    E009 Error "unsupported language version" => r#"## What
The `stave:` key names a language version this Stave does not know.
## Why
A file written for a newer language may use constructs this version would misread.
## Example
```yaml
stave: 7
```
## Fix
Write `stave: 1`, or upgrade Stave."#,
    E010 Error "expression syntax error" => r#"## What
An expression (`${ … }` in YAML, or bare in the text form) cannot be read: a missing operand
or bracket, an unterminated string, an unknown escape, an out-of-range number literal, a
reserved word used as a name, a macro used with the wrong shape (`has(x)` instead of
`has(x.f)`, `list.map(1, x)`), or an expression nested too deeply (more than 32 levels of
brackets and conditionals, or a tree more than 100 levels deep).
## Why
Expressions are CEL; nothing can be checked or run until the expression parses.
## Example
```yaml
if: "${ input.amount > }"
```
## Fix
Complete the expression at the position shown. CEL writes `&&`, `||`, `!` and `==`; strings
take single or double quotes; `has` takes a field selection such as `has(input.email)`."#,
    E011 Error "unknown name in expression" => r#"## What
An expression starts with a name that is not in scope. The roots are `input`, `vars`,
`steps`, `workflow`, and where they apply the loop variable, `signal` and the caught error.
## Why
The name would have no value at run time, and the run would fail when it gets there.
## Example
```yaml
input: { order_id: "${ inptu.order_id }" }
```
## Fix
Use the name the "did you mean" hint suggests, or one of the roots listed in the help."#,
    E012 Error "unknown step in expression" => r#"## What
An expression reads `steps.ID` for an id that no step visible at that point has: the step
does not exist, comes later, or sits inside a `foreach` body you are not in.
## Why
A step's result is only available after it ran, in the blocks that can see it.
## Example
```yaml
- { id: charge, activity: payments.charge }
- { id: receipt, activity: email.send, input: { charge: "${ steps.chrage.id }" } }
```
## Fix
Fix the id (the hint suggests the closest visible one) or move the reading step after the
step it reads."#,
    E013 Error "unknown field" => r#"## What
An expression reads a field that the value's type does not have: a field absent from an
activity's output schema, from the workflow's input schema, or from a literal map.
## Why
Reading a missing field fails the run at that point.
## Example
```yaml
- { id: receipt, activity: email.send, input: { charge: "${ steps.charge.idd }" } }
```
## Fix
Use the field the hint suggests. If the field really may be present, declare it in the
schema, or test it first with `has(x.field)`."#,
    E014 Error "type mismatch in expression" => r#"## What
An operator or function is applied to values of types it does not accept: comparing a string
with a number, adding a string and an int, negating a string with `!`, `size(1)`, indexing
a list with a string, calling a string method on a number, or a condition that is not a bool.
## Why
CEL has no implicit conversions: the expression would fail at run time with "no matching
overload".
## Example
```yaml
if: "${ input.name > 1 }"
```
## Fix
Convert explicitly with `int(x)`, `double(x)` or `string(x)`, or compare values of the same
type."#,
    E015 Error "arithmetic mixes int and double" => r#"## What
An arithmetic operator (`+ - * / %`) has an int on one side and a double on the other.
## Why
In CEL (and Stave) JSON integers are ints and other numbers are doubles; arithmetic between
the two has no overload and fails at run time. Comparisons across the two work.
## Example
```yaml
set: { total: "${ input.price * 1.2 }" }   # price is an integer
```
## Fix
Convert one side: `double(input.price) * 1.2`, or `input.price * 2` with an int literal."#,
    E016 Error "unknown function or method" => r#"## What
An expression calls a function or method that the expression language does not have.
## Why
Stave implements a documented subset of CEL: `size`, `has`, `int`, `double`, `string`,
`matches`, `now`, `uuid`; the string methods `contains`, `startsWith`, `endsWith`, `matches`,
`lowerAscii`, `upperAscii`, `trim`, `split`, `size`; `join` on lists; and the macros `map`,
`filter`, `exists`, `all`, `exists_one`.
## Example
```yaml
if: "${ input.email.endswith('@example.com') }"
```
## Fix
Use the function the hint suggests (names are case-sensitive), or compute the value in an
activity."#,
    E017 Error "wrong number of arguments" => r#"## What
A function, method or macro is called with more or fewer arguments than it takes.
## Why
The call has no meaning, and would fail at run time.
## Example
```yaml
if: "${ input.tags.exists(t == 'vip') }"
```
## Fix
Pass the arguments the message lists; macros take a variable name first:
`input.tags.exists(t, t == 'vip')`."#,
    E018 Error "invalid regular expression" => r#"## What
The pattern given to `matches` is not a valid regular expression.
## Why
`matches` would fail every time it runs.
## Example
```yaml
if: "${ input.sku.matches('[A-Z') }"
```
## Fix
Fix the pattern (RE2 syntax: no look-around or back-references). In a string literal a
backslash is written `\\`, or use a raw string: `r'\d+'`."#,
    E030 Error "unknown activity" => r#"## What
A step names an activity that the activity manifest (`activities.json`) does not list.
## Why
The worker could not run the step; the run would fail at that step, perhaps hours in.
## Example
```yaml
- id: charge
  activity: payments.chrage
```
## Fix
Use the suggested name, or register the activity in your worker and re-export the manifest
with `stave worker --export-manifest activities.json`. Activities served by workers outside
the project (Python, Go) take `task_queue:` and are not checked against the manifest."#,
    E031 Error "activity input does not match its schema" => r#"## What
A step's input lacks a field the activity's input schema requires, has a field the schema
forbids, or gives a literal of the wrong type.
## Why
The activity would reject its input at run time.
## Example
```yaml
- id: charge
  activity: payments.charge            # requires order_id and amount
  input: { order_id: "${ input.order_id }" }
```
## Fix
Give every required field, with the type the manifest's schema declares."#,
    E032 Error "activity has no timeout" => r#"## What
An activity step has neither a start-to-close timeout (`timeout:`) nor a schedule-to-close
timeout, and the workflow's `defaults` give none either.
## Why
Temporal requires one of the two on every activity.
## Example
```yaml
- id: charge
  activity: payments.charge
```
## Fix
Add `timeout: 30s` to the step or to the workflow's `defaults:`."#,
    E033 Error "unknown queue" => r#"## What
A `queue:` names a queue that `stave.yaml` does not declare.
## Why
Project queues map to Temporal task queues; an undeclared one has no worker.
## Example
```yaml
queue: hi-priority
```
## Fix
Use a queue declared in `stave.yaml` (the hint lists them), or declare it there."#,
    E034 Error "duplicate step id" => r#"## What
Two steps in one workflow file have the same id.
## Why
`steps.ID` must name exactly one step's result.
## Example
```yaml
- { id: notify, activity: email.send }
- { id: notify, activity: sms.send }
```
## Fix
Rename one of them."#,
    E035 Error "unknown signal" => r#"## What
A `wait` names a signal the workflow does not declare under `signals:`.
## Why
Signals are declared so their handlers and payloads are known; a typo would wait forever.
## Example
```yaml
signals: { approve: {} }
steps:
  - wait: { signal: aprove, timeout: 1h }
```
## Fix
Declare the signal or fix its name."#,
    E036 Error "unknown variable" => r#"## What
A `set` (or a signal handler) assigns a variable that `vars:` does not declare.
## Why
Every piece of workflow state is declared once, with its initial value.
## Example
```yaml
vars: { status: new }
steps:
  - set: { stauts: done }
```
## Fix
Declare the variable under `vars:` or fix its name."#,
    E037 Error "unknown error type" => r#"## What
A `catch.errors` or `retry.non_retryable` entry names an error type that no activity in the
manifest declares, that Stave does not raise itself (`WaitTimeout`, `Timeout`, `Cancelled`,
`ChildWorkflowStartFailed`, `Terminated`, `PayloadError`, `ExpressionError`,
`MaxIterationsExceeded`, `Error`, …) and that no `fail` step raises. It is checked only where
the answer is known: `non_retryable` of an activity whose manifest entry lists its `errors`,
and a `catch` whose `try` body calls only such activities (no child workflow).
## Why
A misspelt error type would never match, so the catch or the retry rule would never apply.
## Example
```yaml
catch:
  - errors: [CardDeclinde]
```
## Fix
Use an error type listed in the activity's `errors` in `activities.json`. Declare them there:
`stave worker --export-manifest` writes the `errors` each activity was registered with, and a
manifest written for workers in other languages takes `"errors": ["CardDeclined", ...]` per
activity."#,
    E038 Error "invalid schedule" => r#"## What
A schedule has a malformed cron expression, both or neither of `cron:` and `every:`, an
unknown overlap policy, or an unknown time zone form.
## Why
The schedule could not be created on the server.
## Example
```yaml
schedules:
  - { id: nightly, cron: "0 25 * * *" }
```
## Fix
Write a five-field cron (`minute hour day-of-month month day-of-week`) or `every: 1h`."#,
    E039 Error "activity manifest missing or invalid" => r#"## What
The activity manifest named by `stave.yaml` (`activities:`) cannot be read or is not valid.
## Why
Without the manifest Stave cannot check activity names, inputs and outputs.
## Example
```yaml
activities: activitys.json
```
## Fix
Export the manifest with `stave worker --export-manifest activities.json`, or fix the path."#,
    E040 Error "invalid project settings" => r#"## What
`stave.yaml` is malformed: an unknown key, a queue without `task_queue`, a non-positive limit.
## Why
Queues and limits become real worker settings.
## Example
```yaml
queues:
  standard: { max_concurrent_activities: 0 }
```
## Fix
Follow the shape in LANGUAGE.md: each queue has `task_queue` and positive limits."#,
    E041 Error "step has no kind or several" => r#"## What
A step must be exactly one of: `activity`, `workflow`, `if`+`steps`, `switch`, `parallel`,
`foreach`, `while`, `wait`, `sleep`, `set`, `try`, `fail`, `return`, `rethrow`.
## Why
Stave cannot tell what the step should do.
## Example
```yaml
- id: charge
  activity: payments.charge
  sleep: 5m
```
## Fix
Split it into two steps."#,
    E042 Error "rethrow outside catch" => r#"## What
A `rethrow` step stands outside any `catch` clause.
## Why
There is no caught error to raise again.
## Example
```yaml
steps:
  - rethrow: true
```
## Fix
Move it into a `catch` clause's steps, or use `fail`."#,
    E043 Error "invalid input schema" => r#"## What
The workflow's `input:` is not a usable JSON Schema (an unknown `type`, `required` that is not
a list of strings, `properties` that is not a mapping).
## Why
The input is validated against it at start.
## Example
```yaml
input: { type: obj }
```
## Fix
Use JSON Schema types: object, array, string, number, integer, boolean, null."#,
    E044 Error "invalid option value" => r#"## What
An option has a value outside its range: `max_attempts: 0`, `backoff: 0.5`, `concurrency: 0`,
an unknown `on_timeout`, an unknown `parent_close`, a non-positive `max_iterations`.
## Why
The option would be rejected by Temporal or make no sense.
## Example
```yaml
retry: { backoff: 0.5 }
```
## Fix
Use a value in the range the message gives."#,
    E045 Error "both input and args" => r#"## What
An activity step gives both `input:` and `args:`.
## Why
`input` is the single argument of a Stave activity; `args` are positional arguments for
activities outside the project. A step has one or the other.
## Example
```yaml
- activity: reports.render
  input: {a: 1}
  args: [1, 2]
```
## Fix
Keep one of them."#,
    E046 Error "workflow type defined twice" => r#"## What
Two workflow files of one project declare the same `workflow:` name with different contents.
## Why
A Temporal workflow type must have one definition per task queue; the worker could not tell
which one a run means. (The two forms of one workflow — `x.stave.yaml` and `x.stave` — may
stand side by side when they compile to the same IR.)
## Example
```
workflows/orders.stave.yaml:  workflow: orders
workflows/orders-v2.stave.yaml: workflow: orders
```
## Fix
Rename one of them; to change a workflow, edit its file — running workflows stay pinned to
the version they started with."#,
    E060 Error "text-form syntax error" => r#"## What
A `.stave` file does not follow the grammar of the text form: a word or symbol stands where
the message says something else was expected, or text follows the workflow's closing `}`.
## Why
The parser cannot tell what the file means, so nothing in it can be checked.
## Example
```
workflow order {
  step charge = payments.charge(input) tmeout 10s
}
```
## Fix
Write what the message expects at the marked place (here `timeout`); `docs/text-form.md`
spells every construct, and `stave convert FILE.stave.yaml --to text` shows any YAML
workflow in the text form."#,
    E061 Error "unclosed bracket or string" => r#"## What
A `{`, `(` or `[` is never closed, a closing bracket does not match the open one, or a string
or template has no closing quote.
## Why
Everything after the opening bracket or quote would be read as part of it.
## Example
```
workflow order {
  if input.rush {
    step ship = shipping.express(input)
  step notify = email.send(input)
}
```
## Fix
Add the missing bracket or quote at the place the message names. A string in `"` or `'`
ends on its line; use `"""…"""` or a template in backquotes for text over several lines."#,
    E062 Error "reserved word used as a name" => r#"## What
A variable, step id, loop variable, caught error or signal parameter is named with a word
the expression language reserves: `true`, `false`, `null`, `in`, `as`, `if`, `else`, `for`,
`while`, `return`, `var`, `let`, `break`, `continue`, `const`, `function`, `import`, `loop`,
`package`, `namespace`, `void`.
## Why
The name could not be read in an expression: `steps.if` or `vars.in` does not parse.
## Example
```
var in = 0
```
## Fix
Rename it, e.g. `count_in` or `in_`."#,
    E063 Error "declared or given twice" => r#"## What
The text form gives the same thing twice: an option of one step (`timeout 5s timeout 10s`),
a workflow setting (`description`, `input`, `output`, `defaults`, …), a variable, signal,
query, schedule, map key, branch or named input.
## Why
Only one of them could take effect, and which one is a guess.
## Example
```
var status = "new"
var status = "received"
```
## Fix
Keep one of them."#,
    E064 Error "unknown type in the compact input form" => r#"## What
A field of `input { … }` has a type the compact form does not know. Its types are `string`,
`number`, `integer`, `boolean`, `null`, `list`, `map`, `any`, `[T]` (a list of T) and
`{ … }` (an object); a field is required unless written `name?: type`.
## Why
The compact form lowers to a JSON Schema, which needs one of these types.
## Example
```
input { order_id: str, amount: number }
```
## Fix
Use one of the types above (here `string`), or write the full JSON Schema with
`input schema { "type": "object", … }`."#,
    E065 Error "number out of range" => r#"## What
An integer or number in the text form does not fit: integers are 64-bit, numbers are finite
64-bit floats.
## Why
The value could not be stored or sent to Temporal unchanged.
## Example
```
retry { max_attempts 99999999999999999999 }
```
## Fix
Write a smaller number."#,
    E080 Error "invalid test file" => r#"## What
A `*.test.yaml` file is malformed: no `stave_test: 1`, no `workflow:` or `cases:`, a mock
that names no target or several, a response that is not exactly one of `output:`, `error:`
or `timeout: true`, an unknown expected status.
## Why
`stave test` cannot tell what to run or what to compare.
## Example
```yaml
stave_test: 1
workflow: order-fulfilment
cases:
  - name: declined
    mocks:
      - { activity: payments.charge, respond: { output: 1, timeout: true } }
```
## Fix
Give each mock one target and each response one kind; docs/testing.md lists every key."#,
    E081 Error "test of an unknown workflow" => r#"## What
A test file's `workflow:` names no workflow of the project.
## Why
There is nothing to run the cases against.
## Example
```yaml
stave_test: 1
workflow: order-fulfillment
```
## Fix
Name a workflow type the project defines (the message suggests the closest)."#,
    E082 Error "mock of something the workflow never calls" => r#"## What
A mock names an activity, a step or a child workflow type that the workflow under test never
calls (nor do the project workflows it starts as children).
## Why
The mock can never answer: usually a typo, or a test left behind by a rename.
## Example
```yaml
mocks:
  - { activity: payments.chrage, respond: { output: { id: ch_1 } } }
```
## Fix
Use the activity type, step id or workflow type the file calls (see the suggestion)."#,
    E083 Error "mock response does not match the output schema" => r#"## What
A mocked `output:` does not satisfy the output schema the activity manifest declares for
that activity.
## Why
A real activity could never answer that, so the test would pin down impossible behaviour.
## Example
```yaml
mocks:
  - { activity: payments.charge, respond: { output: { id: 42 } } }   # id is a string
```
## Fix
Make the mocked output match the activity's `output` schema in `activities.json`."#,
    E084 Error "signal or query the workflow does not declare" => r#"## What
A case sends a signal, or asks a query, that the workflow under test does not declare.
## Why
The workflow would ignore the signal or reject the query, so the case tests nothing.
## Example
```yaml
signals: [ { at: 1h, name: aprove } ]
```
## Fix
Use a name from the workflow's `signals:` or `queries:` (the message suggests the closest)."#,
    W001 Warning "step result never used" => r#"## What
A step has an `id` and its activity declares an output, but no expression reads
`steps.ID`.
## Why
Often a sign that a later step reads the wrong step, or that the id has a typo.
## Example
```yaml
- { id: quote, activity: pricing.quote, input: "${ input }" }
- { id: charge, activity: payments.charge, input: { amount: "${ input.amount }" } }
```
## Fix
Use the result, or drop the `id`.
## Off by default
Authors give steps ids as names too (they show in the graph, the logs and the Web UI), so
`stave lint` reports W001 only with `--warn W001`."#,
    W002 Warning "unreachable steps" => r#"## What
Steps follow a `fail`, `return` or `rethrow` in the same block.
## Why
They can never run.
## Example
```yaml
- fail: { type: Rejected, message: no }
- { id: ship, activity: shipping.ship }
```
## Fix
Remove them, or put the `fail` under an `if`."#,
    W003 Warning "signal has no effect" => r#"## What
A declared signal has no handler and no `wait` waits for it.
## Why
Sending it changes nothing; likely a wait or handler is missing.
## Example
```yaml
signals: { approve: {} }
```
## Fix
Add a handler (`set:`) or a `wait` on it, or remove it."#,
    W004 Warning "foreach without a concurrency cap" => r#"## What
A `foreach` iterates over a list whose size is not bounded (workflow input or an activity
result) and has no `concurrency:`.
## Why
All iterations start at once: a list of 10,000 elements schedules 10,000 activities in one
workflow task, overloading workers and the history.
## Example
```yaml
- foreach: "${ input.items }"
  steps: [ { activity: shipping.ship, input: "${ item }" } ]
```
## Fix
Add `concurrency: 10` (or another cap)."#,
    W005 Warning "no retry policy" => r#"## What
An activity step has no `retry:`, the workflow has no `defaults.retry`, and `stave.yaml`
sets no default retry.
## Why
Temporal then retries forever, which turns a permanent failure into a stuck run.
## Example
```yaml
- { id: charge, activity: payments.charge, timeout: 10s }
```
## Fix
Add `retry: { max_attempts: 5 }` to the step or to `defaults:`."#,
    W007 Warning "workflow name is not kebab-case" => r#"## What
A new workflow's name is not kebab-case (`order-fulfilment`).
## Why
Consistent names make the Temporal UI easier to scan. Existing types such as
`AccountTransferWorkflow` keep working; this is only a suggestion.
## Example
```yaml
workflow: OrderFulfilment
```
## Fix
Rename it, or allow the warning for an existing type."#,
    W008 Warning "unused variable" => r#"## What
A variable declared under `vars:` is never read (`vars.NAME`) by any expression.
## Why
Dead state makes the workflow harder to read.
## Example
```yaml
vars: { tries: 0 }
```
## Fix
Remove it, or use it."#,
    W009 Warning "field read through a step that may not have run" => r#"## What
An expression reads a field of `steps.ID` (`steps.review.score`) where the step sits under an
`if`, a `switch` branch or a `catch` and may not have run, so that `steps.review` is `null`.
The read is not guarded by `has(...)` or by a `!= null` test.
## Why
Reading a field of `null` fails the run, on exactly the path that skipped the step.
## Example
```yaml
- { id: review, if: "${ input.amount > 1000 }", activity: fraud.review }
- { set: { score: "${ steps.review.score }" } }
```
## Fix
Guard the read: `${ has(steps.review.score) ? steps.review.score : 0 }` or
`${ steps.review != null && steps.review.score > 5 }`; or move the reading step into the
same branch."#,
    W010 Warning "timer outlives the workflow" => r#"## What
A `wait` timeout or a fixed `sleep` is at least as long as the workflow's own execution
`timeout:`.
## Why
The run times out first: the timeout branch (or whatever follows the sleep) never happens,
and its compensations do not run either. `stave test` found one in a sample: a 24 h approval
wait in a workflow with a 2 h timeout.
## Example
```yaml
timeout: 2h
steps:
  - wait: { signal: approve, timeout: 24h, on_timeout: fail }
```
## Fix
Raise the workflow's `timeout:` above the timer, or shorten the timer."#,
    W011 Warning "manifest schema not fully checked" => r##"## What
An activity's `input` or `output` schema in the manifest uses JSON Schema keywords Stave's
validator does not check (`$ref`/`$defs`, `if`/`then`, `uniqueItems`, `patternProperties`,
…), or a `pattern` that is not a valid regular expression.
## Why
Those parts accept anything: lint cannot catch a wrong input or a wrong read of the output
there, and `stave test` cannot check mocked outputs against them. A manifest exported by
another SDK (Pydantic, Zod) often uses `$ref`.
## Example
```json
{ "name": "crm.lookup", "input": { "$ref": "#/$defs/Lookup", "$defs": { "Lookup": {} } } }
```
## Fix
Inline `$ref` definitions, and keep to the checked keywords: `type`, `required`,
`properties`, `additionalProperties`, `items`, `enum`, `const`, `minimum`, `maximum`,
`exclusiveMinimum`, `exclusiveMaximum`, `minLength`, `maxLength`, `minItems`, `maxItems`,
`pattern`, `anyOf`, `oneOf`, `allOf` (and annotations such as `description`, `title`,
`format`)."##,
}
