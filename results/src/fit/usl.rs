//! Gunther's Universal Scalability Law fitted to measured points:
//! X(N) = λN / (1 + σ(N − 1) + κN(N − 1)).
//!
//! **How it is fitted.** The crates registry's non-linear least-squares solvers
//! (`levenberg-marquardt`, `argmin`) are built on `nalgebra` or a framework of traits; three
//! parameters and a handful of points need neither, so the solver is a small one of our own,
//! in two steps:
//! 1. a start from the linearised model: N/X = a + b(N − 1) + c·N(N − 1) with a = 1/λ,
//!    b = σ/λ, c = κ/λ is linear in a, b, c, so ordinary least squares gives them directly
//!    (refitted with c = 0 when c comes out negative). That fit weighs the points by 1/X²
//!    through the transform, so it is only the start;
//! 2. Levenberg–Marquardt (Marquardt's diagonal scaling) on the residuals of X itself, the
//!    least-squares problem R² measures, with κ ≥ 0 kept by an active set: a step that would
//!    make κ negative puts κ on the bound, and κ is released again when the gradient points
//!    inside. Throughputs are divided by their largest value first, so the normal equations are
//!    well scaled whatever the unit.
//!
//! **σ < 0.** σ is fitted without a bound: a negative σ (throughput growing faster than
//! linearly, e.g. batching that pays off more with more partitions) is kept as fitted and
//! flagged [`UslFit::superlinear`], never clamped to 0 silently — clamping would hide that the
//! measured points do not follow the contention the law assumes. N* = √((1 − σ)/κ) is still
//! given when κ > 0.
//!
//! **Refused input** ([`FitError`]): fewer than [`MIN_POINTS`] points (three parameters fit
//! three points exactly: no test of the law), fewer than three distinct N, N or X not finite,
//! N ≤ 0 or X ≤ 0.

use serde::Serialize;

/// Fewest points a fit accepts.
pub const MIN_POINTS: usize = 4;
/// Fewest distinct N a fit accepts (three parameters).
pub const MIN_DISTINCT_N: usize = 3;

/// Why no fit was made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Fewer than [`MIN_POINTS`] points.
    #[error("{got} measured point{s}; a USL fit needs at least {MIN_POINTS} (three parameters fit three points exactly)", s = if *got == 1 { "" } else { "s" })]
    TooFewPoints {
        /// Points given.
        got: usize,
    },
    /// Every point at the same N.
    #[error(
        "every point is at N = {n}; a USL fit needs points at {MIN_DISTINCT_N} or more values of N"
    )]
    AllEqualN {
        /// The one N.
        n: f64,
    },
    /// Fewer than [`MIN_DISTINCT_N`] distinct N.
    #[error("points at only {got} values of N; a USL fit needs {MIN_DISTINCT_N} or more")]
    TooFewDistinctN {
        /// Distinct N given.
        got: usize,
    },
    /// N or X is NaN or infinite.
    #[error("the point N = {n}, X = {x} is not a finite number; nothing to fit")]
    NotFinite {
        /// N of the point.
        n: f64,
        /// X of the point.
        x: f64,
    },
    /// N ≤ 0.
    #[error(
        "N = {n} is not positive; N counts partitions, threads, queue slots, consumers or hosts"
    )]
    NonPositiveN {
        /// The N.
        n: f64,
    },
    /// X ≤ 0.
    #[error("the throughput at N = {n} is {x}; a USL fit needs positive throughputs (was the point measured?)")]
    NonPositiveThroughput {
        /// N of the point.
        n: f64,
        /// The throughput.
        x: f64,
    },
    /// The solver found no parameters with a positive λ and a positive denominator.
    #[error(
        "no USL curve fits these points (the solver found no λ > 0 with a positive denominator)"
    )]
    NoFit,
}

/// A fitted USL curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UslFit {
    /// λ: the throughput of one unit at N = 1 without contention, in the unit of the X given.
    pub lambda: f64,
    /// σ: contention (serialised share); negative when the points grow faster than linearly.
    pub sigma: f64,
    /// κ: coherency (crosstalk) cost, ≥ 0.
    pub kappa: f64,
    /// Coefficient of determination of the fit on X: 1 − SS_res / SS_tot; null when every X
    /// is equal (SS_tot = 0).
    pub r_squared: Option<f64>,
    /// Points fitted.
    pub points: usize,
    /// Smallest N fitted.
    pub n_min: f64,
    /// Largest N fitted.
    pub n_max: f64,
}

impl UslFit {
    /// The fitted throughput at `n`.
    pub fn x_at(&self, n: f64) -> f64 {
        usl(self.lambda, self.sigma, self.kappa, n)
    }

    /// True when σ < 0: the points grow faster than linearly over the range.
    pub fn superlinear(&self) -> bool {
        self.sigma < 0.0
    }

    /// N* = √((1 − σ)/κ), where the fitted throughput peaks; `None` when κ = 0 (no peak) or
    /// σ ≥ 1 (throughput falls from N = 1).
    pub fn n_star(&self) -> Option<f64> {
        (self.kappa > 0.0 && self.sigma < 1.0).then(|| ((1.0 - self.sigma) / self.kappa).sqrt())
    }

    /// The fitted throughput at N*, when there is a peak.
    pub fn peak(&self) -> Option<f64> {
        self.n_star().map(|n| self.x_at(n))
    }
}

/// X(N) = λN / (1 + σ(N − 1) + κN(N − 1)).
fn usl(lambda: f64, sigma: f64, kappa: f64, n: f64) -> f64 {
    lambda * n / denominator(sigma, kappa, n)
}

fn denominator(sigma: f64, kappa: f64, n: f64) -> f64 {
    1.0 + sigma * (n - 1.0) + kappa * n * (n - 1.0)
}

/// Fits the USL to `points` (N, X) by least squares on X with κ ≥ 0 (see the module docs).
pub fn fit(points: &[(f64, f64)]) -> Result<UslFit, FitError> {
    for &(n, x) in points {
        if !n.is_finite() || !x.is_finite() {
            return Err(FitError::NotFinite { n, x });
        }
        if n <= 0.0 {
            return Err(FitError::NonPositiveN { n });
        }
        if x <= 0.0 {
            return Err(FitError::NonPositiveThroughput { n, x });
        }
    }
    if points.len() < MIN_POINTS {
        return Err(FitError::TooFewPoints { got: points.len() });
    }
    let mut ns: Vec<f64> = points.iter().map(|p| p.0).collect();
    ns.sort_by(f64::total_cmp);
    ns.dedup();
    if ns.len() == 1 {
        return Err(FitError::AllEqualN { n: ns[0] });
    }
    if ns.len() < MIN_DISTINCT_N {
        return Err(FitError::TooFewDistinctN { got: ns.len() });
    }
    let scale = points.iter().map(|p| p.1).fold(0.0, f64::max);
    let scaled: Vec<(f64, f64)> = points.iter().map(|&(n, x)| (n, x / scale)).collect();
    let start = linearised_start(&scaled);
    let [lambda, sigma, kappa] = levenberg_marquardt(&scaled, start).ok_or(FitError::NoFit)?;
    let lambda = lambda * scale;
    let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    let ss_tot: f64 = points.iter().map(|p| (p.1 - mean).powi(2)).sum();
    let ss_res: f64 = points
        .iter()
        .map(|&(n, x)| (x - usl(lambda, sigma, kappa, n)).powi(2))
        .sum();
    Ok(UslFit {
        lambda,
        sigma,
        kappa,
        r_squared: (ss_tot > 0.0).then(|| 1.0 - ss_res / ss_tot),
        points: points.len(),
        n_min: ns[0],
        n_max: ns[ns.len() - 1],
    })
}

/// Solves the k×k system `a·x = b` (k ≤ 3) by Gaussian elimination with partial pivoting;
/// `None` when singular.
fn solve<const K: usize>(mut a: [[f64; K]; K], mut b: [f64; K]) -> Option<[f64; K]> {
    for col in 0..K {
        let pivot = (col..K).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 || !a[pivot][col].is_finite() {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let pivot_row = a[col];
        for row in col + 1..K {
            let f = a[row][col] / pivot_row[col];
            for (v, p) in a[row].iter_mut().zip(&pivot_row).skip(col) {
                *v -= f * p;
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = [0.0; K];
    for row in (0..K).rev() {
        let s: f64 = (row + 1..K).map(|k| a[row][k] * x[k]).sum();
        x[row] = (b[row] - s) / a[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Least squares of N/X = a + b(N − 1) + c·N(N − 1), with c = 0 when it comes out negative;
/// as [λ, σ, κ]. Falls back to λ = X/N at the smallest N, σ = κ = 0.
fn linearised_start(points: &[(f64, f64)]) -> [f64; 3] {
    let rows: Vec<([f64; 3], f64)> = points
        .iter()
        .map(|&(n, x)| ([1.0, n - 1.0, n * (n - 1.0)], n / x))
        .collect();
    let normal = |k: usize| {
        let mut a = [[0.0; 3]; 3];
        let mut b = [0.0; 3];
        for (r, y) in &rows {
            for i in 0..k {
                for j in 0..k {
                    a[i][j] += r[i] * r[j];
                }
                b[i] += r[i] * y;
            }
        }
        (a, b)
    };
    let three = {
        let (a, b) = normal(3);
        solve(a, b)
    };
    let abc = match three {
        Some([a, b, c]) if c >= 0.0 => Some([a, b, c]),
        _ => {
            let (a, b) = normal(2);
            solve([[a[0][0], a[0][1]], [a[1][0], a[1][1]]], [b[0], b[1]]).map(|[a, b]| [a, b, 0.0])
        }
    };
    match abc {
        Some([a, b, c]) if a > 0.0 && valid(1.0 / a, b / a, c / a, points) => {
            [1.0 / a, b / a, c / a]
        }
        _ => {
            let &(n, x) = points
                .iter()
                .min_by(|p, q| p.0.total_cmp(&q.0))
                .unwrap_or(&(1.0, 1.0));
            [x / n, 0.0, 0.0]
        }
    }
}

/// λ > 0, κ ≥ 0 and a positive denominator at every N measured.
fn valid(lambda: f64, sigma: f64, kappa: f64, points: &[(f64, f64)]) -> bool {
    lambda > 0.0
        && kappa >= 0.0
        && lambda.is_finite()
        && sigma.is_finite()
        && kappa.is_finite()
        && points
            .iter()
            .all(|&(n, _)| denominator(sigma, kappa, n) > 0.0)
}

/// Sum of squared residuals of X.
fn cost(p: &[f64; 3], points: &[(f64, f64)]) -> f64 {
    points
        .iter()
        .map(|&(n, x)| (x - usl(p[0], p[1], p[2], n)).powi(2))
        .sum()
}

/// Levenberg–Marquardt on the residuals of X from `start`, with κ ≥ 0 by an active set;
/// `None` when no valid parameters were reached.
fn levenberg_marquardt(points: &[(f64, f64)], start: [f64; 3]) -> Option<[f64; 3]> {
    const MAX_ITERATIONS: usize = 500;
    let mut p = start;
    if !valid(p[0], p[1], p[2], points) {
        return None;
    }
    let mut kappa_free = p[2] > 0.0;
    let mut releases = 0;
    let mut mu = 1e-3;
    let mut s = cost(&p, points);
    for _ in 0..MAX_ITERATIONS {
        // Jacobian of the model (not the residual) and J^T r.
        let mut jtj = [[0.0; 3]; 3];
        let mut jtr = [0.0; 3];
        for &(n, x) in points {
            let d = denominator(p[1], p[2], n);
            let f = p[0] * n / d;
            let j = [n / d, -f * (n - 1.0) / d, -f * n * (n - 1.0) / d];
            let r = x - f;
            for i in 0..3 {
                for k in 0..3 {
                    jtj[i][k] += j[i] * j[k];
                }
                jtr[i] += j[i] * r;
            }
        }
        // κ on its bound with the gradient pointing inside (increasing κ lowers the cost):
        // release it.
        if !kappa_free && jtr[2] > 1e-12 * (1.0 + s) && releases < 5 {
            kappa_free = true;
            releases += 1;
        }
        // Marquardt's damping: μ times the diagonal.
        let mut a = jtj;
        for (i, row) in a.iter_mut().enumerate() {
            row[i] += mu * jtj[i][i].max(1e-12);
        }
        let step = if kappa_free {
            solve(a, jtr)
        } else {
            solve([[a[0][0], a[0][1]], [a[1][0], a[1][1]]], [jtr[0], jtr[1]])
                .map(|[l, s]| [l, s, 0.0])
        };
        let Some(delta) = step else {
            mu *= 10.0;
            if mu > 1e15 {
                break;
            }
            continue;
        };
        let mut q = [p[0] + delta[0], p[1] + delta[1], p[2] + delta[2]];
        let mut hit_bound = false;
        if q[2] < 0.0 {
            q[2] = 0.0;
            hit_bound = true;
        }
        let s_new = if valid(q[0], q[1], q[2], points) {
            cost(&q, points)
        } else {
            f64::INFINITY
        };
        if s_new <= s {
            let small = (s - s_new) <= 1e-15 * s.max(1e-300)
                && delta
                    .iter()
                    .zip(&p)
                    .all(|(d, v)| d.abs() <= 1e-10 * (v.abs() + 1e-10));
            p = q;
            s = s_new;
            if hit_bound {
                kappa_free = false;
            }
            mu = (mu / 3.0).max(1e-12);
            if small || s == 0.0 {
                break;
            }
        } else {
            mu *= 4.0;
            if mu > 1e15 {
                break;
            }
        }
    }
    valid(p[0], p[1], p[2], points).then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Points of an exact USL curve at `ns`, each multiplied by `1 + noise[i]`.
    fn curve(lambda: f64, sigma: f64, kappa: f64, ns: &[f64], noise: &[f64]) -> Vec<(f64, f64)> {
        ns.iter()
            .enumerate()
            .map(|(i, &n)| {
                let e = noise.get(i).copied().unwrap_or(0.0);
                (n, usl(lambda, sigma, kappa, n) * (1.0 + e))
            })
            .collect()
    }

    fn within(got: f64, want: f64, share: f64) -> bool {
        (got - want).abs() <= share * want.abs()
    }

    #[test]
    fn recovers_sigma_and_kappa_of_an_exact_curve() {
        let ns = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0];
        for (lambda, sigma, kappa) in [
            (400e6, 0.05, 0.002),
            (1.2e9, 0.2, 0.0005),
            (90.0, 0.01, 0.02),
            (3e6, 0.4, 0.0),
        ] {
            let f = fit(&curve(lambda, sigma, kappa, &ns, &[])).unwrap();
            assert!(within(f.lambda, lambda, 1e-6), "{f:?}");
            assert!(within(f.sigma, sigma, 1e-4), "{f:?}");
            assert!((f.kappa - kappa).abs() <= 1e-6 * kappa.max(1e-3), "{f:?}");
            assert!(f.r_squared.unwrap() > 0.999_999, "{f:?}");
            assert_eq!((f.points, f.n_min, f.n_max), (6, 1.0, 32.0));
        }
    }

    #[test]
    fn recovers_sigma_and_kappa_within_5_percent_from_noisy_points() {
        // ±1 % alternating noise: a measured sweep, not an exact curve.
        let ns = [
            1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0, 24.0, 32.0, 48.0, 64.0,
        ];
        let noise: Vec<f64> = (0..ns.len())
            .map(|i| if i % 2 == 0 { 0.01 } else { -0.01 } * (1.0 + (i % 3) as f64) / 3.0)
            .collect();
        let (lambda, sigma, kappa) = (250e6, 0.08, 0.001);
        let f = fit(&curve(lambda, sigma, kappa, &ns, &noise)).unwrap();
        assert!(within(f.sigma, sigma, 0.05), "σ {f:?}");
        assert!(within(f.kappa, kappa, 0.05), "κ {f:?}");
        assert!(within(f.lambda, lambda, 0.02), "λ {f:?}");
        let n_star = ((1.0 - sigma) / kappa).sqrt();
        assert!(within(f.n_star().unwrap(), n_star, 0.05), "{f:?}");
        assert!(f.r_squared.unwrap() > 0.99);
    }

    #[test]
    fn n_star_is_where_the_fitted_curve_peaks() {
        let ns = [1.0, 2.0, 4.0, 8.0, 16.0];
        let f = fit(&curve(100.0, 0.1, 0.01, &ns, &[])).unwrap();
        let n = f.n_star().unwrap();
        assert!(within(n, (0.9f64 / 0.01).sqrt(), 1e-3), "{n}");
        let peak = f.peak().unwrap();
        for m in [n * 0.8, n * 1.25, 1.0, 100.0] {
            assert!(f.x_at(m) < peak, "X({m}) ≥ X(N*)");
        }
    }

    #[test]
    fn linear_scaling_has_no_peak() {
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0].iter().map(|&n| (n, 5.0 * n)).collect();
        let f = fit(&pts).unwrap();
        assert!(f.kappa.abs() < 1e-9 && f.sigma.abs() < 1e-9, "{f:?}");
        assert!(within(f.lambda, 5.0, 1e-9));
        assert_eq!(f.n_star(), None);
        assert!(!f.superlinear());
    }

    #[test]
    fn kappa_stays_at_its_bound_when_the_points_bend_upwards() {
        // Points of a curve with κ < 0 (throughput bends upwards at large N): the constrained
        // fit puts κ on its bound, 0, and still follows the points.
        let ns = [1.0, 2.0, 4.0, 8.0, 12.0, 16.0];
        let pts = curve(10.0, 0.05, -0.002, &ns, &[]);
        let f = fit(&pts).unwrap();
        assert_eq!(f.kappa, 0.0, "{f:?}");
        assert_eq!(f.n_star(), None);
        assert!(f.r_squared.unwrap() > 0.9, "{f:?}");
    }

    #[test]
    fn a_superlinear_sweep_keeps_its_negative_sigma() {
        // X ∝ N^1.3 grows faster than linearly: σ comes out negative and is reported so.
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0, 16.0]
            .iter()
            .map(|&n: &f64| (n, 10.0 * n.powf(1.3)))
            .collect();
        let f = fit(&pts).unwrap();
        assert!(f.sigma < 0.0 && f.superlinear(), "{f:?}");
        assert!(f.kappa >= 0.0);
        assert!(f.r_squared.unwrap() > 0.99, "{f:?}");
    }

    #[test]
    fn a_flat_sweep_is_pure_contention() {
        // The same throughput at every N: σ = 1 (fully serialised), R² undefined.
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 4.0, 8.0].iter().map(|&n| (n, 7.0)).collect();
        let f = fit(&pts).unwrap();
        assert!(within(f.sigma, 1.0, 1e-6), "{f:?}");
        assert!(f.kappa < 1e-9, "{f:?}");
        assert_eq!(f.r_squared, None);
        assert_eq!(f.n_star(), None);
    }

    #[test]
    fn refuses_degenerate_input_with_a_clear_message() {
        let three = [(1.0, 1.0), (2.0, 2.0), (4.0, 3.0)];
        let e = fit(&three).unwrap_err();
        assert_eq!(e, FitError::TooFewPoints { got: 3 });
        assert!(e
            .to_string()
            .contains("3 measured points; a USL fit needs at least 4"));
        assert!(matches!(fit(&[]), Err(FitError::TooFewPoints { got: 0 })));
        let same = [(4.0, 1.0), (4.0, 1.1), (4.0, 0.9), (4.0, 1.0)];
        let e = fit(&same).unwrap_err();
        assert_eq!(e, FitError::AllEqualN { n: 4.0 });
        assert!(e.to_string().contains("every point is at N = 4"), "{e}");
        let two = [(1.0, 1.0), (2.0, 1.9), (1.0, 1.1), (2.0, 2.0)];
        assert_eq!(fit(&two), Err(FitError::TooFewDistinctN { got: 2 }));
        let zero = [(1.0, 1.0), (2.0, 0.0), (4.0, 3.0), (8.0, 4.0)];
        let e = fit(&zero).unwrap_err();
        assert_eq!(e, FitError::NonPositiveThroughput { n: 2.0, x: 0.0 });
        assert!(e.to_string().contains("throughput at N = 2 is 0"), "{e}");
        let negative = [(1.0, 1.0), (2.0, -2.0), (4.0, 3.0), (8.0, 4.0)];
        assert!(matches!(
            fit(&negative),
            Err(FitError::NonPositiveThroughput { .. })
        ));
        let nan = [(1.0, 1.0), (2.0, f64::NAN), (4.0, 3.0), (8.0, 4.0)];
        let e = fit(&nan).unwrap_err();
        assert!(matches!(e, FitError::NotFinite { n, .. } if n == 2.0));
        assert!(e.to_string().contains("not a finite number"), "{e}");
        let inf_n = [(f64::INFINITY, 1.0), (2.0, 2.0), (4.0, 3.0), (8.0, 4.0)];
        assert!(matches!(fit(&inf_n), Err(FitError::NotFinite { .. })));
        let zero_n = [(0.0, 1.0), (2.0, 2.0), (4.0, 3.0), (8.0, 4.0)];
        assert_eq!(fit(&zero_n), Err(FitError::NonPositiveN { n: 0.0 }));
        // Checked before the count: a NaN among three points says NaN, not "too few".
        assert!(matches!(
            fit(&[(1.0, f64::NAN)]),
            Err(FitError::NotFinite { .. })
        ));
    }

    #[test]
    fn solve_handles_pivoting_and_singular_systems() {
        let x = solve([[0.0, 2.0], [3.0, 1.0]], [4.0, 5.0]).unwrap();
        assert!(
            (x[0] - 1.0).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12,
            "{x:?}"
        );
        assert_eq!(solve([[1.0, 2.0], [2.0, 4.0]], [1.0, 2.0]), None);
    }
}
