//! The copier check's own certificate (made at start, for this check's names only) and this
//! computer's address on its network.

use super::ListenError;
use std::net::IpAddr;
use std::sync::Arc;

/// A certificate made at start for this check only: its own CA, allowed to vouch only for the
/// names this check serves (name constraints) and valid for one day, and a leaf for those names.
pub(super) fn throwaway_tls(
    address: Option<IpAddr>,
) -> Result<(Arc<rustls::ServerConfig>, String), ListenError> {
    use rcgen::{
        BasicConstraints, CertificateParams, CidrSubnet, GeneralSubtree, IsCa, Issuer, KeyPair,
        NameConstraints,
    };
    let err = |e: rcgen::Error| ListenError::Certificate(e.to_string());
    let mut ips: Vec<IpAddr> = vec![
        IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
    ];
    ips.extend(address);
    let now = time::OffsetDateTime::now_utc();
    let (from, until) = (
        now - time::Duration::minutes(5),
        now + time::Duration::days(1),
    );
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.not_before = from;
    ca.not_after = until;
    let mut permitted = vec![GeneralSubtree::DnsName("localhost".into())];
    permitted.extend(ips.iter().map(|ip| {
        GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
            *ip,
            if ip.is_ipv4() { 32 } else { 128 },
        ))
    }));
    ca.name_constraints = Some(NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: Vec::new(),
    });
    ca.distinguished_name.push(
        rcgen::DnType::CommonName,
        "ScanMail copier check (temporary)",
    );
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);
    let mut names = vec!["localhost".to_string()];
    names.extend(ips.iter().map(ToString::to_string));
    let leaf_key = KeyPair::generate().map_err(err)?;
    let mut leaf = CertificateParams::new(names).map_err(err)?;
    leaf.not_before = from;
    leaf.not_after = until;
    let leaf = leaf.signed_by(&leaf_key, &issuer).map_err(err)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| ListenError::Certificate(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(vec![leaf.der().clone()], key)
    .map_err(|e| ListenError::Certificate(e.to_string()))?;
    Ok((Arc::new(config), ca_cert.pem()))
}

/// This computer's address on its network: the one the system would send from (a UDP socket
/// "connected" to a documentation address picks a route and sends nothing).
pub fn this_computer() -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    s.local_addr()
        .ok()
        .map(|a| a.ip())
        .filter(|ip| !ip.is_unspecified() && !ip.is_loopback())
}
