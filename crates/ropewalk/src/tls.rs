//! TLS for the server: rustls (ring provider) with ALPN `h2` only, PEM
//! certificate loading, and a self-signed certificate for `localhost`,
//! `127.0.0.1` and `::1` that is generated once and reused.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

pub use rustls::ServerConfig;

/// A certificate chain and its key, plus where they came from.
#[derive(Debug)]
pub struct CertKey {
    /// The chain, leaf first.
    pub certs: Vec<CertificateDer<'static>>,
    /// The private key.
    pub key: PrivateKeyDer<'static>,
    /// The certificate file.
    pub cert_path: PathBuf,
    /// The key file.
    pub key_path: PathBuf,
    /// `true` if it was generated during this call.
    pub generated: bool,
}

impl CertKey {
    /// SHA-256 of the leaf certificate, as colon-separated upper-case hex
    /// (the form browsers show).
    pub fn fingerprint(&self) -> String {
        self.certs
            .first()
            .map(|c| fingerprint(c))
            .unwrap_or_default()
    }

    /// A rustls server configuration with ALPN `h2` only.
    pub fn server_config(&self) -> io::Result<Arc<rustls::ServerConfig>> {
        server_config(self.certs.clone(), self.key.clone_key())
    }
}

/// SHA-256 of `der` as colon-separated upper-case hex.
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn invalid(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// A rustls server configuration for `certs`/`key` that offers only `h2`
/// in ALPN: a client that cannot do h2 gets the `no_application_protocol`
/// alert.
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> io::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| invalid(format!("certificate/key rejected: {e}")))?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(cfg))
}

/// Loads a PEM certificate chain and private key.
pub fn load_pem(cert_path: &Path, key_path: &Path) -> io::Result<CertKey> {
    let certs = rustls_pemfile::certs(&mut io::BufReader::new(std::fs::File::open(cert_path)?))
        .collect::<Result<Vec<_>, _>>()?;
    if certs.is_empty() {
        return Err(invalid(format!(
            "no certificate in {}",
            cert_path.display()
        )));
    }
    let key = rustls_pemfile::private_key(&mut io::BufReader::new(std::fs::File::open(key_path)?))?
        .ok_or_else(|| invalid(format!("no private key in {}", key_path.display())))?;
    Ok(CertKey {
        certs,
        key,
        cert_path: cert_path.to_owned(),
        key_path: key_path.to_owned(),
        generated: false,
    })
}

/// Where the self-signed certificate is kept: `$ROPEWALK_CERT_DIR`, else
/// `$XDG_DATA_HOME/ropewalk`, else `~/.local/share/ropewalk`, else a
/// `ropewalk` folder in the temporary directory.
pub fn default_cert_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ROPEWALK_CERT_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("ropewalk");
    }
    if let Some(h) = std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(h).join(".local/share/ropewalk");
    }
    std::env::temp_dir().join("ropewalk")
}

/// The self-signed certificate in `dir` (`localhost-cert.pem`,
/// `localhost-key.pem`): loaded if present, otherwise generated for
/// `localhost`, `127.0.0.1` and `::1` and saved (the key readable only by
/// its owner).
pub fn self_signed(dir: &Path) -> io::Result<CertKey> {
    let cert_path = dir.join("localhost-cert.pem");
    let key_path = dir.join("localhost-key.pem");
    if cert_path.exists() && key_path.exists() {
        return load_pem(&cert_path, &key_path);
    }
    std::fs::create_dir_all(dir)?;
    let names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| invalid(e.to_string()))?;
    let key_pem = ck.key_pair.serialize_pem();
    write_private(&key_path, key_pem.as_bytes())?;
    std::fs::write(&cert_path, ck.cert.pem())?;
    let mut out = load_pem(&cert_path, &key_path)?;
    out.generated = true;
    Ok(out)
}

fn write_private(path: &Path, data: &[u8]) -> io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    io::Write::write_all(&mut opts.open(path)?, data)
}
