//! Small dense linear algebra for 2-4 unknowns.
//!
//! Hand-written (about 80 lines) rather than nalgebra: the locator solves millions of 3x3 and
//! 4x4 normal equations, where fixed-size arrays on the stack beat a general library and keep
//! this crate free of the nalgebra version split (shared/notes/rust-crates.md).

// Index loops read like the formulas they implement.
#![allow(clippy::needless_range_loop)]

/// Cholesky factor `L` (lower) of a symmetric positive-definite matrix, or `None`.
pub fn cholesky<const N: usize>(a: &[[f64; N]; N]) -> Option<[[f64; N]; N]> {
    let mut l = [[0.0; N]; N];
    for i in 0..N {
        for j in 0..=i {
            let mut s = a[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            if i == j {
                if s.is_nan() || s <= 0.0 {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Some(l)
}

/// Solve `A x = b` for symmetric positive-definite `A`.
pub fn solve_spd<const N: usize>(a: &[[f64; N]; N], b: &[f64; N]) -> Option<[f64; N]> {
    let l = cholesky(a)?;
    let mut y = [0.0; N];
    for i in 0..N {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i][k] * y[k];
        }
        y[i] = s / l[i][i];
    }
    let mut x = [0.0; N];
    for i in (0..N).rev() {
        let mut s = y[i];
        for k in i + 1..N {
            s -= l[k][i] * x[k];
        }
        x[i] = s / l[i][i];
    }
    Some(x)
}

/// Inverse of a symmetric positive-definite matrix, with Jacobi scaling first so that unknowns
/// in different units (metres, seconds) do not spoil the conditioning.
pub fn inverse_spd<const N: usize>(a: &[[f64; N]; N]) -> Option<[[f64; N]; N]> {
    let mut d = [0.0; N];
    for i in 0..N {
        if a[i][i].is_nan() || a[i][i] <= 0.0 {
            return None;
        }
        d[i] = 1.0 / a[i][i].sqrt();
    }
    let mut r = [[0.0; N]; N];
    for i in 0..N {
        for j in 0..N {
            r[i][j] = a[i][j] * d[i] * d[j];
        }
    }
    let mut inv = [[0.0; N]; N];
    for j in 0..N {
        let mut e = [0.0; N];
        e[j] = 1.0;
        let col = solve_spd(&r, &e)?;
        for i in 0..N {
            inv[i][j] = col[i] * d[i] * d[j];
        }
    }
    // Reject numerically singular systems (a correlation matrix near rank deficiency).
    let l = cholesky(&r)?;
    let min_pivot = (0..N).map(|i| l[i][i]).fold(f64::INFINITY, f64::min);
    (min_pivot > 1e-6).then_some(inv)
}

/// The 95 % (or any `k2` scaled) ellipse of a 2x2 covariance in (east, north) metres:
/// semi-major, semi-minor (metres), azimuth of the major axis (degrees clockwise from north,
/// 0-180).
pub fn ellipse(cov_ee: f64, cov_en: f64, cov_nn: f64, k2: f64) -> (f64, f64, f64) {
    let tr = cov_ee + cov_nn;
    let det = cov_ee * cov_nn - cov_en * cov_en;
    let disc = ((tr * tr / 4.0) - det).max(0.0).sqrt();
    let (l1, l2) = ((tr / 2.0 + disc).max(0.0), (tr / 2.0 - disc).max(0.0));
    // Major-axis direction: eigenvector of l1; angle from north toward east.
    let (ve, vn) = if cov_en.abs() > 1e-12 * tr.max(1e-300) {
        (l1 - cov_nn, cov_en)
    } else if cov_ee >= cov_nn {
        (1.0, 0.0)
    } else {
        (0.0, 1.0)
    };
    let az = ve.atan2(vn).to_degrees().rem_euclid(180.0);
    ((k2 * l1).sqrt(), (k2 * l2).sqrt(), az)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_inverts() {
        let a = [[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]];
        let x = solve_spd(&a, &[1.0, 2.0, 3.0]).unwrap();
        for i in 0..3 {
            let ax: f64 = (0..3).map(|j| a[i][j] * x[j]).sum();
            assert!((ax - [1.0, 2.0, 3.0][i]).abs() < 1e-12);
        }
        let inv = inverse_spd(&a).unwrap();
        for i in 0..3 {
            for j in 0..3 {
                let v: f64 = (0..3).map(|k| a[i][k] * inv[k][j]).sum();
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        assert!(inverse_spd(&[[1.0, 1.0], [1.0, 1.0]]).is_none());
    }

    #[test]
    fn ellipse_axes_and_orientation() {
        // Elongated east-west: major axis azimuth 90.
        let (a, b, az) = ellipse(100.0, 0.0, 1.0, 1.0);
        assert!((a - 10.0).abs() < 1e-9 && (b - 1.0).abs() < 1e-9 && (az - 90.0).abs() < 1e-9);
        // Elongated along north-east: azimuth 45.
        let (_, _, az) = ellipse(50.5, 49.5, 50.5, 1.0);
        assert!((az - 45.0).abs() < 1e-6, "{az}");
    }
}
