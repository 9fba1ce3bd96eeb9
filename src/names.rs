//! The forms of names: step ids and variables, Temporal names, kebab-case.

/// `[a-z_][a-z0-9_]*`: step ids, variables, loop and catch names (they appear in expressions).
pub fn is_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z' | '_'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

/// `[A-Za-z_][A-Za-z0-9_.-]*`: workflow, activity, signal, query, queue names.
pub fn is_temporal_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('A'..='Z' | 'a'..='z' | '_'))
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `order-fulfilment`.
pub fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// Names the runtime reserves: expression roots.
pub const ROOTS: &[&str] = &["input", "vars", "steps", "workflow", "signal"];

/// `OrderFulfilment` → `order-fulfilment`.
pub fn to_kebab(s: &str) -> String {
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 && !out.ends_with('-') {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '_' || c == '.' {
            out.push('-');
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_forms() {
        assert!(is_ident("charge_card") && !is_ident("charge-card") && !is_ident("Charge"));
        assert!(is_temporal_name("AccountTransferWorkflow") && is_temporal_name("payments.charge"));
        assert!(!is_temporal_name("9lives") && !is_temporal_name("a b"));
        assert!(is_kebab("order-fulfilment") && !is_kebab("OrderFulfilment") && !is_kebab("a--b"));
        assert_eq!(to_kebab("OrderFulfilment"), "order-fulfilment");
    }
}
