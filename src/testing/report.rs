//! Test reports: a human summary (failing cases with expected vs actual, the timeline where
//! the run diverged, coverage), JSON, and JUnit XML for CI.

use std::fmt::Write as _;

use serde_json::json;

use super::coverage::FileCoverage;
use super::expect::format_ms;
use super::run::{CaseReport, Report, Runner};

/// Timeline lines shown under a failing case.
const TIMELINE: usize = 12;

/// The human report.
pub fn human(report: &Report, show_coverage: bool) -> String {
    let mut out = String::new();
    if let Runner::Server {
        address,
        time_skipping,
        duration_tolerance_ms,
    } = &report.runner
    {
        let _ = writeln!(
            out,
            "on Temporal at {address} ({}); durations within ± {}",
            if *time_skipping {
                "time-skipping test server"
            } else {
                "real time"
            },
            format_ms(*duration_tolerance_ms)
        );
    }
    for file in &report.files {
        let _ = writeln!(out, "{} ({})", file.path, file.workflow);
        for case in &file.cases {
            human_case(&mut out, case);
        }
    }
    if show_coverage && !report.runner.measures_coverage() {
        let _ = writeln!(
            out,
            "coverage: not measured on a server (the simulator measures it: `stave test --coverage`)"
        );
    } else if show_coverage {
        let _ = writeln!(out, "coverage (steps and branches reached by some case):");
        for c in report.coverage.iter().filter(|c| c.tested) {
            human_coverage(&mut out, c);
        }
        let untested: Vec<&str> = report
            .coverage
            .iter()
            .filter(|c| !c.tested)
            .map(|c| c.source.as_str())
            .collect();
        if !untested.is_empty() {
            let _ = writeln!(out, "  not run by any case: {}", untested.join(", "));
        }
    }
    let total = report.cases().count();
    let failed = report.failed();
    let _ = writeln!(
        out,
        "{} passed, {failed} failed ({total} cases in {} files, {:.1} ms)",
        total - failed,
        report.files.len(),
        report.elapsed_ms
    );
    out
}

fn human_case(out: &mut String, case: &CaseReport) {
    if case.passed {
        let _ = writeln!(
            out,
            "  PASS {} ({} virtual, {:.2} ms)",
            case.name,
            format_ms(case.virtual_ms),
            case.real_us as f64 / 1000.0
        );
        return;
    }
    let _ = writeln!(out, "  FAIL {}  {}", case.name, case.location);
    let _ = writeln!(out, "       the run {}", case.outcome);
    for problem in &case.problems {
        let _ = writeln!(out, "       - {problem}");
    }
    for m in &case.mismatches {
        let what = match &m.mismatch.path {
            Some(path) => format!("{} at `{path}`", m.mismatch.what),
            None => m.mismatch.what.clone(),
        };
        let _ = writeln!(out, "       - {what}  ({})", m.location);
        let _ = writeln!(out, "           expected: {}", indent(&m.mismatch.expected));
        let _ = writeln!(out, "           actual:   {}", indent(&m.mismatch.actual));
    }
    if !case.trace.is_empty() {
        let skip = case.trace.len().saturating_sub(TIMELINE);
        let _ = writeln!(
            out,
            "       timeline{}:",
            if skip > 0 { " (last events)" } else { "" }
        );
        for line in &case.trace[skip..] {
            let _ = writeln!(out, "         {line}");
        }
    }
}

fn indent(text: &str) -> String {
    text.replace('\n', "\n                     ")
}

fn human_coverage(out: &mut String, c: &FileCoverage) {
    let _ = writeln!(
        out,
        "  {:5.1}%  {}/{}  {} ({})",
        c.percent(),
        c.covered,
        c.total,
        c.source,
        c.workflow
    );
    for missed in &c.missed {
        let _ = writeln!(out, "           not reached: {missed}");
    }
}

/// The JSON report: where the cases ran, every case, every mismatch, coverage per file
/// (`null` on a server).
pub fn json(report: &Report) -> String {
    let total = report.cases().count();
    let value = json!({
        "version": 1,
        "summary": {
            "cases": total,
            "passed": total - report.failed(),
            "failed": report.failed(),
            "elapsed_ms": report.elapsed_ms,
        },
        "runner": report.runner,
        "files": report.files,
        "coverage": (report.runner.measures_coverage()).then(|| report.coverage.iter().map(|c| json!({
            "workflow": c.workflow,
            "source": c.source,
            "tested": c.tested,
            "covered": c.covered,
            "total": c.total,
            "percent": (c.percent() * 10.0).round() / 10.0,
            "missed": c.missed,
        })).collect::<Vec<_>>()),
    });
    serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
}

fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one `testsuite` per test file, one `testcase` per case.
pub fn junit(report: &Report) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total = report.cases().count();
    let _ = writeln!(
        out,
        "<testsuites name=\"stave test\" tests=\"{total}\" failures=\"{}\" time=\"{:.3}\">",
        report.failed(),
        report.elapsed_ms / 1000.0
    );
    for file in &report.files {
        let failures = file.cases.iter().filter(|c| !c.passed).count();
        let time: u64 = file.cases.iter().map(|c| c.real_us).sum();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" time=\"{:.6}\">",
            xml(&file.path),
            file.cases.len(),
            time as f64 / 1e6
        );
        for case in &file.cases {
            let _ = write!(
                out,
                "    <testcase name=\"{}\" classname=\"{}\" file=\"{}\" time=\"{:.6}\"",
                xml(&case.name),
                xml(&file.workflow),
                xml(&file.path),
                case.real_us as f64 / 1e6
            );
            if case.passed {
                out.push_str("/>\n");
                continue;
            }
            let first = case
                .mismatches
                .first()
                .map(|m| {
                    format!(
                        "{}: expected {}, got {}",
                        m.mismatch.what, m.mismatch.expected, m.mismatch.actual
                    )
                })
                .or_else(|| case.problems.first().cloned())
                .unwrap_or_else(|| case.outcome.clone());
            let mut body = String::new();
            human_case(&mut body, case);
            let _ = writeln!(
                out,
                ">\n      <failure message=\"{}\" type=\"mismatch\">{}</failure>\n    </testcase>",
                xml(&first),
                xml(&body)
            );
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}
