//! The time dimension in reports (MODEL.md §12–§13): the month table on the terminal and the
//! backtest / update summaries.

use std::fmt::Write;

use crate::backtest::Backtest;
use crate::model::Model;
use crate::outputs::{
    month_index, MONTH_EFFECTIVE_TARIFF, MONTH_EXPORT_CHANGE_PCT, MONTH_EXPORT_LOSS,
};
use crate::stats::RunStats;

/// A compact month table (median and 5–95 % per month) of a monthly run; empty otherwise.
pub fn month_table_text(model: &Model, stats: &RunStats) -> String {
    if !model.monthly {
        return String::new();
    }
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    let units = if model.units.is_empty() {
        "units"
    } else {
        model.units.as_str()
    };
    table.set_header(vec![
        "month".to_string(),
        "exports vs base year, % (p50 [p5, p95])".to_string(),
        format!("export loss, {units} (p50 [p5, p95])"),
        "tariff (p50)".to_string(),
    ]);
    for t in 1..=model.months() {
        let cell = |k: usize, digits: usize| -> String {
            let Some(o) = month_index(model, t, k) else {
                return String::new();
            };
            let q = stats.output_summary(o).quantiles;
            format!("{:.d$} [{:.d$}, {:.d$}]", q[4], q[1], q[7], d = digits)
        };
        let tariff = month_index(model, t, MONTH_EFFECTIVE_TARIFF)
            .map(|o| format!("{:.3}", stats.output_summary(o).quantiles[4]))
            .unwrap_or_default();
        table.add_row(vec![
            model.month_label(t),
            cell(MONTH_EXPORT_CHANGE_PCT, 1),
            cell(MONTH_EXPORT_LOSS, 2),
            tariff,
        ]);
    }
    format!("month by month (MODEL.md §12):\n{table}\n")
}

/// The terminal summary of a backtest: scores per observation, coverage, and the update.
pub fn backtest_text(model: &Model, bt: &Backtest) -> String {
    let mut text = String::new();
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    table.set_header(vec!["observed", "value", "PIT", "CRPS", "p5", "p50", "p95"]);
    for s in &bt.scores {
        let o = &s.observation;
        let name = if o.label.is_empty() {
            o.output.clone()
        } else {
            format!("{} ({})", o.output, shorten(&o.label, 40))
        };
        table.add_row(vec![
            name,
            format!("{:.3}", o.value),
            format!("{:.3}", s.pit),
            format!("{:.3}", s.crps),
            format!("{:.3}", s.quantiles[0]),
            format!("{:.3}", s.quantiles[2]),
            format!("{:.3}", s.quantiles[4]),
        ]);
    }
    let (c50, c90) = bt.coverage();
    let _ = writeln!(text, "backtest (MODEL.md §13):\n{table}");
    let _ = writeln!(
        text,
        "inside the central 50 % band: {:.0} %, inside the 90 % band: {:.0} %; mean CRPS {:.4}",
        100.0 * c50,
        100.0 * c90,
        bt.mean_crps()
    );
    if let Some(u) = &bt.update {
        let _ = writeln!(
            text,
            "update on {} observation(s) with sd: ESS {:.0} of {} draws, log evidence {:.3}",
            u.observations,
            u.ess,
            bt.run.stats.draws(),
            u.log_evidence
        );
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header(vec!["scenario", "prior", "updated"]);
        for (sc, p) in model.scenarios.iter().zip(u.scenario_probabilities()) {
            table.add_row(vec![
                sc.id.clone(),
                format!("{:.3}", sc.probability),
                format!("{p:.3}"),
            ]);
        }
        let _ = writeln!(text, "{table}");
        let mut table = comfy_table::Table::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_header(vec![
            "output",
            "prior p50 [p5, p95]",
            "updated p50 [p5, p95]",
        ]);
        for (o, name) in crate::outputs::HEADLINE.iter().enumerate().take(7) {
            let p = bt.run.stats.output_summary(o).quantiles;
            let q = u.output_summary(o).quantiles;
            table.add_row(vec![
                name.to_string(),
                format!("{:.3} [{:.3}, {:.3}]", p[4], p[1], p[7]),
                format!("{:.3} [{:.3}, {:.3}]", q[4], q[1], q[7]),
            ]);
        }
        let _ = writeln!(text, "{table}");
    }
    text
}

fn shorten(text: &str, n: usize) -> String {
    if text.chars().count() > n {
        format!("{}…", text.chars().take(n - 1).collect::<String>())
    } else {
        text.to_string()
    }
}
