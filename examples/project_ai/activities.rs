//! Deterministic stand-ins for Project-AI's activities: same names, shapes and error types as
//! the real ones, with trigger inputs for each error so workflows can be exercised end to end.
//!
//! Triggers: `payments.charge` card `"declined"` → CardDeclined (non-retryable);
//! `inventory.reserve` an item with sku `"out-of-stock"` → OutOfStock (non-retryable);
//! `shipping.ship` sku `"no-carrier"` → CarrierUnavailable; `ai.infer` model `"missing"` →
//! ModelNotFound (non-retryable), a prompt containing `"rate-limit"` → RateLimited;
//! `ai.generate_image` style `"unavailable"` → GpuUnavailable; `data.load` a url containing
//! `"missing"` → DatasetNotFound; `billing.invoice` an order id starting `"no-invoice"` →
//! InvoiceUnavailable; `ai.moderate_prompt` a prompt containing `"forbidden"` → not allowed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use stave::runtime::activity::{ActivityContext, ActivityError, Registry};

/// A short stable id from any value: stand-ins return the same ids for the same input.
fn id(prefix: &str, value: &impl Serialize) -> String {
    let text = serde_json::to_string(value).unwrap_or_default();
    // FNV-1a: tiny, deterministic, no dependency.
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{prefix}-{:012x}", hash & 0xffff_ffff_ffff)
}

type Result<T> = std::result::Result<T, ActivityError>;

#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ChargeInput {
    order_id: String,
    amount: f64,
    card: String,
}
#[derive(Serialize, JsonSchema)]
pub struct ChargeOutput {
    charge_id: String,
    amount: f64,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct RefundInput {
    charge_id: String,
}
#[derive(Serialize, JsonSchema)]
pub struct RefundOutput {
    refund_id: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ReserveInput {
    order_id: String,
    items: Vec<Json>,
}
#[derive(Serialize, JsonSchema)]
pub struct ReserveOutput {
    reservation_id: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ReleaseInput {
    reservation_id: String,
}
#[derive(Serialize, JsonSchema)]
pub struct Released {}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct EmailInput {
    to: String,
    template: String,
    #[serde(default)]
    data: Json,
}
#[derive(Serialize, JsonSchema)]
pub struct MessageOutput {
    message_id: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct NotifyInput {
    to: String,
    subject: String,
    #[serde(default)]
    body: Option<String>,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ShipInput {
    order_id: String,
    sku: String,
    qty: i64,
}
#[derive(Serialize, JsonSchema)]
pub struct ShipOutput {
    tracking: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct InvoiceInput {
    order_id: String,
    amount: f64,
}
#[derive(Serialize, JsonSchema)]
pub struct InvoiceOutput {
    invoice_id: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct FraudInput {
    order_id: String,
    amount: f64,
}
#[derive(Serialize, JsonSchema)]
pub struct FraudOutput {
    score: f64,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ImageInput {
    prompt: String,
    style: String,
    seed: i64,
}
#[derive(Serialize, JsonSchema)]
pub struct ImageOutput {
    image_id: String,
    url: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct InferInput {
    model: String,
    prompt: String,
    #[serde(default)]
    max_tokens: Option<i64>,
}
#[derive(Serialize, JsonSchema)]
pub struct InferOutput {
    text: String,
    tokens: i64,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct ModerateInput {
    prompt: String,
}
#[derive(Serialize, JsonSchema)]
pub struct ModerateOutput {
    allowed: bool,
    reason: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct StoreInput {
    key: String,
    data: Json,
}
#[derive(Serialize, JsonSchema)]
pub struct UrlOutput {
    url: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct LoadInput {
    url: String,
}
#[derive(Serialize, JsonSchema)]
pub struct LoadOutput {
    dataset_id: String,
    rows: i64,
    columns: Vec<String>,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct AnalyzeInput {
    dataset_id: String,
    analysis: String,
}
#[derive(Serialize, JsonSchema)]
pub struct AnalyzeOutput {
    analysis: String,
    result: Json,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct SummarizeInput {
    dataset_id: String,
    results: Vec<Json>,
}
#[derive(Serialize, JsonSchema)]
pub struct SummarizeOutput {
    summary: String,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct AssessInput {
    user_id: String,
    goal: String,
}
#[derive(Serialize, JsonSchema)]
pub struct AssessOutput {
    level: String,
    gaps: Vec<String>,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct PathInput {
    user_id: String,
    level: String,
    gaps: Vec<Json>,
}
#[derive(Serialize, JsonSchema)]
pub struct PathOutput {
    modules: Vec<String>,
    weeks: i64,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct StaleInput {
    older_than_days: i64,
}
#[derive(Serialize, JsonSchema)]
pub struct StaleOutput {
    items: Vec<String>,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct DeleteInput {
    item: String,
}
#[derive(Serialize, JsonSchema)]
pub struct DeleteOutput {
    deleted: bool,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct MetricsInput {
    period: String,
}
#[derive(Serialize, JsonSchema)]
pub struct MetricsOutput {
    metrics: Json,
}
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct RenderInput {
    metrics: Json,
    format: String,
}

/// Adds every Project-AI activity to `registry`.
pub fn register(registry: Registry) -> Registry {
    let registry = order_fulfilment(registry);
    let registry = ai(registry);
    let registry = data(registry);
    operations(registry)
}

/// The order-fulfilment saga: payments, inventory, email, shipping, billing, fraud.
fn order_fulfilment(registry: Registry) -> Registry {
    registry
        .activity(
            "payments.charge",
            |_ctx: ActivityContext, i: ChargeInput| async move {
                if i.card == "declined" {
                    return Err(ActivityError::new(
                        "CardDeclined",
                        format!("card declined for order {}", i.order_id),
                    )
                    .non_retryable()
                    .details(json!({"order_id": i.order_id})));
                }
                Ok(ChargeOutput {
                    charge_id: id("ch", &i),
                    amount: i.amount,
                })
            },
        )
        .errors(["CardDeclined"])
        .description("Charges the order's card.")
        .activity(
            "payments.refund",
            |_ctx: ActivityContext, i: RefundInput| async move {
                Result::Ok(RefundOutput {
                    refund_id: id("re", &i.charge_id),
                })
            },
        )
        .description("Refunds a charge (the charge's compensation).")
        .activity(
            "inventory.reserve",
            |_ctx: ActivityContext, i: ReserveInput| async move {
                if i.items.iter().any(|item| item["sku"] == "out-of-stock") {
                    return Err(ActivityError::new(
                        "OutOfStock",
                        format!("an item of order {} is out of stock", i.order_id),
                    )
                    .non_retryable());
                }
                Ok(ReserveOutput {
                    reservation_id: id("rs", &i),
                })
            },
        )
        .errors(["OutOfStock"])
        .description("Reserves the order's items.")
        .activity(
            "inventory.release",
            |_ctx: ActivityContext, _i: ReleaseInput| async move { Result::Ok(Released {}) },
        )
        .description("Releases a reservation (the reservation's compensation).")
        .activity(
            "email.send",
            |_ctx: ActivityContext, i: EmailInput| async move {
                Result::Ok(MessageOutput {
                    message_id: id("em", &i),
                })
            },
        )
        .description("Sends a templated email.")
        .activity(
            "shipping.ship",
            |_ctx: ActivityContext, i: ShipInput| async move {
                if i.sku == "no-carrier" {
                    return Err(ActivityError::new(
                        "CarrierUnavailable",
                        "no carrier accepts the parcel right now",
                    ));
                }
                Ok(ShipOutput {
                    tracking: id("tr", &i),
                })
            },
        )
        .errors(["CarrierUnavailable"])
        .description("Ships one line of an order.")
        .activity(
            "billing.invoice",
            |_ctx: ActivityContext, i: InvoiceInput| async move {
                if i.order_id.starts_with("no-invoice") {
                    return Err(ActivityError::new(
                        "InvoiceUnavailable",
                        "the billing system is in maintenance",
                    ));
                }
                Ok(InvoiceOutput {
                    invoice_id: id("in", &i),
                })
            },
        )
        .errors(["InvoiceUnavailable"])
        .description("Issues the order's invoice.")
        .activity(
            "fraud.score",
            |_ctx: ActivityContext, i: FraudInput| async move {
                Result::Ok(FraudOutput {
                    score: (i.amount / 10_000.0).clamp(0.0, 1.0),
                })
            },
        )
        .description("Scores an order's fraud risk from 0 to 1.")
}

/// Image generation and inference.
fn ai(registry: Registry) -> Registry {
    registry
        .activity(
            "ai.moderate_prompt",
            |_ctx: ActivityContext, i: ModerateInput| async move {
                let allowed = !i.prompt.contains("forbidden");
                let reason = if allowed {
                    "ok"
                } else {
                    "the prompt asks for forbidden content"
                };
                Result::Ok(ModerateOutput {
                    allowed,
                    reason: reason.into(),
                })
            },
        )
        .errors(["ModerationUnavailable"])
        .description("Checks a prompt against the content policy.")
        .activity(
            "ai.generate_image",
            |ctx: ActivityContext, i: ImageInput| async move {
                if i.style == "unavailable" {
                    return Err(ActivityError::new("GpuUnavailable", "no GPU is free"));
                }
                ctx.heartbeat(json!({"step": "rendering"}));
                let image_id = id("img", &i);
                let url = format!("https://images.example/{image_id}.png");
                Ok(ImageOutput { image_id, url })
            },
        )
        .errors(["GpuUnavailable"])
        .description("Generates an image from a prompt.")
        .activity(
            "ai.infer",
            |_ctx: ActivityContext, i: InferInput| async move {
                if i.model == "missing" {
                    return Err(ActivityError::new(
                        "ModelNotFound",
                        format!("no model named {}", i.model),
                    )
                    .non_retryable());
                }
                if i.prompt.contains("rate-limit") {
                    return Err(ActivityError::new("RateLimited", "too many requests")
                        .retry_after(std::time::Duration::from_secs(1)));
                }
                let words: Vec<&str> = i.prompt.split_whitespace().collect();
                let limit = i.max_tokens.unwrap_or(64).max(0) as usize;
                let text = format!(
                    "[{}] {}",
                    i.model,
                    words
                        .iter()
                        .take(limit)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                Ok(InferOutput {
                    tokens: words.len().min(limit) as i64,
                    text,
                })
            },
        )
        .errors(["ModelNotFound", "RateLimited"])
        .description("Runs a prompt through a model.")
        .activity(
            "storage.put",
            |_ctx: ActivityContext, i: StoreInput| async move {
                Result::Ok(UrlOutput {
                    url: format!("https://storage.example/{}", i.key),
                })
            },
        )
        .description("Stores a value under a key.")
}

/// The data-analysis pipeline and the learning path.
fn data(registry: Registry) -> Registry {
    registry
        .activity(
            "data.load",
            |_ctx: ActivityContext, i: LoadInput| async move {
                if i.url.contains("missing") {
                    return Err(ActivityError::new(
                        "DatasetNotFound",
                        format!("nothing at {}", i.url),
                    )
                    .non_retryable());
                }
                Ok(LoadOutput {
                    dataset_id: id("ds", &i.url),
                    rows: 1000,
                    columns: vec!["date".into(), "region".into(), "revenue".into()],
                })
            },
        )
        .errors(["DatasetNotFound"])
        .description("Loads a dataset from a URL.")
        .activity(
            "data.analyze",
            |_ctx: ActivityContext, i: AnalyzeInput| async move {
                let result = json!({"dataset": i.dataset_id, "metric": i.analysis.len() * 7});
                Result::Ok(AnalyzeOutput {
                    analysis: i.analysis,
                    result,
                })
            },
        )
        .description("Runs one analysis over a dataset.")
        .activity(
            "data.summarize",
            |_ctx: ActivityContext, i: SummarizeInput| async move {
                Result::Ok(SummarizeOutput {
                    summary: format!("{} analyses of {}", i.results.len(), i.dataset_id),
                })
            },
        )
        .description("Summarises analysis results.")
        .activity(
            "learning.assess_skills",
            |_ctx: ActivityContext, i: AssessInput| async move {
                let level = if i.goal.len() > 20 {
                    "intermediate"
                } else {
                    "beginner"
                };
                Result::Ok(AssessOutput {
                    level: level.into(),
                    gaps: vec!["fundamentals".into(), format!("{} practice", i.goal)],
                })
            },
        )
        .description("Assesses a learner's level and gaps for a goal.")
        .activity(
            "learning.build_path",
            |_ctx: ActivityContext, i: PathInput| async move {
                let modules: Vec<String> = i
                    .gaps
                    .iter()
                    .enumerate()
                    .map(|(n, g)| format!("{}-{n}: {}", i.level, g.as_str().unwrap_or("topic")))
                    .collect();
                Result::Ok(PathOutput {
                    weeks: 2 * modules.len() as i64,
                    modules,
                })
            },
        )
        .description("Builds a learning path from the assessment.")
}

/// Nightly cleanup, scheduled reports, notifications.
fn operations(registry: Registry) -> Registry {
    registry
        .activity(
            "cleanup.find_stale",
            |_ctx: ActivityContext, i: StaleInput| async move {
                let count = (i.older_than_days / 10).clamp(0, 5);
                Result::Ok(StaleOutput {
                    items: (0..count).map(|n| format!("tmp-{n}")).collect(),
                })
            },
        )
        .description("Lists items older than a number of days.")
        .activity(
            "cleanup.delete",
            |_ctx: ActivityContext, _i: DeleteInput| async move {
                Result::Ok(DeleteOutput { deleted: true })
            },
        )
        .description("Deletes one item.")
        .activity(
            "reports.collect_metrics",
            |_ctx: ActivityContext, i: MetricsInput| async move {
                Result::Ok(MetricsOutput {
                    metrics: json!({"period": i.period, "orders": 128, "revenue": 9_450.5}),
                })
            },
        )
        .description("Collects the metrics of a period.")
        .activity(
            "reports.render",
            |_ctx: ActivityContext, i: RenderInput| async move {
                Result::Ok(UrlOutput {
                    url: format!(
                        "https://reports.example/{}.{}",
                        id("rp", &i.metrics),
                        i.format
                    ),
                })
            },
        )
        .description("Renders a report and returns its URL.")
        .activity(
            "notify.send",
            |_ctx: ActivityContext, i: NotifyInput| async move {
                Result::Ok(MessageOutput {
                    message_id: id("nt", &(i.to, i.subject, i.body)),
                })
            },
        )
        .description("Sends a notification.")
}
