//! Steady state, as the SNIA Solid State Storage Performance Test Specification (PTS) defines it:
//! a workload runs in rounds, and its figure is steady when, over a measurement window of the
//! last [`WINDOW_ROUNDS`] rounds,
//!
//! 1. the range of the per-round figures, `max(y) − min(y)`, is at most [`MAX_RANGE_OF_MEAN`]
//!    (20 %) of their mean, and
//! 2. the excursion of the least-squares line fitted to them over the window is at most
//!    [`MAX_EXCURSION_OF_MEAN`] (10 %) of their mean.
//!
//! PTS (Enterprise v1.1 and v2.0, "Steady State" in the definitions, §2.1) words the second
//! criterion as "[max(y) − min(y) of the best linear curve fit of the data within the
//! measurement window] is within 10 % of Ave(y)". A line's largest minus smallest value over the
//! window is the absolute slope times the distance between the first and the last round, so the
//! formula used here is
//!
//! ```text
//! excursion = |b| · (n − 1)        b = Σ (x − x̄)(y − ȳ) / Σ (x − x̄)²,  x = 0 … n−1 (round number)
//! steady ⇔ max(y) − min(y) ≤ 0.20 · ȳ   and   |b| · (n − 1) ≤ 0.10 · ȳ
//! ```
//!
//! (with n = 5, the fitted line's excursion is 4 |b|, not 5 |b|: the line is drawn from the first
//! round's centre to the last one's). A window whose mean is not positive (nothing moved) is
//! never steady. This module only judges series; the runner owns the clock and the rounds.

use serde::{Deserialize, Serialize};

use crate::schema::{Repetition, Timeline};

/// Rounds in the measurement window (PTS: 5).
pub const WINDOW_ROUNDS: usize = 5;

/// Largest range of the window's figures, as a share of their mean (PTS: 20 %).
pub const MAX_RANGE_OF_MEAN: f64 = 0.20;

/// Largest excursion of the window's least-squares line, as a share of the mean (PTS: 10 %).
pub const MAX_EXCURSION_OF_MEAN: f64 = 0.10;

/// The key of [`Repetition::extra`] that holds a repetition's [`SteadyState`].
pub const EXTRA_KEY: &str = "steady_state";

/// A measurement window judged by the PTS criteria. Figures are in the series' unit (bytes/s
/// for throughput).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Window {
    /// 0-based index of the window's first round in the whole series.
    pub first_round: usize,
    /// Rounds in the window ([`WINDOW_ROUNDS`]).
    pub rounds: usize,
    /// Mean of the window's figures.
    pub mean: f64,
    /// `max − min` of the window's figures.
    pub range: f64,
    /// Least-squares slope across the window, per round.
    pub slope_per_round: f64,
    /// `|slope_per_round| · (rounds − 1)`: how far the fitted line moves across the window.
    pub excursion: f64,
    /// Both criteria hold (and the window starts no earlier than the first eligible round).
    pub steady: bool,
}

impl Window {
    /// `range / mean` (infinite when the mean is not positive).
    pub fn range_of_mean(&self) -> f64 {
        share(self.range, self.mean)
    }

    /// `excursion / mean` (infinite when the mean is not positive).
    pub fn excursion_of_mean(&self) -> f64 {
        share(self.excursion, self.mean)
    }
}

fn share(x: f64, mean: f64) -> f64 {
    if mean > 0.0 {
        x / mean
    } else {
        f64::INFINITY
    }
}

/// Judges the last [`WINDOW_ROUNDS`] figures of `rounds`. A window that starts before
/// `first_eligible` (rounds before it are not allowed in the window, e.g. before the run passed
/// the dirty limit) is reported but never steady. `None` with fewer than [`WINDOW_ROUNDS`] rounds.
pub fn assess(rounds: &[f64], first_eligible: usize) -> Option<Window> {
    let n = WINDOW_ROUNDS;
    if rounds.len() < n {
        return None;
    }
    let first_round = rounds.len() - n;
    let y = &rounds[first_round..];
    let mean = y.iter().sum::<f64>() / n as f64;
    let max = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = y.iter().copied().fold(f64::INFINITY, f64::min);
    let range = max - min;
    // Least squares on x = 0..n-1: x̄ = (n−1)/2.
    let x_mean = (n - 1) as f64 / 2.0;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, v) in y.iter().enumerate() {
        let dx = i as f64 - x_mean;
        sxy += dx * (v - mean);
        sxx += dx * dx;
    }
    let slope_per_round = sxy / sxx;
    let excursion = slope_per_round.abs() * (n - 1) as f64;
    let steady = mean > 0.0
        && mean.is_finite()
        && first_round >= first_eligible
        && range <= MAX_RANGE_OF_MEAN * mean
        && excursion <= MAX_EXCURSION_OF_MEAN * mean;
    Some(Window {
        first_round,
        rounds: n,
        mean,
        range,
        slope_per_round,
        excursion,
        steady,
    })
}

/// The per-round throughput (bytes/s) of a repetition's timeline cut into rounds of `round_s`:
/// complete rounds only (the first `elapsed_s / round_s` of them). `round_s` must be a whole
/// number of timeline intervals; `None` otherwise.
pub fn rounds_from_timeline(timeline: &Timeline, round_s: f64, elapsed_s: f64) -> Option<Vec<f64>> {
    if timeline.interval_s <= 0.0 || round_s <= 0.0 {
        return None;
    }
    let per = round_s / timeline.interval_s;
    let k = per.round();
    if k < 1.0 || (per - k).abs() > 1e-6 {
        return None;
    }
    let k = k as usize;
    // A tolerance of a microsecond: a round the clock ended exactly on is complete.
    let complete = ((elapsed_s + 1e-6) / round_s).floor() as usize;
    let n = complete.min(timeline.bytes.len() / k);
    Some(
        (0..n)
            .map(|r| timeline.bytes[r * k..(r + 1) * k].iter().sum::<u64>() as f64 / round_s)
            .collect(),
    )
}

/// What a repetition run `--until-steady` found: every round's figure, the window judged last
/// and whether it was steady. Kept in [`Repetition::extra`] under [`EXTRA_KEY`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SteadyState {
    /// Length of a round, seconds.
    pub round_s: f64,
    /// Throughput of each complete round, bytes/s, in run order.
    pub rounds_bytes_per_s: Vec<f64>,
    /// Rounds before this one may not be in the window (the workload's size was not written
    /// yet, e.g. before the dirty limit); 0 when every round may.
    pub first_eligible_round: usize,
    /// The last [`WINDOW_ROUNDS`] rounds judged (bytes/s); absent with fewer rounds.
    pub window: Option<Window>,
    /// True when the window met both criteria.
    pub steady: bool,
}

impl SteadyState {
    /// Judges `rounds_bytes_per_s` ([`assess`]).
    pub fn judge(round_s: f64, rounds_bytes_per_s: Vec<f64>, first_eligible_round: usize) -> Self {
        let window = assess(&rounds_bytes_per_s, first_eligible_round);
        SteadyState {
            round_s,
            steady: window.is_some_and(|w| w.steady),
            window,
            rounds_bytes_per_s,
            first_eligible_round,
        }
    }

    /// One line for tables: `steady over rounds 4–8 of 5 s (range 3.1%, slope 1.2% of the mean)` or
    /// `not steady: …`.
    pub fn describe(&self) -> String {
        match &self.window {
            None => format!(
                "not steady: {} round(s) of {} s, fewer than the {WINDOW_ROUNDS} a window needs",
                self.rounds_bytes_per_s.len(),
                crate::format::sig(self.round_s)
            ),
            Some(w) => format!(
                "{} over rounds {}–{} of {} s (range {}, slope {} of the mean{})",
                if self.steady { "steady" } else { "not steady" },
                w.first_round + 1,
                w.first_round + w.rounds,
                crate::format::sig(self.round_s),
                crate::format::percent(w.range_of_mean()),
                crate::format::percent(w.excursion_of_mean()),
                if w.first_round < self.first_eligible_round {
                    ", before the size was written"
                } else {
                    ""
                }
            ),
        }
    }
}

impl SteadyState {
    /// The smallest and largest round figure in the window (bytes/s).
    pub fn window_min_max(&self) -> Option<(f64, f64)> {
        let w = self.window?;
        let y = self
            .rounds_bytes_per_s
            .get(w.first_round..w.first_round + w.rounds)?;
        let min = y.iter().copied().fold(f64::INFINITY, f64::min);
        let max = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Some((min, max))
    }

    /// Short text for a table cell: `steady: rounds 4–8 of 5 s, 401–412 MB/s` or
    /// `NOT STEADY after 24 rounds of 5 s: last 5 at 120–380 MB/s (range 67%, slope 41%)`.
    pub fn label(&self) -> String {
        let round = crate::format::sig(self.round_s);
        let (Some(w), Some((lo, hi))) = (self.window, self.window_min_max()) else {
            return format!(
                "NOT STEADY: {} round(s) of {round} s, fewer than {WINDOW_ROUNDS}",
                self.rounds_bytes_per_s.len()
            );
        };
        let span = format!(
            "{}–{} MB/s (range {}, slope {})",
            crate::format::mb_per_s_value(lo),
            crate::format::mb_per_s_value(hi),
            crate::format::percent(w.range_of_mean()),
            crate::format::percent(w.excursion_of_mean())
        );
        if self.steady {
            format!(
                "steady: rounds {}–{} of {round} s, {span}",
                w.first_round + 1,
                w.first_round + w.rounds
            )
        } else {
            let early = if w.first_round < self.first_eligible_round {
                ", before the size was written"
            } else {
                ""
            };
            format!(
                "NOT STEADY after {} rounds of {round} s: last {} at {span}{early}",
                self.rounds_bytes_per_s.len(),
                w.rounds
            )
        }
    }
}

/// The note a workload's repetitions run until steady earn in the comparison table: the one
/// repetition's [`SteadyState::label`], or for several how many were steady and the first that
/// was not; `None` when no repetition ran until steady.
pub fn workload_note(reps: &[Repetition]) -> Option<String> {
    let states: Vec<(u32, SteadyState)> = reps
        .iter()
        .filter_map(|r| r.steady().map(|s| (r.index, s)))
        .collect();
    match states.as_slice() {
        [] => None,
        [(_, s)] => Some(s.label()),
        many => {
            let steady = many.iter().filter(|(_, s)| s.steady).count();
            let first_not = many.iter().find(|(_, s)| !s.steady);
            Some(match first_not {
                None => format!("steady in all {} repetitions", many.len()),
                Some((i, s)) if steady == 0 => format!(
                    "NOT STEADY in any of {} repetitions; repetition {}: {}",
                    many.len(),
                    i + 1,
                    s.label()
                ),
                Some((i, s)) => format!(
                    "steady in {steady} of {} repetitions; repetition {}: {}",
                    many.len(),
                    i + 1,
                    s.label()
                ),
            })
        }
    }
}

impl Repetition {
    /// The steady-state record of a repetition run until steady; `None` otherwise (or when the
    /// record does not parse: a file from another version still loads).
    pub fn steady(&self) -> Option<SteadyState> {
        self.extra
            .get(EXTRA_KEY)
            .and_then(|v| serde_json::from_value(v.clone()).ok())
    }

    /// Records `s` ([`Repetition::steady`]) and makes the repetition's headline figures the
    /// window's mean: `throughput_bytes_per_s` is the window's mean and `records_per_s` scales
    /// with it. With fewer rounds than a window, the figures stay whole-repetition ones.
    pub fn set_steady(&mut self, s: &SteadyState) {
        if let Some(w) = &s.window {
            if self.throughput_bytes_per_s > 0.0 {
                self.records_per_s *= w.mean / self.throughput_bytes_per_s;
            }
            self.throughput_bytes_per_s = w.mean;
        }
        if let Ok(v) = serde_json::to_value(s) {
            self.extra.insert(EXTRA_KEY.into(), v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge(y: &[f64]) -> Window {
        assess(y, 0).expect("enough rounds")
    }

    #[test]
    fn a_ramp_that_never_settles_is_never_steady() {
        // +5 % per round, compounding: every window's fitted line moves ~20 % of its mean, and
        // its range is ~21 % of it, however long the run.
        let ramp: Vec<f64> = (0..60).map(|i| 100.0 * 1.05f64.powi(i)).collect();
        for end in WINDOW_ROUNDS..=ramp.len() {
            let w = judge(&ramp[..end]);
            assert!(!w.steady, "rounds ..{end}: {w:?}");
            assert!(w.excursion_of_mean() > 0.19, "{w:?}");
        }
        // A ramp by a fixed amount does settle by this definition once its steps are small
        // against the mean: +5 per round is steady once the mean passes 200 (excursion 20 = 10 %).
        let linear: Vec<f64> = (0..30).map(|i| 100.0 + 5.0 * i as f64).collect();
        assert!(!judge(&linear[..10]).steady);
        assert!(judge(&linear[..25]).steady);
    }

    #[test]
    fn a_step_settles_once_the_window_is_past_it() {
        // A page-cache burst at 1000, then the device's 400 with ±2 % wobble.
        let mut y = vec![1000.0, 1000.0, 990.0];
        y.extend([400.0, 408.0, 396.0, 404.0, 400.0, 398.0]);
        let first_steady = (WINDOW_ROUNDS..=y.len())
            .find(|&end| judge(&y[..end]).steady)
            .expect("settles");
        // The first window entirely after the step ends at round 8 (rounds 3..8).
        assert_eq!(first_steady, 8);
        let w = judge(&y[..8]);
        assert_eq!(w.first_round, 3);
        assert!((w.mean - 401.6).abs() < 1e-9);
        assert!((w.range - 12.0).abs() < 1e-9);
        // Every window that holds part of the step is not steady.
        for end in WINDOW_ROUNDS..8 {
            assert!(!judge(&y[..end]).steady, "..{end}");
        }
    }

    #[test]
    fn a_noisy_plateau_at_the_20_percent_edge() {
        // Mean 100, no trend (symmetric about the middle round): only the range decides.
        let inside = [90.0, 110.0, 100.0, 110.0, 90.0];
        let w = judge(&inside);
        assert!((w.mean - 100.0).abs() < 1e-9 && (w.range - 20.0).abs() < 1e-9);
        assert!(w.slope_per_round.abs() < 1e-9);
        assert!(w.steady, "range exactly 20 % of the mean is steady: {w:?}");
        let outside = [89.5, 110.5, 100.0, 110.5, 89.5];
        let w = judge(&outside);
        assert!((w.range_of_mean() - 0.21).abs() < 1e-9);
        assert!(!w.steady, "21 % is not: {w:?}");
    }

    #[test]
    fn the_slope_criterion_at_its_10_percent_edge() {
        // y = 100 + b(x − 2): mean 100, range 4b, excursion 4b. b = 2.5 → 10 % exactly.
        let line = |b: f64| -> Vec<f64> { (0..5).map(|x| 100.0 + b * (x as f64 - 2.0)).collect() };
        let w = judge(&line(2.5));
        assert!((w.excursion - 10.0).abs() < 1e-9);
        assert!(w.steady, "{w:?}");
        let w = judge(&line(2.6));
        assert!(
            w.range_of_mean() <= MAX_RANGE_OF_MEAN,
            "range alone would pass"
        );
        assert!(!w.steady, "excursion 10.4 % fails: {w:?}");
    }

    #[test]
    fn too_few_rounds_or_nothing_moved_is_not_steady() {
        assert_eq!(assess(&[100.0; 4], 0), None);
        assert_eq!(assess(&[], 0), None);
        let s = SteadyState::judge(5.0, vec![100.0; 4], 0);
        assert!(!s.steady && s.window.is_none());
        assert!(
            s.describe().starts_with("not steady: 4 round(s)"),
            "{}",
            s.describe()
        );
        assert!(!judge(&[0.0; 5]).steady);
    }

    #[test]
    fn a_window_before_the_first_eligible_round_is_not_steady() {
        let flat = [100.0; 7];
        assert!(assess(&flat, 2).is_some_and(|w| w.steady));
        let w = assess(&flat, 3).unwrap();
        assert!(!w.steady);
        let s = SteadyState::judge(1.0, flat.to_vec(), 3);
        assert!(s.describe().contains("before the size was written"));
    }

    #[test]
    fn rounds_come_from_whole_timeline_intervals_and_drop_a_partial_round() {
        let tl = Timeline {
            interval_s: 0.1,
            bytes: vec![10, 20, 30, 40, 50, 60, 7],
        };
        // Rounds of 0.2 s over 0.65 s: three complete rounds; the drain's bytes are not a round.
        let r = rounds_from_timeline(&tl, 0.2, 0.65).unwrap();
        assert_eq!(r.len(), 3);
        assert!((r[0] - 150.0).abs() < 1e-9 && (r[2] - 550.0).abs() < 1e-9);
        assert_eq!(rounds_from_timeline(&tl, 0.25, 0.65), None);
        assert_eq!(rounds_from_timeline(&tl, 0.2, 0.6).unwrap().len(), 3);
    }

    #[test]
    fn a_repetition_keeps_its_steady_state_and_reports_the_window_mean() {
        let mut rep = crate::testing::plain_repetition(0, 500.0, 1000, 1.0);
        rep.records_per_s = 50.0;
        assert_eq!(rep.steady(), None);
        let s = SteadyState::judge(0.2, vec![900.0, 400.0, 400.0, 400.0, 400.0, 400.0], 0);
        rep.set_steady(&s);
        assert_eq!(rep.steady().as_ref(), Some(&s));
        assert!((rep.throughput_bytes_per_s - 400.0).abs() < 1e-9);
        assert!((rep.records_per_s - 40.0).abs() < 1e-9);
        assert_eq!(
            s.label(),
            "steady: rounds 2–6 of 0.200 s, 0.000400–0.000400 MB/s (range 0%, slope 0%)"
        );
        assert_eq!(workload_note(std::slice::from_ref(&rep)), Some(s.label()));
        let mut other = rep.clone();
        other.index = 1;
        other.set_steady(&SteadyState::judge(
            0.2,
            vec![100.0, 200.0, 300.0, 400.0, 500.0],
            0,
        ));
        let note = workload_note(&[rep.clone(), other]).unwrap();
        assert!(
            note.starts_with(
                "steady in 1 of 2 repetitions; repetition 2: NOT STEADY after 5 rounds"
            ),
            "{note}"
        );
        // Through JSON, as a results file stores it.
        let back: Repetition = serde_json::from_str(&serde_json::to_string(&rep).unwrap()).unwrap();
        assert!(back.steady().is_some_and(|s| s.steady));
    }
}
