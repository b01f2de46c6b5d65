//! The accountant's dashboards, kept per school between views.
//!
//! A dashboard is computed from the whole school's ledger (every student's debts allocated
//! afresh: tens of milliseconds on 2,000 students). It is kept under what it was computed
//! from — the school's ledger version (migration 0022: moved on by every transaction that
//! posts), the school day, the current term and the allocation order — all read in the
//! viewing transaction's own snapshot. So a kept dashboard is exactly what that snapshot
//! would compute from the ledger: a posting committed by any process (a payment recorded by a
//! bursar, an invoicing chunk of the worker, a provider's webhook) changes the version and the
//! next view computes afresh. What the version does not see — a student moved to another
//! stream (the per-class chart), a student enrolled (the invoiced-of-active count) — is
//! bounded by [`MAX_AGE`].
//!
//! In the process, not in Redis: the key is the database's own version, so every process
//! agrees on freshness without a shared store, and a miss costs one computation per process.

use crate::finance::views::Dashboard;
use crate::tenancy::TenantId;
use chrono::NaiveDate;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The longest a dashboard is shown without computing it again.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// Schools kept at most (a bound on memory: one dashboard each, a few kilobytes).
const MAX_SCHOOLS: usize = 10_000;

/// What a dashboard was computed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Basis {
    pub ledger_version: i64,
    pub today: NaiveDate,
    pub term: Option<Uuid>,
    pub allocation: crate::finance::ledger::Allocation,
}

#[derive(Debug)]
struct Kept {
    basis: Basis,
    at: Instant,
    value: Dashboard,
}

/// Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct DashboardCache {
    kept: Arc<Mutex<HashMap<TenantId, Kept>>>,
}

impl DashboardCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The school's dashboard if it was computed from `basis` less than [`MAX_AGE`] ago.
    pub fn get(&self, school: TenantId, basis: &Basis) -> Option<Dashboard> {
        let kept = self.kept.lock().ok()?;
        kept.get(&school).filter(|k| k.basis == *basis && k.at.elapsed() < MAX_AGE).map(|k| k.value.clone())
    }

    /// Keeps `value`, computed from `basis`, replacing the school's older dashboard.
    pub fn keep(&self, school: TenantId, basis: Basis, value: &Dashboard) {
        let Ok(mut kept) = self.kept.lock() else { return };
        if kept.len() >= MAX_SCHOOLS && !kept.contains_key(&school) {
            kept.clear();
        }
        kept.insert(school, Kept { basis, at: Instant::now(), value: value.clone() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finance::ledger::Allocation;

    fn basis(version: i64) -> Basis {
        Basis {
            ledger_version: version,
            today: NaiveDate::from_ymd_opt(2026, 12, 7).unwrap(),
            term: None,
            allocation: Allocation::OldestFirst,
        }
    }

    #[test]
    fn a_dashboard_is_reused_only_for_the_same_ledger_version_day_term_and_order() {
        let cache = DashboardCache::new();
        let (a, b) = (TenantId(Uuid::new_v4()), TenantId(Uuid::new_v4()));
        let d = Dashboard { billed_minor: 5, ..Dashboard::default() };
        assert!(cache.get(a, &basis(1)).is_none());
        cache.keep(a, basis(1), &d);
        assert_eq!(cache.get(a, &basis(1)), Some(d.clone()));
        assert!(cache.get(b, &basis(1)).is_none(), "another school's is never served");
        assert!(cache.get(a, &basis(2)).is_none(), "a posting since");
        let tomorrow = Basis { today: NaiveDate::from_ymd_opt(2026, 12, 8).unwrap(), ..basis(1) };
        assert!(cache.get(a, &tomorrow).is_none(), "another school day");
        let term = Basis { term: Some(Uuid::new_v4()), ..basis(1) };
        assert!(cache.get(a, &term).is_none(), "another current term");
        let order = Basis { allocation: Allocation::CurrentTermFirst, ..basis(1) };
        assert!(cache.get(a, &order).is_none(), "another allocation order");
        cache.keep(a, basis(2), &Dashboard::default());
        assert!(cache.get(a, &basis(1)).is_none(), "one dashboard per school: the newer replaces it");
    }
}
