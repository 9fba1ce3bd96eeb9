//! The content hash of IR version 1, kept so runs started by earlier releases still resume.
//!
//! Version 1 removed every JSON key named `span` or `loc` at any depth, data included, so two
//! programs differing only inside such a key shared a hash. It is used for two things only:
//! verifying a version-1 program read from the version store against the pin its runs carry,
//! and [`Workflow::v1_alias`], which lets a current definition serve a version-1 pin when —
//! and only when — that old hash identified it unambiguously.

use serde_json::Value as Json;

use super::Workflow;
use super::hash::sha256_hex;

/// The version-1 hash of `program` (whatever its `ir_version` field says).
pub(super) fn hash_v1(program: &Workflow) -> String {
    sha256_hex(&canonical_v1(program))
}

fn canonical_v1(program: &Workflow) -> Json {
    let mut program = program.clone();
    program.ir_version = 1;
    let mut json = serde_json::to_value(&program).unwrap_or(Json::Null);
    if let Json::Object(map) = &mut json {
        map.remove("hash");
        map.remove("source");
    }
    strip_keys(&mut json);
    json
}

fn strip_keys(json: &mut Json) {
    match json {
        Json::Object(map) => {
            map.remove("span");
            map.remove("loc");
            map.values_mut().for_each(strip_keys);
        }
        Json::Array(items) => items.iter_mut().for_each(strip_keys),
        _ => {}
    }
}

impl Workflow {
    /// The hash an earlier release (IR version 1) gave this program, when that hash named
    /// exactly this program: its data holds no key `span` or `loc`, so removing them by name
    /// removed positions only. None otherwise: such a program cannot be told apart from its
    /// variants by a version-1 pin, and guessing would run an in-flight run on a different
    /// program.
    pub fn v1_alias(&self) -> Option<String> {
        let mut exact = self.canonical_json();
        if let Json::Object(map) = &mut exact {
            map.insert("ir_version".into(), Json::from(1));
        }
        let v1 = canonical_v1(self);
        (v1 == exact).then(|| sha256_hex(&v1))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::Workflow;

    fn program(ir_version: u32, output: serde_json::Value) -> Workflow {
        super::super::test_program(ir_version, "a", output)
    }

    #[test]
    fn a_version_1_program_verifies_with_its_old_hash() {
        let old = program(1, json!({"city": "NYC"}));
        let current = program(super::super::IR_VERSION, json!({"city": "NYC"}));
        assert_eq!(old.compute_hash(), current.v1_alias().unwrap());
        assert_ne!(old.compute_hash(), current.compute_hash());
    }

    #[test]
    fn no_alias_when_the_old_hash_was_ambiguous() {
        let current = program(super::super::IR_VERSION, json!({"loc": "NYC"}));
        assert_eq!(current.v1_alias(), None);
    }
}
