//! Named competitors with their own tariffs and supply (MODEL.md §10) and redirection (§11):
//! the published exact Armington example, a high-precision reference, limits, monotonicity,
//! and a block of draws against draws evaluated alone.

use tariffsim::kernel::{Kernel, KernelScratch, ValueColumns};
use tariffsim::model::{compile_model, Model};
use tariffsim::outputs::{output_names, EXPORT_LOSS, GDP_IMPACT_PCT};

/// One good, one importer, the exporter plus two named sources and `rest`: the TOML of a model
/// whose single scenario keeps the interim tariffs all year.
struct Market {
    sigma: f64,
    epsilon: f64,
    /// η of the exporter, of `domestic`, of `row` and of `rest` ("inf" or a number).
    etas: [&'static str; 4],
    /// θ of the exporter, `domestic` and `row` (rest = 1 − the sum).
    shares: [f64; 3],
    /// Tariff in the regime on the exporter, `domestic`, `row` and `rest`.
    tariffs: [f64; 4],
}

impl Market {
    /// Alencar (2019), "Modelo de Armington Não-Linear" (the model of the R package `emr`):
    /// Brazil's market for one good; domestic producers 60, the US 30, the rest of the world
    /// 10 at baseline values, no initial tariffs; σ = 4, ε = 1; supply elasticities 1
    /// (domestic), 10 (US), 10 (rest); a 10 % tariff on the US. The US is the exporter here,
    /// the rest of the world the named competitor `row`, so `rest` has no share.
    fn published() -> Self {
        Market {
            sigma: 4.0,
            epsilon: 1.0,
            etas: ["10", "1", "10", "inf"],
            shares: [0.3, 0.6, 0.1],
            tariffs: [0.10, 0.0, 0.0, 0.0],
        }
    }

    fn toml(&self) -> String {
        let eta = |s: &str| {
            if s == "inf" {
                "\"inf\"".to_string()
            } else {
                s.to_string()
            }
        };
        let [t_k, t_d, t_r, t_rest] = self.tariffs;
        format!(
            r#"
[model]
name = "one good"
[baseline]
imports_from_importer = 0.0
gdp = 1000.0
[macro]
value_added_share = 0.5
gdp_multiplier = 1.0
[market]
fx_beta = 1.0
equity_beta = 1.0
fx_stress_pct = 10.0
equity_stress_pct = 20.0
[[competitors]]
id = "domestic"
[[competitors]]
id = "row"
[[sectors]]
id = "good"
exports = 30.0
share = {}
sigma = {}
epsilon = {}
eta = {}
competitor_shares = {{ domestic = {}, row = {} }}
competitor_eta = {{ domestic = {}, row = {}, rest = {} }}
[interim]
tariff = {{ good = {t_k} }}
competitor_tariff = {{ good = {t_rest} }}
[interim.competitors.domestic]
tariff = {{ default = {t_d} }}
[interim.competitors.row]
tariff = {{ good = {t_r} }}
[[scenarios]]
id = "only"
probability = 1.0
"#,
            self.shares[0],
            self.sigma,
            self.epsilon,
            eta(self.etas[0]),
            self.shares[1],
            self.shares[2],
            eta(self.etas[1]),
            eta(self.etas[2]),
            eta(self.etas[3]),
        )
    }

    fn model(&self) -> Model {
        compile_model(&self.toml(), "market.toml").expect("the test model compiles")
    }

    /// V of the exporter, `domestic` and `row`, from the outputs of one evaluation.
    fn values(&self) -> [f64; 3] {
        self.values_of(&self.model())
    }

    /// As [`Market::values`] for `model`, a variant of this market's TOML.
    fn values_of(&self, model: &Model) -> [f64; 3] {
        let out = evaluate(model);
        let names = output_names(model);
        let loss = |name: &str| out[names.iter().position(|n| n == name).unwrap()];
        let x0 = 30.0;
        // X0_j = X0·θ_j/θ (no base tariffs).
        let x0_j = |j: usize| x0 * self.shares[j] / self.shares[0];
        [
            1.0 - out[EXPORT_LOSS] / x0,
            1.0 - loss("competitors.domestic.export_loss") / x0_j(1),
            1.0 - loss("competitors.row.export_loss") / x0_j(2),
        ]
    }
}

fn evaluate(model: &Model) -> Vec<f64> {
    let kernel = Kernel::new(model);
    let mut out = vec![0.0; kernel.n_outputs()];
    kernel.evaluate(&model.median_values(), 0, &mut out);
    out
}

/// FOB price change p − 1 of a source from its V = p^(1+η).
fn price(v: f64, eta: f64) -> f64 {
    v.powf(1.0 / (1.0 + eta)) - 1.0
}

#[test]
fn the_published_example_is_reproduced_to_two_decimals() {
    let [v_us, v_dom, v_row] = Market::published().values();
    let pct = |x: f64| (100.0 * x * 100.0).round() / 100.0;
    let p_us = price(v_us, 10.0);
    // Delivered price p·T and quantity p^η of the US.
    assert_eq!(pct((1.0 + p_us) * 1.1 - 1.0), 7.85);
    assert_eq!(pct((1.0 + p_us).powi(10) - 1.0), -17.90);
    // Domestic producers: η = 1, so price and quantity change alike.
    let p_dom = price(v_dom, 1.0);
    assert_eq!(pct(p_dom), 2.12);
    assert_eq!(pct((1.0 + p_dom).powi(1) - 1.0), 2.12);
    // The rest of the world: price and quantity.
    let p_row = price(v_row, 10.0);
    assert_eq!(pct(p_row), 0.75);
    assert_eq!(pct((1.0 + p_row).powi(10) - 1.0), 7.80);
    // The price index from the domestic clearing: x = −(ε − σ)·z/(η + σ) with T = 1.
    let z = (1.0 + p_dom).ln() * (1.0 + 4.0) / (4.0 - 1.0);
    assert_eq!(pct(z.exp() - 1.0), 3.57);
}

/// The equilibrium by a formulation independent of the engine's: an outer bisection on
/// z = ln P of the CES identity, and for each source an inner bisection on its own market
/// clearing η·x = −σ·(x + ln T − z) − ε·z (supply p^η = demand), no closed form.
fn bisection_reference(m: &Market) -> [f64; 3] {
    let eta = |s: &str| {
        if s == "inf" {
            f64::INFINITY
        } else {
            s.parse::<f64>().unwrap()
        }
    };
    let (sigma, epsilon) = (m.sigma, m.epsilon);
    let rest = 1.0 - m.shares.iter().sum::<f64>();
    let sources = [
        (m.shares[0], m.tariffs[0], eta(m.etas[0])),
        (m.shares[1], m.tariffs[1], eta(m.etas[1])),
        (m.shares[2], m.tariffs[2], eta(m.etas[2])),
        (rest, m.tariffs[3], eta(m.etas[3])),
    ];
    let fob = |ln_t: f64, e: f64, z: f64| {
        if e.is_infinite() {
            return 0.0;
        }
        let (mut lo, mut hi) = (-5.0f64, 5.0f64);
        for _ in 0..200 {
            let x = 0.5 * (lo + hi);
            let gap = e * x + sigma * (x + ln_t - z) + epsilon * z;
            if gap > 0.0 {
                hi = x;
            } else {
                lo = x;
            }
        }
        0.5 * (lo + hi)
    };
    let index = |z: f64| {
        let mut sum = 0.0;
        let mut cd = 0.0;
        for &(theta, tau, e) in &sources {
            let y = fob((1.0 + tau).ln(), e, z) + (1.0 + tau).ln();
            sum += theta * ((1.0 - sigma) * y).exp();
            cd += theta * y;
        }
        if (sigma - 1.0).abs() < 1e-9 {
            cd
        } else {
            sum.ln() / (1.0 - sigma)
        }
    };
    let (mut lo, mut hi) = (-3.0f64, 3.0f64);
    for _ in 0..200 {
        let z = 0.5 * (lo + hi);
        if z - index(z) > 0.0 {
            hi = z;
        } else {
            lo = z;
        }
    }
    let z = 0.5 * (lo + hi);
    let v = |i: usize| {
        let (_, tau, e) = sources[i];
        let ln_t = (1.0 + tau).ln();
        let x = fob(ln_t, e, z);
        (x - sigma * (x + ln_t - z) - epsilon * z).exp()
    };
    [v(0), v(1), v(2)]
}

#[test]
fn the_published_example_matches_a_high_precision_reference_to_1e_10() {
    let engine = Market::published().values();
    // mpmath at 50 digits, bisection (300 halvings) on g(z) of MODEL.md §10 with the closed
    // form x_i(z), then V_i = exp(x_i)·exp(−σ(x_i + ln T_i − z))·exp(−ε z):
    // P − 1 = 0.0356506878850473497, US delivered +0.0785150160261405682 (the values below
    // are mpmath's rounded to the nearest double).
    let mpmath = [
        0.804_949_473_094_703_6,
        1.042_931_914_902_487_4,
        1.086_075_249_372_553_8,
    ];
    let bisection = bisection_reference(&Market::published());
    for i in 0..3 {
        assert!(
            (engine[i] - mpmath[i]).abs() <= 1e-10,
            "source {i}: engine {} vs mpmath {}",
            engine[i],
            mpmath[i]
        );
        assert!(
            (bisection[i] - mpmath[i]).abs() <= 1e-10,
            "source {i}: bisection {} vs mpmath {}",
            bisection[i],
            mpmath[i]
        );
    }
}

#[test]
fn fixed_competitor_prices_overstate_the_loss_by_14_percent() {
    // Alencar (2019): with the competitors' supply perfectly elastic the US quantity falls
    // 20.48 % instead of 17.90 %.
    let sloped = Market::published().values()[0];
    let mut fixed = Market::published();
    fixed.etas = ["10", "inf", "inf", "inf"];
    let flat = fixed.values()[0];
    let q = |v: f64| (1.0 + price(v, 10.0)).powi(10) - 1.0;
    assert_eq!((q(flat) * 1e4).round() / 100.0, -20.48);
    let overstatement = q(flat) / q(sloped) - 1.0;
    assert!((overstatement - 0.144).abs() < 0.001, "{overstatement}");
    // The export value loss is overstated alike.
    let value = (1.0 - flat) / (1.0 - sloped) - 1.0;
    assert!((value - 0.14).abs() < 0.01, "{value}");
}

#[test]
fn other_markets_match_the_independent_bisection() {
    // Both solve paths (the composite for η = ∞ competitors, Newton in z otherwise), σ = 1,
    // σ < ε, tariff cuts, a `rest` with a share, named competitors with tariffs of their own.
    let cases = [
        (
            4.0,
            1.0,
            ["10", "1", "10", "inf"],
            [0.3, 0.5, 0.1],
            [0.1, 0.0, 0.2, 0.05],
        ),
        (
            4.0,
            1.0,
            ["inf", "2", "inf", "5"],
            [0.2, 0.3, 0.1],
            [0.25, 0.1, 0.45, 0.0],
        ),
        (
            1.0,
            1.0,
            ["3", "1", "10", "2"],
            [0.3, 0.5, 0.1],
            [0.1, 0.0, 0.2, 0.05],
        ),
        (
            0.6,
            2.5,
            ["0.5", "inf", "4", "0.3"],
            [0.4, 0.2, 0.2],
            [0.3, -0.05, 0.0, 0.1],
        ),
        (
            8.0,
            0.0,
            ["inf", "inf", "inf", "inf"],
            [0.1, 0.3, 0.3],
            [0.25, 0.15, 1.45, 0.1],
        ),
        (
            3.0,
            1.5,
            ["2", "inf", "inf", "inf"],
            [0.1, 0.3, 0.3],
            [0.25, 0.15, 1.45, 0.1],
        ),
    ];
    for (sigma, epsilon, etas, shares, tariffs) in cases {
        let m = Market {
            sigma,
            epsilon,
            etas,
            shares,
            tariffs,
        };
        let engine = m.values();
        let reference = bisection_reference(&m);
        for i in 0..3 {
            assert!(
                (engine[i] - reference[i]).abs() <= 1e-11,
                "σ={sigma} ε={epsilon} {etas:?} source {i}: {} vs {}",
                engine[i],
                reference[i]
            );
        }
    }
}

#[test]
fn competitors_sharing_one_eta_parameter_solve_as_with_one_parameter_each() {
    // MODEL.md §10: sources that read the same η parameter are solved as one group (one exp
    // per group and evaluation of g). `domestic` and `rest` take the table's `default` (one
    // parameter), `row` its own; or all three take the sector's single `competitor_eta`.
    // Against the same numbers as three parameters (groups of one) and the bisection.
    let quote = |s: &str| {
        if s == "inf" {
            "\"inf\"".to_string()
        } else {
            s.to_string()
        }
    };
    for (sigma, epsilon, shared, own, tariffs) in [
        (4.0, 1.0, "2", "10", [0.1, 0.0, 0.2, 0.05]),
        (0.6, 2.5, "0.5", "inf", [0.3, -0.05, 0.0, 0.1]),
        (1.0, 1.0, "3", "1", [0.1, 0.3, 0.2, -0.1]),
        (8.0, 0.0, "inf", "4", [0.25, 0.15, 1.45, 0.1]),
        (3.0, 1.5, "5", "5", [1.5, 0.6, -0.1, 0.3]),
    ] {
        let m = Market {
            sigma,
            epsilon,
            etas: ["3", shared, own, shared],
            shares: [0.2, 0.3, 0.2],
            tariffs,
        };
        let separate = m.values();
        let line = format!(
            "competitor_eta = {{ domestic = {0}, row = {1}, rest = {0} }}",
            quote(shared),
            quote(own)
        );
        let table = format!(
            "competitor_eta = {{ default = {}, row = {} }}",
            quote(shared),
            quote(own)
        );
        let single = format!("competitor_eta = {}", quote(shared));
        let reference = bisection_reference(&m);
        let variants = [table.as_str(), single.as_str()];
        for variant in if shared == own {
            &variants[..]
        } else {
            &variants[..1]
        } {
            let toml = m.toml();
            assert!(toml.contains(&line), "{toml}");
            let grouped =
                m.values_of(&compile_model(&toml.replace(&line, variant), "g.toml").unwrap());
            for i in 0..3 {
                assert!(
                    (grouped[i] - separate[i]).abs() <= 1e-12,
                    "σ={sigma} {variant} source {i}: {} vs {}",
                    grouped[i],
                    separate[i]
                );
                assert!(
                    (grouped[i] - reference[i]).abs() <= 1e-11,
                    "σ={sigma} {variant} source {i}: {} vs bisection {}",
                    grouped[i],
                    reference[i]
                );
            }
        }
    }
}

#[test]
fn a_very_elastic_competitor_approaches_the_fixed_price_result() {
    let mut fixed = Market::published();
    fixed.etas = ["10", "inf", "inf", "inf"];
    let limit = fixed.values();
    let mut previous = f64::INFINITY;
    for eta in ["1e3", "1e5", "1e7"] {
        let mut m = Market::published();
        m.etas = ["10", eta, eta, "inf"];
        let v = m.values();
        let gap = (v[0] - limit[0]).abs();
        assert!(gap < previous, "η = {eta}: gap {gap} not below {previous}");
        previous = gap;
    }
    assert!(previous < 1e-6, "{previous}");
}

#[test]
fn the_same_tariff_change_on_every_source_at_fixed_prices_gives_t_to_minus_epsilon() {
    for (sigma, epsilon) in [(4.0, 1.0), (0.5, 2.0), (1.0, 0.7)] {
        let m = Market {
            sigma,
            epsilon,
            etas: ["inf"; 4],
            shares: [0.2, 0.5, 0.1],
            tariffs: [0.2; 4],
        };
        let expected = 1.2f64.powf(-epsilon);
        for (i, v) in m.values().into_iter().enumerate() {
            assert!(
                (v - expected).abs() <= 1e-13,
                "σ={sigma} source {i}: {v} vs {expected}"
            );
        }
    }
}

#[test]
fn the_unit_sigma_limit_is_continuous() {
    let at = |sigma: f64| {
        let mut m = Market::published();
        m.sigma = sigma;
        m.values()
    };
    let one = at(1.0);
    for delta in [1e-6, -1e-6] {
        let near = at(1.0 + delta);
        for i in 0..3 {
            assert!(
                (one[i] - near[i]).abs() < 1e-6,
                "σ = 1 {delta:+}: {} vs {}",
                one[i],
                near[i]
            );
        }
    }
}

#[test]
fn named_competitors_at_fixed_prices_with_the_rest_s_tariff_give_the_two_source_result() {
    // Splitting `rest` into named competitors that face the same tariff changes nothing.
    let two_source = compile_model(
        &Market::published()
            .toml()
            .replace("competitor_shares = { domestic = 0.6, row = 0.1 }", "")
            .replace(
                "competitor_eta = { domestic = 1, row = 10, rest = \"inf\" }",
                "",
            )
            .replace(
                "competitor_tariff = { good = 0 }",
                "competitor_tariff = { good = 0.05 }",
            )
            .replace(
                "[[competitors]]\nid = \"domestic\"\n[[competitors]]\nid = \"row\"\n",
                "",
            )
            .replace(
                "[interim.competitors.domestic]\ntariff = { default = 0 }\n",
                "",
            )
            .replace("[interim.competitors.row]\ntariff = { good = 0 }\n", ""),
        "two.toml",
    )
    .unwrap();
    assert!(two_source.competitors.is_empty());
    let named = Market {
        etas: ["10", "inf", "inf", "inf"],
        tariffs: [0.1, 0.05, 0.05, 0.05],
        ..Market::published()
    };
    let a = evaluate(&two_source)[EXPORT_LOSS];
    let b = named.values()[0];
    assert!((1.0 - a / 30.0 - b).abs() <= 1e-13, "{a} vs {b}");
}

#[test]
fn a_higher_tariff_on_a_competitor_never_lowers_the_exporter_s_exports() {
    for etas in [
        ["10", "1", "10", "inf"],
        ["inf", "inf", "inf", "inf"],
        ["2", "inf", "3", "0.5"],
    ] {
        let mut previous = 0.0;
        for step in 0..=40 {
            let tariff = -0.2 + 0.05 * step as f64;
            let m = Market {
                etas,
                tariffs: [0.1, tariff, 0.0, 0.0],
                ..Market::published()
            };
            let v = m.values()[0];
            assert!(
                v >= previous,
                "{etas:?}: tariff {tariff} gives V = {v} < {previous}"
            );
            previous = v;
        }
    }
}

/// A model with uncertain parameters in every new place: composite and Newton sectors, a
/// sector without competitors, uncertain competitor tariffs and η, redirection, half-lives and
/// monthly outputs.
pub const COMPETITOR_MODEL: &str = include_str!("../fixtures/competitors.toml");

#[test]
fn a_block_of_draws_equals_the_draws_evaluated_alone_bit_for_bit() {
    let model = compile_model(COMPETITOR_MODEL, "competitors.toml").unwrap();
    let kernel = Kernel::new(&model);
    let n = 517;
    let n_out = kernel.n_outputs();
    let stride = n + 3;
    let crate::kernel_block::RandomBlock {
        rows,
        scenarios,
        columns,
    } = crate::kernel_block::random_block(&model, 13, n, stride);
    let mut block = vec![f64::NAN; n_out * stride];
    let mut scratch = KernelScratch::default();
    kernel.evaluate_block(
        &ValueColumns {
            data: &columns,
            stride,
        },
        &scenarios,
        &mut block,
        &mut scratch,
    );
    let names = output_names(&model);
    let mut alone = vec![0.0; n_out];
    for d in 0..n {
        kernel.evaluate_with(&rows[d], scenarios[d] as usize, &mut alone, &mut scratch);
        for o in 0..n_out {
            assert_eq!(
                block[o * stride + d].to_bits(),
                alone[o].to_bits(),
                "draw {d}, {}",
                names[o]
            );
            assert!(alone[o].is_finite(), "draw {d}, {}", names[o]);
        }
    }
}

#[test]
fn redirection_nets_the_loss_and_drives_the_macro_outputs() {
    let base = Market::published().toml();
    let model = compile_model(&base, "m.toml").unwrap();
    let out = evaluate(&model);
    let names = output_names(&model);
    let at = |out: &[f64], name: &str| out[names.iter().position(|n| n == name).unwrap()];
    // r = 0: the net loss is the loss, to the bit.
    assert_eq!(
        at(&out, "net_export_loss").to_bits(),
        out[EXPORT_LOSS].to_bits()
    );
    let half = compile_model(
        &base
            .replace("eta = 10\n", "eta = 10\nredirection = 0.4\n")
            .replace("gdp = 1000.0", "gdp = 1000.0\ntotal_exports = 120.0"),
        "m.toml",
    )
    .unwrap();
    let redirected = evaluate(&half);
    assert_eq!(redirected[EXPORT_LOSS], out[EXPORT_LOSS]);
    let net = at(&redirected, "net_export_loss");
    assert!((net - 0.6 * out[EXPORT_LOSS]).abs() <= 1e-14 * net.abs());
    assert!((at(&redirected, "net_export_loss_pct") - 100.0 * net / 120.0).abs() <= 1e-12);
    // GDP falls with the net loss (value added 0.5, multiplier 1, GDP 1000).
    assert!((redirected[GDP_IMPACT_PCT] - (-100.0 * net * 0.5 / 1000.0)).abs() <= 1e-14);
    assert!((redirected[GDP_IMPACT_PCT] / out[GDP_IMPACT_PCT] - 0.6).abs() <= 1e-12);
}
