//! Fuzz target: any bytes through both front ends (YAML form, text form) and the checker.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stave::check;
use stave::project::ProjectContext;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let path = if selector % 2 == 0 { "fuzz.stave.yaml" } else { "fuzz.stave" };
    let _ = check::compile_source(path, text, &ProjectContext::default());
});
