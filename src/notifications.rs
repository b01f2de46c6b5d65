//! Notifications: messages to people outside the browser. Today: the invitation email
//! (staff and parents), queued as a durable job (`crate::jobs`) and sent by the worker. Live browser
//! notifications (SSE) and SMS come with the notifications issue.

use serde::{Deserialize, Serialize};

/// An invitation email waiting to be sent: the payload of
/// [`crate::jobs::Job::InvitationEmail`] (stored sealed: the link is a secret until used).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationEmail {
    pub to: String,
    pub school: String,
    pub link: String,
}

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
