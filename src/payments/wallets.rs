//! The wallets' clients, configured per deployment (base URLs and keys: the simulators' in
//! development and tests, the providers' in production), and the steps of a push that talk
//! to them: send it, and confirm a result before anything is posted.

use super::db::{decided, receive, Delivery, Intake};
use super::mpesa::{C2bRequest, Credentials, MpesaApi};
use super::pushes::{self, Push};
use super::Provider;
use super::{Confirmation, PushAnswer};
use crate::audit::pii::KeyRing;
use crate::db::Pool;
use crate::tenancy::TenantId;
use crate::DomainError;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// The wallets this deployment can push to.
#[derive(Clone, Default, Debug)]
pub struct Wallets {
    pub mpesa: Option<Arc<MpesaApi>>,
    pub airtel: Option<Arc<super::airtel::AirtelApi>>,
    pub tigo: Option<Arc<super::tigo::TigoApi>>,
    /// GePG: bills for government schools, and checking what GePG signed.
    pub gepg: Option<Arc<super::gepg::GepgApi>>,
}

impl Wallets {
    /// Whether pushes to `provider` can be sent from here at all (its client is configured).
    pub fn offers(&self, provider: Provider) -> bool {
        match provider {
            Provider::Mpesa => self.mpesa.is_some(),
            Provider::Airtel => self.airtel.is_some(),
            Provider::Tigo => self.tigo.is_some(),
            _ => false,
        }
    }

    fn airtel(&self, credentials: &str) -> Result<(&super::airtel::AirtelApi, super::airtel::AirtelCredentials), DomainError> {
        let api = self.airtel.as_deref().ok_or_else(|| DomainError::conflict("provider", "payments-push-error-not-offered"))?;
        let creds = serde_json::from_str(credentials).map_err(|e| DomainError::Internal(format!("airtel credentials: {e}")))?;
        Ok((api, creds))
    }

    fn tigo(&self, credentials: &str) -> Result<(&super::tigo::TigoApi, super::tigo::TigoCredentials), DomainError> {
        let api = self.tigo.as_deref().ok_or_else(|| DomainError::conflict("provider", "payments-push-error-not-offered"))?;
        let creds = serde_json::from_str(credentials).map_err(|e| DomainError::Internal(format!("tigo credentials: {e}")))?;
        Ok((api, creds))
    }

    fn mpesa(&self, credentials: &str) -> Result<(&MpesaApi, Credentials), DomainError> {
        let api = self.mpesa.as_deref().ok_or_else(|| DomainError::conflict("provider", "payments-push-error-not-offered"))?;
        let creds = serde_json::from_str(credentials).map_err(|e| DomainError::Internal(format!("m-pesa credentials: {e}")))?;
        Ok((api, creds))
    }

    /// Sends a recorded push (see [`pushes::begin`]) and records what the wallet said: sent
    /// (the result comes later), refused (the push failed, with why), or paid at once (then
    /// confirmed and posted like a result). A wallet we cannot reach fails the push: the
    /// parent may try again.
    pub async fn send(
        &self,
        pool: &Pool,
        pii: &KeyRing,
        school: TenantId,
        push: &Push,
        credentials: &str,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError> {
        let pushed = match push.provider {
            Provider::Airtel => {
                let (api, creds) = self.airtel(credentials)?;
                let body = super::airtel::push_body(push.amount_minor, &push.phone, &push.conversation_id, &push.control_number);
                api.push(&creds, &body).await
            }
            Provider::Tigo => {
                let (api, creds) = self.tigo(credentials)?;
                let reference = creds.reference_id(&push.conversation_id);
                let body = super::tigo::push_body(push.amount_minor, &push.phone, &creds.biller_msisdn, &reference, &push.control_number);
                api.push(&creds, &body).await
            }
            _ => {
                let (api, creds) = self.mpesa(credentials)?;
                let request = C2bRequest::new(
                    push.amount_minor,
                    &push.phone,
                    &creds.service_provider_code,
                    &push.conversation_id,
                    &push.control_number,
                );
                api.push(&creds, &request).await
            }
        };
        let answer = match pushed {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(provider = push.provider.code(), error = %e, "a push could not be sent");
                PushAnswer::Refused("payments-push-unavailable")
            }
        };
        let mut tx = crate::db::tenant_tx(pool, school).await?;
        match &answer {
            PushAnswer::Sent { conversation_id } => pushes::sent(&mut tx, push.id, conversation_id.as_deref(), now).await?,
            PushAnswer::Refused(reason) => pushes::failed(&mut tx, push.id, reason, now).await?,
            PushAnswer::Unknown | PushAnswer::Paid { .. } => {}
        }
        tx.commit().await?;
        if let PushAnswer::Paid { transaction_id } = answer {
            // Synchronous mode: the answer is the result. Kept in the inbox like one, then
            // confirmed and posted.
            let body = serde_json::json!({ "mode": "synchronous", "output_TransactionID": transaction_id }).to_string();
            let delivery = Delivery {
                provider: push.provider,
                kind: "notification",
                received_at: now,
                source_ip: None,
                headers: serde_json::json!({}),
                body: body.as_bytes(),
            };
            let mut tx = crate::db::tenant_tx(pool, school).await?;
            let inbox = receive(&mut tx, pii, &delivery, body.len(), ("received", None), Some(&transaction_id)).await?;
            tx.commit().await?;
            self.confirm_and_settle(pool, pii, school, push, credentials, inbox, None, now).await?;
        }
        Ok(())
    }

    /// Asks the wallet what became of `push` (by our own conversation id, never by an id a
    /// caller handed us: a forged result cannot point at someone else's payment).
    pub async fn confirm(&self, push: &Push, credentials: &str) -> Result<Confirmation, DomainError> {
        match push.provider {
            Provider::Airtel => {
                let (api, creds) = self.airtel(credentials)?;
                api.enquire(&creds, &push.conversation_id).await
            }
            // Tigo publishes no status query for pushes: only its callback (or the day's
            // statement) says what became of one.
            Provider::Tigo => Ok(Confirmation::Unknown),
            _ => {
                let (api, creds) = self.mpesa(credentials)?;
                api.query(&creds, &push.conversation_id).await
            }
        }
    }

    /// Confirms `push` with the wallet and, when it was paid, posts it (the delivery `inbox`
    /// that announced it is marked with what was decided). A failed confirmation fails the
    /// push (with `declined`, the reason of a result that said so, when there is one); an unknown one leaves everything as it is (`None`: asked again later, by the
    /// next delivery or [`Wallets::recheck`]).
    #[allow(clippy::too_many_arguments)]
    pub async fn confirm_and_settle(
        &self,
        pool: &Pool,
        pii: &KeyRing,
        school: TenantId,
        push: &Push,
        credentials: &str,
        inbox: uuid::Uuid,
        declined: Option<&'static str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Settled>, DomainError> {
        let confirmation = self.confirm(push, credentials).await?;
        Self::settle_confirmed(pool, pii, school, push, confirmation, inbox, declined, now).await
    }

    /// [`Wallets::confirm_and_settle`] once the wallet has answered (or, for Tigo, which
    /// cannot be asked, once its result has been checked).
    #[allow(clippy::too_many_arguments)]
    pub async fn settle_confirmed(
        pool: &Pool,
        pii: &KeyRing,
        school: TenantId,
        push: &Push,
        confirmation: Confirmation,
        inbox: uuid::Uuid,
        declined: Option<&'static str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Settled>, DomainError> {
        let mut tx = crate::db::tenant_tx(pool, school).await?;
        // Locked: two deliveries of one result settle one after the other.
        let Some(push) = pushes::by_conversation(&mut tx, pii, push.provider, &push.conversation_id).await? else {
            return Err(DomainError::NotFound);
        };
        let settled = match confirmation {
            Confirmation::Unknown => return Ok(None),
            Confirmation::Failed(reason) => {
                let reason = declined.unwrap_or(reason);
                pushes::failed(&mut tx, push.id, reason, now).await?;
                match declined {
                    Some(_) => decided(&mut tx, inbox, "declined", Some(reason), None).await?,
                    None => decided(&mut tx, inbox, "refused", Some("payments-error-not-confirmed"), None).await?,
                }
                Settled::NotPaid(reason)
            }
            Confirmation::Paid { transaction_id } => {
                // A push is paid once. Another transaction for a push paid already is not its
                // money to post again (a wallet's repeat under a new id, or a forgery): refused
                // and kept, for the statement to settle.
                let taken = match pushes::paid_with(&mut tx, push.id).await? {
                    Some(first) if first != transaction_id => Intake::ConflictingRepeat,
                    _ => pushes::settle(&mut tx, pii, &push, &transaction_id, inbox, now).await?,
                };
                let (outcome, reason) = taken.outcome();
                decided(&mut tx, inbox, outcome, reason, Some(&transaction_id)).await?;
                Settled::Paid(taken)
            }
        };
        tx.commit().await?;
        Ok(Some(settled))
    }

    /// A wallet's "paid" for `push` that cannot be posted as it came (`reason`: Tigo's result
    /// for another amount than the push asked, which no status query can correct): kept in
    /// suspense for the bursar, once per wallet transaction; the delivery `inbox` marked.
    #[allow(clippy::too_many_arguments)]
    pub async fn hold_result(
        pool: &Pool,
        pii: &KeyRing,
        school: TenantId,
        push: &Push,
        transaction_id: &str,
        amount_minor: i64,
        inbox: uuid::Uuid,
        reason: &'static str,
        now: DateTime<Utc>,
    ) -> Result<Option<Settled>, DomainError> {
        let mut tx = crate::db::tenant_tx(pool, school).await?;
        let Some(push) = pushes::by_conversation(&mut tx, pii, push.provider, &push.conversation_id).await? else {
            return Err(DomainError::NotFound);
        };
        let taken = match pushes::paid_with(&mut tx, push.id).await? {
            Some(first) if first != transaction_id => Intake::ConflictingRepeat,
            _ => pushes::hold(&mut tx, pii, &push, transaction_id, amount_minor, inbox, now, reason).await?,
        };
        let (outcome, why) = taken.outcome();
        decided(&mut tx, inbox, outcome, why, Some(transaction_id)).await?;
        tx.commit().await?;
        Ok(Some(Settled::Paid(taken)))
    }

    /// Asks the wallets about the school's pushes whose result is late or lost (waiting for
    /// half a minute, or abandoned within the last day: see `pushes::due_for_recheck`), and
    /// settles those it can: money that moved is posted even when its result never came.
    /// What the wallet says is kept in the inbox as a delivery of its own. Returns how many
    /// were settled.
    pub async fn recheck(&self, pool: &Pool, pii: &KeyRing, school: TenantId, now: DateTime<Utc>) -> Result<usize, DomainError> {
        let mut tx = crate::db::tenant_tx(pool, school).await?;
        let due = pushes::due_for_recheck(&mut tx, pii, now, 20).await?;
        // Each wallet's credentials, once.
        let mut credentials = std::collections::HashMap::new();
        let mut providers: Vec<Provider> = due.iter().map(|p| p.provider).collect();
        providers.sort_by_key(|p| p.code());
        providers.dedup();
        for provider in providers {
            if let Some((_, c)) = pushes::wallet(&mut tx, pii, provider).await? {
                credentials.insert(provider, c);
            }
        }
        tx.commit().await?;
        let mut settled = 0;
        for push in due.iter().filter(|p| self.offers(p.provider)) {
            let Some(credentials) = credentials.get(&push.provider) else { continue };
            // Asked first, kept only when it says something (a pending push leaves no trace).
            let confirmation = match self.confirm(push, credentials).await {
                Ok(Confirmation::Unknown) | Err(_) => continue,
                Ok(c) => c,
            };
            let body = serde_json::json!({ "status_query": format!("{confirmation:?}"), "conversation": push.conversation_id }).to_string();
            let delivery = Delivery {
                provider: push.provider,
                kind: "notification",
                received_at: now,
                source_ip: None,
                headers: serde_json::json!({ "source": "status-query" }),
                body: body.as_bytes(),
            };
            let mut tx = crate::db::tenant_tx(pool, school).await?;
            let inbox = receive(&mut tx, pii, &delivery, body.len(), ("received", None), None).await?;
            tx.commit().await?;
            if Self::settle_confirmed(pool, pii, school, push, confirmation, inbox, None, now).await?.is_some() {
                settled += 1;
            }
        }
        Ok(settled)
    }
}

/// What a confirmed result came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The wallet says it was paid: what the intake made of it.
    Paid(Intake),
    /// The wallet says it was not (a message key).
    NotPaid(&'static str),
}
