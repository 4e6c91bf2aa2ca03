//! A C ABI over rustls 0.23 (ring provider) for sslconform's rustls column.
//!
//! The page's objects map onto rustls's own model:
//! - an SSL_CTX handle is `Arc<Ctx>`: a slot holding the current `Arc<ClientConfig>` or
//!   `Arc<ServerConfig>`. rustls configs are immutable once built, so a context setter
//!   builds a new config from the stored builder inputs and puts it in the slot;
//!   connections made earlier keep the config they were made from.
//! - an SSL handle is a `Box<Ssl>` holding a `ClientConnection` or `ServerConnection` made
//!   from the context's current config. rustls connections are plain values their owner
//!   drops: there is no reference count, so this library exports no up-ref and reports no
//!   frees (an Arc or a `Drop` hook here would be this crate's bookkeeping, not rustls's).
//! - settings are read back through rustls's public API where it has a reader (the
//!   crypto provider's cipher suites) and otherwise observed in a real in-memory
//!   handshake: of a connection built from a context's config, or of the SSL's own
//!   connection (what it verifies or demands is what rustls does in that handshake).
//! - allocation failures: a global allocator that fails the nth allocation made inside
//!   `ClientConnection::new` / `ServerConnection::new`; what rustls then does (Rust's
//!   allocation failure handler aborts the process) is the result.
//!
//! Safety, for every `unsafe extern "C"` function: a handle argument is NULL or a live
//! handle this library gave out (not yet freed); output buffers hold `cap` items.
//! Like OpenSSL, the library cannot tell a stale handle from a live one.
#![allow(clippy::missing_safety_doc)] // the one rule above covers every function

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::{c_char, c_int, c_long, CStr, CString};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::{ring as ring_provider, CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, SignatureVerificationAlgorithm,
    UnixTime,
};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{
    CipherSuite, ClientConfig, ClientConnection, Connection, DigitallySignedStruct,
    DistinguishedName, Error, ProtocolVersion, RootCertStore, ServerConfig, ServerConnection,
    SignatureScheme, SupportedCipherSuite, SupportedProtocolVersion,
};

// The harness's own test identities: a server config cannot be built without a
// certificate, and handshakes need one to get anywhere.
mod testcert;
use testcert::{ECDSA_CERT, ECDSA_KEY, RSA_CERT, RSA_KEY};
const SERVER_NAME: &str = "sslconform.test";

const VERSION: &str = concat!("rustls ", env!("SSLCONFORM_RUSTLS_VERSION"), "\0");

static ERRORS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock only means an earlier call panicked; the data is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn push_error(msg: impl Into<String>) {
    lock(&ERRORS).push(msg.into());
}

// --- configs ------------------------------------------------------------------------

/// The builder inputs a context keeps so that it can build its config again.
#[derive(Clone)]
struct Params {
    server: bool,
    min: u16,                               // 0: no lower bound
    max: u16,                               // 0: no upper bound
    tls12_suites: Option<Vec<CipherSuite>>, // None: the provider's default list
    // client: 0 no verification, 1 verify the server; server: 0 no client auth,
    // 1 client auth offered (optional), 2 client auth mandatory
    verify: u8,
    alpn: Vec<Vec<u8>>,  // ClientConfig/ServerConfig::alpn_protocols
    max_fragment: usize, // ::max_fragment_size, 0: None
    resumption: bool,    // client: in-memory sessions or disabled; server: session cache
    tickets: bool,       // server: a ring Ticketer or none
    key_log: bool,       // ::key_log: a recording KeyLog or NoKeyLog
    client_cert: bool,   // client: the test identity as client certificate
    // The identity a script gave (DER): rustls takes a certificate chain and its key
    // together, so the config carries them once leaf and key are both there.
    leaf: Option<Vec<u8>>,
    key: Option<Vec<u8>>, // PKCS#8
    extra_chain: Vec<Vec<u8>>,
    num_tickets: Option<usize>, // server: send_tls13_tickets (None: rustls's default)
    // The provider's signature schemes, in this order (None: all, in the provider's):
    // a client offers them in its ClientHello, a server lists them in a CertificateRequest.
    schemes: Option<Vec<u16>>,
    any_client: bool, // probe servers: ask for a client certificate, accept any
}

impl Params {
    /// What a fresh config has: rustls's builder defaults, plus the test identity on a
    /// server and verification on (with nothing trusted) on a client.
    fn new(server: bool) -> Self {
        Params {
            server,
            min: 0,
            max: 0,
            tls12_suites: None,
            verify: if server { 0 } else { 1 },
            alpn: Vec::new(),
            max_fragment: 0,
            resumption: true,
            tickets: false,
            key_log: false,
            client_cert: false,
            leaf: None,
            key: None,
            extra_chain: Vec::new(),
            num_tickets: None,
            schemes: None,
            any_client: false,
        }
    }
}

/// Counts the secrets rustls hands it; `will_log` says yes.
#[derive(Debug, Default)]
struct CountingKeyLog(std::sync::atomic::AtomicUsize);

impl rustls::KeyLog for CountingKeyLog {
    fn log(&self, _label: &str, _client_random: &[u8], _secret: &[u8]) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Clone)]
enum Config {
    Client(Arc<ClientConfig>),
    Server(Arc<ServerConfig>),
}

/// A mapping of the provider's signature schemes, as WebPkiSupportedAlgorithms holds it.
type SchemeMapping = &'static [(
    SignatureScheme,
    &'static [&'static dyn SignatureVerificationAlgorithm],
)];

/// The provider's mapping for these schemes, in this order. rustls holds the mapping as
/// a static slice: each distinct order is made once and kept for the process.
fn scheme_mapping(wanted: &[u16], all: SchemeMapping) -> SchemeMapping {
    static MADE: Mutex<Vec<(Vec<u16>, SchemeMapping)>> = Mutex::new(Vec::new());
    let mut made = lock(&MADE);
    if let Some((_, mapping)) = made.iter().find(|(codes, _)| codes == wanted) {
        return mapping;
    }
    let mapping: Vec<_> = wanted
        .iter()
        .filter_map(|code| all.iter().find(|(s, _)| u16::from(*s) == *code).copied())
        .collect();
    let mapping: SchemeMapping = Box::leak(mapping.into_boxed_slice());
    made.push((wanted.to_vec(), mapping));
    mapping
}

fn provider(params: &Params) -> Result<Arc<CryptoProvider>, Error> {
    let mut provider = ring_provider::default_provider();
    if let Some(wanted) = &params.schemes {
        let algorithms = provider.signature_verification_algorithms;
        let mapping = scheme_mapping(wanted, algorithms.mapping);
        if mapping.is_empty() {
            return Err(Error::General(
                "none of the requested signature schemes is in rustls's provider".into(),
            ));
        }
        provider.signature_verification_algorithms = WebPkiSupportedAlgorithms {
            all: algorithms.all,
            mapping,
        };
    }
    if let Some(wanted) = &params.tls12_suites {
        // The page's cipher list is the TLS 1.2 list; TLS 1.3 suites stay as they are.
        let mut suites: Vec<SupportedCipherSuite> = Vec::new();
        for name in wanted {
            if let Some(s) = provider
                .cipher_suites
                .iter()
                .find(|s| s.suite() == *name && matches!(s, SupportedCipherSuite::Tls12(_)))
            {
                suites.push(*s);
            }
        }
        if suites.is_empty() {
            return Err(Error::General(
                "none of the requested TLS 1.2 suites is in rustls".into(),
            ));
        }
        suites.extend(
            provider
                .cipher_suites
                .iter()
                .filter(|s| matches!(s, SupportedCipherSuite::Tls13(_))),
        );
        provider.cipher_suites = suites;
    }
    Ok(Arc::new(provider))
}

fn versions(params: &Params) -> Vec<&'static SupportedProtocolVersion> {
    rustls::ALL_VERSIONS
        .iter()
        .copied()
        .filter(|v| {
            let n = u16::from(v.version);
            (params.min == 0 || n >= params.min) && (params.max == 0 || n <= params.max)
        })
        .collect()
}

fn certified_key(cert: &'static [u8], key: &'static [u8], p: &CryptoProvider) -> Arc<CertifiedKey> {
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
    let signing = p
        .key_provider
        .load_private_key(der)
        .expect("embedded test key loads");
    Arc::new(CertifiedKey::new(vec![CertificateDer::from(cert)], signing))
}

/// Serves the ECDSA identity when client and server share an ECDHE-ECDSA suite, else the
/// RSA one (TLS 1.3 accepts either), so that any cipher list a script sets can complete a
/// handshake.
#[derive(Debug)]
struct TestIdentities {
    ecdsa: Arc<CertifiedKey>,
    rsa: Arc<CertifiedKey>,
    ecdsa_suites: Vec<CipherSuite>, // the server's own ECDHE-ECDSA suites
}

impl TestIdentities {
    fn new(p: &CryptoProvider) -> Self {
        TestIdentities {
            ecdsa: certified_key(ECDSA_CERT, ECDSA_KEY, p),
            rsa: certified_key(RSA_CERT, RSA_KEY, p),
            ecdsa_suites: p
                .cipher_suites
                .iter()
                .map(|s| s.suite())
                .filter(|s| s.as_str().is_some_and(|n| n.contains("ECDHE_ECDSA")))
                .collect(),
        }
    }
}

impl ResolvesServerCert for TestIdentities {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let ecdsa = hello
            .cipher_suites()
            .iter()
            .any(|s| self.ecdsa_suites.contains(s));
        Some(if ecdsa {
            self.ecdsa.clone()
        } else {
            self.rsa.clone()
        })
    }
}

/// Verification switched off: the config accepts any server certificate.
#[derive(Debug)]
struct AcceptAnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
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
    ) -> Result<HandshakeSignatureValid, Error> {
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

/// The script's certificate chain and key, once both are there.
fn identity(params: &Params) -> Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let (leaf, key) = (params.leaf.as_ref()?, params.key.as_ref()?);
    let mut chain = vec![CertificateDer::from(leaf.clone())];
    chain.extend(params.extra_chain.iter().cloned().map(CertificateDer::from));
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.clone()));
    Some((chain, key))
}

/// A probe server's client verifier: asks for a certificate, accepts any (or none), and
/// checks the handshake signatures as rustls does.
#[derive(Debug)]
struct AcceptAnyClient(Arc<CryptoProvider>);

impl ClientCertVerifier for AcceptAnyClient {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
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
    ) -> Result<HandshakeSignatureValid, Error> {
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

fn build(params: &Params) -> Result<Config, Error> {
    let provider = provider(params)?;
    let versions = versions(params);
    if params.server {
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)?;
        let builder = if params.any_client {
            builder.with_client_cert_verifier(Arc::new(AcceptAnyClient(provider.clone())))
        } else if params.verify == 0 {
            builder.with_no_client_auth()
        } else {
            let mut roots = RootCertStore::empty();
            roots.add(CertificateDer::from(ECDSA_CERT))?;
            roots.add(CertificateDer::from(RSA_CERT))?;
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let verifier = if params.verify == 1 {
                verifier.allow_unauthenticated().build()
            } else {
                verifier.build()
            };
            builder.with_client_cert_verifier(
                verifier.map_err(|e| Error::General(format!("client verifier: {e}")))?,
            )
        };
        let mut config = match identity(params) {
            Some((chain, key)) => builder.with_single_cert(chain, key)?,
            None => builder.with_cert_resolver(Arc::new(TestIdentities::new(&provider))),
        };
        if let Some(n) = params.num_tickets {
            config.send_tls13_tickets = n;
        }
        config.alpn_protocols = params.alpn.clone();
        config.max_fragment_size = (params.max_fragment != 0).then_some(params.max_fragment);
        if !params.resumption {
            config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
        if params.tickets {
            config.ticketer = ring_provider::Ticketer::new()?;
        }
        if params.key_log {
            config.key_log = Arc::new(CountingKeyLog::default());
        }
        Ok(Config::Server(Arc::new(config)))
    } else {
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)?;
        let builder = if params.verify == 0 {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyServer(provider)))
        } else {
            // No trust anchors: rustls verifies, and nothing is trusted.
            builder.with_root_certificates(RootCertStore::empty())
        };
        let mut config = if let Some((chain, key)) = identity(params) {
            builder.with_client_auth_cert(chain, key)?
        } else if params.client_cert {
            builder.with_client_auth_cert(
                vec![CertificateDer::from(ECDSA_CERT)],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ECDSA_KEY)),
            )?
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = params.alpn.clone();
        config.max_fragment_size = (params.max_fragment != 0).then_some(params.max_fragment);
        if !params.resumption {
            config.resumption = rustls::client::Resumption::disabled();
        }
        if params.key_log {
            config.key_log = Arc::new(CountingKeyLog::default());
        }
        Ok(Config::Client(Arc::new(config)))
    }
}

// --- objects ------------------------------------------------------------------------

struct CtxState {
    params: Params,
    config: Config,
}

pub struct Ctx {
    state: Mutex<CtxState>,
}

pub struct Ssl {
    ctx: Arc<Ctx>,
    // The Arc that ClientConnection::new / ServerConnection::new was given. rustls keeps
    // its own strong reference for the life of the connection but offers no accessor.
    config: Config,
    conn: Mutex<Connection>,
    // The first flight start_handshake wrote out: a later handshake of this connection
    // hands it to the peer first.
    sent: Mutex<Vec<u8>>,
    // What this connection's own handshake showed; a connection handshakes once, so
    // later readers get the same answer.
    seen: Mutex<Option<Seen>>,
}

unsafe fn ctx_ref<'a>(ctx: *const Ctx) -> Option<&'a Ctx> {
    ctx.as_ref()
}

unsafe fn ssl_ref<'a>(ssl: *const Ssl) -> Option<&'a Ssl> {
    ssl.as_ref()
}

/// The config an object reads settings from: kind 0 is a context, kind 1 a connection.
unsafe fn config_of(kind: c_int, obj: usize) -> Option<Config> {
    match kind {
        0 => ctx_ref(obj as *const Ctx).map(|c| lock(&c.state).config.clone()),
        1 => ssl_ref(obj as *const Ssl).map(|s| s.config.clone()),
        _ => None,
    }
}

// --- in-memory handshakes -------------------------------------------------------------

/// Moves records between two connections until neither has anything to say or one fails.
fn drive(client: &mut Connection, server: &mut Connection) -> (Option<Error>, Option<Error>) {
    fn pump(from: &mut Connection, to: &mut Connection) -> Result<bool, Error> {
        let mut buf: Vec<u8> = Vec::new();
        while from.wants_write() {
            match from.write_tls(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
        if buf.is_empty() {
            return Ok(false);
        }
        let mut rest: &[u8] = &buf;
        while !rest.is_empty() {
            match to.read_tls(&mut rest) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            to.process_new_packets()?;
        }
        Ok(true)
    }
    for _ in 0..32 {
        let a = match pump(client, server) {
            Ok(moved) => moved,
            Err(e) => return (None, Some(e)),
        };
        let b = match pump(server, client) {
            Ok(moved) => moved,
            Err(e) => return (Some(e), None),
        };
        if !a && !b {
            break;
        }
    }
    (None, None)
}

struct Outcome {
    client_version: Option<ProtocolVersion>,
    server_version: Option<ProtocolVersion>,
    client_error: Option<Error>,
    server_error: Option<Error>,
    completed: bool,
    cert_requested: bool,
    resumed: bool,
    offered: Option<Vec<u16>>, // the client's ClientHello signature schemes
    requested: Option<Vec<u16>>, // the server's CertificateRequest signature schemes
    client_saw: Vec<Vec<u8>>,  // the server's chain, as the client received it
    server_saw: Vec<Vec<u8>>,  // the client's chain, as the server received it
}

fn chain_of(conn: &Connection) -> Vec<Vec<u8>> {
    conn.peer_certificates()
        .map(|certs| certs.iter().map(|c| c.as_ref().to_vec()).collect())
        .unwrap_or_default()
}

/// What a probe peer noticed of the object in a handshake.
#[derive(Debug, Default)]
struct Notes {
    asked: AtomicBool, // a server asked the probe client for a certificate
    requested: Mutex<Option<Vec<u16>>>, // the schemes that CertificateRequest listed
    offered: Mutex<Option<Vec<u16>>>, // the schemes a ClientHello offered the probe server
}

fn codes(schemes: &[SignatureScheme]) -> Vec<u16> {
    schemes.iter().map(|s| u16::from(*s)).collect()
}

/// A probe client's certificate resolver: records the request, offers no certificate.
#[derive(Debug)]
struct NoticeCertRequest(Arc<Notes>);

impl ResolvesClientCert for NoticeCertRequest {
    fn resolve(&self, _hints: &[&[u8]], schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.0.asked.store(true, Ordering::SeqCst);
        *lock(&self.0.requested) = Some(codes(schemes));
        None
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// A probe server's certificate resolver: records the ClientHello's signature schemes,
/// then serves the test identities.
#[derive(Debug)]
struct NoticeHello {
    notes: Arc<Notes>,
    identities: TestIdentities,
}

impl ResolvesServerCert for NoticeHello {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        *lock(&self.notes.offered) = Some(codes(hello.signature_schemes()));
        self.identities.resolve(hello)
    }
}

/// The probe server: accepts any client, speaks only `only` when given, takes notes.
fn probe_server(
    only: Option<&'static SupportedProtocolVersion>,
    notes: &Arc<Notes>,
    tickets: bool,
) -> Result<Arc<ServerConfig>, Error> {
    let params = Params {
        tickets,
        ..probe_peer_params(true, only)
    };
    let Config::Server(config) = build(&params)? else {
        unreachable!()
    };
    let mut config = (*config).clone();
    config.cert_resolver = Arc::new(NoticeHello {
        notes: notes.clone(),
        identities: TestIdentities::new(config.crypto_provider()),
    });
    Ok(Arc::new(config))
}

/// The probe client: verifies nothing, offers no certificate, takes notes.
fn probe_client(
    only: Option<&'static SupportedProtocolVersion>,
    notes: &Arc<Notes>,
) -> Result<Arc<ClientConfig>, Error> {
    let Config::Client(config) = build(&probe_peer_params(false, only))? else {
        unreachable!()
    };
    let mut config = (*config).clone();
    config.client_auth_cert_resolver = Arc::new(NoticeCertRequest(notes.clone()));
    Ok(Arc::new(config))
}

fn handshake(
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    notes: &Notes,
) -> Result<Outcome, Error> {
    let name = ServerName::try_from(SERVER_NAME).map_err(|e| Error::General(e.to_string()))?;
    let mut c = Connection::Client(ClientConnection::new(client, name)?);
    let mut s = Connection::Server(ServerConnection::new(server)?);
    Ok(run(&mut c, &mut s, notes, &[]))
}

/// Drives a client and a server connection to the end; `pending` is what the client
/// already wrote out before (its first flight), handed to the server first.
fn run(c: &mut Connection, s: &mut Connection, notes: &Notes, pending: &[u8]) -> Outcome {
    let mut early = None;
    let mut rest = pending;
    while !rest.is_empty() && early.is_none() {
        match s.read_tls(&mut rest) {
            Ok(0) | Err(_) => break,
            Ok(_) => early = s.process_new_packets().err(),
        }
    }
    let (client_error, server_error) = match early {
        Some(e) => (None, Some(e)),
        None => drive(c, s),
    };
    Outcome {
        client_version: c.protocol_version(),
        server_version: s.protocol_version(),
        completed: client_error.is_none()
            && server_error.is_none()
            && !c.is_handshaking()
            && !s.is_handshaking(),
        client_error,
        server_error,
        cert_requested: notes.asked.load(Ordering::SeqCst),
        offered: lock(&notes.offered).clone(),
        requested: lock(&notes.requested).clone(),
        resumed: c.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
        client_saw: chain_of(c),
        server_saw: chain_of(s),
    }
}

/// A handshake of an existing connection (client or server as rustls made it) against a
/// probe peer of the other role that accepts anything.
fn probe_connection(own: &mut Connection, pending: &[u8]) -> Result<Outcome, Error> {
    let notes = Arc::new(Notes::default());
    if matches!(own, Connection::Server(_)) {
        let name = ServerName::try_from(SERVER_NAME).map_err(|e| Error::General(e.to_string()))?;
        let config = probe_client(None, &notes)?;
        let mut peer = Connection::Client(ClientConnection::new(config, name)?);
        Ok(run(&mut peer, own, &notes, &[]))
    } else {
        let mut peer =
            Connection::Server(ServerConnection::new(probe_server(None, &notes, false)?)?);
        Ok(run(own, &mut peer, &notes, pending))
    }
}

fn probe_peer_params(server: bool, only: Option<&'static SupportedProtocolVersion>) -> Params {
    let v = only.map_or(0, |v| u16::from(v.version));
    Params {
        min: v,
        max: v,
        verify: 0,
        any_client: server,
        ..Params::new(server)
    }
}

/// A handshake of `config` against a probe peer that accepts anything and, when `only` is
/// given, speaks only that protocol version.
fn probe(
    config: &Config,
    only: Option<&'static SupportedProtocolVersion>,
) -> Result<Outcome, Error> {
    let notes = Arc::new(Notes::default());
    match config {
        Config::Client(client) => {
            handshake(client.clone(), probe_server(only, &notes, false)?, &notes)
        }
        Config::Server(server) => handshake(probe_client(only, &notes)?, server.clone(), &notes),
    }
}

// --- C ABI: library ------------------------------------------------------------------

/// "rustls 0.23.x": the rustls version cargo resolved and compiled in.
#[no_mangle]
pub extern "C" fn rl_version() -> *const c_char {
    VERSION.as_ptr() as *const c_char
}

/// The oldest queued error as a string the caller frees with rl_string_free; NULL if none.
#[no_mangle]
pub extern "C" fn rl_error_next() -> *mut c_char {
    let mut errors = lock(&ERRORS);
    if errors.is_empty() {
        return std::ptr::null_mut();
    }
    let msg = errors.remove(0).replace('\0', " ");
    CString::new(msg).map_or(std::ptr::null_mut(), CString::into_raw)
}

#[no_mangle]
pub unsafe extern "C" fn rl_string_free(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

// --- C ABI: contexts -----------------------------------------------------------------

/// A context: `server` 0 builds a ClientConfig, 1 a ServerConfig. NULL on failure.
#[no_mangle]
pub extern "C" fn rl_ctx_new(server: c_int) -> *const Ctx {
    let params = Params::new(server != 0);
    match build(&params) {
        Ok(config) => Arc::into_raw(Arc::new(Ctx {
            state: Mutex::new(CtxState { params, config }),
        })),
        Err(e) => {
            push_error(format!("config build: {e}"));
            std::ptr::null()
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn rl_ctx_free(ctx: *const Ctx) {
    if !ctx.is_null() {
        Arc::decrement_strong_count(ctx);
    }
}

/// 1 if the context holds a ServerConfig, 0 for a ClientConfig, -1 for NULL.
#[no_mangle]
pub unsafe extern "C" fn rl_ctx_is_server(ctx: *const Ctx) -> c_int {
    match ctx_ref(ctx) {
        Some(c) => matches!(lock(&c.state).config, Config::Server(_)) as c_int,
        None => -1,
    }
}

/// Rebuilds the context's config with `change` applied; on failure keeps the old one,
/// queues rustls's error and returns 0.
unsafe fn rebuild(ctx: *const Ctx, change: impl FnOnce(&mut Params)) -> c_int {
    rebuild_with(ctx, change, false)
}

/// As rebuild; with `keep_inputs` a refused change is still remembered (the config stays
/// as it was), so that a certificate and then its key can be given one at a time.
unsafe fn rebuild_with(
    ctx: *const Ctx,
    change: impl FnOnce(&mut Params),
    keep_inputs: bool,
) -> c_int {
    let Some(c) = ctx_ref(ctx) else {
        push_error("NULL context");
        return 0;
    };
    let mut state = lock(&c.state);
    let mut params = state.params.clone();
    change(&mut params);
    match build(&params) {
        Ok(config) => {
            state.params = params;
            state.config = config;
            1
        }
        Err(e) => {
            push_error(format!("config build: {e}"));
            if keep_inputs {
                state.params = params;
            }
            0
        }
    }
}

/// One bound of the protocol versions (`which` 0: lowest, 1: highest) as a wire number,
/// 0 for no bound; the other bound stays. The config gets the versions rustls has between
/// the bounds; rustls refuses to build a config with none.
#[no_mangle]
pub unsafe extern "C" fn rl_ctx_set_version_bound(
    ctx: *const Ctx,
    which: c_int,
    version: u16,
) -> c_int {
    rebuild(ctx, |p| {
        if which == 0 {
            p.min = version;
        } else {
            p.max = version;
        }
    })
}

/// The TLS 1.2 suites, comma-separated IANA names; suites rustls lacks are skipped.
#[no_mangle]
pub unsafe extern "C" fn rl_ctx_set_tls12_suites(ctx: *const Ctx, names: *const c_char) -> c_int {
    if names.is_null() {
        push_error("NULL cipher list");
        return 0;
    }
    let text = CStr::from_ptr(names).to_string_lossy().into_owned();
    let all = ring_provider::default_provider().cipher_suites;
    let wanted: Vec<CipherSuite> = text
        .split(',')
        .filter_map(|n| {
            all.iter()
                .map(|s| s.suite())
                .find(|s| s.as_str() == Some(n))
        })
        .collect();
    rebuild(ctx, |p| p.tls12_suites = Some(wanted))
}

/// Client: 0 verification off, 1 on. Server: 0 no client auth, 1 optional, 2 mandatory.
#[no_mangle]
pub unsafe extern "C" fn rl_ctx_set_verify(ctx: *const Ctx, mode: c_int) -> c_int {
    if !(0..=2).contains(&mode) {
        push_error(format!("verify mode {mode} out of range"));
        return 0;
    }
    if rl_ctx_is_server(ctx) == 0 && mode == 2 {
        push_error("a client config has no mandatory mode");
        return 0;
    }
    rebuild(ctx, |p| p.verify = mode as u8)
}

// --- C ABI: getters (kind 0: context, 1: connection) ---------------------------------

/// The crypto provider's cipher suites of the object's config, in order, comma-separated
/// IANA names, TLS 1.2 ones only. Free with rl_string_free; NULL on failure.
#[no_mangle]
pub unsafe extern "C" fn rl_get_tls12_suites(kind: c_int, obj: usize) -> *mut c_char {
    let Some(config) = config_of(kind, obj) else {
        push_error("NULL object");
        return std::ptr::null_mut();
    };
    let provider = match &config {
        Config::Client(c) => c.crypto_provider().clone(),
        Config::Server(s) => s.crypto_provider().clone(),
    };
    let names: Vec<String> = provider
        .cipher_suites
        .iter()
        .filter(|s| matches!(s, SupportedCipherSuite::Tls12(_)))
        .map(|s| {
            s.suite()
                .as_str()
                .map_or_else(|| format!("{:?}", s.suite()), str::to_string)
        })
        .collect();
    CString::new(names.join(",")).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// Which protocol versions a handshake with the object's config negotiates, one probe
/// handshake per version: bit 0 TLS 1.2, bit 1 TLS 1.3. -1 on failure.
#[no_mangle]
pub unsafe extern "C" fn rl_get_versions(kind: c_int, obj: usize) -> c_int {
    let Some(config) = config_of(kind, obj) else {
        push_error("NULL object");
        return -1;
    };
    let mut mask = 0;
    for (bit, version) in [&rustls::version::TLS12, &rustls::version::TLS13]
        .into_iter()
        .enumerate()
    {
        match probe(&config, Some(version)) {
            Ok(out) => {
                let seen = match config {
                    Config::Client(_) => out.client_version,
                    Config::Server(_) => out.server_version,
                };
                if seen == Some(version.version) {
                    mask |= 1 << bit;
                }
            }
            Err(e) => {
                push_error(format!("probe handshake: {e}"));
                return -1;
            }
        }
    }
    mask
}

/// What a handshake showed of verification. Client: 1 if it rejected the probe server's
/// untrusted certificate, 0 if the handshake completed. Server: 0 if no certificate was
/// requested, 1 if requested and the handshake completed without one, 2 if requested and
/// refused without one. Err if the handshake showed neither.
fn verify_code(server: bool, out: &Outcome) -> Result<c_int, String> {
    if !server {
        return match &out.client_error {
            Some(Error::InvalidCertificate(_)) => Ok(1),
            None if out.completed => Ok(0),
            other => Err(format!(
                "probe handshake showed no verification outcome: {other:?}"
            )),
        };
    }
    match (&out.server_error, out.cert_requested) {
        (None, false) if out.completed => Ok(0),
        (None, true) if out.completed => Ok(1),
        (Some(Error::NoCertificatesPresented), true) => Ok(2),
        (err, asked) => Err(format!(
            "probe handshake showed no client-auth mode: {err:?}, requested {asked}"
        )),
    }
}

/// What one handshake of an object with a probe peer showed.
#[derive(Clone)]
struct Seen {
    verify: Result<c_int, String>,
    // client: the schemes its ClientHello offered; server: its CertificateRequest's
    schemes: Option<Vec<u16>>,
    completed: bool,
    chain: Vec<Vec<u8>>, // the object's own certificate chain, as the peer received it
}

fn seen(server: bool, out: &Outcome) -> Seen {
    Seen {
        verify: verify_code(server, out),
        schemes: if server {
            out.requested.clone()
        } else {
            out.offered.clone()
        },
        completed: out.completed,
        chain: if server {
            out.client_saw.clone()
        } else {
            out.server_saw.clone()
        },
    }
}

/// A handshake of the object. A context (kind 0): a fresh connection built from its
/// config. A connection (kind 1): that very connection (the one rustls made at
/// rl_ssl_new), once; later calls return what it showed. Err: why nothing was seen.
unsafe fn handshake_of(kind: c_int, obj: usize) -> Result<Seen, String> {
    if kind == 1 {
        let Some(s) = ssl_ref(obj as *const Ssl) else {
            return Err("NULL object".into());
        };
        let mut cached = lock(&s.seen);
        if let Some(done) = &*cached {
            return Ok(done.clone());
        }
        let mut conn = lock(&s.conn);
        let server = matches!(*conn, Connection::Server(_));
        let pending = lock(&s.sent).clone();
        let out =
            probe_connection(&mut conn, &pending).map_err(|e| format!("probe handshake: {e}"))?;
        let done = seen(server, &out);
        *cached = Some(done.clone());
        return Ok(done);
    }
    let config = config_of(kind, obj).ok_or("NULL object")?;
    let out = probe(&config, None).map_err(|e| format!("probe handshake: {e}"))?;
    Ok(seen(matches!(config, Config::Server(_)), &out))
}

/// Verification as verify_code's codes, from the object's handshake (handshake_of);
/// -1 with the reason queued when it showed none.
#[no_mangle]
pub unsafe extern "C" fn rl_get_verify(kind: c_int, obj: usize) -> c_int {
    match handshake_of(kind, obj).and_then(|seen| seen.verify) {
        Ok(code) => code,
        Err(why) => {
            push_error(why);
            -1
        }
    }
}

/// The certificate chain the peer received from the object in its handshake
/// (handshake_of): hex DER, leaf first, comma-separated; empty if it sent none. A leading
/// "+" says the handshake completed (the peer verified the signature the chain's key
/// made). Free with rl_string_free; NULL with the reason queued when nothing was seen.
#[no_mangle]
pub unsafe extern "C" fn rl_get_chain(kind: c_int, obj: usize) -> *mut c_char {
    let seen = match handshake_of(kind, obj) {
        Ok(seen) => seen,
        Err(why) => {
            push_error(why);
            return std::ptr::null_mut();
        }
    };
    let hex: Vec<String> = seen
        .chain
        .iter()
        .map(|der| der.iter().map(|b| format!("{b:02x}")).collect())
        .collect();
    let text = format!("{}{}", if seen.completed { "+" } else { "" }, hex.join(","));
    CString::new(text).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// One part of the identity a context gives its peer (`which` 0: the leaf certificate,
/// 1: its PKCS#8 key, 2: the extra chain certificates), as DER items each preceded by
/// its length (4 bytes, big-endian); an empty buffer clears it. The config carries the
/// identity once leaf and key are both set; rustls refuses a key that is not the leaf's
/// (the error is queued, the config stays, and the part given is kept for the next one).
#[no_mangle]
pub unsafe extern "C" fn rl_ctx_set_identity(
    ctx: *const Ctx,
    which: c_int,
    data: *const u8,
    len: usize,
) -> c_int {
    let bytes: &[u8] = if data.is_null() || len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(data, len)
    };
    let mut items: Vec<Vec<u8>> = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 4 {
        let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if rest.len() < 4 + n {
            push_error("identity: truncated DER item");
            return 0;
        }
        items.push(rest[4..4 + n].to_vec());
        rest = &rest[4 + n..];
    }
    if !rest.is_empty() || !(0..=2).contains(&which) {
        push_error("identity: malformed request");
        return 0;
    }
    let change = |p: &mut Params| match which {
        0 => p.leaf = items.into_iter().next(),
        1 => p.key = items.into_iter().next(),
        _ => p.extra_chain = items,
    };
    rebuild_with(ctx, change, true)
}

/// The signature schemes the object sent its peer in its handshake (handshake_of): a
/// client's ClientHello list, a server's CertificateRequest list; hex codes,
/// comma-separated. NULL with the reason queued when it sent none.
#[no_mangle]
pub unsafe extern "C" fn rl_get_schemes(kind: c_int, obj: usize) -> *mut c_char {
    let schemes = match handshake_of(kind, obj) {
        Ok(Seen {
            schemes: Some(schemes),
            ..
        }) => schemes,
        Ok(_) => {
            push_error("the handshake sent the peer no signature scheme list");
            return std::ptr::null_mut();
        }
        Err(why) => {
            push_error(why);
            return std::ptr::null_mut();
        }
    };
    let text: Vec<String> = schemes.iter().map(|c| format!("{c:04x}")).collect();
    CString::new(text.join(",")).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// The provider's signature schemes, in this order (`n` 0: the provider's own).
#[no_mangle]
pub unsafe extern "C" fn rl_ctx_set_schemes(ctx: *const Ctx, list: *const u16, n: usize) -> c_int {
    let wanted = if list.is_null() || n == 0 {
        None
    } else {
        Some(std::slice::from_raw_parts(list, n).to_vec())
    };
    rebuild(ctx, |p| p.schemes = wanted)
}

/// A server's `send_tls13_tickets`; a negative number restores rustls's default.
#[no_mangle]
pub unsafe extern "C" fn rl_ctx_set_num_tickets(ctx: *const Ctx, n: c_long) -> c_int {
    if rl_ctx_is_server(ctx) != 1 {
        push_error("a rustls client sends no tickets");
        return 0;
    }
    rebuild(ctx, |p| p.num_tickets = usize::try_from(n).ok())
}

/// The config's `send_tls13_tickets` (servers), -1 for a client or NULL.
#[no_mangle]
pub unsafe extern "C" fn rl_get_num_tickets(kind: c_int, obj: usize) -> c_long {
    match config_of(kind, obj) {
        Some(Config::Server(s)) => s.send_tls13_tickets as c_long,
        _ => -1,
    }
}

// --- C ABI: settings rustls has beyond the page's table -----------------------------

/// ALPN protocols, comma-separated (empty: none), into `alpn_protocols`.
#[no_mangle]
pub unsafe extern "C" fn rl_ctx_set_alpn(ctx: *const Ctx, names: *const c_char) -> c_int {
    if names.is_null() {
        push_error("NULL ALPN list");
        return 0;
    }
    let text = CStr::from_ptr(names).to_string_lossy().into_owned();
    let alpn: Vec<Vec<u8>> = text
        .split(',')
        .filter(|n| !n.is_empty())
        .map(|n| n.as_bytes().to_vec())
        .collect();
    rebuild(ctx, |p| p.alpn = alpn)
}

/// `max_fragment_size` (0: None). rustls checks the value when a connection is made.
#[no_mangle]
pub unsafe extern "C" fn rl_ctx_set_max_fragment(ctx: *const Ctx, size: usize) -> c_int {
    rebuild(ctx, |p| p.max_fragment = size)
}

/// A switch of the config: 0 resumption, 1 tickets (server), 2 key log, 3 client
/// certificate (client).
#[no_mangle]
pub unsafe extern "C" fn rl_ctx_set_flag(ctx: *const Ctx, which: c_int, on: c_int) -> c_int {
    let server = rl_ctx_is_server(ctx) == 1;
    if (which == 1 && !server) || (which == 3 && server) || !(0..=3).contains(&which) {
        push_error(format!("no switch {which} on this config"));
        return 0;
    }
    rebuild(ctx, |p| {
        let on = on != 0;
        match which {
            0 => p.resumption = on,
            1 => p.tickets = on,
            2 => p.key_log = on,
            _ => p.client_cert = on,
        }
    })
}

/// The config's `alpn_protocols`, comma-separated. Free with rl_string_free.
#[no_mangle]
pub unsafe extern "C" fn rl_get_alpn(kind: c_int, obj: usize) -> *mut c_char {
    let alpn = match config_of(kind, obj) {
        Some(Config::Client(c)) => c.alpn_protocols.clone(),
        Some(Config::Server(s)) => s.alpn_protocols.clone(),
        None => {
            push_error("NULL object");
            return std::ptr::null_mut();
        }
    };
    let names: Vec<String> = alpn
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    CString::new(names.join(",")).map_or(std::ptr::null_mut(), CString::into_raw)
}

/// The config's `max_fragment_size` (0: None), -1 for NULL.
#[no_mangle]
pub unsafe extern "C" fn rl_get_max_fragment(kind: c_int, obj: usize) -> c_long {
    match config_of(kind, obj) {
        Some(Config::Client(c)) => c.max_fragment_size.unwrap_or(0) as c_long,
        Some(Config::Server(s)) => s.max_fragment_size.unwrap_or(0) as c_long,
        None => -1,
    }
}

/// A switch read through rustls's API (`which` as for rl_ctx_set_flag): tickets by the
/// ticketer's `enabled()`, the key log by `will_log`, the client certificate by the
/// resolver's `has_certs()`; resumption, which has no reader, by two handshakes with one
/// probe peer: 1 if the second resumed, 0 if not, -1 if they did not complete (queued).
#[no_mangle]
pub unsafe extern "C" fn rl_get_flag(kind: c_int, obj: usize, which: c_int) -> c_int {
    let Some(config) = config_of(kind, obj) else {
        push_error("NULL object");
        return -1;
    };
    match (which, &config) {
        (0, _) => match resumes(&config) {
            Ok(Some(resumed)) => c_int::from(resumed),
            Ok(None) => {
                push_error("resumption needs completed probe handshakes, and they failed");
                -1
            }
            Err(e) => {
                push_error(format!("probe handshake: {e}"));
                -1
            }
        },
        (1, Config::Server(s)) => c_int::from(s.ticketer.enabled()),
        (2, Config::Client(c)) => c_int::from(c.key_log.will_log("CLIENT_RANDOM")),
        (2, Config::Server(s)) => c_int::from(s.key_log.will_log("CLIENT_RANDOM")),
        (3, Config::Client(c)) => c_int::from(c.client_auth_cert_resolver.has_certs()),
        _ => {
            push_error(format!("no switch {which} on this config"));
            -1
        }
    }
}

/// Two handshakes of `config` with one resumption-capable probe peer: whether the second
/// resumed; None if either did not complete.
fn resumes(config: &Config) -> Result<Option<bool>, Error> {
    let notes = Arc::new(Notes::default());
    let client = matches!(config, Config::Client(_));
    let (peer_server, peer_client) = if client {
        (Some(probe_server(None, &notes, true)?), None)
    } else {
        (None, Some(probe_client(None, &notes)?))
    };
    let mut resumed = false;
    for _ in 0..2 {
        let out = match (config, &peer_server, &peer_client) {
            (Config::Client(c), Some(s), _) => handshake(c.clone(), s.clone(), &notes)?,
            (Config::Server(s), _, Some(c)) => handshake(c.clone(), s.clone(), &notes)?,
            _ => unreachable!(),
        };
        if !out.completed {
            return Ok(None);
        }
        resumed = out.resumed;
    }
    Ok(Some(resumed))
}

// --- C ABI: connections --------------------------------------------------------------

/// The connection rustls makes from `config`: a ClientConnection for a ClientConfig, a
/// ServerConnection for a ServerConfig.
fn connect(config: &Config) -> Result<Connection, Error> {
    match config {
        Config::Client(c) => ServerName::try_from(SERVER_NAME)
            .map_err(|e| Error::General(e.to_string()))
            .and_then(|name| ClientConnection::new(c.clone(), name))
            .map(Connection::Client),
        Config::Server(s) => ServerConnection::new(s.clone()).map(Connection::Server),
    }
}

/// A connection made from the context's current config. NULL (with an error) for a NULL
/// context or if rustls refuses.
#[no_mangle]
pub unsafe extern "C" fn rl_ssl_new(ctx: *const Ctx) -> *mut Ssl {
    if ctx.is_null() {
        push_error("no config: a rustls connection is made from a ClientConfig or ServerConfig");
        return std::ptr::null_mut();
    }
    Arc::increment_strong_count(ctx);
    let ctx = Arc::from_raw(ctx);
    let config = lock(&ctx.state).config.clone();
    match connect(&config) {
        Ok(conn) => Box::into_raw(Box::new(Ssl {
            ctx,
            config,
            conn: Mutex::new(conn),
            sent: Mutex::new(Vec::new()),
            seen: Mutex::new(None),
        })),
        Err(e) => {
            push_error(format!("connection: {e}"));
            std::ptr::null_mut()
        }
    }
}

/// SSL_free: the connection is dropped (rustls has no count: this is its owner letting go).
#[no_mangle]
pub unsafe extern "C" fn rl_ssl_free(ssl: *mut Ssl) {
    if !ssl.is_null() {
        drop(Box::from_raw(ssl));
    }
}

/// The context the connection was made from (it holds a strong reference to it).
#[no_mangle]
pub unsafe extern "C" fn rl_ssl_get_ctx(ssl: *const Ssl) -> *const Ctx {
    ssl_ref(ssl).map_or(std::ptr::null(), |s| Arc::as_ptr(&s.ctx))
}

/// 1 for a ServerConnection, 0 for a ClientConnection, -1 for NULL.
#[no_mangle]
pub unsafe extern "C" fn rl_ssl_is_server(ssl: *const Ssl) -> c_int {
    match ssl_ref(ssl) {
        Some(s) => matches!(*lock(&s.conn), Connection::Server(_)) as c_int,
        None => -1,
    }
}

/// Writes the client's first flight into a memory buffer. rustls queues the ClientHello
/// inside ClientConnection::new; the connection leaves its initial state when that flight
/// is written out. Returns 1 if it has (now or before), 0 if nothing was written, -1 on
/// error (queued), -2 for a ServerConnection (its role is fixed: it cannot be a client).
#[no_mangle]
pub unsafe extern "C" fn rl_ssl_start_handshake(ssl: *const Ssl) -> c_int {
    let Some(s) = ssl_ref(ssl) else {
        push_error("NULL connection");
        return -1;
    };
    let mut conn = lock(&s.conn);
    let Connection::Client(client) = &mut *conn else {
        return -2;
    };
    let mut out: Vec<u8> = Vec::new();
    while client.wants_write() {
        match client.write_tls(&mut out) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                push_error(format!("write_tls: {e}"));
                return -1;
            }
        }
    }
    let mut sent = lock(&s.sent);
    // A handshake record (content type 22) that carries a ClientHello (type 1).
    let hello = out.len() >= 6 && out[0] == 22 && out[5] == 1;
    if !out.is_empty() && !hello && sent.is_empty() {
        push_error("first flight is not a ClientHello");
        return -1;
    }
    sent.extend_from_slice(&out);
    c_int::from(!sent.is_empty())
}

// --- allocation failures ---------------------------------------------------------------

/// The global allocator: the system's, except that while a failing call is armed on this
/// thread the nth allocation returns NULL, and the allocations made meanwhile are
/// recorded (until they are freed) so that a leak can be counted afterwards.
struct FailingAllocator;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
}
static FAIL_AT: AtomicUsize = AtomicUsize::new(0);
static MADE: AtomicUsize = AtomicUsize::new(0);
static TRACKING: AtomicBool = AtomicBool::new(false);
const SLOTS: usize = 4096;
static LIVE: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static UNTRACKED: AtomicUsize = AtomicUsize::new(0); // live ones no slot could hold

unsafe impl GlobalAlloc for FailingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !ARMED.with(Cell::get) {
            return System.alloc(layout);
        }
        let n = MADE.fetch_add(1, Ordering::SeqCst) + 1;
        if n == FAIL_AT.load(Ordering::SeqCst) {
            // What runs next (Rust's allocation failure handler, its message and
            // backtrace) allocates as any code does: untouched and untracked.
            ARMED.with(|a| a.set(false));
            TRACKING.store(false, Ordering::SeqCst);
            say_why_on_abort();
            return std::ptr::null_mut();
        }
        let ptr = System.alloc(layout);
        if !ptr.is_null() {
            let addr = ptr as usize;
            if !LIVE.iter().any(|slot| {
                slot.compare_exchange(0, addr, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            }) {
                UNTRACKED.fetch_add(1, Ordering::SeqCst);
            }
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if TRACKING.load(Ordering::SeqCst) {
            let addr = ptr as usize;
            for slot in LIVE.iter() {
                if slot
                    .compare_exchange(addr, 0, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
                {
                    break;
                }
            }
        }
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: FailingAllocator = FailingAllocator;

extern "C" {
    fn signal(signum: c_int, handler: usize) -> usize;
    fn write(fd: c_int, buf: *const u8, count: usize) -> isize;
}
const SIGABRT: c_int = 6;
const SIG_DFL: usize = 0;

/// Rust's allocation failure handler ends with a line about RUST_BACKTRACE; the line a
/// crash report shows is stderr's last. One line more, written as the process aborts,
/// says what happened. (Only write(2) runs in the handler: it is async-signal-safe.)
fn say_why_on_abort() {
    extern "C" fn on_abort(_: c_int) {
        let why = b"rustls aborted: an allocation inside ClientConnection::new or \
ServerConnection::new failed, and Rust's allocation failure handler aborts\n";
        // SAFETY: a static buffer to stderr, then the default action for the re-raise.
        unsafe {
            write(2, why.as_ptr(), why.len());
            signal(SIGABRT, SIG_DFL);
        }
    }
    // SAFETY: installs a handler that only calls async-signal-safe functions.
    unsafe {
        signal(SIGABRT, on_abort as extern "C" fn(c_int) as usize);
    }
}

/// What rl_ssl_new_failing saw; filled in when the call returns.
#[repr(C)]
pub struct AllocReport {
    result: usize,      // the connection made (already freed), 0 for NULL
    allocations: usize, // allocations made inside the rustls call, the failed one included
    injected: c_int,    // 1 if the call reached the nth allocation
    leaked: usize,      // allocations of the call still live once the result is freed
}

/// The connection rustls makes from the context's config with the nth allocation made
/// inside `ClientConnection::new` / `ServerConnection::new` failing. The connection is
/// dropped before this returns. When the nth allocation is reached, Rust's allocation
/// failure handler runs: it aborts the process, as it does for any rustls user.
#[no_mangle]
pub unsafe extern "C" fn rl_ssl_new_failing(
    ctx: *const Ctx,
    nth: usize,
    out: *mut AllocReport,
) -> c_int {
    let (Some(c), Some(out)) = (ctx_ref(ctx), out.as_mut()) else {
        push_error("NULL context or report");
        return 0;
    };
    let config = lock(&c.state).config.clone();
    for slot in LIVE.iter() {
        slot.store(0, Ordering::SeqCst);
    }
    UNTRACKED.store(0, Ordering::SeqCst);
    MADE.store(0, Ordering::SeqCst);
    FAIL_AT.store(nth, Ordering::SeqCst);
    TRACKING.store(true, Ordering::SeqCst);
    ARMED.with(|a| a.set(true));
    let made = connect(&config);
    ARMED.with(|a| a.set(false));
    let allocations = MADE.load(Ordering::SeqCst);
    out.result = match &made {
        Ok(conn) => conn as *const Connection as usize,
        Err(e) => {
            push_error(format!("connection: {e}"));
            0
        }
    };
    drop(made);
    TRACKING.store(false, Ordering::SeqCst);
    let live = LIVE
        .iter()
        .filter(|s| s.load(Ordering::SeqCst) != 0)
        .count();
    out.allocations = allocations;
    out.injected = c_int::from(allocations >= nth);
    out.leaked = live + UNTRACKED.load(Ordering::SeqCst);
    1
}
