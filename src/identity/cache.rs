//! Who a session is, kept in the process between requests: the principal and their school,
//! read from the database once and then reused until something they depend on changes.
//!
//! Every page used to read the principal afresh (`school_principal`, a round trip and about
//! a third of a page's database work). Now triggers on the tables it is made of (`users`,
//! `user_roles`, `roles`, `role_permissions`, `tenants`, `plans`, `platform_users`; migration
//! 0016) send `NOTIFY kilele_principals` with the school's id (`platform` for staff, `*` for
//! a plan) when their transaction commits, and a listener in each process drops that
//! school's entries. So a role taken away applies as soon as the notification arrives
//! (milliseconds after commit), not at once as before.
//!
//! What keeps a stale principal out:
//! - **No listener, no cache.** Until the listener is connected, and from the moment it
//!   fails until it has connected again (and the cache is emptied, since notifications sent
//!   meanwhile are lost), nothing is read from or kept in the cache.
//! - **A read that raced a change is not kept.** Every notification bumps a generation;
//!   an entry read from the database is kept only if no notification arrived while it was
//!   read (the change may have committed after the read saw the old rows).
//! - **A bound on age.** An entry is used for at most [`MAX_AGE`], in case a listener stalls
//!   without failing.

use super::Principal;
use crate::tenancy::{Tenant, TenantId};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The channel the triggers notify.
pub const CHANNEL: &str = "kilele_principals";

/// The longest an entry is used without being read again.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// Above this many entries the cache is emptied rather than grown (a bound on memory; a
/// process serving more signed-in people than this re-reads them, as before).
const MAX_ENTRIES: usize = 100_000;

/// Whose entry: a school's user, or platform staff (`school: None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub school: Option<TenantId>,
    pub user: Uuid,
}

/// What a session resolves to: the principal and, for a school user, their school.
pub type Resolved = (Principal, Option<Tenant>);

#[derive(Debug)]
struct Entry {
    value: Resolved,
    read_at: Instant,
}

/// The cache. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct PrincipalCache {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: Mutex<HashMap<Key, Entry>>,
    generation: AtomicU64,
    listening: AtomicBool,
}

/// A reservation taken before reading from the database: [`PrincipalCache::keep`] keeps the
/// value only if nothing changed since.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl PrincipalCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The cached value, when the listener is up and the entry is young enough.
    pub fn get(&self, key: Key) -> Option<Resolved> {
        if !self.inner.listening.load(Ordering::Acquire) {
            return None;
        }
        let entries = self.inner.entries.lock().ok()?;
        let entry = entries.get(&key)?;
        (entry.read_at.elapsed() < MAX_AGE).then(|| entry.value.clone())
    }

    /// Take before reading the value from the database.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.inner.generation.load(Ordering::Acquire))
    }

    /// Keeps a value read from the database after `ticket` was taken, unless a notification
    /// came in between or the listener is down.
    pub fn keep(&self, ticket: Ticket, key: Key, value: Resolved) {
        if !self.inner.listening.load(Ordering::Acquire) {
            return;
        }
        let Ok(mut entries) = self.inner.entries.lock() else { return };
        // Checked under the lock: `forget` bumps the generation under it too, so a
        // notification is either seen here or removes this entry after it is kept.
        if self.inner.generation.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, Entry { value, read_at: Instant::now() });
    }

    /// Drops one entry now, without waiting for a notification: after a person's own change
    /// (a form they posted), so their next page never races the notification of it.
    ///
    /// No generation bump: a read racing the change is dropped by the change's own
    /// notification, and posts (every marks autosave) must not stop the cache filling.
    pub fn forget_key(&self, key: Key) {
        if let Ok(mut entries) = self.inner.entries.lock() {
            entries.remove(&key);
        }
    }

    /// Drops what a notification's payload names: a school's id (its users), `platform`
    /// (platform staff), anything else (`*`, or a payload we do not know) everything.
    pub fn forget(&self, payload: &str) {
        let Ok(mut entries) = self.inner.entries.lock() else { return };
        self.inner.generation.fetch_add(1, Ordering::AcqRel);
        match payload {
            "platform" => entries.retain(|k, _| k.school.is_some()),
            other => match Uuid::parse_str(other) {
                Ok(school) => entries.retain(|k, _| k.school != Some(TenantId(school))),
                Err(_) => entries.clear(),
            },
        }
    }

    /// Entries kept now (for tests and metrics).
    pub fn len(&self) -> usize {
        self.inner.entries.lock().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The listener is connected: the cache is in use.
    pub fn is_listening(&self) -> bool {
        self.inner.listening.load(Ordering::Acquire)
    }

    fn set_listening(&self, up: bool) {
        // Emptied both ways: going down, so nothing stale is used when it comes back; coming
        // up, because what changed while it was down was never announced to us.
        self.inner.listening.store(up, Ordering::Release);
        self.forget("*");
    }

    /// Listens for changes until `pool` is closed: connects (again after a failure, after
    /// `retry`), empties the cache and uses it while connected. Run it in its own task. The
    /// listener's connection is its own (a pool of one with `pool`'s settings), not one of
    /// the pages'.
    pub async fn listen(self, pool: PgPool, retry: Duration) {
        crate::db::listen(pool, CHANNEL, retry, "principal cache", |up| self.set_listening(up), |payload| self.forget(payload)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Role;
    use crate::tenancy::{TenantSlug, TenantStatus};

    fn resolved(user: Uuid, school: Option<TenantId>) -> Resolved {
        let principal = Principal {
            user_id: user,
            tenant_id: school,
            email: "a@b.test".into(),
            display_name: "A".into(),
            roles: vec![Role::Teacher],
            permissions: Vec::new(),
            language: None,
            second_factor: Default::default(),
            sessions_valid_from: None,
        };
        let tenant = school.map(|id| Tenant {
            id,
            slug: TenantSlug::parse("school-a").unwrap(),
            name: "School A".into(),
            status: TenantStatus::Active,
            plan_code: "standard".into(),
            features: Vec::new(),
            default_language: crate::Language::En,
        });
        (principal, tenant)
    }

    #[test]
    fn nothing_is_kept_or_used_without_the_listener() {
        let cache = PrincipalCache::new();
        let key = Key { school: Some(TenantId(Uuid::from_u128(1))), user: Uuid::from_u128(2) };
        cache.keep(cache.ticket(), key, resolved(key.user, key.school));
        assert!(cache.get(key).is_none());
        assert!(cache.is_empty());

        cache.set_listening(true);
        cache.keep(cache.ticket(), key, resolved(key.user, key.school));
        assert_eq!(cache.get(key).map(|(p, _)| p.user_id), Some(key.user));
        // The listener fails: emptied and bypassed; back up: still empty.
        cache.set_listening(false);
        assert!(cache.get(key).is_none());
        cache.set_listening(true);
        assert!(cache.get(key).is_none());
    }

    #[test]
    fn a_notification_drops_its_school_and_a_racing_read() {
        let cache = PrincipalCache::new();
        cache.set_listening(true);
        let (a, b) = (TenantId(Uuid::from_u128(1)), TenantId(Uuid::from_u128(2)));
        let in_a = Key { school: Some(a), user: Uuid::from_u128(10) };
        let in_b = Key { school: Some(b), user: Uuid::from_u128(11) };
        let staff = Key { school: None, user: Uuid::from_u128(12) };
        for key in [in_a, in_b, staff] {
            cache.keep(cache.ticket(), key, resolved(key.user, key.school));
        }
        cache.forget(&a.0.to_string());
        assert!(cache.get(in_a).is_none());
        assert!(cache.get(in_b).is_some() && cache.get(staff).is_some());
        cache.forget("platform");
        assert!(cache.get(staff).is_none() && cache.get(in_b).is_some());
        cache.forget("*");
        assert!(cache.is_empty());
        cache.keep(cache.ticket(), in_a, resolved(in_a.user, in_a.school));
        cache.keep(cache.ticket(), in_b, resolved(in_b.user, in_b.school));
        cache.forget_key(in_a);
        assert!(cache.get(in_a).is_none() && cache.get(in_b).is_some());

        // A read that started before a notification is not kept.
        let ticket = cache.ticket();
        cache.forget(&b.0.to_string());
        cache.keep(ticket, in_a, resolved(in_a.user, in_a.school));
        assert!(cache.get(in_a).is_none());
    }
}
