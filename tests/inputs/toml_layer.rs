//! Refusals of the TOML layer (issue 15, items 7 and 10): every unknown key of a file is
//! reported at its line and column with the nearest accepted key, a value of the wrong type
//! names its key path and the accepted range, and a key nested too deep is found on its line.

use tariffsim::model::{compile_model, ModelError, DEFAULT_MODEL_TEXT};

fn diagnostics(text: &str) -> Vec<String> {
    match compile_model(text, "m.toml") {
        Err(ModelError::Invalid { diagnostics, .. }) => diagnostics
            .iter()
            .map(|d| format!("{}:{}: {}: {}", d.line, d.column, d.key, d.message))
            .collect(),
        other => panic!("expected a refusal, got {:?}", other.map(|m| m.name)),
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.starts_with(needle)).unwrap() + 1
}

#[test]
fn every_unknown_key_is_reported_with_a_suggestion() {
    let text = DEFAULT_MODEL_TEXT
        .replacen("\ngdp = ", "\ngdpp = 1\nfoo = 2\ngdp = ", 1)
        .replacen("\nepsilon = ", "\nepsilom = 1\nepsilon = ", 1);
    let found = diagnostics(&text);
    let gdpp = line_of(&text, "gdpp");
    let epsilom = line_of(&text, "epsilom");
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with(&format!(
            "{gdpp}:1: baseline.gdpp: unknown key `gdpp` in `baseline`; did you mean `gdp`?"
        )),
        "{found:#?}"
    );
    assert!(
        found[1].starts_with(&format!("{}:1: baseline.foo: unknown key `foo`", gdpp + 1)),
        "{found:#?}"
    );
    assert!(!found[1].contains("did you mean"), "{found:#?}");
    assert!(
        found[2].starts_with(&format!("{epsilom}:1: sectors.autos.epsilom: unknown key")),
        "{found:#?}"
    );
    assert!(found[2].contains("did you mean `epsilon`?"), "{found:#?}");
}

#[test]
fn a_wrong_type_names_the_key_and_the_accepted_range() {
    let text = DEFAULT_MODEL_TEXT
        .replacen("\ngdp = 1868.0", "\ngdp = \"1868.0\"", 1)
        .replacen("\nmonthly = true", "\nmonthly = 1", 1)
        .replacen("\nrho = ", "\nrhoo = 1\nrho = ", 1);
    assert!(
        text.contains("gdp = \"1868.0\""),
        "the default model's gdp line moved"
    );
    let found = diagnostics(&text);
    let gdp = line_of(&text, "gdp = ");
    let monthly = line_of(&text, "monthly = 1");
    let all = found.join("\n");
    assert!(
        all.contains(&format!("{gdp}:7: baseline.gdp: got \"1868.0\", where a number belongs; accepted: > 0 (a number is written without quotes: 1868.0)")),
        "{found:#?}"
    );
    assert!(
        all.contains(&format!(
            "{monthly}:11: model.monthly: got 1, where true or false belongs"
        )),
        "{found:#?}"
    );
    // The scan goes on past the type errors to the unknown key of a later table.
    assert!(
        all.contains("unknown key `rhoo`") && all.contains("did you mean `rho`?"),
        "{found:#?}"
    );
    assert!(!all.contains("invalid type"), "{found:#?}");
}

#[test]
fn a_key_nested_too_deep_is_found_on_its_line() {
    let deep = vec!["k"; 300].join(".");
    let text = DEFAULT_MODEL_TEXT.replacen("\ngdp = ", &format!("\n{deep} = 1\ngdp = "), 1);
    let found = diagnostics(&text);
    let line = line_of(&text, "k.k.k");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with(&format!("{line}:1: : a key nested 300 levels deep")),
        "{found:#?}"
    );
}
