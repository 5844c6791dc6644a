//! The token signing key: from configuration, or generated once into the data folder in development.

use std::io::Write;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{Settings, is_production};
use crate::db::Target;

/// Shortest accepted configured secret, in bytes.
const MIN_SECRET_BYTES: usize = 32;

/// Random URL-safe text with `bytes` bytes of entropy.
fn random_text(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A generated password (128 bits) for the first admin.
pub fn random_password() -> String {
    random_text(16)
}

/// The signing secret. In production it must be configured; elsewhere a missing one is generated
/// once into `<data folder>/jwt_secret` (the SQLite folder, or `data/` with PostgreSQL).
pub fn jwt_secret(settings: &Settings) -> anyhow::Result<SecretString> {
    if let Some(secret) = &settings.auth.jwt_secret {
        anyhow::ensure!(
            secret.expose_secret().len() >= MIN_SECRET_BYTES,
            "auth.jwt_secret must be at least {MIN_SECRET_BYTES} bytes"
        );
        return Ok(secret.clone());
    }
    anyhow::ensure!(
        !is_production(),
        "auth.jwt_secret is not set; with PATRON_ENV=production set PATRON__AUTH__JWT_SECRET (32+ bytes)"
    );
    let dir = match Target::parse(&settings.database.url)? {
        Target::Sqlite(path) => PathBuf::from(path)
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default(),
        Target::Postgres(_) => PathBuf::from("data"),
    };
    std::fs::create_dir_all(if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir.clone()
    })?;
    let path = dir.join("jwt_secret");
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut file) => {
            let secret = random_text(48);
            file.write_all(secret.as_bytes())?;
            restrict(&path)?;
            tracing::warn!(path = %path.display(), "auth.jwt_secret is not set; generated a development key. Set it in production.");
            Ok(SecretString::from(secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let secret = std::fs::read_to_string(&path)?.trim().to_owned();
            anyhow::ensure!(
                secret.len() >= MIN_SECRET_BYTES,
                "{} is too short; delete it to regenerate",
                path.display()
            );
            tracing::warn!(path = %path.display(), "using the development signing key; set auth.jwt_secret in production");
            Ok(SecretString::from(secret))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(unix)]
fn restrict(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict(_path: &std::path::Path) -> std::io::Result<()> {
    Ok(())
}

/// Signed links (unsubscribe, survey pages): `{base64url(payload)}.{base64url(mac)}` where `mac`
/// is HMAC-SHA256 under `secret` of `context` followed by the payload. Each kind of link has a
/// context of its own, so no signature made for one is valid for another.
pub mod links {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    use sha2::Sha256;

    /// HMAC takes keys of any length, so this is always `Some`.
    fn mac(secret: &str, context: &[u8], payload: &[u8]) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).ok()?;
        mac.update(context);
        mac.update(payload);
        Some(mac)
    }

    /// The token of a payload.
    pub fn sign(secret: &str, context: &[u8], payload: &[u8]) -> Option<String> {
        let sig = mac(secret, context, payload)?.finalize().into_bytes();
        Some(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(sig)
        ))
    }

    /// The payload of a genuine token (constant-time check); `None` for a token longer than
    /// `max_len`, malformed, or signed otherwise.
    pub fn verify(secret: &str, context: &[u8], token: &str, max_len: usize) -> Option<Vec<u8>> {
        if token.len() > max_len {
            return None;
        }
        let (payload, sig) = token.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
        mac(secret, context, &payload)?.verify_slice(&sig).ok()?;
        Some(payload)
    }
}
