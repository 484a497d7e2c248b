//! Opening a connection: TCP, then TLS with ALPN `h2` and certificate
//! verification for `https`, or cleartext h2c with prior knowledge for
//! `http` (RFC 9113 §3.3).

use std::sync::Arc;

use bytes::BytesMut;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;

use super::conn::{Shared, Task, TaskOptions};
use super::error::Error;
use super::pool::{ConnHandle, Origin};

/// TLS settings of a client.
#[derive(Debug, Default)]
pub(crate) struct TlsOptions {
    pub(crate) extra_roots: Vec<CertificateDer<'static>>,
    pub(crate) danger_accept_invalid_certs: bool,
    pub(crate) client_cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    pub(crate) builtin_roots: bool,
}

/// The rustls configuration: webpki roots (Mozilla's list) plus extra CAs,
/// ALPN `h2` only.
pub(crate) fn tls_config(opts: &TlsOptions) -> Result<Arc<rustls::ClientConfig>, Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = if opts.danger_accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        if opts.builtin_roots {
            roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        for ca in &opts.extra_roots {
            roots
                .add(ca.clone())
                .map_err(|e| Error::Tls(format!("extra CA certificate rejected: {e}")))?;
        }
        builder.with_root_certificates(roots)
    };
    let mut cfg = match &opts.client_cert {
        Some((certs, key)) => builder
            .with_client_auth_cert(certs.clone(), key.clone_key())
            .map_err(|e| Error::Tls(format!("client certificate rejected: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    // RFC 9113 §3.2: HTTP/2 over TLS is negotiated with ALPN "h2".
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(cfg))
}

/// Accepts any certificate: for tests against self-signed servers only.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A handshake failure; a server that refused ALPN `h2` (RFC 7301 §3.2:
/// the `no_application_protocol` alert) does not speak HTTP/2 over TLS.
fn tls_error(e: std::io::Error) -> Error {
    let alert = e
        .get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .is_some_and(|r| {
            matches!(
                r,
                rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol)
            )
        });
    if alert {
        return Error::NoHttp2("the server refused ALPN h2 (no_application_protocol alert)".into());
    }
    Error::Tls(e.to_string())
}

/// Connects to `origin` and starts its connection task.
pub(crate) async fn connect(
    origin: &Origin,
    tls: Option<&Arc<rustls::ClientConfig>>,
    connect_timeout: Option<std::time::Duration>,
    task: TaskOptions,
    upgrade: bool,
) -> Result<ConnHandle, Error> {
    let fut = async {
        let tcp = TcpStream::connect((origin.host.as_str(), origin.port))
            .await
            .map_err(|e| Error::Connect(Arc::new(e)))?;
        let _ = tcp.set_nodelay(true);
        let shared = Arc::new(Shared::new());
        let (tx, rx) = mpsc::unbounded_channel();
        let t = Task::new(task.clone(), shared.clone(), tx.clone());
        if origin.https {
            let cfg = tls.ok_or_else(|| Error::Tls("no TLS configuration".into()))?;
            let name = ServerName::try_from(origin.host.clone())
                .map_err(|e| Error::InvalidUrl(format!("{}: {e}", origin.host)))?;
            let stream = tokio_rustls::TlsConnector::from(cfg.clone())
                .connect(name, tcp)
                .await
                .map_err(tls_error)?;
            // RFC 9113 §3.2: h2 only if the server selected it.
            match stream.get_ref().1.alpn_protocol() {
                Some(b"h2") => {}
                Some(p) => {
                    return Err(Error::NoHttp2(format!(
                        "ALPN selected {:?}, not h2",
                        String::from_utf8_lossy(p)
                    )));
                }
                None => {
                    return Err(Error::NoHttp2(
                        "the server did not select h2 by ALPN (HTTP/1.1 only?)".into(),
                    ));
                }
            }
            tokio::spawn(t.run(stream, rx, BytesMut::new()));
        } else if upgrade {
            let mut tcp = tcp;
            let head = upgrade_head(origin);
            let rest = upgrade_h2c(&mut tcp, origin, &task).await?;
            let t = Task::upgraded(task, shared.clone(), tx.clone(), &head);
            tokio::spawn(t.run(tcp, rx, rest));
        } else {
            tokio::spawn(t.run(tcp, rx, BytesMut::new()));
        }
        Ok(ConnHandle { tx, shared })
    };
    match connect_timeout {
        Some(t) => tokio::time::timeout(t, fut)
            .await
            .map_err(|_| Error::Timeout("connect"))?,
        None => fut.await,
    }
}

/// The request the HTTP/1.1 upgrade is made with: `HEAD /`, safe and
/// without a body (its response, on stream 1, is discarded).
fn upgrade_head(origin: &Origin) -> ropewalk_proto::headers::RequestHead {
    let authority = authority(origin);
    let uri = format!("http://{authority}/")
        .parse()
        .unwrap_or_else(|_| http::Uri::from_static("/"));
    ropewalk_proto::headers::RequestHead::new(http::Method::HEAD, uri)
}

fn authority(origin: &Origin) -> String {
    let host = if origin.host.contains(':') {
        format!("[{}]", origin.host)
    } else {
        origin.host.clone()
    };
    if origin.port == 80 {
        host
    } else {
        format!("{host}:{}", origin.port)
    }
}

/// Largest HTTP/1.1 response head accepted during the upgrade.
const MAX_H1_HEAD: usize = 16 * 1024;

/// The HTTP/1.1 `Upgrade: h2c` handshake (RFC 7540 §3.2): returns what the
/// server sent after its 101 response (the start of its HTTP/2 preface).
async fn upgrade_h2c(
    tcp: &mut TcpStream,
    origin: &Origin,
    task: &TaskOptions,
) -> Result<BytesMut, Error> {
    use base64::Engine;
    let payload = ropewalk_proto::conn::Connection::upgrade_settings_payload(
        task.h2.clone(),
        std::time::Instant::now(),
    );
    // RFC 7540 §3.2.1: base64url without padding.
    let settings = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&payload);
    let req = format!(
        "HEAD / HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: {settings}\r\n\r\n",
        authority(origin)
    );
    tcp.write_all(req.as_bytes())
        .await
        .map_err(|e| Error::Connect(Arc::new(e)))?;
    let mut buf = BytesMut::with_capacity(4096);
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > MAX_H1_HEAD {
            return Err(Error::NoHttp2(
                "the HTTP/1.1 response to the upgrade request is too large".into(),
            ));
        }
        let n = tcp
            .read_buf(&mut buf)
            .await
            .map_err(|e| Error::Connect(Arc::new(e)))?;
        if n == 0 {
            return Err(Error::NoHttp2(
                "the server closed the connection during the HTTP/1.1 upgrade".into(),
            ));
        }
    };
    let head = buf.split_to(end);
    let status_line = head[..]
        .split(|&b| b == b'\n')
        .next()
        .map(|l| String::from_utf8_lossy(l).trim().to_owned())
        .unwrap_or_default();
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or("");
    let code = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") || code != "101" {
        return Err(Error::NoHttp2(format!(
            "the server declined the HTTP/1.1 upgrade to h2c: {status_line:?}"
        )));
    }
    Ok(buf)
}
