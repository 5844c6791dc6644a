//! The SMTP side: one pooled async lettre transport per process, built from `[smtp]`, and how a
//! rendered message becomes a MIME email (multipart/alternative, text then HTML).

use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use chrono::NaiveDateTime;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::render::Rendered;
use crate::config::{SmtpSettings, SmtpTls};

/// Sends email through the configured SMTP server. Cheap to share (`Arc<Mailer>`): connections
/// are pooled inside.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
    id_domain: String,
    /// The longest a whole send may take: lettre's async transport applies its timeout to
    /// connecting only, and a server that stops answering must not hold a dispatcher forever.
    deadline: Duration,
}

/// A whole send (connect, greeting, envelope, data, reply) gets this many `smtp.timeout_secs`.
const SEND_TIMEOUTS: u64 = 5;

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer")
            .field("from", &self.from.to_string())
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The server accepted the message.
    Sent { detail: String },
    /// Try again later: the server was unreachable, timed out, or answered 4xx.
    Temporary { code: Option<u16>, detail: String },
    /// Never retry: the server answered 5xx, or the address is unusable.
    Permanent { code: Option<u16>, detail: String },
}

/// A message ready to go.
#[derive(Debug, Clone)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Recipient display name, if known.
    pub to_name: Option<String>,
    /// `<id@domain>`.
    pub message_id: String,
    pub rendered: Rendered,
    /// `List-Unsubscribe` target, on marketing and survey messages.
    pub unsubscribe_url: Option<String>,
    /// The `Date` header.
    pub date: NaiveDateTime,
}

impl Mailer {
    /// Builds the pooled transport (no connection is made until the first send). Needs a Tokio
    /// runtime: the pool runs a cleanup task.
    pub fn new(s: &SmtpSettings) -> anyhow::Result<Self> {
        let from: Mailbox = s
            .from
            .parse()
            .with_context(|| format!("smtp.from {:?} is not a mailbox", s.from))?;
        let reply_to = match s.reply_to.trim() {
            "" => None,
            r => Some(
                r.parse::<Mailbox>()
                    .with_context(|| format!("smtp.reply_to {r:?} is not a mailbox"))?,
            ),
        };
        let tls = match s.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(TlsParameters::new(s.host.clone())?),
            SmtpTls::Tls => Tls::Wrapper(TlsParameters::new(s.host.clone())?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&s.host)
            .port(s.port)
            .tls(tls)
            .timeout(Some(Duration::from_secs(s.timeout_secs.max(1))))
            .pool_config(PoolConfig::new().max_size(s.pool_size.max(1)));
        if let (Some(user), Some(password)) = (&s.username, &s.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_owned(),
            ));
        }
        let id_domain = match s.message_id_domain.trim() {
            "" => from.email.domain().to_owned(),
            d => d.to_owned(),
        };
        Ok(Self {
            transport: builder.build(),
            from,
            reply_to,
            id_domain,
            deadline: Duration::from_secs(s.timeout_secs.max(1) * SEND_TIMEOUTS),
        })
    }

    /// A new unique `Message-ID` value.
    pub fn new_message_id(&self) -> String {
        format!("<{}@{}>", uuid::Uuid::now_v7().simple(), self.id_domain)
    }

    /// Sends one email and classifies the result.
    pub async fn send(&self, email: &Email) -> Outcome {
        let message = match self.build(email) {
            Ok(m) => m,
            Err(detail) => return Outcome::Permanent { code: None, detail },
        };
        let sent = tokio::time::timeout(self.deadline, self.transport.send(message)).await;
        let Ok(sent) = sent else {
            return Outcome::Temporary {
                code: None,
                detail: format!(
                    "the SMTP server did not finish within {}s",
                    self.deadline.as_secs()
                ),
            };
        };
        match sent {
            Ok(response) => Outcome::Sent {
                detail: format!(
                    "{} {}",
                    u16::from(response.code()),
                    response.message().collect::<Vec<_>>().join(" ")
                ),
            },
            Err(e) => {
                let code = e.status().map(u16::from);
                let detail = error_chain(&e);
                if e.is_permanent() {
                    Outcome::Permanent { code, detail }
                } else {
                    Outcome::Temporary { code, detail }
                }
            }
        }
    }

    fn build(&self, email: &Email) -> Result<Message, String> {
        let address = email
            .to
            .parse()
            .map_err(|e| format!("recipient address is unusable: {e}"))?;
        let to = Mailbox::new(email.to_name.clone(), address);
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.rendered.subject.clone())
            .message_id(Some(email.message_id.clone()))
            .date(SystemTime::from(email.date.and_utc()));
        if let Some(reply_to) = &self.reply_to {
            builder = builder.reply_to(reply_to.clone());
        }
        if let Some(url) = &email.unsubscribe_url {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".to_owned(),
                ));
        }
        builder
            .multipart(MultiPart::alternative_plain_html(
                email.rendered.text.clone(),
                email.rendered.html.clone(),
            ))
            .map_err(|e| format!("the message could not be built: {e}"))
    }
}

/// The error and its causes on one line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = inner.source();
    }
    out
}
