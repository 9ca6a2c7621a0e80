//! Samplers in the engine (issue #5): every sampler gives bit-identical results for any thread
//! count and any shard split, records itself in summary.json, and refuses what it cannot do.

use std::path::Path;

use serde_json::Value;
use tariffsim::model::{compile_model, DEFAULT_MODEL_FILE, DEFAULT_MODEL_TEXT};
use tariffsim::report::{summary_json, RunInfo};
use tariffsim::run::{self, RunConfig, RunError, SamplerKind};

fn results(config: &RunConfig) -> String {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let outcome = run::run(&model, config).unwrap();
    let info = RunInfo {
        draws: config.draws,
        seed: config.seed,
        sampler: config.sampler_label(),
        threads: config.threads,
        elapsed_s: 0.0,
        stopping: None,
    };
    let json = summary_json(&model, &info, &outcome.stats);
    serde_json::to_string(&(&json["outputs"], &json["scenarios"], &json["tornado"])).unwrap()
}

#[test]
fn lhs_sobol_and_antithetic_are_identical_for_1_2_and_3_threads() {
    // 12 blocks and a partial one (odd, so the last antithetic pair is cut).
    let draws = 12 * 1024 + 333;
    for (sampler, antithetic) in [
        (SamplerKind::LatinHypercube, false),
        (SamplerKind::Sobol, false),
        (SamplerKind::MonteCarlo, true),
        (SamplerKind::Sobol, true),
    ] {
        let config = |threads| RunConfig {
            draws,
            seed: 5,
            threads,
            sampler,
            antithetic,
        };
        let one = results(&config(1));
        for threads in [2, 3] {
            assert!(
                one == results(&config(threads)),
                "{} with {threads} threads differs from 1",
                config(threads).sampler_label()
            );
        }
    }
}

#[test]
fn samplers_agree_on_the_mean_and_differ_in_the_draws() {
    let model = compile_model(DEFAULT_MODEL_TEXT, DEFAULT_MODEL_FILE).unwrap();
    let mean = |sampler, antithetic| {
        let c = RunConfig {
            draws: 16 * 1024,
            seed: 3,
            threads: 2,
            sampler,
            antithetic,
        };
        let s = run::run(&model, &c).unwrap().stats.output_summary(0);
        (s.mean, s.se_mean)
    };
    let (mc, se) = mean(SamplerKind::MonteCarlo, false);
    for (sampler, antithetic) in [
        (SamplerKind::LatinHypercube, false),
        (SamplerKind::Sobol, false),
        (SamplerKind::MonteCarlo, true),
    ] {
        let (m, _) = mean(sampler, antithetic);
        assert_ne!(m, mc, "{sampler:?} {antithetic} gave the Monte Carlo draws");
        assert!(
            (m - mc).abs() < 5.0 * se,
            "{sampler:?} {antithetic}: mean {m} vs mc {mc} ± {se}"
        );
    }
}

#[test]
fn sampler_labels_round_trip() {
    for s in SamplerKind::ALL {
        for a in [false, true] {
            assert_eq!(SamplerKind::from_label(&s.label(a)), Some((s, a)));
        }
    }
    assert_eq!(SamplerKind::Sobol.label(true), "sobol+antithetic");
    assert_eq!(SamplerKind::from_label("halton"), None);
}

#[test]
fn sobol_refuses_a_model_of_too_many_dimensions_with_a_clear_error() {
    // 700 sectors with three uncertain elasticities: 2101 coordinates > 2048.
    let mut text = String::from(
        "[model]\nname = \"wide\"\n[baseline]\nimports_from_importer = 1.0\ngdp = 100.0\n[macro]\nvalue_added_share = 0.6\ngdp_multiplier = 1.0\n[market]\nfx_beta = 1.0\nfx_noise = 0.0\nequity_beta = 1.0\nequity_noise = 0.0\nfx_stress_pct = 10.0\nequity_stress_pct = 20.0\nfx_weight = 0.5\n",
    );
    for i in 0..700 {
        text.push_str(&format!(
            "[[sectors]]\nid = \"s{i}\"\nexports = 1.0\nshare = 0.1\nsigma = {{ dist = \"uniform\", low = 2, high = 4 }}\nepsilon = {{ dist = \"uniform\", low = 0.5, high = 1.5 }}\neta = {{ dist = \"uniform\", low = 1, high = 5 }}\n"
        ));
    }
    text.push_str(
        "[interim]\ntariff = { default = 0.1 }\n[[scenarios]]\nid = \"only\"\nprobability = 1.0\n",
    );
    let model = compile_model(&text, "wide.toml").unwrap();
    assert_eq!(model.dimension, 2101);
    let config = RunConfig {
        draws: 10,
        sampler: SamplerKind::Sobol,
        ..Default::default()
    };
    match run::run(&model, &config) {
        Err(RunError::Invalid {
            settings,
            message: m,
        }) => {
            assert_eq!(settings, [tariffsim::run::Setting::Sampler]);
            assert!(
                m.contains("sobol") && m.contains("2048") && m.contains("2101"),
                "{m}"
            );
            assert!(!m.contains("--"), "a library error names no flag: {m}");
        }
        other => panic!(
            "expected a configuration error, got {:?}",
            other.map(|o| o.stats.draws())
        ),
    }
    // Monte Carlo and Latin hypercube have no limit.
    for sampler in [SamplerKind::MonteCarlo, SamplerKind::LatinHypercube] {
        let c = RunConfig {
            draws: 10,
            sampler,
            ..Default::default()
        };
        assert_eq!(run::run(&model, &c).unwrap().stats.draws(), 10);
    }
}

use crate::common::run_bin as bin;

fn summary(dir: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("summary.json")).unwrap()).unwrap()
}

#[test]
fn sobol_shards_merge_to_the_single_run_and_other_samplers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let common = [
        "--draws",
        "9000",
        "--seed",
        "4",
        "--sampler",
        "sobol",
        "--antithetic",
        "--quiet",
    ];
    let mut args = vec!["run"];
    args.extend(common);
    let full = p("full");
    args.extend(["--out", &full]);
    assert!(bin(&args).status.success());
    let s = summary(Path::new(&full));
    assert_eq!(s["run"]["sampler"], "sobol");
    assert_eq!(s["run"]["antithetic"], true);
    let mut parts = Vec::new();
    for k in 1..=3 {
        let out = p(&format!("shard{k}"));
        let shard = format!("{k}/3");
        let mut args = vec!["run"];
        args.extend(common);
        args.extend([
            "--shard",
            &shard,
            "--threads",
            if k == 2 { "1" } else { "2" },
            "--out",
            &out,
        ]);
        let o = bin(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        parts.push(out);
    }
    let merged = p("merged");
    let mut args = vec!["merge"];
    args.extend(parts.iter().map(String::as_str));
    args.extend(["--quiet", "--out", &merged]);
    assert!(bin(&args).status.success());
    let m = summary(Path::new(&merged));
    assert_eq!(m["run"]["sampler"], "sobol");
    assert_eq!(m["run"]["antithetic"], true);
    assert!(
        m["outputs"] == s["outputs"] && m["scenarios"] == s["scenarios"],
        "merged sobol shards differ from the single run"
    );

    // A shard of the same run without --antithetic does not belong with the others.
    let plain = p("plain");
    assert!(bin(&[
        "run",
        "--draws",
        "9000",
        "--seed",
        "4",
        "--sampler",
        "sobol",
        "--quiet",
        "--shard",
        "3/3",
        "--out",
        &plain
    ])
    .status
    .success());
    let o = bin(&[
        "merge",
        &parts[0],
        &parts[1],
        &plain,
        "--quiet",
        "--out",
        &p("bad"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("sobol+antithetic") && err.contains("different runs"),
        "{err}"
    );
}

#[test]
fn run_prints_a_text_tornado_unless_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = bin(&["run", "--draws", "4096", "--sampler", "lhs", "--out", out]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    let start = text
        .find("tornado of export_loss")
        .expect("no tornado printed");
    let rows = text[start..]
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("  "))
        .count();
    assert_eq!(rows, 8, "{text}");
    let o = bin(&["run", "--draws", "4096", "--quiet", "--out", out]);
    assert!(o.stdout.is_empty());
}
