//! `tariffsim lines import` on a fixture in the exact layout of a UN Comtrade CSV export.

use super::common::{path, run_bin};

/// stderr with the renderer's line wrapping undone (its `│` margins and line breaks).
fn unwrapped(stderr: &[u8]) -> String {
    String::from_utf8_lossy(stderr)
        .lines()
        .map(|l| l.trim_start().trim_start_matches(['│', '×']).trim())
        .collect::<Vec<_>>()
        .join(" ")
}

const FIXTURE: &str = include_str!("../fixtures/lines/comtrade_kor_usa_2024_sample.csv");

#[test]
fn import_writes_a_line_file_that_a_model_can_use() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("comtrade.csv");
    std::fs::write(&input, FIXTURE).unwrap();
    let concordance = dir.path().join("concordance.csv");
    std::fs::write(
        &concordance,
        "prefix,sector\n8703,autos\n8708,parts\n*,other\n",
    )
    .unwrap();
    let out = dir.path().join("lines.csv");
    let o = run_bin(&[
        "lines",
        "import",
        path(&input),
        "--reporter",
        "KOR",
        "--partner",
        "USA",
        "--year",
        "2024",
        "--concordance",
        path(&concordance),
        "--out",
        path(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(header, "code,exports,sector,description");
    // Only HS6 rows of KOR → USA, 2024, exports, totals over breakdowns, value > 0.
    let rows: Vec<&str> = text.lines().skip(1).collect();
    assert!(
        rows.iter().all(|r| r.split(',').next().unwrap().len() == 6),
        "{text}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("870323,") && r.contains(",autos,")),
        "{text}"
    );
    assert!(
        rows.iter()
            .any(|r| r.starts_with("870829,") && r.contains(",parts,")),
        "{text}"
    );
    assert!(
        !text.contains("854232,0.91"),
        "the row for China must be dropped: {text}"
    );
    assert!(text.contains("854232,0.26,other,"), "{text}");
    assert!(
        !text.contains("870899,0.12") && text.contains("870899,0.38,parts"),
        "{text}"
    );
    assert!(
        !text.contains("870323,1.9") && !text.contains("870323,0.015"),
        "{text}"
    );
    assert_eq!(rows.len(), 8, "{text}");
    // The file it wrote is a valid line file.
    let model = format!(
        "{}\n[lines]\nfile = \"lines.csv\"\n[[sectors]]\nid = \"autos\"\nshare = 0.2\nsigma = 4.0\nepsilon = 1.0\n[[sectors]]\nid = \"parts\"\nshare = 0.1\nsigma = 3.0\nepsilon = 1.0\n[[sectors]]\nid = \"other\"\nshare = 0.05\nsigma = 3.0\nepsilon = 1.0\n[interim]\ntariff = {{ default = 0.1 }}\n[[scenarios]]\nid = \"s\"\nprobability = 1.0\n",
        super::HEAD
    );
    std::fs::write(dir.path().join("m.toml"), model).unwrap();
    let o = run_bin(&["validate", path(&dir.path().join("m.toml"))]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn import_refuses_what_is_not_a_comtrade_export_or_not_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("x.csv");
    std::fs::write(&input, "a,b\n1,2\n").unwrap();
    let out = dir.path().join("lines.csv");
    let o = run_bin(&[
        "lines",
        "import",
        path(&input),
        "--reporter",
        "KOR",
        "--partner",
        "USA",
        "--year",
        "2024",
        "--out",
        path(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = unwrapped(&o.stderr);
    assert!(stderr.contains("no `reporterCode` column"), "{stderr}");
    std::fs::write(&input, FIXTURE).unwrap();
    let o = run_bin(&[
        "lines",
        "import",
        path(&input),
        "--reporter",
        "KOR",
        "--partner",
        "USA",
        "--year",
        "2019",
        "--out",
        path(&out),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let stderr = unwrapped(&o.stderr);
    assert!(
        stderr.contains("no row has reporter KOR, partner USA, year 2019"),
        "{stderr}"
    );
    assert!(!out.exists(), "nothing half-written");
}
