//! "Pay now" from the parent portal: which wallets a school takes pushes for, the push
//! itself, and what became of it. The push's live progress is a plain route (the server's
//! `finance::push_events`), and its result arrives through the wallet's webhook.

use crate::errors::AppError;
use kilele::payments::{Provider, PushView};
use leptos::prelude::*;

#[cfg(feature = "ssr")]
use super::{parse_uuid, scope::Scope};
#[cfg(feature = "ssr")]
use kilele::identity::Permission;

/// The wallets a parent may pay this child's fees from (empty: none is open at this school).
#[server(endpoint = "portal/fees/wallets")]
pub async fn wallets_for(student: String) -> Result<Vec<Provider>, AppError> {
    let mut s = Scope::finance(&[Permission::PortalFeesPay]).await?;
    s.portal_student(&student).await?;
    // Those the school has open and this deployment can reach, M-Pesa first.
    let mut open: Vec<Provider> =
        kilele::payments::pushes::open_wallets(&mut s.tx).await?.into_iter().filter(|p| s.deps.wallets.offers(*p)).collect();
    open.sort_by_key(|p| *p != Provider::Mpesa);
    s.commit(open).await
}

/// Sends a push to the parent's phone for this child's fees, then shows its page (where the
/// result appears live). Sent once per form: a second tap shows the first push.
#[server(endpoint = "portal/fees/pay")]
pub async fn pay_now(
    student: String,
    provider: String,
    #[server(default)] phone: String,
    #[server(default)] amount: String,
    #[server(default)] once: String,
) -> Result<(), AppError> {
    use kilele::payments::pushes::{self, NewPush};
    let mut s = Scope::finance(&[Permission::PortalFeesPay]).await?;
    let student_id = s.portal_student(&student).await?;
    let page = |push: uuid::Uuid| format!("/portal/fees/{student_id}/pay/{push}");
    if let Some(first) = s.once(&once, "portal/fees/pay", &[&student, &provider, &phone, &amount]).await? {
        let first = first.ok_or(AppError::Internal)?;
        s.commit(()).await?;
        leptos_axum::redirect(&page(first));
        return Ok(());
    }
    let provider = Provider::parse(&provider)
        .filter(|p| s.deps.wallets.offers(*p))
        .ok_or_else(|| kilele::DomainError::conflict("provider", "payments-push-error-not-offered"))?;
    let new = NewPush { provider, student_id, requested_by: s.me.user_id, phone, amount };
    let push = pushes::begin(&mut s.tx, &s.deps.pii, &new, s.change.by()).await?;
    let credentials = pushes::wallet(&mut s.tx, &s.deps.pii, provider).await?.map(|(_, c)| c).ok_or(AppError::Internal)?;
    s.done(&once, push.id).await?;
    let (deps, school, at) = (s.deps.clone(), s.tenant.id, s.change.at);
    // Recorded before the wallet is called: its result always finds the push.
    s.commit(()).await?;
    // Whatever happens now, the push exists and its page says where it is (a result that
    // comes, or the re-check, settles it): the parent always lands there.
    if let Err(e) = deps.wallets.send(&deps.pool, &deps.pii, school, &push, &credentials, at).await {
        tracing::error!(push = %push.id, error = %e, "a push was recorded but not sent; the re-check settles it");
    }
    leptos_axum::redirect(&page(push.id));
    Ok(())
}

/// A push of the signed-in parent's, as its page shows it (another's is not found).
#[server(endpoint = "portal/fees/push")]
pub async fn push_state(push: String) -> Result<PushView, AppError> {
    let mut s = Scope::finance(&[Permission::PortalFeesPay]).await?;
    let push = parse_uuid("push", &push)?;
    let view = kilele::payments::pushes::view(&mut s.tx, push, s.me.user_id, s.change.at).await?;
    s.commit(view).await
}
