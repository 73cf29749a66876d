//! The sweeps of a results file and their USL fits: one curve per swept parameter and
//! workload (partitions, threads, queue depth, consumers, groups: workload `config.sweep` /
//! `config.sweep_value`, one point per sweep value at its median throughput) and, in fleet
//! results, one per workload of the scaling phase against the hosts running at once.
//! Shared by the report's scaling charts and `segbench fit`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::usl::{self, FitError, UslFit};
use crate::format::{self, MISSING};
use crate::schema::{Kind, ResultsFile, WorkloadResult};
use crate::table::{Align, Table};

/// The parameter of the fleet's scaling phase.
pub const HOSTS: &str = "hosts";

/// The sweep a workload belongs to: `config.sweep` (the parameter) and `config.sweep_value`.
pub fn sweep_of(w: &WorkloadResult) -> Option<(String, f64)> {
    let param = w.config.get("sweep")?.as_str()?.trim();
    let value = w.config.get("sweep_value")?.as_f64()?;
    (!param.is_empty() && value.is_finite()).then(|| (param.to_string(), value))
}

/// A value of N as text: whole numbers in full (`16`, `1024`), others to three significant
/// digits.
pub fn n_label(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        format::sig(n)
    }
}

/// One measured point of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// The swept value (N).
    pub n: f64,
    /// Median throughput over the repetitions (fleet: the aggregate), bytes/s.
    pub bytes_per_s: f64,
    /// Slowest repetition, bytes/s, when there are repetitions.
    pub min_bytes_per_s: Option<f64>,
    /// Fastest repetition, bytes/s, when there are repetitions.
    pub max_bytes_per_s: Option<f64>,
    /// The workload measured.
    pub workload: String,
}

/// One curve: a workload's points against one swept parameter, by N.
#[derive(Debug, Clone, PartialEq)]
pub struct Sweep {
    /// The swept parameter: `partitions`, `threads`, `qd`, `consumers`, `groups` or [`HOSTS`].
    pub param: String,
    /// The curve: `group: engine` without the swept option (e.g. `scale-qd: uring:direct`),
    /// or the fleet workload's name.
    pub curve: String,
    /// The points, by N.
    pub points: Vec<SweepPoint>,
}

impl Sweep {
    /// The USL fit of the points, or why there is none.
    pub fn fit(&self) -> Result<UslFit, FitError> {
        let pts: Vec<(f64, f64)> = self.points.iter().map(|p| (p.n, p.bytes_per_s)).collect();
        usl::fit(&pts)
    }
}

/// The engine spec without the swept option: `uring:direct,qd=4` swept over `qd` is
/// `uring:direct`.
pub fn engine_without(engine: &str, param: &str) -> String {
    let Some((name, opts)) = engine.split_once(':') else {
        return engine.to_string();
    };
    let kept: Vec<&str> = opts
        .split(',')
        .filter(|o| {
            let key = o.split('=').next().unwrap_or("").trim();
            !key.eq_ignore_ascii_case(param) && !o.trim().is_empty()
        })
        .collect();
    if kept.is_empty() {
        name.to_string()
    } else {
        format!("{name}:{}", kept.join(","))
    }
}

/// The workload sweeps: by parameter (alphabetical), then curves in file order; workloads
/// without figures are left out.
pub fn workload_sweeps(r: &ResultsFile) -> Vec<Sweep> {
    let mut by_param: BTreeMap<String, Vec<Sweep>> = BTreeMap::new();
    for w in r.workloads.iter().filter(|w| w.has_figures()) {
        let (Some((param, n)), Some(s)) = (sweep_of(w), &w.summary) else {
            continue;
        };
        let t = &s.throughput_bytes_per_s;
        let engine = engine_without(&w.engine, &param);
        let curve = match w.name.split_once('/').map(|(g, _)| g) {
            Some(group) if !group.is_empty() => format!("{group}: {engine}"),
            _ => format!(
                "{} {engine}",
                match w.kind {
                    Kind::Write => "write",
                    Kind::Read => "read",
                }
            ),
        };
        let point = SweepPoint {
            n,
            bytes_per_s: t.median,
            min_bytes_per_s: Some(t.min),
            max_bytes_per_s: Some(t.max),
            workload: w.name.clone(),
        };
        let curves = by_param.entry(param.clone()).or_default();
        match curves.iter_mut().find(|c| c.curve == curve) {
            Some(c) => c.points.push(point),
            None => curves.push(Sweep {
                param,
                curve,
                points: vec![point],
            }),
        }
    }
    let mut out: Vec<Sweep> = by_param.into_values().flatten().collect();
    for s in &mut out {
        s.points.sort_by(|a, b| a.n.total_cmp(&b.n));
    }
    out
}

/// The fleet's scaling phase as sweeps over [`HOSTS`], one per workload; empty without fleet
/// results.
pub fn fleet_sweeps(r: &ResultsFile) -> Vec<Sweep> {
    let Some(f) = &r.fleet else {
        return Vec::new();
    };
    let mut out: Vec<Sweep> = Vec::new();
    for row in &f.scaling {
        let point = SweepPoint {
            n: f64::from(row.hosts),
            bytes_per_s: row.aggregate_bytes_per_s,
            min_bytes_per_s: None,
            max_bytes_per_s: None,
            workload: row.workload.clone(),
        };
        match out.iter_mut().find(|s| s.curve == row.workload) {
            Some(s) => s.points.push(point),
            None => out.push(Sweep {
                param: HOSTS.into(),
                curve: row.workload.clone(),
                points: vec![point],
            }),
        }
    }
    for s in &mut out {
        s.points.sort_by(|a, b| a.n.total_cmp(&b.n));
    }
    out
}

/// Every sweep of the file: the workload sweeps, then the fleet's hosts.
pub fn sweeps(r: &ResultsFile) -> Vec<Sweep> {
    let mut out = workload_sweeps(r);
    out.extend(fleet_sweeps(r));
    out
}

/// One sweep's fit, as `segbench fit --json` writes it. Throughputs in bytes/s.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitRow {
    /// The swept parameter.
    pub sweep: String,
    /// The curve (workload group and engine, or fleet workload).
    pub curve: String,
    /// Points measured.
    pub points: usize,
    /// Smallest N measured; null without points.
    pub n_min: Option<f64>,
    /// Largest N measured; null without points.
    pub n_max: Option<f64>,
    /// λ, bytes/s; null without a fit.
    pub lambda_bytes_per_s: Option<f64>,
    /// σ (contention); negative: superlinear.
    pub sigma: Option<f64>,
    /// κ (coherency), ≥ 0.
    pub kappa: Option<f64>,
    /// N* = √((1 − σ)/κ); null when κ = 0 or without a fit.
    pub n_star: Option<f64>,
    /// The fitted throughput at N*, bytes/s.
    pub peak_bytes_per_s: Option<f64>,
    /// R² of the fit on the throughputs; null when they are all equal.
    pub r_squared: Option<f64>,
    /// σ < 0: the points grow faster than linearly.
    pub superlinear: bool,
    /// Why there is no fit, when there is none.
    pub no_fit: Option<String>,
}

impl FitRow {
    /// The row of `sweep`.
    pub fn of(sweep: &Sweep) -> FitRow {
        let ns = || sweep.points.iter().map(|p| p.n);
        let fit = sweep.fit();
        let f = fit.as_ref().ok();
        FitRow {
            sweep: sweep.param.clone(),
            curve: sweep.curve.clone(),
            points: sweep.points.len(),
            n_min: ns().reduce(f64::min),
            n_max: ns().reduce(f64::max),
            lambda_bytes_per_s: f.map(|f| f.lambda),
            sigma: f.map(|f| f.sigma),
            kappa: f.map(|f| f.kappa),
            n_star: f.and_then(UslFit::n_star),
            peak_bytes_per_s: f.and_then(UslFit::peak),
            r_squared: f.and_then(|f| f.r_squared),
            superlinear: f.is_some_and(UslFit::superlinear),
            no_fit: fit.err().map(|e| e.to_string()),
        }
    }
}

/// The fit of every sweep of `r` ([`sweeps`]).
pub fn fit_rows(r: &ResultsFile) -> Vec<FitRow> {
    sweeps(r).iter().map(FitRow::of).collect()
}

/// A short description of a fit for legends and captions: `σ 0.05, κ 0.0012, N* 28, R² 0.99`.
pub fn fit_label(f: &UslFit) -> String {
    let mut s = format!("σ {}", format::sig(f.sigma));
    if f.superlinear() {
        s.push_str(" (superlinear)");
    }
    s.push_str(&format!(", κ {}", format::sig(f.kappa)));
    match f.n_star() {
        Some(n) => s.push_str(&format!(", N* {}", format::sig(n))),
        None => s.push_str(", no peak"),
    }
    if let Some(r2) = f.r_squared {
        s.push_str(&format!(", R² {}", format::significant(r2, 3)));
    }
    s
}

/// `rows` as a table: sweep, curve, N range, points, λ, σ, κ, N*, the peak, R², and a note
/// (why there is no fit, or superlinear).
pub fn fits_table(rows: &[FitRow]) -> Table {
    let opt = |x: Option<f64>, f: fn(f64) -> String| x.map(f).unwrap_or_else(|| MISSING.into());
    let rows = rows
        .iter()
        .map(|r| {
            let range = match (r.n_min, r.n_max) {
                (Some(a), Some(b)) => format!("{}–{}", n_label(a), n_label(b)),
                _ => MISSING.into(),
            };
            let note = match (&r.no_fit, r.superlinear, r.kappa) {
                (Some(why), _, _) => format!("no fit: {why}"),
                (None, true, _) => "superlinear (σ < 0)".into(),
                (None, false, Some(0.0)) => "no peak (κ = 0)".into(),
                _ => String::new(),
            };
            vec![
                r.sweep.clone(),
                r.curve.clone(),
                range,
                r.points.to_string(),
                opt(r.lambda_bytes_per_s, format::mb_per_s_value),
                opt(r.sigma, format::sig),
                opt(r.kappa, format::sig),
                opt(r.n_star, format::sig),
                opt(r.peak_bytes_per_s, format::mb_per_s_value),
                opt(r.r_squared, |x| format::significant(x, 3)),
                note,
            ]
        })
        .collect();
    Table {
        columns: vec![
            ("sweep".into(), Align::Left),
            ("curve".into(), Align::Left),
            ("N".into(), Align::Right),
            ("points".into(), Align::Right),
            ("λ (MB/s)".into(), Align::Right),
            ("σ".into(), Align::Right),
            ("κ".into(), Align::Right),
            ("N*".into(), Align::Right),
            ("peak (MB/s)".into(), Align::Right),
            ("R²".into(), Align::Right),
            ("note".into(), Align::Left),
        ],
        rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fleet_results, with_sweeps};

    #[test]
    fn sweeps_group_by_parameter_and_engine_without_the_swept_option() {
        assert_eq!(engine_without("uring:direct,qd=4", "qd"), "uring:direct");
        assert_eq!(engine_without("uring:qd=4", "qd"), "uring");
        assert_eq!(engine_without("buffered", "partitions"), "buffered");
        let s = workload_sweeps(&with_sweeps());
        let names: Vec<(&str, &str, usize)> = s
            .iter()
            .map(|s| (s.param.as_str(), s.curve.as_str(), s.points.len()))
            .collect();
        assert_eq!(
            names,
            [
                ("partitions", "scale-partitions: buffered", 4),
                ("qd", "scale-qd: uring:direct", 3)
            ]
        );
        let ns: Vec<f64> = s[0].points.iter().map(|p| p.n).collect();
        assert_eq!(ns, [1.0, 2.0, 4.0, 8.0]);
        assert!(s[0].points[0].min_bytes_per_s.unwrap() <= s[0].points[0].bytes_per_s);
        assert!(workload_sweeps(&crate::testing::results()).is_empty());
    }

    #[test]
    fn rows_fit_four_points_and_say_why_three_are_not_enough() {
        let rows = fit_rows(&with_sweeps());
        assert_eq!(rows.len(), 2);
        let p = &rows[0];
        assert_eq!((p.n_min, p.n_max, p.points), (Some(1.0), Some(8.0), 4));
        assert!(p.no_fit.is_none(), "{p:?}");
        assert!(p.sigma.is_some() && p.kappa.unwrap() >= 0.0 && p.r_squared.is_some());
        let q = &rows[1];
        assert_eq!(q.points, 3);
        assert!(q.sigma.is_none() && q.lambda_bytes_per_s.is_none());
        assert!(
            q.no_fit.as_deref().unwrap().contains("needs at least 4"),
            "{q:?}"
        );
        let text = fits_table(&rows).render_text(&crate::table::TextLayout {
            gap: "  ",
            header: true,
            rule: None,
            pad_last: false,
        });
        assert!(text.contains("no fit: 3 measured points"), "{text}");
        assert!(text.contains("1–8"), "{text}");
        let json = serde_json::to_value(&rows).unwrap();
        assert_eq!(json[1]["sigma"], serde_json::Value::Null);
        assert_eq!(json[0]["sweep"], "partitions");
    }

    #[test]
    fn a_known_curve_comes_back_from_the_rows() {
        // A partitions sweep on an exact USL curve: the row gives back σ, κ and N*.
        let mut r = with_sweeps();
        let (lambda, sigma, kappa) = (300e6, 0.1, 0.01);
        for w in r
            .workloads
            .iter_mut()
            .filter(|w| sweep_of(w).is_some_and(|(p, _)| p == "partitions"))
        {
            let n = sweep_of(w).unwrap().1;
            let x = lambda * n / (1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0));
            let s = w.summary.as_mut().unwrap();
            s.throughput_bytes_per_s.median = x;
        }
        let row = FitRow::of(&workload_sweeps(&r)[0]);
        assert!((row.sigma.unwrap() - sigma).abs() < 1e-6, "{row:?}");
        assert!((row.kappa.unwrap() - kappa).abs() < 1e-8, "{row:?}");
        assert!((row.n_star.unwrap() - (0.9f64 / 0.01).sqrt()).abs() < 1e-3);
        assert!(!row.superlinear);
    }

    #[test]
    fn fleet_scaling_is_a_sweep_over_hosts() {
        let r = fleet_results();
        let f = fleet_sweeps(&r);
        let rows = r.fleet.as_ref().unwrap().scaling.len();
        assert_eq!(f.iter().map(|s| s.points.len()).sum::<usize>(), rows);
        assert!(f.iter().all(|s| s.param == HOSTS));
        assert!(f
            .iter()
            .all(|s| s.points.windows(2).all(|w| w[0].n < w[1].n)));
        assert!(fleet_sweeps(&with_sweeps()).is_empty());
        assert_eq!(sweeps(&r).len(), workload_sweeps(&r).len() + f.len());
    }
}
