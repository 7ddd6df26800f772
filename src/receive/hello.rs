//! The TLS ClientHello exactly as the copier sent it, read from the raw bytes with `tls-parser`
//! before any handshake: so even a TLS 1.0-only hello that the handshake then refuses is
//! described (versions offered, cipher suites, the name asked for).

use serde::Serialize;
use tls_parser::{
    TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherSuite, TlsExtension, TlsMessage,
    TlsMessageHandshake, TlsVersion,
};

/// What a ClientHello offered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Hello {
    /// `TLS1.0` ... `TLS1.3`, lowest first.
    pub offered_versions: Vec<String>,
    pub highest_version: Option<String>,
    pub cipher_suites: usize,
    /// At least one suite modern providers take: TLS 1.3, or ECDHE with AES-GCM or ChaCha20.
    pub modern_cipher: bool,
    /// The server name the copier asked for (SNI), if any.
    pub sni: Option<String>,
}

const NAMES: [(u16, &str); 4] = [
    (0x0301, "TLS1.0"),
    (0x0302, "TLS1.1"),
    (0x0303, "TLS1.2"),
    (0x0304, "TLS1.3"),
];

fn name(v: u16) -> Option<&'static str> {
    NAMES.iter().find(|(n, _)| *n == v).map(|(_, s)| *s)
}

/// The TLS version's rank (1.0 = 1 ... 1.3 = 4), for comparisons; 0 when unknown.
pub fn rank(version: &str) -> u8 {
    NAMES
        .iter()
        .position(|(_, s)| *s == version)
        .map_or(0, |i| u8::try_from(i + 1).unwrap_or(0))
}

/// How many bytes the first TLS record needs (header + body), once 5 bytes are in; `None` when
/// the bytes are not a TLS handshake record at all.
pub fn record_len(head: &[u8]) -> Option<usize> {
    match head {
        [0x16, 3, _, hi, lo, ..] => Some(5 + usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => None,
    }
}

/// Parses one TLS record holding a ClientHello.
pub fn parse(record: &[u8]) -> Option<Hello> {
    let (_, plain) = tls_parser::parse_tls_plaintext(record).ok()?;
    let hello = plain.msg.iter().find_map(|m| match m {
        TlsMessage::Handshake(TlsMessageHandshake::ClientHello(h)) => Some(h),
        _ => None,
    })?;
    let mut supported: Vec<u16> = Vec::new();
    let mut sni = None;
    if let Some(ext) = hello.ext
        && let Ok((_, exts)) = tls_parser::parse_tls_client_hello_extensions(ext)
    {
        for e in exts {
            match e {
                TlsExtension::SupportedVersions(v) => {
                    supported.extend(v.iter().map(|TlsVersion(n)| *n));
                }
                TlsExtension::SNI(names) => {
                    sni = names
                        .first()
                        .and_then(|(_, n)| std::str::from_utf8(n).ok())
                        .map(str::to_string);
                }
                _ => {}
            }
        }
    }
    // Without supported_versions, a hello offers its client_version and everything below it,
    // down to TLS 1.0.
    if supported.is_empty() {
        let TlsVersion(top) = hello.version;
        supported = (0x0301..=top.min(0x0304)).collect();
    }
    let mut versions: Vec<u16> = supported
        .into_iter()
        .filter(|v| name(*v).is_some())
        .collect();
    versions.sort_unstable();
    versions.dedup();
    let modern = |s: &TlsCipherSuite| {
        s.kx == TlsCipherKx::Tls13
            || (s.kx == TlsCipherKx::Ecdhe
                && ((s.enc == TlsCipherEnc::Aes && s.enc_mode == TlsCipherEncMode::Gcm)
                    || s.enc == TlsCipherEnc::Chacha20_Poly1305))
    };
    Some(Hello {
        highest_version: versions.last().and_then(|v| name(*v)).map(str::to_string),
        offered_versions: versions
            .iter()
            .filter_map(|v| name(*v))
            .map(str::to_string)
            .collect(),
        cipher_suites: hello.ciphers.len(),
        modern_cipher: hello
            .ciphers
            .iter()
            .filter_map(|c| TlsCipherSuite::from_id(c.0))
            .any(modern),
        sni,
    })
}

/// A ClientHello offering only TLS 1.0 with two old RSA suites: what an old copier sends. For
/// tests and the benchmark.
pub fn tls10_only_hello(sni: &str) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&[0x03, 0x01]); // client_version TLS 1.0
    body.extend_from_slice(&[7u8; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&[0, 4, 0x00, 0x2f, 0x00, 0x35]); // RSA AES128-SHA, AES256-SHA
    body.extend_from_slice(&[1, 0]); // compression: null
    let name = sni.as_bytes();
    let name_len = u16::try_from(name.len()).unwrap_or(0);
    let mut sni_ext = Vec::new();
    sni_ext.extend_from_slice(&(name_len + 3).to_be_bytes()); // server name list length
    sni_ext.push(0); // host_name
    sni_ext.extend_from_slice(&name_len.to_be_bytes());
    sni_ext.extend_from_slice(name);
    let mut exts = vec![0, 0]; // extension type: server_name
    exts.extend_from_slice(&u16::try_from(sni_ext.len()).unwrap_or(0).to_be_bytes());
    exts.extend_from_slice(&sni_ext);
    body.extend_from_slice(&u16::try_from(exts.len()).unwrap_or(0).to_be_bytes());
    body.extend_from_slice(&exts);
    let mut handshake = vec![1]; // ClientHello
    let len = u32::try_from(body.len()).unwrap_or(0).to_be_bytes();
    handshake.extend_from_slice(&len[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap_or(0).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_old_copiers_hello_is_described() {
        let record = tls10_only_hello("scanner.example.edu");
        assert_eq!(record_len(&record[..5]), Some(record.len()));
        let h = parse(&record).unwrap();
        assert_eq!(h.offered_versions, ["TLS1.0"]);
        assert_eq!(h.highest_version.as_deref(), Some("TLS1.0"));
        assert_eq!(h.cipher_suites, 2);
        assert!(!h.modern_cipher);
        assert_eq!(h.sni.as_deref(), Some("scanner.example.edu"));
        assert_eq!(rank("TLS1.2"), 3);
        assert_eq!(record_len(b"EHLO x"), None);
        assert_eq!(parse(b"\x16\x03\x01\x00\x02\x01\x00"), None, "cut short");
    }
}
