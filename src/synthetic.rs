//! Synthetic models of any number of sectors, for benchmarks of how cost grows with size
//! (issue #6). Shaped like the default model: five scenarios, uncertain tariffs and timing,
//! two finite-η sectors in every eleven, correlated elasticities.

/// Most sectors `bench --sectors` accepts: memory grows by ~0.4 MB a sector (one histogram per
/// output and worker, each under 4 MiB whatever the data: see `stats::PagedCounts`; 1.2 MB a
/// sector before issue 16), and an unbounded count aborted on allocation failure (issue 15,
/// item 6).
pub const MAX_SECTORS: u64 = 1000;

/// TOML text of a synthetic model with `sectors` sectors.
pub fn synthetic_model_text(sectors: usize) -> String {
    let mut t = String::from(
        r#"[model]
name = "synthetic"
units = "USD bn"
horizon_months = 12

[baseline]
imports_from_importer = 72.1
gdp = 1868.0

[macro]
value_added_share = { dist = "uniform", low = 0.55, high = 0.70 }
gdp_multiplier = { dist = "pert", low = 0.8, mode = 1.0, high = 1.6 }

[market]
fx_beta = { dist = "normal", mean = 0.8, sd = 0.4 }
fx_noise = { dist = "student_t", df = 4, scale = 2.8 }
equity_beta = { dist = "normal", mean = 4.5, sd = 2.0 }
equity_noise = { dist = "student_t", df = 4, scale = 6.4 }
fx_stress_pct = 10.0
equity_stress_pct = 20.0
fx_weight = 0.5
"#,
    );
    for s in 0..sectors {
        let eta = if s % 11 < 2 {
            "{ dist = \"lognormal\", median = 4.0, sd_log = 0.6 }"
        } else {
            "\"inf\""
        };
        t.push_str(&format!(
            "\n[[sectors]]\nid = \"s{s}\"\nexports = {}\nshare = {}\ncompetitor_base_tariff = 0.02\nsigma = {{ dist = \"lognormal\", median = {}, sd_log = 0.4 }}\nepsilon = {{ dist = \"pert\", low = 0.3, mode = 1.0, high = 2.5 }}\neta = {eta}\n",
            1.0 + (s % 7) as f64,
            0.02 + 0.01 * (s % 9) as f64,
            2.5 + 0.5 * (s % 5) as f64,
        ));
    }
    let sectoral: Vec<String> = (0..sectors)
        .step_by(4)
        .map(|s| format!("s{s} = 0.25"))
        .collect();
    t.push_str(&format!(
        "\n[interim]\ntariff = {{ default = 0.10, {} }}\ncompetitor_tariff = {{ default = {{ dist = \"pert\", low = 0.10, mode = 0.2, high = 0.5 }} }}\n",
        sectoral.join(", ")
    ));
    let scenarios = [
        (
            "package",
            0.35,
            "{ dist = \"pert\", low = 2, mode = 4, high = 9 }",
            "{ dist = \"uniform\", low = 0.10, high = 0.15 }",
            "{ dist = \"pert\", low = 3, mode = 10, high = 25 }",
        ),
        (
            "partial",
            0.25,
            "{ dist = \"pert\", low = 2, mode = 5, high = 10 }",
            "{ dist = \"pert\", low = 0.10, mode = 0.15, high = 0.25 }",
            "{ dist = \"uniform\", low = 0, high = 12 }",
        ),
        (
            "pause",
            0.20,
            "{ dist = \"pert\", low = 2.5, mode = 3, high = 6 }",
            "0.10",
            "0",
        ),
        (
            "no_deal",
            0.12,
            "{ dist = \"truncated_normal\", mean = 3.2, sd = 0.7, low = 2.5, high = 6 }",
            "0.25",
            "0",
        ),
        (
            "escalation",
            0.08,
            "{ dist = \"pert\", low = 2, mode = 3, high = 6 }",
            "{ dist = \"pert\", low = 0.25, mode = 0.25, high = 0.40 }",
            "0",
        ),
    ];
    for (id, p, month, rate, purchases) in scenarios {
        t.push_str(&format!(
            "\n[[scenarios]]\nid = \"{id}\"\nprobability = {p}\neffective_month = {month}\ntariff = {{ default = {rate} }}\ncompetitor_tariff = {{ default = {{ dist = \"uniform\", low = 0.08, high = 0.2 }} }}\npurchases = {purchases}\n"
        ));
    }
    for s in 0..sectors.min(4) {
        t.push_str(&format!(
            "\n[[correlations]]\nbetween = [\"sectors.s{s}.sigma\", \"sectors.s{s}.epsilon\"]\nrho = 0.3\n"
        ));
    }
    t
}

/// Most lines `bench --lines` accepts (a sketch of 4 KiB a line with `--line-outputs`).
pub const MAX_LINES: u64 = 100_000;

/// A synthetic model of `sectors` sectors backed by `lines` tariff lines (MODEL.md §14), for
/// `bench --lines` and `benches/lines.rs`: the model text (its `[lines] file` is
/// `lines.csv`, to be written next to it) and the line file. Lines get varied shares and
/// base tariffs, and a few `hs:` keys set rates of their own.
pub fn synthetic_lines_model(lines: usize, sectors: usize) -> (String, String) {
    let sectors = sectors.clamp(1, lines.max(1));
    let mut text = synthetic_model_text(sectors).replacen(
        "\n[interim]\ntariff = { default = 0.10, ",
        "\n[interim]\ntariff = { default = 0.10, \"hs:011\" = 0.25, \"hs:0220\" = 0.05, \"hs:05\" = 0.15, ",
        1,
    );
    text.push_str("\n[lines]\nfile = \"lines.csv\"\n");
    // Sector s has exports 1 + (s mod 7) (synthetic_model_text); its m lines split them.
    let mut csv = String::from("code,exports,share,base_tariff,sector\n");
    for s in 0..sectors {
        let m = lines / sectors + usize::from(s < lines % sectors);
        let exports = 1.0 + (s % 7) as f64;
        for i in 0..m {
            let share = 0.01 + 0.29 * ((i * 7919) % 97) as f64 / 96.0;
            let base = if i % 5 == 0 { "0.025" } else { "" };
            csv.push_str(&format!(
                "{:02}{:06},{:?},{share:.4},{base},s{s}\n",
                s % 100,
                i,
                exports / m as f64
            ));
        }
    }
    (text, csv)
}

/// `bench --lines N --line-paths`: the synthetic line model's sectors (from
/// [`synthetic_lines_model`]) with a gradual adjustment and named competitors as the default
/// model has them (MODEL.md §10, §12, §14): a half-life of pert(4, 8, 14) months per sector
/// (the default model's cars), three named competitors with 45 % of each sector's imports
/// between them, at η = ∞ (the composite solve) except in the two finite-η sectors of every
/// eleven, whose competitors get a lognormal η (the multi-source Newton solve), and their own
/// uncertain interim tariffs. The line file is unchanged; `bench --monthly` adds the monthly
/// outputs.
pub fn with_line_paths(text: &str, sectors: usize) -> String {
    let mut t = text.to_string();
    for s in 0..sectors {
        let competitor_eta = if s % 11 < 2 {
            "competitor_eta = { dist = \"lognormal\", median = 4.0, sd_log = 0.6 }\n"
        } else {
            ""
        };
        t = t.replacen(
            &format!("\n[[sectors]]\nid = \"s{s}\"\n"),
            &format!(
                "\n[[sectors]]\nid = \"s{s}\"\nhalf_life_months = {{ dist = \"pert\", low = 4.0, mode = 8.0, high = 14.0 }}\ncompetitor_shares = {{ c1 = 0.2, c2 = 0.15, c3 = 0.1 }}\n{competitor_eta}"
            ),
            1,
        );
    }
    for (id, low, high) in [("c1", 0.1, 0.25), ("c2", 0.0, 0.1), ("c3", 0.1, 0.5)] {
        t.push_str(&format!(
            "\n[[competitors]]\nid = \"{id}\"\n\n[interim.competitors.{id}]\ntariff = {{ default = {{ dist = \"uniform\", low = {low}, high = {high} }} }}\n"
        ));
    }
    t
}
