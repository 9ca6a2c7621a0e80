//! Bad line files and bad `[lines]`/`hs:` keys: file, row, column, rule, accepted range; exit
//! 2; never a panic.

use super::common::{path, run_bin};
use super::write;

const MODEL: &str = r#"
[lines]
file = "lines.csv"

[[sectors]]
id = "autos"
share = 0.2
sigma = 4.0
epsilon = 1.0
codes = ["8703"]

[interim]
tariff = { default = 0.1 }

[[scenarios]]
id = "s"
probability = 1.0
"#;

/// Compiles the model with `lines`: returns its errors as the library renders them
/// (`file:line:col: key: message`), after checking that the binary refuses it with exit 2.
fn rejected(model: &str, lines: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), model, lines);
    let out = run_bin(&["validate", path(&file)]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    match tariffsim::model::load_model(&file) {
        Ok(_) => panic!("{lines:?} was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn each_broken_rule_names_file_row_column_and_the_accepted_range() {
    let cases: &[(&str, &[&str])] = &[
        (
            "code,exports\n8703.23,1\n",
            &["lines.csv:2:1: code", "invalid code `8703.23`", "no dots"],
        ),
        (
            "code,exports\n870323,abc\n",
            &["lines.csv:2:8: exports", "`abc` is not a number", "> 0"],
        ),
        (
            "code,exports\n870323,-2\n",
            &["lines.csv:2:8: exports", "got -2", "> 0"],
        ),
        (
            "code,exports,share\n870323,1,1.5\n",
            &["lines.csv:2:10: share", "got 1.5", "(0, 1]"],
        ),
        (
            "code,exports,share\n870323,1,0\n",
            &["share", "got 0", "(0, 1]"],
        ),
        (
            "code,exports\n870323,1\n870324,1\n870323,2\n",
            &[
                "lines.csv:4:1: code",
                "duplicate code `870323` (first on line 2)",
            ],
        ),
        (
            "code,exports\n870323,1\n840999,1\n",
            &[
                "lines.csv:3:1: code",
                "line `840999` belongs to no sector",
                "codes = [\"*\"]",
            ],
        ),
        (
            "code,exports,sector\n870323,1,ships\n",
            &["lines.csv:2:10: sector", "unknown sector `ships`", "autos"],
        ),
        (
            "code,value\n870323,1\n",
            &["unknown column `value`", "accepted: code, exports"],
        ),
        ("code\n870323\n", &["no `exports` column"]),
        ("code,exports\n", &["the file has no lines"]),
        (
            "code,exports,base_tariff\n870323,1,25\n",
            &["base_tariff", "got 25", "> -1 and < 5"],
        ),
    ];
    for (lines, wanted) in cases {
        let stderr = rejected(MODEL, lines);
        for w in *wanted {
            assert!(stderr.contains(w), "{lines:?}: `{w}` not in\n{stderr}");
        }
    }
}

#[test]
fn model_keys_of_lines_are_checked_too() {
    let ok_lines = "code,exports\n870323,1\n";
    let stderr = rejected(
        &MODEL.replace("codes = [\"8703\"]", "codes = [\"8703\"]\nexports = 2.0"),
        ok_lines,
    );
    assert!(
        stderr.contains("sectors.autos.exports") && stderr.contains("lines sum to 1"),
        "{stderr}"
    );
    let stderr = rejected(
        &MODEL.replace(
            "tariff = { default = 0.1 }",
            "tariff = { default = 0.1, \"hs:87.03\" = 0.2 }",
        ),
        ok_lines,
    );
    assert!(stderr.contains("invalid code prefix `87.03`"), "{stderr}");
    let stderr = rejected(
        &MODEL.replace("file = \"lines.csv\"", "file = \"missing.csv\""),
        ok_lines,
    );
    assert!(stderr.contains("missing.csv"), "{stderr}");
    // hs: keys and codes need lines.
    let no_lines = MODEL
        .replace("[lines]\nfile = \"lines.csv\"\n", "")
        .replace(
            "tariff = { default = 0.1 }",
            "tariff = { \"hs:8703\" = 0.2 }",
        );
    let stderr = rejected(&no_lines, ok_lines);
    assert!(stderr.contains("needs tariff lines"), "{stderr}");
    // Named competitors (MODEL.md §10) inside a line-backed sector need the sector's own
    // share (a line's θ_j is the sector's scaled by (1 − θ_line)/(1 − θ_sector)).
    let with_competitors = MODEL
        .replace("[lines]", "[[competitors]]\nid = \"japan\"\n\n[lines]")
        .replace("share = 0.2\n", "")
        .replace(
            "codes = [\"8703\"]",
            "codes = [\"8703\"]\ncompetitor_shares = { japan = 0.2 }",
        );
    let stderr = rejected(&with_competitors, "code,exports,share\n870323,1,0.3\n");
    assert!(
        stderr.contains("sectors.autos.competitor_shares")
            && stderr.contains("need the sector's own `share`")
            && stderr.contains("accepted: a `share` in (0, 1] on the sector"),
        "{stderr}"
    );
    // file:line:col of the competitor_shares value.
    let full = format!("{}{with_competitors}", super::HEAD);
    let line = full[..full.find("competitor_shares = ").unwrap()]
        .matches('\n')
        .count()
        + 1;
    assert!(
        stderr.contains(&format!("model.toml:{line}:")),
        "expected model.toml:{line}: in {stderr}"
    );
    // With the sector's share, the same model is accepted.
    let dir = tempfile::tempdir().unwrap();
    let ok = MODEL
        .replace("[lines]", "[[competitors]]\nid = \"japan\"\n\n[lines]")
        .replace(
            "codes = [\"8703\"]",
            "codes = [\"8703\"]\ncompetitor_shares = { japan = 0.2 }\nhalf_life_months = 2.0",
        );
    let file = write(dir.path(), &ok, "code,exports,share\n870323,1,0.3\n");
    tariffsim::model::load_model(&file).unwrap_or_else(|e| panic!("{e}"));
    // A row with fewer cells than the header.
    let stderr = rejected(
        &MODEL.replace("codes = [\"8703\"]", "codes = [\"9999\"]"),
        "code,exports,sector\n870323,1,autos\n8\n",
    );
    assert!(stderr.contains("cells"), "{stderr}");
}
