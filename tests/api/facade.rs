//! `Model::run` against the CLI, errors, cancellation, and the distribution constructors
//! against the model file and against `rand_distr`, an independent implementation.

use rand::distr::Distribution as _;
use rand::SeedableRng;
use tariffsim::{Cancel, Distribution, DrawCollector, Error, Model, RunConfig, SamplerKind};

fn cli_run(args: &[&str], dir: &std::path::Path) -> serde_json::Value {
    let status = crate::common::bin()
        .arg("run")
        .args(args)
        .args(["--quiet", "--out"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn model_run_is_the_cli_run_bit_for_bit_and_draws_are_draws_csv() {
    let dir = tempfile::tempdir().unwrap();
    let cli = cli_run(
        &[
            "--draws",
            "5000",
            "--seed",
            "9",
            "--sampler",
            "sobol",
            "--antithetic",
            "--set",
            "sectors.autos.sigma=4",
            "--save-draws",
        ],
        dir.path(),
    );
    let model = Model::default_model()
        .unwrap()
        .with_overrides(&[("sectors.autos.sigma", 4.0)])
        .unwrap();
    let config = RunConfig {
        draws: 5000,
        seed: 9,
        threads: 1,
        sampler: SamplerKind::Sobol,
        antithetic: true,
    };
    let collector = DrawCollector::new(&model, config.draws);
    let summary = model.run_with(&config, &[&collector]).unwrap();
    let lib = serde_json::to_value(&summary).unwrap();
    for key in [
        "model",
        "outputs",
        "scenarios",
        "distributions",
        "sample",
        "parameters",
    ] {
        assert_eq!(lib[key], cli[key], "{key}");
    }
    assert_eq!(lib["run"]["sampler"], "sobol");
    assert_eq!(lib["run"]["antithetic"], true);
    let draws = collector.into_draws();
    assert_eq!(draws.len(), 5000);
    let csv = std::fs::read(dir.path().join("draws.csv")).unwrap();
    assert!(
        draws.to_csv() == csv,
        "draws.csv differs from the collected draws"
    );
}

#[test]
fn errors_name_the_file_line_and_key_and_never_a_flag() {
    let text = tariffsim::model::DEFAULT_MODEL_TEXT.replacen("share = ", "share = 1.6 # ", 1);
    let e = Model::from_toml_str(&text, "bad.toml").unwrap_err();
    assert!(matches!(e, Error::Model(_)) && e.is_invalid_input());
    let message = e.to_string();
    assert!(message.starts_with("bad.toml:"), "{message}");
    assert!(
        message.contains("share: ") && message.contains("got 1.6"),
        "{message}"
    );
    let line_col: Vec<&str> = message.splitn(4, ':').collect();
    assert!(line_col[1].parse::<usize>().unwrap() > 1 && line_col[2].parse::<usize>().unwrap() > 1);

    let model = Model::default_model().unwrap();
    let e = model
        .with_overrides(&[("sectors.autos.sigma", -4.0)])
        .unwrap_err();
    assert!(e.is_invalid_input());
    let message = e.to_string();
    assert!(
        message.contains("override `sectors.autos.sigma=-4`"),
        "{message}"
    );
    assert!(
        message.contains("accepted: > 0") && !message.contains("--"),
        "{message}"
    );
    let e = model.with_overrides(&[("no.such.path", "1")]).unwrap_err();
    assert!(e.to_string().contains("unknown parameter path"), "{e}");

    let e = Model::from_path("/nonexistent/model.toml").unwrap_err();
    assert!(!e.is_invalid_input() && e.to_string().contains("/nonexistent/model.toml"));

    let e = model
        .run(&RunConfig {
            draws: 0,
            ..RunConfig::default()
        })
        .unwrap_err();
    assert!(e.is_invalid_input() && !e.to_string().contains("--"), "{e}");
}

#[test]
fn a_cancelled_run_stops_with_an_error() {
    let model = Model::default_model().unwrap();
    let cancel = Cancel::new();
    cancel.cancel();
    let e = model
        .run_with(&RunConfig::default(), &[&cancel])
        .unwrap_err();
    assert!(e.to_string().contains("cancelled"), "{e}");
    assert!(!e.is_invalid_input());
}

/// The constructors accept what a model file accepts and reject what it rejects, with the
/// same message.
#[test]
fn constructors_validate_like_the_model_file() {
    let from_file = |text: &str| {
        let table: toml::Table = toml::from_str(&format!("x = {text}")).unwrap();
        Distribution::from_toml(&table["x"])
    };
    let cases: Vec<(Result<Distribution, tariffsim::DistError>, &str)> = vec![
        (
            Distribution::pert(1.0, 2.0, 4.0),
            r#"{ dist = "pert", low = 1, mode = 2, high = 4 }"#,
        ),
        (
            Distribution::pert(4.0, 2.0, 1.0),
            r#"{ dist = "pert", low = 4, mode = 2, high = 1 }"#,
        ),
        (
            Distribution::pert(1.0, 5.0, 4.0),
            r#"{ dist = "pert", low = 1, mode = 5, high = 4 }"#,
        ),
        (
            Distribution::pert_lambda(1.0, 2.0, 4.0, 0.0),
            r#"{ dist = "pert", low = 1, mode = 2, high = 4, lambda = 0 }"#,
        ),
        (
            Distribution::normal(1.0, 0.5),
            r#"{ dist = "normal", mean = 1, sd = 0.5 }"#,
        ),
        (
            Distribution::normal(1.0, -0.5),
            r#"{ dist = "normal", mean = 1, sd = -0.5 }"#,
        ),
        (
            Distribution::normal(f64::INFINITY, 0.5),
            r#"{ dist = "normal", mean = inf, sd = 0.5 }"#,
        ),
        (
            Distribution::lognormal(2.0, 0.3),
            r#"{ dist = "lognormal", median = 2, sd_log = 0.3 }"#,
        ),
        (
            Distribution::lognormal(-2.0, 0.3),
            r#"{ dist = "lognormal", median = -2, sd_log = 0.3 }"#,
        ),
        (
            Distribution::uniform(2.0, 1.0),
            r#"{ dist = "uniform", low = 2, high = 1 }"#,
        ),
        (
            Distribution::triangular(0.0, 1.0, 3.0),
            r#"{ dist = "triangular", low = 0, mode = 1, high = 3 }"#,
        ),
        (
            Distribution::beta(2.0, 0.0),
            r#"{ dist = "beta", alpha = 2, beta = 0 }"#,
        ),
        (
            Distribution::beta_on(2.0, 3.0, 1.0, 5.0),
            r#"{ dist = "beta", alpha = 2, beta = 3, low = 1, high = 5 }"#,
        ),
        (
            Distribution::student_t(3.0, 1.0, 2.0),
            r#"{ dist = "student_t", df = 3, loc = 1, scale = 2 }"#,
        ),
        (
            Distribution::student_t(0.0, 1.0, 2.0),
            r#"{ dist = "student_t", df = 0, loc = 1, scale = 2 }"#,
        ),
        (
            Distribution::truncated_normal(0.0, 1.0, 1.0, -1.0),
            r#"{ dist = "truncated_normal", mean = 0, sd = 1, low = 1, high = -1 }"#,
        ),
        (
            Distribution::truncated_normal(0.0, 1.0, 40.0, 41.0),
            r#"{ dist = "truncated_normal", mean = 0, sd = 1, low = 40, high = 41 }"#,
        ),
        (
            Distribution::discrete(&[1.0, 2.0], &[1.0, 3.0]),
            r#"{ dist = "discrete", values = [1, 2], weights = [1, 3] }"#,
        ),
        (
            Distribution::discrete(&[1.0, 2.0], &[1.0]),
            r#"{ dist = "discrete", values = [1, 2], weights = [1] }"#,
        ),
        (
            Distribution::discrete(&[1.0], &[-1.0]),
            r#"{ dist = "discrete", values = [1], weights = [-1] }"#,
        ),
        (
            Distribution::discrete(&[], &[]),
            r#"{ dist = "discrete", values = [], weights = [] }"#,
        ),
    ];
    let mut rejected = 0;
    for (typed, text) in cases {
        let file = from_file(text);
        assert_eq!(typed, file, "{text}");
        rejected += typed.is_err() as usize;
    }
    assert_eq!(rejected, 14);
}

/// Two-sample Kolmogorov–Smirnov statistic.
fn ks(mut a: Vec<f64>, mut b: Vec<f64>) -> f64 {
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        if a[i] <= b[j] {
            i += 1;
        } else {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

/// Our inversion sampler (`rand::distr::Distribution`) and `rand_distr`'s own algorithms draw
/// from the same laws: two samples of 20,000 differ by a KS distance below 0.025 (about the
/// 1e-4 critical value; the seeds are fixed, so the test is deterministic).
#[test]
fn sampling_matches_rand_distr() {
    const N: usize = 20_000;
    let ours = |d: Distribution| -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        (0..N).map(|_| d.sample(&mut rng)).collect()
    };
    fn theirs<D: rand::distr::Distribution<f64>>(d: D) -> Vec<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        (0..N).map(|_| d.sample(&mut rng)).collect()
    }
    let pairs = [
        (
            "normal",
            ours(Distribution::normal(1.0, 2.0).unwrap()),
            theirs(rand_distr::Normal::new(1.0, 2.0).unwrap()),
        ),
        (
            "lognormal",
            ours(Distribution::lognormal(2.0, 0.5).unwrap()),
            theirs(rand_distr::LogNormal::new(2f64.ln(), 0.5).unwrap()),
        ),
        (
            "uniform",
            ours(Distribution::uniform(-1.0, 3.0).unwrap()),
            theirs(rand_distr::Uniform::new(-1.0, 3.0).unwrap()),
        ),
        (
            "triangular",
            ours(Distribution::triangular(0.0, 1.0, 3.0).unwrap()),
            theirs(rand_distr::Triangular::new(0.0, 3.0, 1.0).unwrap()),
        ),
        (
            "pert",
            ours(Distribution::pert(1.0, 2.0, 4.0).unwrap()),
            theirs(rand_distr::Pert::new(1.0, 4.0).with_mode(2.0).unwrap()),
        ),
        (
            "beta",
            ours(Distribution::beta(2.0, 5.0).unwrap()),
            theirs(rand_distr::Beta::new(2.0, 5.0).unwrap()),
        ),
        (
            "student_t",
            ours(Distribution::student_t(4.0, 0.0, 1.0).unwrap()),
            theirs(rand_distr::StudentT::new(4.0).unwrap()),
        ),
    ];
    for (name, a, b) in pairs {
        let d = ks(a, b);
        assert!(d < 0.025, "{name}: KS distance {d}");
    }
}
