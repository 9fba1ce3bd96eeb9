//! The error types Stave raises itself: one list for the interpreter that raises them and the
//! checker that accepts them in `catch.errors` and `non_retryable` (E037).

/// Error type of a bad workflow input (non-retryable; raised before any step, so no `catch`
/// sees it).
pub const INVALID_INPUT: &str = "InvalidInput";
/// Error type of a failed expression evaluation.
pub const EXPRESSION_ERROR: &str = "ExpressionError";
/// Error type of a `while` loop that ran `max_iterations` times and still wanted more.
pub const MAX_ITERATIONS_EXCEEDED: &str = "MaxIterationsExceeded";
/// Error type of a `wait` whose timeout fired with `on_timeout: fail`.
pub const WAIT_TIMEOUT: &str = "WaitTimeout";
/// Error type of an activity or child timeout (start-to-close, schedule-to-close, …).
pub const TIMEOUT: &str = "Timeout";
/// Error type of a cancelled activity or child workflow.
pub const CANCELLED: &str = "Cancelled";
/// Error type of a child workflow that could not be started (e.g. its id is taken).
pub const CHILD_START_FAILED: &str = "ChildWorkflowStartFailed";
/// Error type of a terminated child workflow.
pub const TERMINATED: &str = "Terminated";
/// Error type of a failure without a more specific type.
pub const GENERIC_ERROR: &str = "Error";
/// Error type of an activity or child result that is not JSON.
pub const PAYLOAD_ERROR: &str = "PayloadError";
/// Error type of a run failed by a signal arriving at a full queue.
pub const SIGNAL_QUEUE_FULL: &str = "SignalQueueFull";
/// Error type of a run whose commands exceed the server's payload limits.
pub const PAYLOAD_TOO_LARGE: &str = "PayloadTooLarge";
/// Error type of an `http.request` the worker's egress policy refuses (`http:` of
/// stave.yaml): a host not allowed, a private address, a cross-origin redirect.
/// Non-retryable.
pub const HTTP_DENIED: &str = "HttpDenied";

/// Every error type Stave raises, in the order docs/language.md lists them.
pub const RAISED_BY_STAVE: &[&str] = &[
    WAIT_TIMEOUT,
    TIMEOUT,
    CANCELLED,
    CHILD_START_FAILED,
    TERMINATED,
    PAYLOAD_ERROR,
    EXPRESSION_ERROR,
    MAX_ITERATIONS_EXCEEDED,
    GENERIC_ERROR,
    INVALID_INPUT,
    SIGNAL_QUEUE_FULL,
    PAYLOAD_TOO_LARGE,
    HTTP_DENIED,
];
