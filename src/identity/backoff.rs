//! Failed sign-in backoff, kanidm-style: the first few mistakes cost nothing, then each
//! further failure makes the account wait longer, ending in a temporary lock. The state is
//! kept per typed email whether or not such an account exists, so the lock reveals nothing.

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before any delay.
pub const FREE_FAILURES: i32 = 3;
/// From this many consecutive failures the account is locked for [`LOCK_DURATION`].
pub const LOCK_AFTER: i32 = 10;
pub const LOCK_DURATION: Duration = Duration::minutes(15);
/// Failures older than this are forgotten.
pub const FORGET_AFTER: Duration = Duration::hours(24);

/// How long to refuse sign-ins after the `failures`-th consecutive failure.
pub fn delay_after(failures: i32) -> Duration {
    if failures < FREE_FAILURES {
        Duration::zero()
    } else if failures >= LOCK_AFTER {
        LOCK_DURATION
    } else {
        // 3 → 2 s, 4 → 4 s, 5 → 8 s … 9 → 128 s
        Duration::seconds(1i64 << (failures - FREE_FAILURES + 1))
    }
}

/// The throttle row as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Throttle {
    pub failures: i32,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Throttle {
    /// `Some(until)` when a sign-in attempt must be refused without even checking the
    /// password.
    pub fn refused_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.locked_until.filter(|until| *until > now)
    }

    /// The state after one more failure at `now`.
    pub fn after_failure(&self, now: DateTime<Utc>) -> Throttle {
        let stale = self.last_failure_at.is_none_or(|at| now - at > FORGET_AFTER);
        let failures = if stale { 1 } else { self.failures.saturating_add(1) };
        let delay = delay_after(failures);
        Throttle { failures, last_failure_at: Some(now), locked_until: (delay > Duration::zero()).then_some(now + delay) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_rise_to_a_lock() {
        assert_eq!(delay_after(1), Duration::zero());
        assert_eq!(delay_after(2), Duration::zero());
        assert_eq!(delay_after(3), Duration::seconds(2));
        assert_eq!(delay_after(4), Duration::seconds(4));
        assert!(delay_after(9) < LOCK_DURATION);
        assert_eq!(delay_after(10), LOCK_DURATION);
        assert_eq!(delay_after(50), LOCK_DURATION);
    }

    #[test]
    fn throttle_counts_forgets_and_unlocks() {
        let t0 = Utc::now();
        let mut t = Throttle::default();
        for _ in 0..3 {
            t = t.after_failure(t0);
        }
        assert_eq!(t.failures, 3);
        assert_eq!(t.refused_until(t0), Some(t0 + Duration::seconds(2)));
        assert_eq!(t.refused_until(t0 + Duration::seconds(3)), None);
        // a day later the count starts again
        let later = t0 + Duration::hours(25);
        assert_eq!(t.after_failure(later).failures, 1);
    }
}
