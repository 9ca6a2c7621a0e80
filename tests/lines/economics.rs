//! The economics of lines: the same numbers as sectors, prefix precedence, the sector draw.

use tariffsim::outputs::{EFFECTIVE_TARIFF, EXPORT_LOSS, FIRST_SECTOR};

use super::{compile, evaluate};

const LINES: &str = "code,exports,share,base_tariff,sector
870323,10.0,0.15,,
870324,5.0,,0.025,
870829,2.0,0.05,,
870899,3.0,,,
";

/// Two sectors backed by four lines, with `hs:` keys.
const BY_LINES: &str = r#"
[lines]
file = "lines.csv"

[[sectors]]
id = "autos"
share = 0.2
sigma = 4.0
epsilon = 1.0
codes = ["8703"]

[[sectors]]
id = "parts"
share = 0.1
sigma = 3.0
epsilon = 0.8
eta = 2.0
codes = ["8708"]

[interim]
tariff = { default = 0.1, autos = 0.25, "hs:870829" = 0.05 }
competitor_tariff = { default = 0.1 }

[[scenarios]]
id = "deal"
probability = 0.6
effective_month = { dist = "uniform", low = 2, high = 6 }
tariff = { default = { dist = "uniform", low = 0.1, high = 0.15 }, "hs:8708" = 0.2 }

[[scenarios]]
id = "no_deal"
probability = 0.4
tariff = { default = 0.25 }
"#;

/// The same four lines as four sectors.
const BY_SECTORS: &str = r#"
[[sectors]]
id = "l870323"
exports = 10.0
share = 0.15
sigma = 4.0
epsilon = 1.0

[[sectors]]
id = "l870324"
exports = 5.0
share = 0.2
base_tariff = 0.025
sigma = 4.0
epsilon = 1.0

[[sectors]]
id = "l870829"
exports = 2.0
share = 0.05
sigma = 3.0
epsilon = 0.8
eta = 2.0

[[sectors]]
id = "l870899"
exports = 3.0
share = 0.1
sigma = 3.0
epsilon = 0.8
eta = 2.0

[interim]
tariff = { default = 0.1, l870323 = 0.25, l870324 = 0.25, l870829 = 0.05 }
competitor_tariff = { default = 0.1 }

[[scenarios]]
id = "deal"
probability = 0.6
effective_month = { dist = "uniform", low = 2, high = 6 }
tariff = { default = { dist = "uniform", low = 0.1, high = 0.15 }, l870829 = 0.2, l870899 = 0.2 }

[[scenarios]]
id = "no_deal"
probability = 0.4
tariff = { default = 0.25 }
"#;

fn close(a: f64, b: f64, scale: f64) -> bool {
    (a - b).abs() <= 1e-12 * scale.max(1.0)
}

#[test]
fn lines_summed_equal_a_model_where_each_line_is_a_sector() {
    let dir = tempfile::tempdir().unwrap();
    let lines = compile(dir.path(), BY_LINES, LINES)
        .with_line_outputs(true)
        .unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let sectors = compile(dir2.path(), BY_SECTORS, "code,exports\n1,1\n");
    assert_eq!(lines.dimension, sectors.dimension);
    assert_eq!(lines.total_exports(), 20.0);
    let (a, line_losses) = evaluate(&lines, 3000, 7);
    let (b, _) = evaluate(&sectors, 3000, 7);
    let mut differs = 0;
    for (d, (ra, rb)) in a.iter().zip(&b).enumerate() {
        // Sector outputs: autos = lines 1 + 2, parts = lines 3 + 4.
        let autos = rb[FIRST_SECTOR] + rb[FIRST_SECTOR + 1];
        let parts = rb[FIRST_SECTOR + 2] + rb[FIRST_SECTOR + 3];
        assert!(
            close(ra[FIRST_SECTOR], autos, 20.0),
            "draw {d}: {} vs {autos}",
            ra[FIRST_SECTOR]
        );
        assert!(close(ra[FIRST_SECTOR + 1], parts, 20.0), "draw {d}");
        assert!(close(ra[EXPORT_LOSS], rb[EXPORT_LOSS], 20.0), "draw {d}");
        assert!(
            close(ra[EFFECTIVE_TARIFF], rb[EFFECTIVE_TARIFF], 1.0),
            "draw {d}"
        );
        // Each line's own loss is its sector's loss in the per-sector model.
        for l in 0..4 {
            assert!(
                close(line_losses[l][d], rb[FIRST_SECTOR + l], 20.0),
                "draw {d} line {l}"
            );
        }
        differs += usize::from(ra[FIRST_SECTOR] != ra[FIRST_SECTOR + 1]);
    }
    assert!(differs > 0, "the test must exercise distinct sector values");
}

#[test]
fn the_longest_hs_prefix_wins_then_the_sector_then_default_then_the_previous_regime() {
    let dir = tempfile::tempdir().unwrap();
    let model = compile(
        dir.path(),
        r#"
[lines]
file = "lines.csv"

[[sectors]]
id = "parts"
share = 0.1
sigma = 3.0
epsilon = 0.8
codes = ["87"]

[[sectors]]
id = "steel"
share = 0.1
sigma = 3.0
epsilon = 0.8
codes = ["72"]

[interim]
tariff = { default = 0.1, parts = 0.25, "hs:87" = 0.3, "hs:8708" = 0.2, "hs:870829" = 0.15 }

[[scenarios]]
id = "s"
probability = 1.0
tariff = { parts = 0.12, "hs:8708" = 0.05 }
"#,
        "code,exports\n870829,1\n870899,1\n870310,1\n720851,1\n",
    );
    let path = |slot: tariffsim::model::Slot| {
        model
            .params
            .get(slot.index())
            .map_or("(base)".to_string(), |p| p.path.clone())
    };
    let interim: Vec<String> = model.interim.line_tariff.iter().map(|&s| path(s)).collect();
    assert_eq!(
        interim,
        [
            "interim.tariff.hs:870829",
            "interim.tariff.hs:8708",
            "interim.tariff.hs:87",
            "interim.tariff.default",
        ]
    );
    // The scenario: hs:8708 beats the sector id; 870310 takes the sector's entry; the steel
    // line, named nowhere in the scenario, keeps its interim rate.
    let scenario: Vec<String> = model.scenarios[0]
        .regime
        .line_tariff
        .iter()
        .map(|&s| path(s))
        .collect();
    assert_eq!(
        scenario,
        [
            "scenarios.s.tariff.hs:8708",
            "scenarios.s.tariff.hs:8708",
            "scenarios.s.tariff.parts",
            "interim.tariff.default",
        ]
    );
    // Lines assigned by longest `codes` prefix, the sector without lines keeps its exports.
    assert_eq!(model.sectors[0].exports, 3.0);
    assert_eq!(model.sectors[1].exports, 1.0);
}

#[test]
fn lines_inherit_the_sector_draw() {
    // σ, ε and a finite η uncertain: two lines with the sector's share and base tariff give
    // exactly the sector alone, draw by draw, only if they use the sector's one draw.
    let sector = r#"
sigma = { dist = "lognormal", median = 4.0, sd_log = 0.4 }
epsilon = { dist = "uniform", low = 0.5, high = 1.5 }
eta = { dist = "lognormal", median = 3.0, sd_log = 0.5 }
[interim]
tariff = { default = { dist = "uniform", low = 0.1, high = 0.3 } }
competitor_tariff = { default = 0.1 }
[[scenarios]]
id = "s"
probability = 1.0
"#;
    let dir = tempfile::tempdir().unwrap();
    let lines = compile(
        dir.path(),
        &format!("[lines]\nfile = \"lines.csv\"\n[[sectors]]\nid = \"a\"\nshare = 0.2\ncodes = [\"*\"]\n{sector}"),
        "code,exports\n1,10\n2,5\n",
    )
    .with_line_outputs(true)
    .unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let one = compile(
        dir2.path(),
        &format!("[[sectors]]\nid = \"a\"\nexports = 15.0\nshare = 0.2\n{sector}"),
        "code,exports\n1,1\n",
    );
    assert_eq!(lines.dimension, one.dimension);
    let (a, line_losses) = evaluate(&lines, 2048, 3);
    let (b, _) = evaluate(&one, 2048, 3);
    for d in 0..a.len() {
        assert!(
            close(a[d][EXPORT_LOSS], b[d][EXPORT_LOSS], 15.0),
            "draw {d}"
        );
        // Same V for both lines: losses in proportion to exports.
        assert!(
            close(line_losses[0][d], 2.0 * line_losses[1][d], 15.0),
            "draw {d}"
        );
        assert!(close(
            line_losses[0][d] + line_losses[1][d],
            b[d][EXPORT_LOSS],
            15.0
        ));
    }
}

#[test]
fn one_line_per_sector_with_the_sectors_data_gives_the_same_bits() {
    let sectors = |exports: bool| {
        let x = |v: f64| {
            if exports {
                format!("exports = {v}\n")
            } else {
                String::new()
            }
        };
        format!(
            r#"
[[sectors]]
id = "a"
{}share = 0.2
base_tariff = 0.025
sigma = {{ dist = "lognormal", median = 4.0, sd_log = 0.4 }}
epsilon = {{ dist = "uniform", low = 0.5, high = 1.5 }}
eta = {{ dist = "lognormal", median = 3.0, sd_log = 0.5 }}
codes = ["87"]

[[sectors]]
id = "b"
{}share = 0.05
sigma = 3.0
epsilon = {{ dist = "uniform", low = 0.5, high = 1.5 }}
codes = ["72"]

[interim]
tariff = {{ default = {{ dist = "uniform", low = 0.1, high = 0.3 }}, b = 0.25 }}
competitor_tariff = {{ default = 0.1 }}

[[scenarios]]
id = "deal"
probability = 0.5
effective_month = {{ dist = "uniform", low = 2, high = 6 }}
tariff = {{ default = 0.15 }}

[[scenarios]]
id = "none"
probability = 0.5
"#,
            x(12.5),
            x(3.25)
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let with_lines = compile(
        dir.path(),
        &format!("[lines]\nfile = \"lines.csv\"\n{}", sectors(false)),
        "code,exports\n870323,12.5\n720851,3.25\n",
    );
    let dir2 = tempfile::tempdir().unwrap();
    let plain = compile(
        dir2.path(),
        &sectors(true)
            .replace("codes = [\"87\"]\n", "")
            .replace("codes = [\"72\"]\n", ""),
        "code,exports\n1,1\n",
    );
    assert_eq!(with_lines.dimension, plain.dimension);
    let (a, _) = evaluate(&with_lines, 3000, 5);
    let (b, _) = evaluate(&plain, 3000, 5);
    for (d, (ra, rb)) in a.iter().zip(&b).enumerate() {
        for (o, (x, y)) in ra.iter().zip(rb).enumerate() {
            assert_eq!(x.to_bits(), y.to_bits(), "draw {d}, output {o}: {x} vs {y}");
        }
    }
}
