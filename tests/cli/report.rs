//! `report.html` and the chart SVGs (issue #4), through the real binary in a temp dir.

use std::path::{Path, PathBuf};
use std::process::Output;

// The default model has a monthly path (issue 12): its "months" section with two fan charts.
const SECTIONS: [&str; 11] = [
    "headline",
    "export-loss",
    "months",
    "sectors",
    "competitors",
    "scenarios",
    "deal-costs",
    "market-stress",
    "sensitivity",
    "convergence",
    "assumptions",
];

const CHARTS: [&str; 11] = [
    "export_loss_distribution.svg",
    "months_export_change.svg",
    "months_export_loss.svg",
    "sectors.svg",
    "competitors.svg",
    "scenarios_export_loss.svg",
    "scenarios_surplus_change.svg",
    "scenarios.svg",
    "market_stress.svg",
    "tornado.svg",
    "convergence.svg",
];

fn tariffsim(args: &[&str]) -> Output {
    crate::common::run_bin(args)
}

fn ok(out: &Output) {
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `model` (None = the default model) with 20,000 draws and `--report --charts`.
fn run_with_report(dir: &Path, model: Option<&Path>) -> (PathBuf, PathBuf) {
    let out = dir.join("out");
    let charts = dir.join("charts");
    let mut args = vec!["run".to_string()];
    if let Some(m) = model {
        args.push(m.display().to_string());
    }
    for a in ["--draws", "20000", "--quiet", "--report", "--out"] {
        args.push(a.into());
    }
    args.push(out.display().to_string());
    args.push("--charts".into());
    args.push(charts.display().to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&tariffsim(&args));
    (out, charts)
}

/// HTML void elements: they never have an end tag.
const VOID: [&str; 14] = [
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// A strict little checker for the HTML this crate writes: every start tag has its end tag
/// in the right order (inline SVG included), attribute values are quoted, and text holds no
/// raw `<`. Returns the list of element names in document order.
fn check_well_formed(html: &str) -> Vec<String> {
    let rest = html
        .strip_prefix("<!DOCTYPE html>")
        .expect("starts with <!DOCTYPE html>");
    let bytes = rest.as_bytes();
    let mut stack: Vec<String> = Vec::new();
    let mut seen = Vec::new();
    let mut i = 0;
    let mut in_style = false;
    while i < bytes.len() {
        if bytes[i] != b'<' {
            i += 1;
            continue;
        }
        if in_style {
            // CSS is raw text up to </style>.
            assert!(
                rest[i..].starts_with("</style>"),
                "`<` inside <style> at byte {i}"
            );
        }
        let end = rest[i..]
            .find('>')
            .map(|e| i + e)
            .expect("unterminated tag");
        let tag = &rest[i + 1..end];
        assert!(!tag.contains('<'), "`<` inside a tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            let open = stack
                .pop()
                .unwrap_or_else(|| panic!("</{name}> without a start tag"));
            assert_eq!(open, name, "</{name}> closes <{open}>");
            if name == "style" {
                in_style = false;
            }
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                .collect();
            assert!(!name.is_empty(), "bad tag <{tag}>");
            // Attributes: name="value" pairs only (values escaped, so no stray quotes).
            let mut attrs = tag[name.len()..].trim();
            while !attrs.is_empty() {
                let eq = attrs
                    .find('=')
                    .unwrap_or_else(|| panic!("attribute without value in <{tag}>"));
                assert!(
                    attrs[..eq]
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ':'),
                    "bad attribute name in <{tag}>"
                );
                let after = &attrs[eq + 1..];
                assert!(after.starts_with('"'), "unquoted attribute in <{tag}>");
                let close = after[1..]
                    .find('"')
                    .unwrap_or_else(|| panic!("unterminated attribute in <{tag}>"));
                attrs = after[close + 2..].trim_start();
            }
            seen.push(name.clone());
            if name == "style" {
                in_style = true;
            }
            if !self_closing && !VOID.contains(&name.as_str()) {
                stack.push(name);
            }
        }
        i = end + 1;
    }
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    seen
}

#[test]
fn the_checker_rejects_broken_html() {
    for bad in [
        "<!DOCTYPE html><html><body><p>x</body></html>",
        "<!DOCTYPE html><html><b><i>x</b></i></html>",
        "<!DOCTYPE html><html><p class=x>y</p></html>",
        "<!DOCTYPE html><html><p>1 < 2 <</p></html>",
    ] {
        assert!(
            std::panic::catch_unwind(|| check_well_formed(bad)).is_err(),
            "accepted {bad}"
        );
    }
    check_well_formed("<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body><svg><path d=\"M0 0\"/></svg></body></html>");
}

#[test]
fn issue_4_report_is_well_formed_self_contained_and_has_every_chart() {
    let dir = tempfile::tempdir().unwrap();
    let (out, charts) = run_with_report(dir.path(), None);
    let html = read(&out.join("report.html"));
    let elements = check_well_formed(&html);

    // Self-contained: no reference to anything outside the file.
    for banned in [
        "http://",
        "https://",
        "<script",
        "<link",
        "<iframe",
        "<img",
        "@import",
        "url(",
        "src=",
        "@font-face",
    ] {
        assert!(!html.contains(banned), "report.html contains {banned:?}");
    }
    assert!(html.contains("@media print"), "no print stylesheet");
    assert!(
        html.contains("break-before: page"),
        "no page breaks between sections"
    );

    // The eleven sections (the default model names competitors: issue 13), in order, and the
    // inline charts.
    let mut last = 0;
    for id in SECTIONS {
        let at = html
            .find(&format!("<section id=\"{id}\">"))
            .unwrap_or_else(|| panic!("no section {id}"));
        assert!(at > last, "section {id} out of order");
        last = at;
    }
    assert_eq!(
        elements.iter().filter(|e| *e == "section").count(),
        SECTIONS.len()
    );
    assert_eq!(
        elements.iter().filter(|e| *e == "svg").count(),
        CHARTS.len()
    );
    assert!(!html.contains("Not available"), "a section lacks its data");

    // Headline numbers come from summary.json.
    let summary: serde_json::Value =
        serde_json::from_str(&read(&out.join("summary.json"))).unwrap();
    let sha = summary["model"]["sha256"].as_str().unwrap();
    assert!(html.contains(sha), "no model sha256");
    for key in [
        "export_loss_pct",
        "gdp_impact_pct",
        "stress_event",
        "sectors.autos.export_loss",
    ] {
        assert!(
            html.contains(&format!("<code>{key}</code>")),
            "no row for {key}"
        );
    }
    let p = summary["outputs"]["stress_event"]["mean"].as_f64().unwrap();
    assert!(
        html.contains(&format!("{:.2} %", 100.0 * p)),
        "no stress probability"
    );

    // Each chart also as its own SVG document, the same drawing as inline.
    for name in CHARTS {
        let svg = read(&charts.join(name));
        assert!(svg.starts_with("<svg "), "{name}");
        assert!(
            svg.contains("xmlns=\"http://www.w3.org/2000/svg\""),
            "{name} lacks its namespace"
        );
        assert!(svg.trim_end().ends_with("</svg>"), "{name}");
        let body = &svg[svg.find('>').unwrap()..];
        assert!(
            html.contains(body),
            "{name} is not the chart in report.html"
        );
    }
    // Labels the reader needs: units on the axes and the marked statistics.
    let dist = read(&charts.join("export_loss_distribution.svg"));
    for label in [
        "export loss (USD bn)",
        "VaR95",
        "VaR99",
        "ES95",
        "ES99",
        "median",
        "mean",
    ] {
        assert!(dist.contains(label), "distribution chart lacks {label:?}");
    }
    assert!(read(&charts.join("market_stress.svg")).contains("stress threshold"));
}

#[test]
fn issue_4_report_subcommand_rebuilds_the_same_page() {
    let dir = tempfile::tempdir().unwrap();
    let (out, _) = run_with_report(dir.path(), None);
    let first = read(&out.join("report.html"));
    std::fs::remove_file(out.join("report.html")).unwrap();
    let again = tariffsim(&["report", out.to_str().unwrap()]);
    ok(&again);
    assert!(String::from_utf8_lossy(&again.stdout).contains("report.html"));
    assert_eq!(read(&out.join("report.html")), first);
}

#[test]
fn issue_4_hostile_model_text_is_escaped_in_html_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let default = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("models/korea_us_2025.toml"));
    let name_line = default
        .lines()
        .find(|l| l.starts_with("name = "))
        .expect("the default model has a name line");
    let hostile = default
        .replacen(name_line, "name = \"<script>alert(1)</script>\"", 1)
        .replacen(
            "id = \"package_deal\"",
            "id = \"package_deal\"\nname = \"<img src=x onerror=alert(2)> & \\\"quotes\\\"\"",
            1,
        );
    assert_ne!(hostile, default);
    let model = dir.path().join("hostile.toml");
    std::fs::write(&model, hostile).unwrap();
    let (out, charts) = run_with_report(dir.path(), Some(&model));
    let html = read(&out.join("report.html"));
    check_well_formed(&html);
    assert!(!html.contains("<script"), "model name not escaped");
    assert!(!html.contains("<img"), "scenario name not escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert(2)&gt; &amp; &quot;quotes&quot;"));
    // The model's name is in every chart's title, escaped once (not `&amp;lt;`).
    for name in CHARTS {
        let svg = read(&charts.join(name));
        assert!(!svg.contains("<script"), "{name}: raw model name");
        assert!(
            svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{name}: no escaped title"
        );
        assert!(!svg.contains("&amp;lt;"), "{name}: escaped twice");
    }
}

#[test]
fn issue_4_missing_or_malformed_summary_is_bad_input_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let path = d.join("summary.json");
    let expect_failure = |what: &str| {
        let out = tariffsim(&["report", d.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(
            stderr.contains(&path.display().to_string()),
            "{what}: {stderr}"
        );
        assert!(!d.join("report.html").exists(), "{what}: wrote a report");
        stderr.to_string()
    };
    assert!(expect_failure("missing").contains("cannot be read"));
    std::fs::write(&path, "{\"model\": ").unwrap();
    assert!(expect_failure("truncated").contains("not valid JSON"));
    std::fs::write(
        &path,
        "{\"model\": {\"name\": \"m\"}, \"run\": {}, \"distributions\": {\"levels\": [0.5]}}",
    )
    .unwrap();
    // Read into the typed Summary: the message names the first field missing (`model.file`).
    let missing = expect_failure("no outputs");
    assert!(missing.contains("missing field `file`"), "{missing}");
}
