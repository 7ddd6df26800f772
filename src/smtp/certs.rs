//! TLS for the test send: the OS trust store plus an optional extra CA, never skipped.
//!
//! Each port gets its own `ClientConfig` whose verifier remembers the certificate the server
//! presented, so a report can say who the certificate was for and when it expires even when the
//! check failed.

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use serde::Serialize;
use std::sync::{Arc, Mutex};

/// Facts about a TLS session (or the certificate offered when the session failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// `TLSv1.3`, `TLSv1.2`; `None` when the handshake did not finish (the certificate was
    /// refused), in which case the other fields describe the certificate that was offered.
    pub version: Option<String>,
    pub subject: String,
    pub issuer: String,
    /// Expiry in UTC, `2030-01-01T00:00:00Z`.
    pub not_after: String,
}

/// Builds the shared verifier once per test send: loading the OS store reads many files.
pub fn base_verifier(
    extra_roots: &[CertificateDer<'static>],
) -> Result<Arc<dyn ServerCertVerifier>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    match rustls_platform_verifier::Verifier::new_with_extra_roots(
        extra_roots.iter().cloned(),
        provider.clone(),
    ) {
        Ok(v) => Ok(Arc::new(v)),
        // A machine with no trust store at all can still check a server signed by the extra CA.
        Err(e) if !extra_roots.is_empty() => {
            let mut store = rustls::RootCertStore::empty();
            for c in extra_roots {
                store.add(c.clone()).map_err(|e| e.to_string())?;
            }
            let _ = e;
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider)
                .build()
                .map(|v| v as Arc<dyn ServerCertVerifier>)
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// A verifier that delegates every decision and remembers the server's certificate and the
/// verdict on it, so a refusal is classified from the verifier's own answer on every OS (the
/// text an OS library puts around it differs).
#[derive(Debug)]
pub struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Mutex<Option<CertificateDer<'static>>>,
    refused: Mutex<Option<rustls::Error>>,
}

impl Recording {
    pub fn new(inner: Arc<dyn ServerCertVerifier>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            seen: Mutex::new(None),
            refused: Mutex::new(None),
        })
    }

    /// Why the certificate was refused, if it was.
    pub fn refused(&self) -> Option<rustls::Error> {
        self.refused.lock().ok().and_then(|g| g.clone())
    }

    /// The certificate the server presented, if the handshake got that far.
    pub fn seen(&self) -> Option<CertificateDer<'static>> {
        self.seen.lock().ok().and_then(|g| g.clone())
    }
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut g) = self.seen.lock() {
            *g = Some(end_entity.clone().into_owned());
        }
        let verdict =
            self.inner
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now);
        if let (Err(e), Ok(mut g)) = (&verdict, self.refused.lock()) {
            *g = Some(e.clone());
        }
        verdict
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A client configuration for one port, verifying through `recording`.
pub fn client_config(recording: Arc<Recording>) -> Result<Arc<ClientConfig>, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous() // only to install our delegating verifier; it never relaxes a check
        .with_custom_certificate_verifier(recording)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Reads subject, issuer and expiry out of a DER certificate.
pub fn describe(cert: &CertificateDer<'_>, version: Option<String>) -> Option<TlsInfo> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    Some(TlsInfo {
        version,
        subject: parsed.subject().to_string(),
        issuer: parsed.issuer().to_string(),
        not_after: crate::time::utc_rfc3339(parsed.validity().not_after.timestamp()),
    })
}

/// `TLSv1.3` style name of a negotiated version.
pub fn version_name(v: Option<rustls::ProtocolVersion>) -> String {
    match v {
        Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3".into(),
        Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2".into(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

/// Parses the PEM text of an extra trusted CA.
pub fn parse_pem_certs(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    let certs =
        certs.map_err(|_| "The certificate file could not be read as PEM text.".to_string())?;
    if certs.is_empty() {
        return Err(
            "The certificate file has no certificate in it (no \"BEGIN CERTIFICATE\" block)."
                .into(),
        );
    }
    for c in &certs {
        if x509_parser::parse_x509_certificate(c.as_ref()).is_err() {
            return Err(
                "The certificate file holds a block that is not a valid certificate.".into(),
            );
        }
    }
    Ok(certs)
}

/// The server name TLS checks the certificate against.
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    ServerName::try_from(host.to_string())
        .map_err(|_| format!("\"{host}\" is not a valid server name."))
}
