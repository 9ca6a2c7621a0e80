//! Damaged partial results (issue 15, item 1): every flipped byte, truncation or appended byte
//! of a shard's or checkpoint's `partial.tariffsim` is refused with a message naming the file;
//! none panics and none merges. And the class behind it: a file whose envelope is intact but
//! whose content does not fit the run it claims (wrong counts, statistics of another model,
//! ranges outside the run) is refused by the decoder's own checks.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::process::Output;

use tariffsim::report::read_partial;
use tariffsim::run::{PartialError, PartialResult};

use crate::common::{path, run_bin as run};

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Decodes `bytes` without letting a panic escape: Ok(Ok) accepted, Ok(Err) refused, Err panicked.
fn decode(bytes: &[u8], name: &str) -> Result<Result<PartialResult, PartialError>, String> {
    catch_unwind(AssertUnwindSafe(|| PartialResult::from_bytes(bytes, name)))
        .map_err(|_| format!("{name}: decoding panicked"))
}

/// A change to a partial result's content.
type Edit = Box<dyn Fn(&mut PartialResult)>;

/// Each edit of `first`, re-sealed with a valid envelope, is refused by the decoder's own
/// checks; `first` itself, re-sealed unchanged, is accepted.
fn assert_resealed_edits_refused(first: &PartialResult, edits: &[(&str, Edit)]) {
    for (what, edit) in edits {
        let mut p = first.clone();
        edit(&mut p);
        let bytes = p.to_bytes().unwrap();
        assert_refused(&bytes, "resealed.tariffsim", what);
    }
    let bytes = first.to_bytes().unwrap();
    assert!(decode(&bytes, "x").unwrap().is_ok());
}

fn assert_refused(bytes: &[u8], name: &str, what: &str) {
    match decode(bytes, name) {
        Ok(Ok(_)) => panic!("{what}: accepted"),
        Ok(Err(e)) => assert!(e.to_string().contains(name), "{what}: {e}"),
        Err(e) => panic!("{what}: {e}"),
    }
}

/// A shard pair and a checkpoint of one small run of the default model.
fn small_partials(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for k in ["1/2", "2/2"] {
        let out = dir.join(k.replace('/', "of"));
        ok(&run(&[
            "run",
            "--draws",
            "3000",
            "--seed",
            "7",
            "--quiet",
            "--shard",
            k,
            "--out",
            path(&out),
        ]));
        files.push(out.join("partial.tariffsim"));
    }
    let ckpt = dir.join("ckpt");
    ok(&run(&[
        "run",
        "--draws",
        "3000",
        "--seed",
        "7",
        "--quiet",
        "--checkpoint",
        path(&ckpt),
        "--out",
        path(&dir.join("full")),
    ]));
    files.push(ckpt.join("partial.tariffsim"));
    files
}

#[test]
fn every_damaged_partial_file_is_refused_without_panic() {
    let dir = tempfile::tempdir().unwrap();
    let files = small_partials(dir.path());
    let mut variants = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let name = file.display().to_string();
        assert!(
            decode(&bytes, &name).unwrap().is_ok(),
            "intact file refused"
        );
        // Every header byte, then ~150 positions spread over the body (a fixed LCG, so the
        // test is reproducible), each flipped in one bit and in all bits.
        let mut positions: Vec<usize> = (0..64.min(bytes.len())).collect();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..150 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            positions.push((x >> 33) as usize % bytes.len());
        }
        for &i in &positions {
            for mask in [0x01u8, 0xff] {
                let mut b = bytes.clone();
                b[i] ^= mask;
                assert_refused(&b, &name, &format!("byte {i} ^ {mask:#x}"));
                variants += 1;
            }
        }
        for extra in [&b"\0"[..], b"x", &[0u8; 100]] {
            let mut b = bytes.clone();
            b.extend_from_slice(extra);
            assert_refused(&b, &name, &format!("{} bytes appended", extra.len()));
            variants += 1;
        }
        for cut in [1, 100, bytes.len() / 2, bytes.len() - 1] {
            assert_refused(
                &bytes[..bytes.len() - cut],
                &name,
                &format!("{cut} bytes cut"),
            );
            variants += 1;
        }
    }
    assert!(variants > 1000, "{variants}");
}

#[test]
fn damaged_files_are_refused_by_merge_and_resume_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = small_partials(dir.path());
    let intact = std::fs::read(&files[1]).unwrap();
    let middle = intact.len() / 2;
    let mut flipped = intact.clone();
    flipped[middle] ^= 0x10;
    let mut longer = intact.clone();
    longer.extend_from_slice(b"\n");
    for (label, bytes) in [("flipped", flipped), ("appended", longer)] {
        std::fs::write(&files[1], &bytes).unwrap();
        let out = dir.path().join(format!("merged-{label}"));
        let merged = run(&[
            "merge",
            path(&files[0]),
            path(&files[1]),
            "--out",
            path(&out),
        ]);
        let stderr = String::from_utf8_lossy(&merged.stderr);
        assert_eq!(merged.status.code(), Some(2), "{label}: {stderr}");
        assert!(stderr.contains(path(&files[1])), "{label}: {stderr}");
        assert!(!out.exists(), "{label}: something was written");
    }
    std::fs::write(&files[1], &intact).unwrap();
    ok(&run(&[
        "merge",
        path(&files[0]),
        path(&files[1]),
        "--out",
        path(&dir.path().join("merged")),
    ]));

    // A damaged checkpoint: --resume refuses it rather than continuing from wrong sums.
    let ckpt = files[2].parent().unwrap();
    let mut damaged = std::fs::read(&files[2]).unwrap();
    let last = damaged.len() - 1;
    damaged[last] ^= 0x01;
    std::fs::write(&files[2], &damaged).unwrap();
    let resumed = run(&[
        "run",
        "--draws",
        "3000",
        "--seed",
        "7",
        "--quiet",
        "--checkpoint",
        path(ckpt),
        "--resume",
        "--out",
        path(&dir.path().join("resumed")),
    ]);
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert_eq!(resumed.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("checksum"), "{stderr}");
}

/// The decoder's own checks, behind the checksum: content re-sealed with a valid envelope but
/// not fitting its run. Each of these merged silently or panicked (in the quantile standard
/// errors) before the checks existed.
#[test]
fn resealed_inconsistent_content_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = small_partials(dir.path());
    let first = read_partial(&files[0]).unwrap();
    let second = read_partial(&files[1]).unwrap();
    // Statistics of a model with one scenario and fewer sectors.
    let other_dir = dir.path().join("other");
    ok(&run(&[
        "run",
        "models/examples/one_sector.toml",
        "--draws",
        "3000",
        "--seed",
        "7",
        "--quiet",
        "--shard",
        "1/2",
        "--out",
        path(&other_dir),
    ]));
    let other = read_partial(&other_dir).unwrap();
    let edits: Vec<(&str, Edit)> = vec![
        (
            "claims every block",
            Box::new(|p| p.completed = vec![(0, 3)]),
        ),
        ("claims no block", Box::new(|p| p.completed.clear())),
        (
            "range past the run",
            Box::new(|p| p.completed = vec![(0, 9)]),
        ),
        ("empty range", Box::new(|p| p.completed = vec![(1, 1)])),
        ("more draws", Box::new(|p| p.draws = 300_000)),
        ("model text edited", Box::new(|p| p.model_text.push(' '))),
        ("elapsed NaN", Box::new(|p| p.elapsed_s = f64::NAN)),
        ("unknown sampler", Box::new(|p| p.sampler = "nope".into())),
        ("another shard's statistics", {
            let s = second.stats.clone();
            Box::new(move |p| p.stats = s.clone())
        }),
        ("another model's statistics", {
            let s = other.stats.clone();
            Box::new(move |p| p.stats = s.clone())
        }),
    ];
    assert_resealed_edits_refused(&first, &edits);
}

/// Partial results of an older format are refused as such (format 5 added the backtest's
/// state), and a backtest's state that does not fit its run is refused by the decoder.
#[test]
fn older_formats_and_inconsistent_backtest_states_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let files = small_partials(dir.path());
    let mut old = std::fs::read(&files[0]).unwrap();
    old[b"TARIFFSIM-PARTIAL-".len()] = b'4';
    std::fs::write(&files[0], &old).unwrap();
    let out = dir.path().join("merged");
    let merged = run(&[
        "merge",
        path(&files[0]),
        path(&files[1]),
        "--out",
        path(&out),
    ]);
    let stderr = String::from_utf8_lossy(&merged.stderr);
    assert_eq!(merged.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("format 4, written by an older version"),
        "{stderr}"
    );
    assert!(!out.exists());

    let obs = dir.path().join("obs.csv");
    std::fs::write(&obs, "period,value,sd\n2025-04,-0.45,1.0\n2025-05,-5.68,\n").unwrap();
    let shard = dir.path().join("bt");
    ok(&run(&[
        "backtest",
        "--observed",
        path(&obs),
        "--draws",
        "3000",
        "--seed",
        "7",
        "--quiet",
        "--shard",
        "1/2",
        "--out",
        path(&shard),
    ]));
    let first = read_partial(&shard).unwrap();
    let state = first
        .backtest
        .clone()
        .expect("a backtest's partial carries its state");
    assert_eq!(state.observations.len(), 2);
    // Blocks 0..1 of 3: 1024 draws of each observed output, in draw order.
    assert!(state.columns.iter().all(|c| c.len() == 1024));
    let edits: Vec<(&str, Edit)> = vec![
        (
            "a draw missing",
            Box::new(|p| {
                p.backtest.as_mut().unwrap().columns[0].pop();
            }),
        ),
        (
            "a column missing",
            Box::new(|p| {
                p.backtest.as_mut().unwrap().columns.pop();
            }),
        ),
        (
            "an observation edited",
            Box::new(|p| p.backtest.as_mut().unwrap().observations[0].value = 3.0),
        ),
        (
            "an observation of an output the model lacks, re-hashed",
            Box::new(|p| {
                let b = p.backtest.as_mut().unwrap();
                b.observations[0].index = 100_000;
                b.observations_sha256 = tariffsim::backtest::observations_sha256(&b.observations);
            }),
        ),
        (
            "the only sd removed, re-hashed (weighted statistics of no update)",
            Box::new(|p| {
                let b = p.backtest.as_mut().unwrap();
                b.observations[0].sd = None;
                b.observations_sha256 = tariffsim::backtest::observations_sha256(&b.observations);
            }),
        ),
    ];
    assert_resealed_edits_refused(&first, &edits);
}

/// The file a run writes (encoded straight into the file, `PartialResult::write_to`) holds the
/// very bytes of `PartialResult::to_bytes` (the in-memory encoding MPI ranks exchange), and
/// `write_to` at an offset leaves what is before it alone.
#[test]
fn a_partial_file_is_written_as_its_in_memory_encoding() {
    let dir = tempfile::tempdir().unwrap();
    for file in small_partials(dir.path()) {
        let on_disk = std::fs::read(&file).unwrap();
        let decoded = read_partial(&file).unwrap();
        assert!(
            decoded.to_bytes().unwrap() == on_disk,
            "{}: to_bytes differs from the file",
            file.display()
        );
        let mut cursor = std::io::Cursor::new(b"prefix".to_vec());
        cursor.set_position(6);
        decoded.write_to(&mut cursor).unwrap();
        let written = cursor.into_inner();
        assert!(written[..6] == *b"prefix" && written[6..] == on_disk[..]);
    }
}
