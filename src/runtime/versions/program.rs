//! A run's program recorded in the run itself: the IR, deflated, in the memo `stave.program`.
//!
//! On a run's first workflow task the worker writes the patch marker [`PROGRAM_PATCH`] and
//! upserts the memo [`PROGRAM_MEMO_KEY`] with the program it runs (continue-as-new carries it
//! in the next run's start memo). A worker that lacks the run's pinned version reads it back
//! from there (`fetch.rs`) and verifies it against the pin, so no shared volume is needed.
//! The value is a JSON string `deflate+base64:…` so that the Web UI, the Temporal CLI and
//! `stave describe` show memo payloads as they show any other.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use serde_json::Value as Json;
use temporalio_common::protos::temporal::api::common::v1::Payload;

use super::{Pin, VersionError};
use crate::ir::Workflow;
use crate::runtime::payload;

/// Memo key holding a run's program.
pub const PROGRAM_MEMO_KEY: &str = "stave.program";
/// Patch marker saying "this run recorded its program": replays of histories written before
/// programs were recorded emit no upsert, so they stay deterministic.
pub const PROGRAM_PATCH: &str = "stave.program/1";
const PREFIX: &str = "deflate+base64:";
/// Largest program accepted when inflating: a memo is written by workers, but a guard keeps a
/// forged one from inflating without bound.
const MAX_INFLATED: u64 = 32 * 1024 * 1024;

/// The memo payload recording `program`.
pub fn encode_program(program: &Workflow) -> Payload {
    payload::encode(&memo_value(program))
}

/// The memo value recording `program`: a JSON string `deflate+base64:…`.
pub(super) fn memo_value(program: &Workflow) -> Json {
    let json = serde_json::to_vec(program).unwrap_or_default();
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail.
    let deflated = encoder
        .write_all(&json)
        .and_then(|()| encoder.finish())
        .unwrap_or_default();
    Json::String(format!("{PREFIX}{}", STANDARD.encode(deflated)))
}

/// The program in a `stave.program` memo payload, verified to be the one `pin` names.
pub fn decode_program(value: &Payload, pin: &Pin) -> Result<Workflow, VersionError> {
    let bad = |reason: String| VersionError::BadRecord {
        pin: pin.clone(),
        reason,
    };
    let text = match payload::decode(value) {
        Ok(Json::String(text)) => text,
        Ok(_) => return Err(bad("it is not a string".into())),
        Err(e) => return Err(bad(e.to_string())),
    };
    let encoded = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| bad(format!("it does not start with `{PREFIX}`")))?;
    let deflated = STANDARD
        .decode(encoded)
        .map_err(|e| bad(format!("bad base64: {e}")))?;
    let mut json = Vec::new();
    DeflateDecoder::new(deflated.as_slice())
        .take(MAX_INFLATED + 1)
        .read_to_end(&mut json)
        .map_err(|e| bad(format!("bad deflate stream: {e}")))?;
    if json.len() as u64 > MAX_INFLATED {
        return Err(bad(format!("it inflates past {MAX_INFLATED} bytes")));
    }
    let program: Workflow =
        serde_json::from_slice(&json).map_err(|e| bad(format!("not a program: {e}")))?;
    let actual = program.compute_hash();
    if actual != pin.hash {
        return Err(bad(format!("its content hashes to {actual}")));
    }
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::versions::tests::workflow;

    #[test]
    fn a_recorded_program_reads_back_only_under_its_own_pin() {
        let v1 = workflow("greet", "v1");
        let recorded = encode_program(&v1);
        let back = decode_program(&recorded, &Pin::of(&v1)).unwrap();
        assert_eq!(back.hash, v1.hash);
        let v2 = workflow("greet", "v2");
        let err = decode_program(&recorded, &Pin::of(&v2)).unwrap_err();
        assert!(err.to_string().contains("hashes to"), "{err}");
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        let pin = Pin::of(&workflow("greet", "v1"));
        for junk in [
            Json::from(3),
            Json::from("plain text"),
            Json::from(format!("{PREFIX}!!!")),
            Json::from(format!("{PREFIX}{}", STANDARD.encode(b"not deflate"))),
        ] {
            let err = decode_program(&payload::encode(&junk), &pin).unwrap_err();
            assert!(matches!(err, VersionError::BadRecord { .. }), "{err}");
        }
    }

    #[test]
    fn the_sample_programs_record_in_a_few_kilobytes() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let load = crate::check::load_project(root);
        let bundle = load
            .bundle
            .unwrap_or_else(|| panic!("{:?}", load.diagnostics));
        for program in &bundle.workflows {
            let bytes = encode_program(program).data.len();
            eprintln!("{}: {bytes} bytes recorded", program.name);
            assert!(bytes < 8 * 1024, "{}: {bytes} bytes", program.name);
        }
    }
}
