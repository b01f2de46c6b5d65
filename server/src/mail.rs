//! Sending email: SMTP when `SMTP_URL` is set (e.g. `smtps://user:pass@mail.example.com`),
//! otherwise (development) each message is written as an .eml file under `MAIL_DIR`, so a
//! developer can open what would have been sent.

use lettre::message::{header::ContentType, Mailbox};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

pub enum Mailer {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

pub struct Outbox {
    pub mailer: Mailer,
    pub from: Mailbox,
}

impl Outbox {
    pub fn new(smtp_url: Option<&str>, mail_dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        let from: Mailbox = from.parse().map_err(|_| anyhow::anyhow!("MAIL_FROM is not an email address"))?;
        let mailer = match smtp_url {
            Some(url) => Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url).map_err(|_| anyhow::anyhow!("SMTP_URL is not valid"))?.build(),
            ),
            None => {
                std::fs::create_dir_all(&mail_dir)?;
                Mailer::Files(AsyncFileTransport::<Tokio1Executor>::new(mail_dir))
            }
        };
        Ok(Self { mailer, from })
    }

    pub async fn send(&self, to: &str, subject: &str, body: String) -> anyhow::Result<()> {
        let to: Mailbox = to.parse().map_err(|_| anyhow::anyhow!("recipient is not an email address"))?;
        let message = Message::builder().from(self.from.clone()).to(to).subject(subject).header(ContentType::TEXT_PLAIN).body(body)?;
        match &self.mailer {
            Mailer::Smtp(t) => {
                t.send(message).await?;
            }
            Mailer::Files(t) => {
                t.send(message).await?;
            }
        }
        Ok(())
    }
}
