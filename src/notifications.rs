//! Notifications: messages to people outside the browser. Today: the invitation email
//! (staff and parents), queued as a durable job and sent by the worker. Live browser
//! notifications (SSE) and SMS come with the notifications issue.

/// Job kind of an invitation email.
pub const INVITATION_EMAIL: &str = "mail.invitation";

/// Subject and plain-text body of an invitation, in Kiswahili first and then English: the
/// sender does not know which the reader prefers.
pub fn invitation_email(school: &str, link: &str) -> (String, String) {
    let subject = format!("Mwaliko wa Kilele: {school} / Your Kilele invitation");
    let body = format!(
        "Habari,\n\n{school} imekualika kutumia Kilele. Fungua kiungo hiki uchague nenosiri lako \
         (kinatumika mara moja, kwa saa 48):\n\n{link}\n\n\
         ---\n\nHello,\n\n{school} has invited you to Kilele. Open this link to choose your password \
         (it works once, for 48 hours):\n\n{link}\n\nKilele\n"
    );
    (subject, body)
}

#[cfg(feature = "ssr")]
pub mod queue {
    //! Queuing messages as durable jobs. The payload holds an invitation link (a secret until
    //! used) and an address, so it is stored encrypted like other personal data.
    use crate::audit::pii::{Aad, KeyRing};
    use crate::db::TenantTx;
    use crate::tenancy::TenantId;
    use crate::DomainError;
    use serde::{Deserialize, Serialize};
    use uuid::Uuid;

    pub const PAYLOAD_FIELD: &str = "jobs.payload";

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct InvitationEmail {
        pub to: String,
        pub school: String,
        pub link: String,
    }

    pub async fn invitation_email(
        tx: &mut TenantTx,
        tenant: TenantId,
        pii: &KeyRing,
        message: &InvitationEmail,
    ) -> Result<Uuid, DomainError> {
        let clear = serde_json::to_string(message).map_err(|e| DomainError::Internal(e.to_string()))?;
        let sealed = pii.encrypt(&clear, &Aad::new(tenant.0, PAYLOAD_FIELD))?;
        use base64::Engine;
        let payload = serde_json::json!({ "sealed": base64::engine::general_purpose::STANDARD.encode(sealed) });
        Ok(sqlx::query_scalar("INSERT INTO jobs (tenant_id, kind, payload) VALUES ($1, $2, $3) RETURNING id")
            .bind(tenant.0)
            .bind(super::INVITATION_EMAIL)
            .bind(payload)
            .fetch_one(&mut **tx)
            .await?)
    }

    /// Opens a queued invitation email.
    pub fn open_invitation_email(pii: &KeyRing, tenant: TenantId, payload: &serde_json::Value) -> Result<InvitationEmail, DomainError> {
        use base64::Engine;
        let sealed = payload
            .get("sealed")
            .and_then(|v| v.as_str())
            .and_then(|s| base64::engine::general_purpose::STANDARD.decode(s).ok())
            .ok_or_else(|| DomainError::Internal("job payload is not sealed".into()))?;
        let clear = pii.decrypt(&sealed, &Aad::new(tenant.0, PAYLOAD_FIELD))?;
        serde_json::from_str(&clear).map_err(|e| DomainError::Internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn invitation_is_in_both_languages_with_the_link() {
        let (subject, body) = super::invitation_email("Kilimanjaro Hills", "https://k.test/invite?t=x");
        assert!(subject.contains("Kilimanjaro Hills"));
        assert!(body.contains("imekualika") && body.contains("has invited you"));
        assert_eq!(body.matches("https://k.test/invite?t=x").count(), 2);
    }
}
