//! Tamper trend: does a student's percentage jump far more than the class's did?
//!
//! For each classmate with both a previous and a current percentage, the change is
//! `current − previous`. The student's change is compared with the class's changes as a
//! z-score, `(change − mean) / standard deviation` (population deviation of the class's
//! changes). At or above the threshold (default 3.00) the verdict is [`Verdict::Jump`]; at or
//! below its negative, [`Verdict::Fall`]. A scoring job uses this later to pick mark changes
//! worth a second look; it is a hint, never proof.
//!
//! Integer arithmetic only, so the same data always gives the same verdict: the comparison
//! is done on squares, `(n·d − S)² ≥ t² · (n·Q − S²)`, and the z-score shown is rounded
//! down in magnitude to hundredths.

use serde::{Deserialize, Serialize};

/// When a change counts as a jump.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrendConfig {
    /// z-score threshold in hundredths (300 = 3.00).
    pub threshold: u32,
    /// Fewer classmates with both percentages than this: not enough data.
    pub min_class: usize,
}

impl Default for TrendConfig {
    fn default() -> Self {
        Self { threshold: 300, min_class: 5 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Normal,
    /// Up by at least the threshold.
    Jump,
    /// Down by at least the threshold.
    Fall,
    NotEnoughData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trend {
    pub verdict: Verdict,
    /// The z-score in hundredths (toward zero); `None` when the class's changes are all equal
    /// (and the student's differs: an unbounded z) or there is not enough data.
    pub z: Option<i64>,
}

fn isqrt(n: u128) -> u128 {
    if n < 2 {
        return n;
    }
    // Newton's method from above: x shrinks to ⌊√n⌋.
    let mut x = n;
    let mut y = x.div_ceil(2);
    while y < x {
        x = y;
        y = (x + n / x) / 2;
    }
    x
}

/// The verdict for a student whose percentage went from `previous` to `current` (both in
/// hundredths), against the class's `(previous, current)` pairs. Whether the student is in
/// `class` is the caller's choice (leaving them out makes a lone jump stand out more).
pub fn jump(previous: u32, current: u32, class: &[(u32, u32)], config: TrendConfig) -> Trend {
    if class.len() < config.min_class.max(2) {
        return Trend { verdict: Verdict::NotEnoughData, z: None };
    }
    let n = i128::try_from(class.len()).unwrap_or(i128::MAX);
    let change = |(p, c): (u32, u32)| i128::from(c) - i128::from(p);
    let s: i128 = class.iter().map(|&pair| change(pair)).sum();
    let q: i128 = class.iter().map(|&pair| change(pair).pow(2)).sum();
    let d = change((previous, current));
    let deviation = n * d - s; // n · (d − mean)
    let spread = n * q - s * s; // n² · variance, never negative
    let t = i128::from(config.threshold);
    let beyond = spread >= 0 && deviation * deviation * 10_000 >= t * t * spread;
    let verdict = match (beyond, deviation.signum()) {
        (true, 1) => Verdict::Jump,
        (true, -1) => Verdict::Fall,
        _ => Verdict::Normal,
    };
    let z = (spread > 0).then(|| {
        let root = isqrt(u128::try_from(spread).unwrap_or(0));
        let root = i128::try_from(root).unwrap_or(i128::MAX).max(1);
        i64::try_from(deviation * 100 / root).unwrap_or(if deviation > 0 { i64::MAX } else { i64::MIN })
    });
    Trend { verdict, z }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Classmates who each moved by these whole percentage points.
    fn class(changes: &[i32]) -> Vec<(u32, u32)> {
        changes.iter().map(|&c| (5000, u32::try_from(5000 + c * 100).unwrap())).collect()
    }

    #[test]
    fn square_roots() {
        assert_eq!(isqrt(0), 0);
        assert_eq!(isqrt(1), 1);
        assert_eq!(isqrt(15), 3);
        assert_eq!(isqrt(16), 4);
        assert_eq!(isqrt(u128::from(u64::MAX)), u128::from(u32::MAX));
    }

    #[test]
    fn a_jump_far_beyond_the_class_is_flagged() {
        // Class changes −2, −1, 0, 1, 2: mean 0, deviation √2 ≈ 1.414 points.
        let c = class(&[-2, -1, 0, 1, 2]);
        let cfg = TrendConfig::default();
        // +5 points: z = 5 / 1.414 = 3.53 → Jump.
        assert_eq!(jump(5000, 5500, &c, cfg), Trend { verdict: Verdict::Jump, z: Some(353) });
        // +4 points: z = 2.83 → normal.
        assert_eq!(jump(5000, 5400, &c, cfg), Trend { verdict: Verdict::Normal, z: Some(282) });
        // −5 points: a fall.
        assert_eq!(jump(5000, 4500, &c, cfg).verdict, Verdict::Fall);
        // A lower threshold flags the +4.
        assert_eq!(jump(5000, 5400, &c, TrendConfig { threshold: 250, ..cfg }).verdict, Verdict::Jump);
    }

    #[test]
    fn edge_cases() {
        let cfg = TrendConfig::default();
        assert_eq!(jump(5000, 9000, &class(&[1, 2, 3]), cfg), Trend { verdict: Verdict::NotEnoughData, z: None });
        // Everyone moved by exactly +3: +3 is normal, anything else is unbounded.
        let same = class(&[3, 3, 3, 3, 3]);
        assert_eq!(jump(5000, 5300, &same, cfg), Trend { verdict: Verdict::Normal, z: None });
        assert_eq!(jump(5000, 5301, &same, cfg), Trend { verdict: Verdict::Jump, z: None });
        // Exactly at the threshold counts: changes 0,0,0,0,10 have mean 2 and deviation 4;
        // a change of 14 is z = 3.00.
        assert_eq!(jump(5000, 6400, &class(&[0, 0, 0, 0, 10]), cfg), Trend { verdict: Verdict::Jump, z: Some(300) });
    }
}
