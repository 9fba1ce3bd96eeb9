//! Test certificates (rcgen) and a TLS proxy requiring client certificates before the dev server.
//!
//! The dev server speaks plain gRPC; [`TlsProxy`] accepts TLS 1.2/1.3 with ALPN `h2`,
//! requires a client certificate signed by its CA, and copies bytes both ways to the server's
//! port. It runs on its own thread and runtime, so sync and async tests can use it alike.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{RootCertStore, ServerConfig, crypto};

/// A certificate authority that issues server and client certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its private key, as DER (for the proxy) and PEM files (for `stave`).
pub struct Identity {
    pub cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
    pub cert_pem: String,
    pub key_pem: String,
}

/// When a certificate is valid.
#[derive(Clone, Copy, PartialEq)]
pub enum Validity {
    /// rcgen's default: 1975 to 4096.
    Current,
    /// Expired on 2020-01-01.
    Expired,
}

impl TestCa {
    /// A self-signed CA named `name`.
    pub fn new(name: &str) -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("generate the CA key");
        let issuer = CertifiedIssuer::self_signed(params, key).expect("self-sign the CA");
        TestCa { issuer }
    }

    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A server certificate for DNS name `host`.
    pub fn server(&self, host: &str, validity: Validity) -> Identity {
        self.issue(host, ExtendedKeyUsagePurpose::ServerAuth, validity)
    }

    /// A client certificate with common name `name`.
    pub fn client(&self, name: &str) -> Identity {
        self.issue(name, ExtendedKeyUsagePurpose::ClientAuth, Validity::Current)
    }

    fn issue(&self, name: &str, usage: ExtendedKeyUsagePurpose, validity: Validity) -> Identity {
        let mut params = CertificateParams::new(vec![name.to_owned()]).expect("leaf parameters");
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        if validity == Validity::Expired {
            params.not_before = rcgen::date_time_ymd(2019, 1, 1);
            params.not_after = rcgen::date_time_ymd(2020, 1, 1);
        }
        let key = KeyPair::generate().expect("generate a leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("sign the leaf certificate");
        Identity {
            cert_der: cert.der().clone(),
            key_der: key.serialize_der(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// PEM files written to a temporary directory, for `--tls-ca`, `--tls-cert`, `--tls-key`.
pub struct PemFiles {
    dir: tempfile::TempDir,
}

impl PemFiles {
    pub fn new() -> PemFiles {
        PemFiles {
            dir: tempfile::tempdir().expect("a temp dir for certificates"),
        }
    }

    /// Writes `contents` to `name` and returns its path as a string.
    pub fn write(&self, name: &str, contents: &str) -> String {
        let path: PathBuf = self.dir.path().join(name);
        std::fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path.display().to_string()
    }
}

/// A TLS-terminating proxy on `127.0.0.1:PORT`; dropping it stops accepting.
pub struct TlsProxy {
    addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
    _stop: oneshot::Sender<()>,
}

impl TlsProxy {
    /// Serves `identity` to clients, requires a client certificate signed by `client_ca`,
    /// and forwards each verified connection to `127.0.0.1:upstream_port`.
    pub fn start(identity: &Identity, client_ca: &TestCa, upstream_port: u16) -> TlsProxy {
        let acceptor = TlsAcceptor::from(Arc::new(server_config(identity, client_ca)));
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        std_listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let addr = std_listener.local_addr().expect("the proxy's address");
        let handshakes = Arc::new(AtomicUsize::new(0));
        let counted = handshakes.clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("the proxy's runtime");
            runtime.block_on(async move {
                let listener = TcpListener::from_std(std_listener).expect("a tokio listener");
                tokio::select! {
                    _ = stopped => {}
                    _ = accept_loop(listener, acceptor, upstream_port, counted) => {}
                }
            });
        });
        TlsProxy {
            addr,
            handshakes,
            _stop: stop,
        }
    }

    /// `127.0.0.1:PORT`, for `--address`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// How many TLS handshakes completed with a verified client certificate.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }
}

fn server_config(identity: &Identity, client_ca: &TestCa) -> ServerConfig {
    // An explicit provider: with more than one rustls backend in the build, the process-wide
    // default is ambiguous.
    let provider = Arc::new(crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(client_ca.cert_der()).expect("add the client CA");
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .expect("a client certificate verifier");
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_der.clone()));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![identity.cert_der.clone()], key)
        .expect("the server certificate");
    config.alpn_protocols = vec![b"h2".to_vec()];
    config
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    upstream_port: u16,
    handshakes: Arc<AtomicUsize>,
) {
    loop {
        let Ok((socket, _)) = listener.accept().await else {
            // Out of file descriptors, most likely: back off instead of spinning.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let acceptor = acceptor.clone();
        let handshakes = handshakes.clone();
        tokio::spawn(async move {
            // A failed handshake (the client rejected our certificate, or sent none) just
            // closes this connection: rustls has already sent the alert.
            let Ok(mut tls) = acceptor.accept(socket).await else {
                return;
            };
            handshakes.fetch_add(1, Ordering::SeqCst);
            let Ok(mut upstream) = TcpStream::connect(("127.0.0.1", upstream_port)).await else {
                return;
            };
            let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
        });
    }
}
