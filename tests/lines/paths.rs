//! Lines with a gradual adjustment (MODEL.md §12) and named competitors (§10): a line inherits
//! its sector's half-life, competitors, redirection and growth (the same draw) and keeps the
//! sector's mix of competitors, θ_j,line = θ_j,sector·(1 − θ_line)/(1 − θ_sector) (§14).

use tariffsim::kernel::{Kernel, KernelScratch, ValueColumns};
use tariffsim::model::Model;
use tariffsim::outputs::{month_index, output_names, MONTH_EXPORT_LOSS};

use super::common::{path, run_bin};
use super::{compile, evaluate, write};

/// Six lines in four sectors: base tariffs of their own, shares of their own or the sector's.
const LINES: &str = "code,exports,share,base_tariff,competitor_base_tariff
870323,10.0,0.15,,
870324,5.0,,0.025,
870829,2.0,0.28,,0.02
870899,3.0,,,
854231,4.0,0.6,,
854232,1.0,,,
720851,3.0,0.44,,
720852,2.0,,,
";

/// Competitors, their tariffs (with `hs:` keys) and two scenarios, shared by both models.
const COMPETITORS: &str = r#"
[[competitors]]
id = "japan"
base_tariff = { default = 0.0, SECTOR_AUTOS = 0.025 }

[[competitors]]
id = "mexico"
"#;

/// The line model: autos adjusts with an uncertain half-life and folds its competitors (all
/// η = ∞), parts adjusts with h = 2 and solves them (a finite competitor η), chips has
/// θ_sector = 1, steel adjusts at once with competitors at a finite η.
const BY_LINES: &str = r#"
[lines]
file = "lines.csv"

[[sectors]]
id = "autos"
share = 0.2
competitor_shares = { japan = 0.3, mexico = 0.1 }
sigma = { dist = "lognormal", median = 3.0, sd_log = 0.3 }
epsilon = { dist = "uniform", low = 0.5, high = 1.5 }
half_life_months = { dist = "uniform", low = 1.0, high = 4.0 }
redirection = { dist = "uniform", low = 0.0, high = 0.5 }
growth = 0.02
codes = ["8703"]

[[sectors]]
id = "parts"
share = 0.1
competitor_shares = { japan = 0.2 }
competitor_eta = { default = "inf", japan = { dist = "lognormal", median = 3.0, sd_log = 0.5 } }
sigma = 3.0
epsilon = 0.8
eta = { dist = "uniform", low = 1.0, high = 4.0 }
half_life_months = 2.0
codes = ["8708"]

[[sectors]]
id = "chips"
share = 1.0
competitor_shares = { japan = 0.0 }
sigma = 2.5
epsilon = 1.0
half_life_months = 3.0
codes = ["8542"]

[[sectors]]
id = "steel"
share = 0.3
competitor_shares = { japan = 0.2, mexico = 0.25 }
competitor_eta = { dist = "lognormal", median = 2.0, sd_log = 0.3 }
sigma = 2.0
epsilon = 0.7
codes = ["72"]

[interim]
tariff = { default = 0.1, autos = 0.25, "hs:870829" = 0.05 }
competitor_tariff = { default = 0.1 }
[interim.competitors.japan]
tariff = { default = 0.1, autos = 0.15, "hs:870829" = { dist = "uniform", low = 0.0, high = 0.1 } }

[[scenarios]]
id = "deal"
probability = 0.6
effective_month = { dist = "uniform", low = 0.5, high = 6.5 }
tariff = { default = { dist = "uniform", low = 0.1, high = 0.15 }, "hs:8708" = 0.2 }
[scenarios.competitors.mexico]
tariff = { default = { dist = "uniform", low = 0.0, high = 0.25 } }

[[scenarios]]
id = "no_deal"
probability = 0.4
effective_month = 3.0
tariff = { default = 0.25 }
"#;

/// The same lines written out as sectors, each with its scaled θ_j and θ_rest.
const BY_SECTORS: &str = r#"
[[sectors]]
id = "l870323"
exports = 10.0
share = 0.15
competitor_shares = { japan = 0.31875, mexico = 0.10625 }
AUTOS

[[sectors]]
id = "l870324"
exports = 5.0
share = 0.2
base_tariff = 0.025
competitor_shares = { japan = 0.3, mexico = 0.1 }
AUTOS

[[sectors]]
id = "l870829"
exports = 2.0
share = 0.28
competitor_base_tariff = 0.02
competitor_shares = { japan = 0.16 }
PARTS

[[sectors]]
id = "l870899"
exports = 3.0
share = 0.1
competitor_shares = { japan = 0.2 }
PARTS

[[sectors]]
id = "l854231"
exports = 4.0
share = 0.6
competitor_shares = { japan = 0.0 }
CHIPS

[[sectors]]
id = "l854232"
exports = 1.0
share = 1.0
competitor_shares = { japan = 0.0 }
CHIPS

[[sectors]]
id = "l720851"
exports = 3.0
share = 0.44
competitor_shares = { japan = 0.16, mexico = 0.2 }
STEEL

[[sectors]]
id = "l720852"
exports = 2.0
share = 0.3
competitor_shares = { japan = 0.2, mexico = 0.25 }
STEEL

[interim]
tariff = { default = 0.1, l870323 = 0.25, l870324 = 0.25, l870829 = 0.05 }
competitor_tariff = { default = 0.1 }
[interim.competitors.japan]
tariff = { default = 0.1, l870323 = 0.15, l870324 = 0.15, l870829 = { dist = "uniform", low = 0.0, high = 0.1 } }

[[scenarios]]
id = "deal"
probability = 0.6
effective_month = { dist = "uniform", low = 0.5, high = 6.5 }
tariff = { default = { dist = "uniform", low = 0.1, high = 0.15 }, l870829 = 0.2, l870899 = 0.2 }
[scenarios.competitors.mexico]
tariff = { default = { dist = "uniform", low = 0.0, high = 0.25 } }

[[scenarios]]
id = "no_deal"
probability = 0.4
effective_month = 3.0
tariff = { default = 0.25 }
"#;

const AUTOS: &str = r#"sigma = { dist = "lognormal", median = 3.0, sd_log = 0.3 }
epsilon = { dist = "uniform", low = 0.5, high = 1.5 }
half_life_months = { dist = "uniform", low = 1.0, high = 4.0 }
redirection = { dist = "uniform", low = 0.0, high = 0.5 }
growth = 0.02"#;
const PARTS: &str = r#"competitor_eta = { default = "inf", japan = { dist = "lognormal", median = 3.0, sd_log = 0.5 } }
sigma = 3.0
epsilon = 0.8
eta = { dist = "uniform", low = 1.0, high = 4.0 }
half_life_months = 2.0"#;
const CHIPS: &str = "sigma = 2.5\nepsilon = 1.0\nhalf_life_months = 3.0";
const STEEL: &str = r#"competitor_eta = { dist = "lognormal", median = 2.0, sd_log = 0.3 }
sigma = 2.0
epsilon = 0.7"#;

/// The sector of each line of [`LINES`], in file order.
const LINE_SECTORS: [(&str, &str); 8] = [
    ("870323", "autos"),
    ("870324", "autos"),
    ("870829", "parts"),
    ("870899", "parts"),
    ("854231", "chips"),
    ("854232", "chips"),
    ("720851", "steel"),
    ("720852", "steel"),
];

fn line_model(dir: &std::path::Path) -> Model {
    compile(
        dir,
        &format!("{}{BY_LINES}", COMPETITORS.replace("SECTOR_AUTOS", "autos")),
        LINES,
    )
    .with_line_outputs(true)
    .and_then(|m| m.with_monthly(true))
    .unwrap()
}

fn sector_model(dir: &std::path::Path) -> Model {
    let text = BY_SECTORS
        .replace("AUTOS", AUTOS)
        .replace("PARTS", PARTS)
        .replace("CHIPS", CHIPS)
        .replace("STEEL", STEEL);
    let competitors =
        COMPETITORS.replace("SECTOR_AUTOS = 0.025", "l870323 = 0.025, l870324 = 0.025");
    compile(dir, &format!("{competitors}{text}"), "code,exports\n1,1\n")
        .with_monthly(true)
        .unwrap()
}

/// The line model's parameter path for a parameter of the per-line model: a line-sector's
/// parameter is its sector's, and the per-line entries of the tariff tables are the line
/// model's sector entries or `hs:` keys.
fn line_path(path: &str) -> String {
    let tables: [(&str, &[(&str, &str)]); 3] = [
        (
            "interim.tariff.",
            &[
                ("l870323", "autos"),
                ("l870324", "autos"),
                ("l870829", "hs:870829"),
            ],
        ),
        (
            "interim.competitors.japan.tariff.",
            &[
                ("l870323", "autos"),
                ("l870324", "autos"),
                ("l870829", "hs:870829"),
            ],
        ),
        (
            "scenarios.deal.tariff.",
            &[("l870829", "hs:8708"), ("l870899", "hs:8708")],
        ),
    ];
    for (prefix, keys) in tables {
        if let Some(key) = path.strip_prefix(prefix) {
            if let Some((_, to)) = keys.iter().find(|(from, _)| *from == key) {
                return format!("{prefix}{to}");
            }
        }
    }
    let mut out = path.to_string();
    for (code, sector) in LINE_SECTORS {
        out = out.replace(&format!("sectors.l{code}."), &format!("sectors.{sector}."));
    }
    out
}

/// A block of `n` random draws of the line model and the same draws of the per-line model,
/// in the kernel's column layout, with their scenarios.
fn paired_blocks(a: &Model, b: &Model, n: usize, seed: u64) -> (Vec<f64>, Vec<f64>, Vec<u32>) {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut columns_a = vec![f64::NAN; a.value_len() * n];
    let mut columns_b = vec![f64::NAN; b.value_len() * n];
    let map: Vec<usize> = b
        .params
        .iter()
        .map(|p| {
            let to = line_path(&p.path);
            a.param_index(&to)
                .unwrap_or_else(|| panic!("{} -> {to}: no such parameter", p.path))
        })
        .collect();
    // Every parameter of the line model has a counterpart (the draws are the same draws).
    for (j, _) in a.params.iter().enumerate() {
        assert!(map.contains(&j), "{} unused", a.params[j].path);
    }
    let mut scenarios = Vec::with_capacity(n);
    for d in 0..n {
        let row: Vec<f64> = a
            .params
            .iter()
            .map(|p| p.dist.quantile(rng.random_range(0.0..1.0)))
            .chain(a.constants.iter().copied())
            .collect();
        for (j, &x) in row.iter().enumerate() {
            columns_a[j * n + d] = x;
        }
        for (j, &from) in map.iter().enumerate() {
            columns_b[j * n + d] = row[from];
        }
        for (c, &x) in b.constants.iter().enumerate() {
            columns_b[(b.params.len() + c) * n + d] = x;
        }
        scenarios.push(rng.random_range(0..a.scenarios.len() as u32));
    }
    (columns_a, columns_b, scenarios)
}

fn evaluate_columns(model: &Model, columns: &[f64], scenarios: &[u32]) -> Vec<f64> {
    let kernel = Kernel::new(model);
    let n = scenarios.len();
    let mut out = vec![f64::NAN; kernel.n_outputs() * n];
    let values = ValueColumns {
        data: columns,
        stride: n,
    };
    kernel.evaluate_block(&values, scenarios, &mut out, &mut KernelScratch::default());
    out
}

/// |a − b| within 1e-12 of the larger (floored at 1e-3 model units or percentage points:
/// outputs near 0 are differences of sums of order 10, whose rounding is absolute).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * a.abs().max(b.abs()).max(1e-3)
}

#[test]
fn lines_with_half_life_and_competitors_equal_each_line_as_its_own_sector() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = line_model(da.path());
    let b = sector_model(db.path());
    // The compiled per-line shares are the ones written out in the per-line model.
    for (l, line) in a.lines.iter().enumerate() {
        let sector = &b.sectors[l];
        assert_eq!(sector.id, format!("l{}", line.code));
        for (k, c) in sector.competitors.iter().enumerate() {
            assert!(
                (line.competitor_shares[k] - c.share).abs() < 1e-15,
                "{l} {k}"
            );
        }
        assert!((line.rest_share - sector.rest_share).abs() < 1e-15, "{l}");
    }
    let n = 600;
    let (ca, cb, scenarios) = paired_blocks(&a, &b, n, 11);
    let oa = evaluate_columns(&a, &ca, &scenarios);
    let ob = evaluate_columns(&b, &cb, &scenarios);
    let (names_a, names_b) = (output_names(&a), output_names(&b));
    let index = |names: &[String], name: &str| names.iter().position(|x| x == name).unwrap();
    let mut compared = 0;
    let mut moved = 0;
    for d in 0..n {
        for (o, name) in names_a.iter().enumerate() {
            let x = oa[o * n + d];
            let y = if let Some(sector) = name.strip_prefix("sectors.") {
                let id = sector.trim_end_matches(".export_loss");
                LINE_SECTORS
                    .iter()
                    .filter(|(_, s)| *s == id)
                    .map(|(code, _)| {
                        ob[index(&names_b, &format!("sectors.l{code}.export_loss")) * n + d]
                    })
                    .sum()
            } else {
                ob[index(&names_b, name) * n + d]
            };
            assert!(
                close(x, y),
                "draw {d} {name}: lines {x}, per-line sectors {y}"
            );
            compared += 1;
        }
        moved += usize::from(oa[index(&names_a, "competitors.mexico.export_loss") * n + d] != 0.0);
    }
    // 60 outputs (12 months of 3) per draw, and the competitors move.
    assert!(
        compared == names_a.len() * n && names_a.len() >= 60 && moved > n / 2,
        "{compared} {moved}"
    );
}

#[test]
fn monthly_outputs_of_a_line_model_sum_over_its_lines() {
    let dir = tempfile::tempdir().unwrap();
    let a = line_model(dir.path());
    let n = 200;
    let db = tempfile::tempdir().unwrap();
    let b = sector_model(db.path());
    let (ca, _, scenarios) = paired_blocks(&a, &b, n, 5);
    let out = evaluate_columns(&a, &ca, &scenarios);
    let x0 = a.total_exports();
    let mut kernel_scratch = KernelScratch::default();
    let kernel = Kernel::new(&a);
    for d in 0..n {
        // Σ_t months.<t>.export_loss = H·mean of the months = export_loss: V_annual is the mean
        // of V_t, line by line and so sector by sector (MODEL.md §12).
        let loss: f64 = (1..=a.months())
            .map(|t| out[month_index(&a, t, MONTH_EXPORT_LOSS).unwrap() * n + d])
            .sum();
        let annual = out[tariffsim::outputs::EXPORT_LOSS * n + d];
        assert!(
            (loss - annual).abs() <= 1e-12 * x0,
            "draw {d}: {loss} vs {annual}"
        );
        // The block equals the draw evaluated alone (a block of one).
        let row: Vec<f64> = (0..a.value_len()).map(|j| ca[j * n + d]).collect();
        let mut single = vec![0.0; kernel.n_outputs()];
        kernel.evaluate_with(
            &row,
            scenarios[d] as usize,
            &mut single,
            &mut kernel_scratch,
        );
        for (o, &x) in single.iter().enumerate() {
            assert_eq!(x.to_bits(), out[o * n + d].to_bits(), "draw {d} output {o}");
        }
    }
}

/// A sector model with half-lives, competitors (both solves) and redirection, and the same
/// model with each sector backed by one line carrying the sector's data.
const ONE_EACH: &str = r#"
[[competitors]]
id = "japan"
base_tariff = { default = 0.0, autos = 0.025 }

[[competitors]]
id = "mexico"

[[sectors]]
id = "autos"
EXPORTS_AUTOS
share = 0.16
base_tariff = 0.025
competitor_shares = { japan = 0.21, mexico = 0.23 }
sigma = { dist = "lognormal", median = 3.7, sd_log = 0.4 }
epsilon = { dist = "uniform", low = 0.5, high = 1.5 }
half_life_months = { dist = "uniform", low = 0.0, high = 4.0 }
redirection = { dist = "uniform", low = 0.0, high = 0.4 }
CODES_AUTOS

[[sectors]]
id = "chips"
EXPORTS_CHIPS
share = 0.06
competitor_shares = { japan = 0.1 }
competitor_eta = { default = "inf", japan = { dist = "lognormal", median = 3.0, sd_log = 0.5 } }
sigma = 2.5
epsilon = 1.0
eta = 3.0
half_life_months = 2.0
CODES_CHIPS

[[sectors]]
id = "steel"
EXPORTS_STEEL
share = 0.1
competitor_shares = { mexico = 0.3 }
sigma = 2.0
epsilon = 0.7
CODES_STEEL

[interim]
tariff = { default = 0.1, autos = 0.25, steel = 0.25 }
[interim.competitors.japan]
tariff = { default = 0.1, autos = 0.25 }

[[scenarios]]
id = "deal"
probability = 0.5
effective_month = { dist = "uniform", low = 0.0, high = 8.0 }
tariff = { default = { dist = "uniform", low = 0.1, high = 0.15 }, chips = 0.0 }
[scenarios.competitors.mexico]
tariff = { default = 0.25 }

[[scenarios]]
id = "no_deal"
probability = 0.5
tariff = { default = 0.25 }
"#;

fn one_each(with_lines: bool) -> String {
    let mut text = ONE_EACH.to_string();
    for (id, x0, code) in [
        ("AUTOS", "34.7", "8703"),
        ("CHIPS", "10.6", "8542"),
        ("STEEL", "3.1", "72"),
    ] {
        let (exports, codes) = if with_lines {
            (String::new(), format!("codes = [\"{code}\"]"))
        } else {
            (format!("exports = {x0}"), String::new())
        };
        text = text
            .replace(&format!("EXPORTS_{id}"), &exports)
            .replace(&format!("CODES_{id}"), &codes);
    }
    if with_lines {
        text = format!("[lines]\nfile = \"lines.csv\"\n{text}");
    }
    text
}

#[test]
fn one_line_per_sector_gives_the_bits_of_the_model_without_lines() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plain = compile(da.path(), &one_each(false), "code,exports\n1,1\n")
        .with_monthly(true)
        .unwrap();
    let lined = compile(
        db.path(),
        &one_each(true),
        "code,exports\n870323,34.7\n854231,10.6\n720851,3.1\n",
    )
    .with_monthly(true)
    .unwrap();
    assert_eq!(plain.dimension, lined.dimension);
    let (a, _) = evaluate(&plain, 2500, 3);
    let (b, _) = evaluate(&lined, 2500, 3);
    let names = output_names(&plain);
    assert_eq!(names, output_names(&lined));
    for (d, (ra, rb)) in a.iter().zip(&b).enumerate() {
        for (o, (x, y)) in ra.iter().zip(rb).enumerate() {
            assert_eq!(
                x.to_bits(),
                y.to_bits(),
                "draw {d} {}: {x} vs {y}",
                names[o]
            );
        }
    }
    // The competitors' losses move (the test exercises them).
    let japan = names
        .iter()
        .position(|n| n == "competitors.japan.export_loss")
        .unwrap();
    assert!(a.iter().any(|r| r[japan] != 0.0));
}

#[test]
fn a_sector_with_share_one_gives_its_lines_no_named_competitor() {
    let dir = tempfile::tempdir().unwrap();
    let a = line_model(dir.path());
    for line in a.lines.iter().filter(|l| l.code.starts_with("8542")) {
        assert_eq!(line.competitor_shares, vec![0.0]);
        assert_eq!(line.competitor_exports, vec![0.0]);
        assert_eq!(line.rest_share, 1.0 - line.share);
    }
    let chips = a.sectors.iter().find(|s| s.id == "chips").unwrap();
    assert_eq!(chips.competitors[0].exports, 0.0);
    // With θ = 1 a line is the whole market and loses by ε alone; the line at θ = 0.6 also
    // loses to `rest` (σ > ε), so it loses more per unit of exports.
    let (rows, losses) = evaluate(&a, 300, 9);
    let names = output_names(&a);
    let chips_out = names
        .iter()
        .position(|n| n == "sectors.chips.export_loss")
        .unwrap();
    for (d, row) in rows.iter().enumerate() {
        let sum = losses[4][d] + losses[5][d];
        assert!((row[chips_out] - sum).abs() <= 1e-12 * 5.0, "draw {d}");
        assert!(
            losses[4][d] / 4.0 > losses[5][d] && losses[5][d] > 0.0,
            "draw {d}: θ = 0.6 loses more per unit than θ = 1"
        );
    }
}

#[test]
fn line_paths_are_bit_identical_across_threads_and_shards() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        &format!("{}{BY_LINES}", COMPETITORS.replace("SECTOR_AUTOS", "autos")),
        LINES,
    );
    let run_to = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name);
        let mut args = vec![
            "run",
            path(&file),
            "--draws",
            "3000",
            "--seed",
            "8",
            "--quiet",
            "--line-outputs",
            "--monthly",
            "--out",
            path(&out),
        ];
        args.extend_from_slice(extra);
        let o = run_bin(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        out
    };
    let one = run_to("one", &["--threads", "1"]);
    let two = run_to("two", &["--threads", "2"]);
    let lines = std::fs::read_to_string(one.join("lines.csv")).unwrap();
    assert_eq!(
        lines,
        std::fs::read_to_string(two.join("lines.csv")).unwrap()
    );
    let whole = super::common::summary(&one);
    assert_eq!(whole["outputs"], super::common::summary(&two)["outputs"]);
    let s1 = run_to("s1", &["--shard", "1/2"]);
    let s2 = run_to("s2", &["--shard", "2/2", "--threads", "1"]);
    let merged = dir.path().join("merged");
    let o = run_bin(&[
        "merge",
        path(&s1),
        path(&s2),
        "--out",
        path(&merged),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(merged.join("lines.csv")).unwrap(),
        lines
    );
    assert_eq!(whole["outputs"], super::common::summary(&merged)["outputs"]);
    let outputs = whole["outputs"].to_string();
    assert!(
        outputs.contains("competitors.japan.export_loss")
            && outputs.contains("months.3.export_loss")
    );
}

#[test]
fn the_shipped_line_example_with_half_lives_and_competitors_is_the_default_model_to_rounding() {
    // Its lines carry no share or base tariff and its rates are by sector, so every line of a
    // sector has the sector's V: the example must give the default model's outputs (the same
    // parameters, so the same draws), up to the rounding of summing its lines.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let example = tariffsim::model::load_model(
        &root.join("models/examples/lines/korea_us_2025_by_line.toml"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let default = tariffsim::model::compile_model(
        tariffsim::model::DEFAULT_MODEL_TEXT,
        tariffsim::model::DEFAULT_MODEL_FILE,
    )
    .unwrap();
    // The example is the default model's text with lines added, so that it keeps the default
    // model's numbers and source comments: drop its header, `[lines]` block, `codes` and name.
    let text =
        std::fs::read_to_string(root.join("models/examples/lines/korea_us_2025_by_line.toml"))
            .unwrap();
    let body = &text[text.find("[model]").unwrap()..];
    let start = body.find("# Tariff lines (docs/lines.md)").unwrap();
    let end = start + body[start..].find("\n# ----").unwrap() + 1;
    let keep = |l: &&str| !l.starts_with("codes = ") && !l.starts_with("name = \"US tariffs");
    let joined = [&body[..start], &body[end..]].concat();
    let stripped: Vec<&str> = joined.lines().filter(keep).collect();
    let default_text = tariffsim::model::DEFAULT_MODEL_TEXT;
    let expected: Vec<&str> = default_text[default_text.find("[model]").unwrap()..]
        .lines()
        .filter(keep)
        .collect();
    assert_eq!(
        stripped, expected,
        "the example drifted from models/korea_us_2025.toml: regenerate it (docs/lines.md)"
    );
    assert_eq!(example.lines.len(), 301);
    assert!(example.monthly);
    let params = |m: &Model| m.params.iter().map(|p| p.path.clone()).collect::<Vec<_>>();
    assert_eq!(params(&example), params(&default));
    let names = output_names(&default);
    assert_eq!(names, output_names(&example));
    let example = example.with_line_outputs(true).unwrap();
    let (a, line_losses) = evaluate(&example, 1500, 2);
    let (b, _) = evaluate(&default, 1500, 2);
    // All lines of a sector are one class (solved once): each line's loss is its share of its
    // sector's loss.
    for (l, line) in example.lines.iter().enumerate() {
        let sector = &example.sectors[line.sector];
        let column = names
            .iter()
            .position(|n| *n == format!("sectors.{}.export_loss", sector.id))
            .unwrap();
        for (d, row) in a.iter().enumerate() {
            let expected = row[column] * line.exports / sector.exports;
            assert!(
                (line_losses[l][d] - expected).abs() <= 1e-12 * sector.exports,
                "line {} draw {d}: {} vs {expected}",
                line.code,
                line_losses[l][d]
            );
        }
    }
    for (d, (ra, rb)) in a.iter().zip(&b).enumerate() {
        for (o, (&x, &y)) in ra.iter().zip(rb).enumerate() {
            // Losses are sums over 301 lines of X0_l·(…) against one X0·(…): 1e-12 of the
            // exports (127.8) or of a percentage.
            assert!(
                (x - y).abs() <= 1e-12 * x.abs().max(y.abs()).max(128.0),
                "draw {d} {}: by line {x}, default {y}",
                names[o]
            );
        }
    }
}

#[test]
fn lines_of_a_sector_without_competitors_leave_rest_the_whole_other_market() {
    // The sector gives no share (its lines do): no θ_sector to scale by, and none needed.
    let dir = tempfile::tempdir().unwrap();
    let model = compile(
        dir.path(),
        r#"
[lines]
file = "lines.csv"

[[sectors]]
id = "autos"
sigma = 4.0
epsilon = 1.0
half_life_months = 2.0
codes = ["8703"]

[interim]
tariff = { default = 0.1 }

[[scenarios]]
id = "s"
probability = 1.0
"#,
        "code,exports,share\n870323,1,0.3\n870324,2,0.1\n",
    );
    for line in &model.lines {
        assert_eq!(line.rest_share, 1.0 - line.share);
        assert!(line.competitor_shares.is_empty() && line.competitor_exports.is_empty());
    }
    let (rows, _) = evaluate(&model, 100, 1);
    assert!(rows.iter().all(|r| r.iter().all(|x| x.is_finite())));
}
