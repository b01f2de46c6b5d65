//! Failed sign-in backoff, kanidm-style, kept at two levels:
//!
//! - per account *and* client address ([`PER_CLIENT`]): the first few mistakes cost nothing,
//!   then each further failure makes that address wait longer for that account, ending in a
//!   15-minute lock. One address guessing at one account is stopped quickly.
//! - per account across all addresses ([`ACCOUNT_WIDE`]): a much looser ceiling (100
//!   failures, then one try a minute). It slows a guesser spread over many addresses, but
//!   since anyone can trip it, it never locks for long: a hard per-account lock would let
//!   any stranger keep a teacher out of their own account.
//!
//! The state is kept per typed email whether or not such an account exists, so a refusal
//! reveals nothing. Rows are purged once their last failure is older than [`FORGET_AFTER`].

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before any delay (per account and address).
pub const FREE_FAILURES: i32 = 3;
/// From this many consecutive failures the address is locked out of the account for
/// [`LOCK_DURATION`].
pub const LOCK_AFTER: i32 = 10;
pub const LOCK_DURATION: Duration = Duration::minutes(15);
/// Failures older than this are forgotten.
pub const FORGET_AFTER: Duration = Duration::hours(24);
/// The client key of the account-wide row.
pub const ACCOUNT_WIDE_CLIENT: &str = "*";
/// At most one aggregated `login.throttled` audit entry per account per window.
pub const AUDIT_WINDOW: Duration = Duration::minutes(15);

/// How failures turn into waiting time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub free_failures: i32,
    /// `None`: the delay never escalates past `flat_delay`.
    pub lock_after: Option<i32>,
    /// Used when `lock_after` is `None`: each failure past the free ones costs this.
    pub flat_delay: Duration,
}

/// Per (account, client address): doubling delays, then a 15-minute lock.
pub const PER_CLIENT: Policy = Policy { free_failures: FREE_FAILURES, lock_after: Some(LOCK_AFTER), flat_delay: Duration::zero() };
/// The client key of the account-wide row of wrong second-factor codes.
pub const CODES_CLIENT: &str = "#codes";
/// Wrong codes, per account across all addresses: only someone who has the password can make
/// them, so this may lock hard (5 free, then doubling delays, a 15-minute lock from 10), and
/// guessing 6-digit codes stays hopeless even from many addresses.
pub const CODES: Policy = Policy { free_failures: 5, lock_after: Some(LOCK_AFTER), flat_delay: Duration::zero() };
/// Per account, all addresses together: 100 free failures, then one try a minute.
pub const ACCOUNT_WIDE: Policy = Policy { free_failures: 100, lock_after: None, flat_delay: Duration::minutes(1) };

impl Policy {
    /// How long to refuse sign-ins after the `failures`-th consecutive failure.
    pub fn delay_after(&self, failures: i32) -> Duration {
        if failures < self.free_failures {
            return Duration::zero();
        }
        match self.lock_after {
            None => self.flat_delay,
            Some(lock) if failures >= lock => LOCK_DURATION,
            // 3 → 2 s, 4 → 4 s, 5 → 8 s … 9 → 128 s
            Some(_) => Duration::seconds(1i64 << (failures - self.free_failures + 1).clamp(0, 20)),
        }
    }
}

/// How long one address must wait after the `failures`-th consecutive failure on an account.
pub fn delay_after(failures: i32) -> Duration {
    PER_CLIENT.delay_after(failures)
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

    /// The state after one more failure at `now` (per account and address).
    pub fn after_failure(&self, now: DateTime<Utc>) -> Throttle {
        self.after_failure_with(now, &PER_CLIENT)
    }

    pub fn after_failure_with(&self, now: DateTime<Utc>, policy: &Policy) -> Throttle {
        let stale = self.last_failure_at.is_none_or(|at| now - at > FORGET_AFTER);
        let failures = if stale { 1 } else { self.failures.saturating_add(1) };
        let delay = policy.delay_after(failures);
        Throttle { failures, last_failure_at: Some(now), locked_until: (delay > Duration::zero()).then_some(now + delay) }
    }
}

/// The later of two refusals.
pub fn refused_until(throttles: &[Throttle], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    throttles.iter().filter_map(|t| t.refused_until(now)).max()
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
    fn the_account_wide_ceiling_is_loose_and_never_locks_long() {
        assert_eq!(ACCOUNT_WIDE.delay_after(99), Duration::zero());
        assert_eq!(ACCOUNT_WIDE.delay_after(100), Duration::minutes(1));
        assert_eq!(ACCOUNT_WIDE.delay_after(10_000), Duration::minutes(1));
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
        let wide = Throttle { failures: 100, last_failure_at: Some(t0), locked_until: Some(t0 + Duration::minutes(1)) };
        assert_eq!(refused_until(&[t, wide], t0), Some(t0 + Duration::minutes(1)));
    }
}
