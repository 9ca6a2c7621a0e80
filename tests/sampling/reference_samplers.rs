//! Our quantile-function sampling against an independent implementation of the same laws:
//! rand_distr's samplers (Box–Muller/ziggurat normals, Cheng's beta, ...), which share no code
//! with `dist/`. A two-sample Kolmogorov–Smirnov test per law: x = Q(u) for u from a ChaCha8
//! stream, y from rand_distr with another stream. The seeds are fixed, so the test is
//! deterministic; the critical value is that of α = 0.001, and a law shifted by a tenth of
//! its spread is rejected (the test has power, see the last test).

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use tariffsim::dist::Distribution;

const N: usize = 20_000;

fn ours(src: &str) -> Distribution {
    let table: toml::Table = toml::from_str(&format!("x = {src}")).expect("test TOML parses");
    Distribution::from_toml(&table["x"]).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// N draws of `d` through its quantile function, u uniform in (0, 1).
fn by_quantile(d: &Distribution, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..N)
        .map(|_| {
            let u: f64 = rand::RngExt::random(&mut rng);
            // random() is in [0, 1): move the single excluded-endpoint case inside.
            d.quantile(u.max(f64::MIN_POSITIVE))
        })
        .collect()
}

/// N draws from rand_distr's sampler `law`.
fn by_rand_distr(law: impl rand_distr::Distribution<f64>, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..N).map(|_| law.sample(&mut rng)).collect()
}

/// The two-sample Kolmogorov–Smirnov statistic sup |F_x − F_y|.
fn ks(mut x: Vec<f64>, mut y: Vec<f64>) -> f64 {
    x.sort_by(f64::total_cmp);
    y.sort_by(f64::total_cmp);
    let (n, m) = (x.len() as f64, y.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < x.len() && j < y.len() {
        let t = x[i].min(y[j]);
        while i < x.len() && x[i] <= t {
            i += 1;
        }
        while j < y.len() && y[j] <= t {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    d
}

/// Critical value of the two-sample KS statistic at α = 0.001: c(α)·√((n + m)/(n·m)), c = 1.949.
fn critical() -> f64 {
    1.949 * (2.0 / N as f64).sqrt()
}

/// Every law with a rand_distr counterpart: (our model-file table, N draws of rand_distr's
/// sampler of the same law from stream `seed + k`).
fn laws(seed: u64) -> Vec<(&'static str, Vec<f64>)> {
    use rand_distr::{Beta, LogNormal, Normal, Pert, StudentT, Triangular, Uniform};
    vec![
        (
            "{ dist = \"normal\", mean = 2.0, sd = 0.5 }",
            by_rand_distr(Normal::new(2.0, 0.5).unwrap(), seed),
        ),
        (
            "{ dist = \"lognormal\", median = 4.0, sd_log = 0.35 }",
            by_rand_distr(LogNormal::new(4.0f64.ln(), 0.35).unwrap(), seed + 1),
        ),
        (
            "{ dist = \"beta\", alpha = 2.0, beta = 5.0 }",
            by_rand_distr(Beta::new(2.0, 5.0).unwrap(), seed + 2),
        ),
        (
            "{ dist = \"beta\", alpha = 0.5, beta = 0.5 }",
            by_rand_distr(Beta::new(0.5, 0.5).unwrap(), seed + 3),
        ),
        (
            "{ dist = \"student_t\", df = 3.0 }",
            by_rand_distr(StudentT::new(3.0).unwrap(), seed + 4),
        ),
        (
            "{ dist = \"student_t\", df = 7.5 }",
            by_rand_distr(StudentT::new(7.5).unwrap(), seed + 5),
        ),
        (
            "{ dist = \"triangular\", low = 0.1, mode = 0.15, high = 0.4 }",
            by_rand_distr(Triangular::new(0.1, 0.4, 0.15).unwrap(), seed + 6),
        ),
        (
            "{ dist = \"pert\", low = 0.5, mode = 1.0, high = 3.0 }",
            by_rand_distr(Pert::new(0.5, 3.0).with_mode(1.0).unwrap(), seed + 7),
        ),
        (
            "{ dist = \"uniform\", low = -1.0, high = 2.0 }",
            by_rand_distr(Uniform::new(-1.0, 2.0).unwrap(), seed + 8),
        ),
    ]
}

#[test]
fn quantile_sampling_matches_rand_distr_samplers() {
    for (i, (src, reference)) in laws(200).into_iter().enumerate() {
        let d = ks(by_quantile(&ours(src), 100 + i as u64), reference);
        assert!(
            d < critical(),
            "{src}: KS distance {d:.4} ≥ {:.4}",
            critical()
        );
    }
}

#[test]
fn the_comparison_rejects_a_law_shifted_by_a_tenth_of_its_spread() {
    let d = ks(
        by_quantile(&ours("{ dist = \"normal\", mean = 2.05, sd = 0.5 }"), 1),
        by_rand_distr(rand_distr::Normal::new(2.0, 0.5).unwrap(), 2),
    );
    assert!(
        d > critical(),
        "KS distance {d:.4} should exceed {:.4}",
        critical()
    );
    let d = ks(
        by_quantile(
            &ours("{ dist = \"pert\", low = 0.5, mode = 1.2, high = 3.0 }"),
            3,
        ),
        by_rand_distr(rand_distr::Pert::new(0.5, 3.0).with_mode(1.0).unwrap(), 4),
    );
    assert!(d > critical(), "PERT with another mode: KS distance {d:.4}");
}
