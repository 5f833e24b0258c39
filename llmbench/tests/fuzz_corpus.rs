//! Replays every committed fuzz input (fuzz/corpus/<target>/ and
//! fuzz/regressions/<target>/, fuzz/README.md) through the entry points the
//! fuzz targets call, on the stable toolchain, so a fixed crash stays
//! fixed. Each input must be handled without a panic: a malformed one is a
//! classified error. Takes seconds (the corpora are minimised).

use std::path::Path;

#[test]
fn every_corpus_and_regression_input_replays_without_a_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    let mut failures = Vec::new();
    for (target, entry) in llmbench::__fuzz::TARGETS {
        for kind in ["corpus", "regressions"] {
            let Ok(dir) = std::fs::read_dir(fuzz.join(kind).join(target)) else { continue };
            let mut files: Vec<_> = dir.filter_map(Result::ok).map(|e| e.path()).collect();
            files.sort();
            for file in files {
                let data = std::fs::read(&file).expect("a readable input");
                if std::panic::catch_unwind(|| entry(&data)).is_err() {
                    failures.push(file.display().to_string());
                }
                replayed += 1;
            }
        }
    }
    assert!(failures.is_empty(), "inputs that panic: {failures:#?}");
    // The corpora are committed: an empty replay means they went missing.
    assert!(replayed >= llmbench::__fuzz::TARGETS.len(), "only {replayed} inputs under {}", fuzz.display());
}
