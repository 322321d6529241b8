//! Runs every detector's `[[match]]` / `[[no_match]]` examples and reports
//! per detector (`leakwatch signatures test`, `check-signatures`, tests).
//! Examples are scanned with [`Engine::scan_example`]: low-confidence and
//! suppressing matches are seen, so a `[[match]]` may state `low`; a
//! `[[no_match]]` fails on any match of `medium` or more (what is reported
//! by default).

use std::fmt;
use std::sync::Arc;

use super::{Confidence, DetectorId, Engine, Example, Match, MatchSink};

/// Results of one detector's examples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DetectorRow {
    /// Detector id.
    pub detector: String,
    /// Source file.
    pub file: String,
    /// Examples that behaved as stated.
    pub passed: usize,
    /// `(line, reason)` of each example that did not.
    pub failures: Vec<(usize, String)>,
}

/// Results of all detectors, in detector order.
#[derive(Clone, Debug, Default)]
pub struct ExampleReport {
    /// One row per detector.
    pub rows: Vec<DetectorRow>,
}

impl ExampleReport {
    /// Examples that failed, over all detectors.
    pub fn failed(&self) -> usize {
        self.rows.iter().map(|r| r.failures.len()).sum()
    }

    /// Examples run.
    pub fn total(&self) -> usize {
        self.rows.iter().map(|r| r.passed + r.failures.len()).sum()
    }
}

/// Runs every example of every detector of `engine`.
pub fn run_examples(engine: &Arc<Engine>) -> ExampleReport {
    let mut rows: Vec<DetectorRow> = engine
        .detectors()
        .iter()
        .enumerate()
        .map(|(i, d)| DetectorRow {
            detector: d.id.clone(),
            file: engine
                .detector_file(i as DetectorId)
                .unwrap_or("?")
                .to_string(),
            passed: 0,
            failures: Vec::new(),
        })
        .collect();
    for (id, ex) in engine.examples() {
        let Some(row) = rows.get_mut(usize::from(id)) else {
            continue;
        };
        match example_failure(engine, id, ex) {
            None => row.passed += 1,
            Some(why) => row.failures.push((ex.line, why)),
        }
    }
    ExampleReport { rows }
}

/// Why an example does not behave as its file says, if it does not.
pub fn example_failure(engine: &Arc<Engine>, id: DetectorId, ex: &Example) -> Option<String> {
    struct Hits(Vec<(Vec<u8>, Confidence)>, DetectorId);
    impl MatchSink for Hits {
        fn on_match(&mut self, m: &Match<'_>) {
            if m.detector == self.1 {
                self.0.push((m.value.to_vec(), m.confidence));
            }
        }
    }
    let mut hits = Hits(Vec::new(), id);
    engine.scan_example(ex.text.as_bytes(), &mut hits);
    if !ex.expect_match {
        // `low` matches are not reported by default, so they do not break
        // a `[[no_match]]` (`weak` forms say so with a `low` `[[match]]`).
        return hits
            .0
            .iter()
            .find(|(_, c)| *c >= Confidence::Medium)
            .map(|(_, c)| format!("[[no_match]] example matched (confidence {})", c.as_str()));
    }
    if hits.0.is_empty() {
        return Some("[[match]] example did not match".to_string());
    }
    let ok = hits.0.iter().any(|(v, c)| {
        ex.value
            .as_ref()
            .is_none_or(|want| want.as_bytes() == v.as_slice())
            && ex.confidence.is_none_or(|want| want == *c)
    });
    (!ok).then(|| {
        let got: Vec<&str> = hits.0.iter().map(|(_, c)| c.as_str()).collect();
        format!(
            "[[match]] example matched, but not with the expected value and confidence \
             (got confidence {})",
            got.join(", ")
        )
    })
}

impl fmt::Display for ExampleReport {
    /// A table: detector, file, passed, failed; then one line per failure.
    /// Never prints example text or values (they may be real PI someone
    /// pasted in).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w_det = self
            .rows
            .iter()
            .map(|r| r.detector.len())
            .max()
            .unwrap_or(0)
            .max(8);
        let w_file = self
            .rows
            .iter()
            .map(|r| short(&r.file).len())
            .max()
            .unwrap_or(0)
            .max(4);
        writeln!(
            f,
            "{:<w_det$}  {:<w_file$}  {:>6}  {:>6}",
            "detector", "file", "passed", "failed"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<w_det$}  {:<w_file$}  {:>6}  {:>6}",
                r.detector,
                short(&r.file),
                r.passed,
                r.failures.len()
            )?;
        }
        writeln!(
            f,
            "{} detectors, {} of {} examples pass",
            self.rows.len(),
            self.total() - self.failed(),
            self.total()
        )?;
        for r in &self.rows {
            for (line, why) in &r.failures {
                writeln!(f, "{}:{line}: {}: {why}", r.file, r.detector)?;
            }
        }
        Ok(())
    }
}

/// File name without its directory (keeps the table narrow).
fn short(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::EngineOptions;

    const SRC: &str = r#"
id = "kw"
pi_type = "custom:kw"
category = "custom"
kind = "keywords"
confidence = "medium"
[keywords]
words = ["secret"]
[[match]]
text = "a secret b"
value = "secret"
[[match]]
text = "no hit here"
[[no_match]]
text = "secretive"
[[no_match]]
text = "top secret"
"#;

    #[test]
    fn table_counts_and_names_failures() {
        let e = Arc::new(
            Engine::from_sources(&[("x/kw.toml", SRC)], &EngineOptions::default()).unwrap(),
        );
        let r = run_examples(&e);
        assert_eq!(r.total(), 4);
        assert_eq!(r.failed(), 2);
        let text = r.to_string();
        assert!(
            text.contains("kw.toml") && text.contains("2 of 4"),
            "{text}"
        );
        assert!(
            text.contains(": kw: [[match]] example did not match"),
            "{text}"
        );
        assert!(
            text.contains(": kw: [[no_match]] example matched"),
            "{text}"
        );
        assert!(!text.contains("top secret"), "example text leaked: {text}");
    }
}
