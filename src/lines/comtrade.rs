//! `tariffsim lines import`: a UN Comtrade CSV download → a line file (MODEL.md §14).
//!
//! The input is the CSV that Comtrade+ (comtradeplus.un.org, "Trade data" → Download CSV) and
//! its API (`comtradeapi.un.org`, `format=csv`) export: one row per reporter, partner, flow,
//! period and commodity, with the columns `typeCode, freqCode, refPeriodId, refYear, refMonth,
//! period, reporterCode, reporterISO, reporterDesc, flowCode, flowDesc, partnerCode,
//! partnerISO, partnerDesc, partner2Code, …, cmdCode, cmdDesc, aggrLevel, isLeaf, customsCode,
//! …, motCode, …, cifvalue, fobvalue, primaryValue, …` (docs/lines.md lists them all and cites
//! the sources). Columns are found by name, so their order and any extra columns do not matter.
//!
//! Rows kept: the reporter, partner, year and flow asked for; the totals over the breakdowns a
//! "detailed" download adds (partner2Code 0 = World, customsCode C00 = all procedures, motCode
//! 0 = all modes of transport), where those columns exist; commodity codes of the asked number
//! of digits (HS6 by default). Each kept row becomes a line with `exports` = primaryValue
//! (USD) × `scale` (1e-9 by default: USD bn, the units of the shipped models), and `sector`
//! from the concordance's longest matching prefix when one is given.

use std::collections::HashMap;

use super::file::{diagnostic_at, valid_code, CODE_RULE};
use super::{longest_prefix, CATCH_ALL};
use crate::model::{Diagnostic, ModelError};

/// What to take from a Comtrade download.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Reporter: a UN M49 numeric code (410) or an ISO3 code (KOR).
    pub reporter: String,
    /// Partner: a numeric code (842) or an ISO3 code (USA).
    pub partner: String,
    /// Reference year.
    pub year: u32,
    /// Flow code: X (exports, the default), M (imports), RX, RM.
    pub flow: String,
    /// Digits of the commodity codes kept (6 = HS6).
    pub digits: usize,
    /// Multiplier from USD to the model's units (1e-9 = USD bn).
    pub scale: f64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            reporter: String::new(),
            partner: String::new(),
            year: 0,
            flow: "X".into(),
            digits: 6,
            scale: 1e-9,
        }
    }
}

/// The result of an import: the line file's text and what was kept and skipped.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The line file (CSV: code, exports, sector, description).
    pub text: String,
    /// Lines written.
    pub lines: usize,
    /// Σ exports of the lines (model units).
    pub total: f64,
    /// Rows of the asked reporter/partner/year/flow skipped for a zero or empty value.
    pub zero_rows: usize,
    /// Rows of the asked selection skipped for codes of another length.
    pub other_levels: usize,
}

fn invalid(file: &str, text: &str, diagnostics: Vec<Diagnostic>) -> ModelError {
    ModelError::Invalid {
        file: file.to_string(),
        source_text: text.to_string(),
        diagnostics,
    }
}

/// Reads a concordance: CSV with columns `prefix` and `sector` (prefix `*` = every code).
pub fn read_concordance(text: &str, file: &str) -> Result<Vec<(String, String)>, ModelError> {
    let mut diagnostics = Vec::new();
    let mut out = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = reader.headers().cloned().unwrap_or_default();
    let find = |name: &str| headers.iter().position(|h| h.trim() == name);
    let (Some(p), Some(s)) = (find("prefix"), find("sector")) else {
        return Err(invalid(
            file,
            text,
            vec![diagnostic_at(
                text,
                0,
                "",
                "the header must name the columns `prefix` and `sector`; accepted: a CSV with prefix,sector (prefix: a code prefix or *, sector: a sector id)".into(),
            )],
        ));
    };
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let at = e.position().map(|p| p.byte() as usize).unwrap_or(0);
                diagnostics.push(diagnostic_at(text, at, "", format!("not a CSV row: {e}")));
                break;
            }
        };
        let at = record.position().map(|p| p.byte() as usize).unwrap_or(0);
        let prefix = record.get(p).unwrap_or("").trim();
        let sector = record.get(s).unwrap_or("").trim();
        if prefix != CATCH_ALL && !valid_code(prefix) {
            diagnostics.push(diagnostic_at(
                text,
                at,
                "prefix",
                format!("invalid prefix `{prefix}`; accepted: {CODE_RULE}, or * for every code"),
            ));
        }
        let id_ok = !sector.is_empty()
            && sector
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !id_ok {
            diagnostics.push(diagnostic_at(
                text,
                at,
                "sector",
                format!("invalid sector id `{sector}`; accepted: letters, digits, `_` and `-`, not empty"),
            ));
        }
        if out.iter().any(|(q, _)| q == prefix) {
            diagnostics.push(diagnostic_at(
                text,
                at,
                "prefix",
                format!("prefix `{prefix}` appears twice; accepted: each prefix once"),
            ));
        }
        out.push((prefix.to_string(), sector.to_string()));
    }
    if diagnostics.is_empty() {
        Ok(out)
    } else {
        Err(invalid(file, text, diagnostics))
    }
}

/// Turns Comtrade CSV text into a line file; `concordance` maps code prefixes to sectors.
pub fn import(
    text: &str,
    file: &str,
    options: &ImportOptions,
    concordance: Option<&[(String, String)]>,
) -> Result<Imported, ModelError> {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let skip = text.len() - body.len();
    let fail = |offset: usize, key: &str, message: String| {
        invalid(
            file,
            text,
            vec![diagnostic_at(text, skip + offset, key, message)],
        )
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(body.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| fail(0, "", format!("cannot read the header row: {e}")))?
        .clone();
    let find = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| headers.iter().position(|h| h.trim() == *n))
    };
    let required = |names: &[&str]| {
        find(names).ok_or_else(|| {
            fail(
                0,
                names[0],
                format!(
                    "the header has no `{}` column; accepted: a UN Comtrade CSV export (Comtrade+ or the API with format=csv), whose header has typeCode, …, reporterCode, reporterISO, flowCode, partnerCode, partnerISO, …, cmdCode, cmdDesc, …, primaryValue (docs/lines.md)",
                    names.join("` or `")
                ),
            )
        })
    };
    let reporter_code = required(&["reporterCode"])?;
    let reporter_iso = find(&["reporterISO"]);
    let partner_code = required(&["partnerCode"])?;
    let partner_iso = find(&["partnerISO"]);
    let flow = required(&["flowCode"])?;
    let year = required(&["refYear", "period"])?;
    let cmd = required(&["cmdCode"])?;
    let value = required(&["primaryValue"])?;
    let description = find(&["cmdDesc"]);
    // Totals over a detailed download's breakdowns (0 = World, C00 = all procedures, 0 = all
    // modes); a classic download has only these.
    let totals = [
        (find(&["partner2Code"]), "0"),
        (find(&["customsCode"]), "C00"),
        (find(&["motCode"]), "0"),
    ];
    let matches = |record: &csv::StringRecord, code: usize, iso: Option<usize>, want: &str| {
        let want = want.trim();
        record.get(code).map(str::trim) == Some(want)
            || iso
                .and_then(|i| record.get(i))
                .is_some_and(|v| v.trim().eq_ignore_ascii_case(want))
    };
    let mut kept: Vec<(String, f64, String, usize)> = Vec::new();
    let mut first_of: HashMap<String, usize> = HashMap::new();
    let (mut zero_rows, mut other_levels) = (0, 0);
    let mut seen_selection = false;
    let year_text = options.year.to_string();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let at = e.position().map(|p| p.byte() as usize).unwrap_or(0);
            fail(at, "", format!("not a CSV row: {e}"))
        })?;
        let at = record.position().map(|p| p.byte() as usize).unwrap_or(0);
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        let selected = matches(&record, reporter_code, reporter_iso, &options.reporter)
            && matches(&record, partner_code, partner_iso, &options.partner)
            && record.get(flow).map(str::trim) == Some(options.flow.as_str())
            && record.get(year).map(str::trim) == Some(year_text.as_str())
            && totals
                .iter()
                .all(|(c, total)| c.is_none_or(|c| record.get(c).map(str::trim) == Some(total)));
        if !selected {
            continue;
        }
        seen_selection = true;
        let code = record.get(cmd).unwrap_or("").trim();
        if code.len() != options.digits || code == "TOTAL" {
            other_levels += 1;
            continue;
        }
        if !valid_code(code) {
            return Err(fail(
                at,
                "cmdCode",
                format!("invalid commodity code `{code}`; accepted: {CODE_RULE}"),
            ));
        }
        let raw = record.get(value).unwrap_or("").trim();
        let usd = if raw.is_empty() {
            0.0
        } else {
            match raw.parse::<f64>() {
                Ok(x) if x.is_finite() && x >= 0.0 => x,
                _ => {
                    return Err(fail(
                        at,
                        "primaryValue",
                        format!("`{raw}` is not a trade value; accepted: a number >= 0 (USD)"),
                    ))
                }
            }
        };
        if usd == 0.0 {
            zero_rows += 1;
            continue;
        }
        if let Some(first) = first_of.get(code) {
            return Err(fail(
                at,
                "cmdCode",
                format!(
                    "code `{code}` appears again (first on line {first}) for the same reporter, partner, year and flow; accepted: one row per code (download the \"classic\" breakdown, or totals over partner 2, customs procedure and mode of transport)"
                ),
            ));
        }
        first_of.insert(code.to_string(), line);
        let desc = description
            .and_then(|d| record.get(d))
            .unwrap_or("")
            .trim()
            .to_string();
        kept.push((code.to_string(), usd * options.scale, desc, at));
    }
    if kept.is_empty() {
        let why = if seen_selection {
            format!(
                "rows for reporter {}, partner {}, year {}, flow {} exist, but none has a {}-digit code with a value > 0",
                options.reporter, options.partner, options.year, options.flow, options.digits
            )
        } else {
            format!(
                "no row has reporter {}, partner {}, year {} and flow {}",
                options.reporter, options.partner, options.year, options.flow
            )
        };
        return Err(fail(
            0,
            "",
            format!("{why}; accepted: a download that holds the selection asked for (--reporter, --partner, --year, --flow, --digits)"),
        ));
    }
    let mut out = csv::WriterBuilder::new().from_writer(Vec::new());
    let write_err = |e: csv::Error| fail(0, "", format!("cannot write the line file: {e}"));
    out.write_record(["code", "exports", "sector", "description"])
        .map_err(write_err)?;
    let mut unassigned = Vec::new();
    let mut total = 0.0;
    for (code, exports, desc, at) in &kept {
        let sector = match concordance {
            None => String::new(),
            Some(c) => match longest_prefix(code, c.iter().map(|(p, _)| p.as_str())) {
                Some((i, _)) => c[i].1.clone(),
                None => {
                    unassigned.push(diagnostic_at(
                        text,
                        skip + at,
                        "cmdCode",
                        format!("code `{code}` matches no prefix of the concordance; accepted: a concordance whose prefixes cover every code (add a `*` row for the rest)"),
                    ));
                    continue;
                }
            },
        };
        total += exports;
        // Shortest text that parses back to the same f64.
        // The description is free text from the download: spreadsheet-safe, as every text
        // cell the tool writes (issue 15, item 4). Code and sector are read back and matched,
        // and are checked when the file is read (a code is letters and digits).
        let desc = crate::report::csv_text(desc);
        out.write_record([code.as_str(), &format!("{exports:?}"), &sector, &desc])
            .map_err(write_err)?;
    }
    if !unassigned.is_empty() {
        return Err(invalid(file, text, unassigned));
    }
    let bytes = out
        .into_inner()
        .map_err(|e| fail(0, "", format!("cannot write the line file: {e}")))?;
    Ok(Imported {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        lines: kept.len(),
        total,
        zero_rows,
        other_levels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "typeCode,freqCode,refPeriodId,refYear,refMonth,period,reporterCode,reporterISO,reporterDesc,flowCode,flowDesc,partnerCode,partnerISO,partnerDesc,partner2Code,partner2ISO,partner2Desc,classificationCode,classificationSearchCode,isOriginalClassification,cmdCode,cmdDesc,aggrLevel,isLeaf,customsCode,customsDesc,mosCode,motCode,motDesc,qtyUnitCode,qtyUnitAbbr,qty,isQtyEstimated,altQtyUnitCode,altQtyUnitAbbr,altQty,isAltQtyEstimated,netWgt,isNetWgtEstimated,grossWgt,isGrossWgtEstimated,cifvalue,fobvalue,primaryValue,legacyEstimationFlag,isReported,isAggregate";

    fn row(code: &str, partner: &str, value: &str) -> String {
        format!("C,A,20240101,2024,52,2024,410,KOR,Rep. of Korea,X,Export,{partner},USA,USA,0,W00,World,H6,HS,True,{code},\"Desc, {code}\",6,True,C00,TOTAL CPC,0,0,TOTAL MOT,-1,N/A,0,False,-1,N/A,0,False,0,False,0,False,,{value},{value},0,True,False")
    }

    #[test]
    fn keeps_the_selection_and_scales_to_billions() {
        let text = [
            HEADER.to_string(),
            row("870323", "842", "1500000000"),
            row("870829", "842", "250000000"),
            row("87", "842", "1750000000"),
            row("854231", "156", "999"),
            row("300490", "842", "0"),
        ]
        .join("\n");
        let options = ImportOptions {
            reporter: "KOR".into(),
            partner: "842".into(),
            year: 2024,
            ..ImportOptions::default()
        };
        let concordance = vec![
            ("8703".to_string(), "autos".to_string()),
            ("87".to_string(), "parts".to_string()),
        ];
        let out = import(&text, "t.csv", &options, Some(&concordance)).unwrap();
        assert_eq!(out.lines, 2);
        assert_eq!(out.zero_rows, 1);
        assert_eq!(out.other_levels, 1);
        assert!(
            out.text.contains("870323,1.5,autos,\"Desc, 870323\""),
            "{}",
            out.text
        );
        assert!(out.text.contains("870829,0.25,parts"), "{}", out.text);
    }
}
