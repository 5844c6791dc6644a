//! A real SMTP server inside the test process (`mailin-embedded`) on a free local port. It keeps
//! every message it accepts (envelope and raw bytes) for the test to parse with `mailparse`, and
//! can refuse: 550 (permanent) or 451 (temporary) to RCPT or at the end of DATA. It can also be
//! down: its port is reserved (bound, not listening, so connections are refused) until `up()`.
//!
//! ```ignore
//! let mail = MailSink::start();
//! let app = TestApp::spawn_with(|s| mail.configure(s)).await;
//! // ... enqueue, then app.run_job("dispatch_outbox").await
//! let got = mail.wait_for(1, Duration::from_secs(5)).await;
//! assert_eq!(got[0].header("Subject").as_deref(), Some("…"));
//! ```

#![allow(dead_code)]

use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mailin_embedded::response::{INTERNAL_ERROR, NO_MAILBOX, OK};
use mailin_embedded::{Handler, Response, Server};
use mailparse::{MailHeaderMap, ParsedMail};
use patron::config::{Settings, SmtpTls};

/// How the server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// Accept every message.
    Accept,
    /// `550 Mailbox unavailable` to RCPT TO.
    RejectRcpt,
    /// `550` after the message data.
    RejectData,
    /// `451` to RCPT TO (try again later).
    DeferRcpt,
    /// `451` after the message data.
    DeferData,
}

/// A message the server accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// `MAIL FROM` address.
    pub from: String,
    /// `RCPT TO` addresses.
    pub to: Vec<String>,
    /// The message as sent (headers and body, CRLF line ends, dot-unstuffed).
    pub data: Vec<u8>,
}

impl Received {
    /// The parsed message.
    pub fn parsed(&self) -> ParsedMail<'_> {
        mailparse::parse_mail(&self.data).expect("a parseable message")
    }

    /// A header, decoded (RFC 2047 encoded words become text).
    pub fn header(&self, name: &str) -> Option<String> {
        self.parsed().headers.get_first_value(name)
    }

    /// A header as it was on the wire (still encoded).
    pub fn raw_header(&self, name: &str) -> Option<String> {
        self.parsed()
            .headers
            .get_first_header(name)
            .map(|h| String::from_utf8_lossy(h.get_value_raw()).into_owned())
    }

    /// The decoded body of the first part with this MIME type (`text/plain`, `text/html`).
    pub fn part(&self, mime: &str) -> Option<String> {
        fn find(p: &ParsedMail<'_>, mime: &str) -> Option<String> {
            if p.subparts.is_empty() {
                return (p.ctype.mimetype == mime).then(|| p.get_body().expect("decodable part"));
            }
            p.subparts.iter().find_map(|s| find(s, mime))
        }
        find(&self.parsed(), mime)
    }

    /// The HTML part.
    pub fn html(&self) -> String {
        self.part("text/html").expect("an HTML part")
    }

    /// The plain-text part.
    pub fn text(&self) -> String {
        self.part("text/plain").expect("a text part")
    }
}

struct Shared {
    received: Mutex<Vec<Received>>,
    reply: Mutex<Reply>,
}

/// One SMTP session's state (mailin clones the handler per connection).
#[derive(Clone)]
struct Session {
    shared: Arc<Shared>,
    from: String,
    to: Vec<String>,
    data: Vec<u8>,
}

impl Session {
    fn reply(&self) -> Reply {
        *self.shared.reply.lock().unwrap()
    }
}

impl Handler for Session {
    fn mail(&mut self, _ip: IpAddr, _domain: &str, from: &str) -> Response {
        self.from = from.to_owned();
        self.to.clear();
        self.data.clear();
        OK
    }

    fn rcpt(&mut self, to: &str) -> Response {
        match self.reply() {
            Reply::RejectRcpt => NO_MAILBOX,
            Reply::DeferRcpt => INTERNAL_ERROR,
            _ => {
                self.to.push(to.to_owned());
                OK
            }
        }
    }

    fn data_start(&mut self, _domain: &str, from: &str, _is8bit: bool, to: &[String]) -> Response {
        self.from = from.to_owned();
        self.to = to.to_vec();
        self.data.clear();
        OK
    }

    fn data(&mut self, buf: &[u8]) -> io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        // The reply ends the transaction either way (RFC 5321 4.1.1.4). mailin keeps a session
        // in its DATA state after an error reply here, and would read the client's QUIT as
        // message text; a reply not flagged as an error moves it on, with the same code.
        let ending = |code: u16, text: &str| {
            let mut reply = Response::custom(code, text.to_owned());
            reply.is_error = false;
            reply
        };
        match self.reply() {
            Reply::RejectData => ending(550, "Message refused"),
            Reply::DeferData => ending(451, "Try again later"),
            _ => {
                self.shared.received.lock().unwrap().push(Received {
                    from: self.from.clone(),
                    to: self.to.clone(),
                    data: std::mem::take(&mut self.data),
                });
                OK
            }
        }
    }
}

/// The test SMTP server. Call from inside a Tokio runtime (a `#[tokio::test]`).
pub struct MailSink {
    port: u16,
    shared: Arc<Shared>,
    reserved: Mutex<Option<tokio::net::TcpSocket>>,
}

impl MailSink {
    /// A server listening now.
    pub fn start() -> Self {
        let sink = Self::down();
        sink.up();
        sink
    }

    /// A server that is down: its port is bound but not listening (connections are refused),
    /// so nothing else takes it before `up()`.
    pub fn down() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("bind a free port");
        let port = socket.local_addr().expect("bound address").port();
        MailSink {
            port,
            shared: Arc::new(Shared {
                received: Mutex::new(Vec::new()),
                reply: Mutex::new(Reply::Accept),
            }),
            reserved: Mutex::new(Some(socket)),
        }
    }

    /// Starts listening on the reserved port (once).
    pub fn up(&self) {
        let socket = self
            .reserved
            .lock()
            .unwrap()
            .take()
            .expect("the sink is already up");
        let listener = socket.listen(64).expect("listen").into_std().expect("std");
        listener.set_nonblocking(false).expect("blocking accept");
        let handler = Session {
            shared: self.shared.clone(),
            from: String::new(),
            to: Vec::new(),
            data: Vec::new(),
        };
        std::thread::spawn(move || {
            let mut server = Server::new(handler);
            server
                .with_name("sink.test")
                .with_num_threads(12)
                .with_tcp_listener(listener);
            let _ = server.serve();
        });
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Points the app's `[smtp]` settings at this server (plain SMTP, short timeout).
    pub fn configure(&self, s: &mut Settings) {
        s.smtp.host = "127.0.0.1".to_owned();
        s.smtp.port = self.port;
        s.smtp.tls = SmtpTls::None;
        s.smtp.username = None;
        s.smtp.password = None;
        s.smtp.timeout_secs = 5;
    }

    /// Changes how the server answers from now on.
    pub fn set_reply(&self, reply: Reply) {
        *self.shared.reply.lock().unwrap() = reply;
    }

    /// Every message accepted so far.
    pub fn received(&self) -> Vec<Received> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages arrived; panics after `timeout`.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let got = self.received();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "expected {n} message(s) within {timeout:?}, got {}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
