//! The app-only sign-in for a relay (OAuth 2.0 client credentials, RFC 6749 section 4.4, with a
//! certificate: RFC 7523's JWT client assertion, as Microsoft's identity platform documents it).
//! No person signs in, so no person's password change, 90 days without use or second factor ends
//! it: only the certificate's end date does.
//!
//! - [`make`]: an RSA key (2048 bits, the `rsa` crate; made once) and a self-signed certificate
//!   for it (`rcgen`, signed through ring), to upload to the app in Entra.
//! - [`assertion`]: the signed JWT (PS256 with `x5t#S256`, as Microsoft documents now; RS256
//!   with `x5t` for tenants that still want it), signed by ring.
//! - [`token`]: the token request and Microsoft's errors (AADSTS codes) kept as numbers.
//! - [`discover_tenant`]: a domain's tenant id from its OpenID configuration.
//!
//! The key is a secret exactly like a refresh token: it lives only in the relay's secret store.

use super::http::send;
use super::{AccessToken, TokenSet};
use crate::secrets::AppPassword;
use base64::Engine;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Scopes of an app-only token: SMTP (`SMTP.SendAsApp`) or Microsoft Graph (`Mail.Send`).
pub const SMTP_SCOPE: &str = "https://outlook.office365.com/.default";
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// How long an assertion is good for (Microsoft: at most 10 minutes).
const ASSERTION_LIFE: i64 = 5 * 60;

/// A certificate (DER) and the facts Entra shows of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub der: Vec<u8>,
}

impl Certificate {
    /// Reads a certificate file: DER (`.cer` as Windows writes it) or PEM.
    pub fn read(path: &std::path::Path) -> Result<Self, String> {
        use rustls::pki_types::CertificateDer;
        use rustls::pki_types::pem::PemObject;
        let bytes = crate::fsutil::read_capped(path, 64 * 1024).map_err(|e| {
            format!(
                "{} could not be read ({})",
                path.display(),
                crate::fsutil::plain_io(&e)
            )
        })?;
        let der = if bytes.starts_with(b"-----") {
            CertificateDer::from_pem_slice(&bytes)
                .map_err(|_| format!("{} is not a certificate", path.display()))?
                .to_vec()
        } else {
            bytes
        };
        let c = Self { der };
        c.not_after()
            .map_err(|_| format!("{} is not a certificate", path.display()))?;
        Ok(c)
    }

    /// The SHA-1 thumbprint as Entra shows it: 40 hexadecimal digits, upper case.
    pub fn thumbprint(&self) -> String {
        let d = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.der);
        d.as_ref().iter().map(|b| format!("{b:02X}")).collect()
    }

    fn x5t(&self) -> String {
        B64URL.encode(ring::digest::digest(
            &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            &self.der,
        ))
    }

    fn x5t_s256(&self) -> String {
        B64URL.encode(ring::digest::digest(&ring::digest::SHA256, &self.der))
    }

    /// When it ends (seconds since 1970).
    pub fn not_after(&self) -> Result<i64, String> {
        let (_, c) = x509_parser::parse_x509_certificate(&self.der)
            .map_err(|_| "not a certificate".to_string())?;
        Ok(c.validity().not_after.timestamp())
    }
}

/// Makes the relay's key and a self-signed certificate for it, valid `days` from now. Returns
/// the key (PKCS#8 PEM: a secret) and the certificate.
pub fn make(subject: &str, days: i64) -> Result<(AppPassword, Certificate), String> {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let err = |e: &dyn std::fmt::Display| format!("the relay's key could not be made ({e})");
    let mut rng = rsa::rand_core::OsRng;
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048).map_err(|e| err(&e))?;
    let pem = key.to_pkcs8_pem(LineEnding::LF).map_err(|e| err(&e))?;
    let der = key.to_pkcs8_der().map_err(|e| err(&e))?;
    let pkcs8 = rustls::pki_types::PrivatePkcs8KeyDer::from(der.as_bytes().to_vec());
    let pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, &rcgen::PKCS_RSA_SHA256)
        .map_err(|e| err(&e))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(|e| err(&e))?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, subject);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(days);
    let cert = params.self_signed(&pair).map_err(|e| err(&e))?;
    Ok((
        AppPassword::new(pem.as_str()),
        Certificate {
            der: cert.der().to_vec(),
        },
    ))
}

/// How the assertion is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// RSASSA-PSS with SHA-256 and `x5t#S256` (Microsoft's documented form).
    Ps256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and `x5t` (the older form some tenants still want).
    Rs256,
}

/// The client assertion: a JWT for `client_id` at `token_url`, signed with the key (PKCS#8 PEM).
pub fn assertion(
    key_pem: &str,
    cert: &Certificate,
    client_id: &str,
    token_url: &str,
    alg: Alg,
) -> Result<String, String> {
    use rustls::pki_types::PrivatePkcs8KeyDer;
    use rustls::pki_types::pem::PemObject;
    let der = PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes())
        .map_err(|_| "the relay's key in its secret store is not a key".to_string())?;
    let pair = ring::signature::RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
        .map_err(|_| "the relay's key in its secret store is not an RSA key".to_string())?;
    let header = match alg {
        Alg::Ps256 => {
            serde_json::json!({"alg": "PS256", "typ": "JWT", "x5t#S256": cert.x5t_s256()})
        }
        Alg::Rs256 => serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": cert.x5t()}),
    };
    let now = crate::time::now_unix();
    let mut id = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut id)
        .map_err(|_| "no random numbers".to_string())?;
    let claims = serde_json::json!({
        "aud": token_url,
        "iss": client_id,
        "sub": client_id,
        "jti": id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "nbf": now - 60,
        "iat": now,
        "exp": now + ASSERTION_LIFE,
    });
    let signing_input = format!(
        "{}.{}",
        B64URL.encode(header.to_string()),
        B64URL.encode(claims.to_string())
    );
    let padding: &dyn ring::signature::RsaEncoding = match alg {
        Alg::Ps256 => &ring::signature::RSA_PSS_SHA256,
        Alg::Rs256 => &ring::signature::RSA_PKCS1_SHA256,
    };
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(
        padding,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| "the assertion could not be signed".to_string())?;
    Ok(format!("{signing_input}.{}", B64URL.encode(sig)))
}

/// What the app signs in with.
pub enum Credential<'a> {
    /// The key (PKCS#8 PEM) and its certificate.
    Key { pem: &'a str, cert: &'a Certificate },
    /// A client secret IT chose to use instead.
    Secret(&'a str),
}

/// Why the identity provider gave no token: Microsoft's AADSTS number when it said one, its
/// OAuth error and words (never a secret), or the network's reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    pub aadsts: Option<u32>,
    pub error: String,
    pub description: String,
    /// The identity provider could not be reached (not its refusal).
    pub network: bool,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.aadsts {
            Some(n) => write!(f, "AADSTS{n}"),
            None if self.network => write!(f, "{}", self.description),
            None => write!(f, "{}", self.error),
        }
    }
}

fn network(reason: String) -> AppError {
    AppError {
        aadsts: None,
        error: "network".into(),
        description: reason,
        network: true,
    }
}

/// An error answer's parts: `error`, `error_description`, and the first AADSTS number (from
/// `error_codes`, else from the words).
fn refusal(body: &[u8]) -> AppError {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let description = crate::receive::clean(v["error_description"].as_str().unwrap_or(""), 300);
    let aadsts = v["error_codes"]
        .as_array()
        .and_then(|a| a.first())
        .and_then(serde_json::Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .or_else(|| {
            let at = description.find("AADSTS")? + 6;
            let digits: String = description
                .get(at..)?
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        });
    AppError {
        aadsts,
        error: crate::receive::clean(
            v["error"]
                .as_str()
                .unwrap_or("an answer ScanMail could not read"),
            60,
        ),
        description,
        network: false,
    }
}

/// An app-only token for `scope`, from the token endpoint `token_url`.
pub async fn token(
    token_url: &str,
    client_id: &str,
    scope: &str,
    credential: &Credential<'_>,
    alg: Alg,
) -> Result<TokenSet, AppError> {
    super::check_endpoint(token_url).map_err(network)?;
    let body = {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials")
            .append_pair("client_id", client_id)
            .append_pair("scope", scope);
        match credential {
            Credential::Key { pem, cert } => {
                let jwt = assertion(pem, cert, client_id, token_url, alg).map_err(network)?;
                form.append_pair(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .append_pair("client_assertion", &jwt);
            }
            Credential::Secret(s) => {
                form.append_pair("client_secret", s);
            }
        }
        form.finish()
    };
    let request = oauth2::http::Request::post(token_url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Accept", "application/json")
        .body(body.into_bytes())
        .map_err(|_| network("the token address is not valid".into()))?;
    let answer = send(request)
        .await
        .map_err(|e| network(format!("{}: {}", e.host, e.reason)))?;
    if !answer.status().is_success() {
        return Err(refusal(answer.body()));
    }
    let v: serde_json::Value = serde_json::from_slice(answer.body()).map_err(|_| refusal(b""))?;
    let Some(access) = v["access_token"].as_str() else {
        return Err(refusal(answer.body()));
    };
    Ok(TokenSet {
        access: AccessToken::new(access),
        expires_at: super::expires_at(v["expires_in"].as_u64()),
        refresh: None,
    })
}

/// The tenant id (a GUID) of `domain` (or of a tenant id), from its OpenID configuration at
/// `{authority}/{domain}/v2.0/.well-known/openid-configuration`.
pub async fn discover_tenant(authority: &str, domain: &str) -> Result<String, AppError> {
    super::check_endpoint(authority).map_err(network)?;
    let plain = !domain.is_empty()
        && domain
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.".contains(c));
    if !plain {
        return Err(network(format!(
            "\"{domain}\" is not a domain or a tenant id"
        )));
    }
    let url = format!(
        "{}/{domain}/v2.0/.well-known/openid-configuration",
        authority.trim_end_matches('/')
    );
    let request = oauth2::http::Request::get(&url)
        .header("Accept", "application/json")
        .body(Vec::new())
        .map_err(|_| network("the sign-in address is not valid".into()))?;
    let answer = send(request)
        .await
        .map_err(|e| network(format!("{}: {}", e.host, e.reason)))?;
    if !answer.status().is_success() {
        return Err(refusal(answer.body()));
    }
    let v: serde_json::Value = serde_json::from_slice(answer.body()).map_err(|_| refusal(b""))?;
    let endpoint = v["token_endpoint"].as_str().unwrap_or_default();
    // ".../{tenant id}/oauth2/v2.0/token"
    let tid = endpoint
        .trim_end_matches("/oauth2/v2.0/token")
        .rsplit('/')
        .next()
        .unwrap_or_default();
    if tid.len() == 36 && tid.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
        Ok(tid.to_ascii_lowercase())
    } else {
        Err(refusal(b"{\"error\":\"no tenant id in the answer\"}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assertion_verifies_with_the_certificate_in_both_forms() {
        let (key, cert) = make("ScanMail relay (scan@contoso.example)", 730).unwrap();
        assert!(key.expose().starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(cert.thumbprint().len(), 40);
        let days = (cert.not_after().unwrap() - crate::time::now_unix()) / 86_400;
        assert!((729..=730).contains(&days), "{days}");
        let (_, parsed) = x509_parser::parse_x509_certificate(&cert.der).unwrap();
        let spki = parsed.public_key().subject_public_key.data.to_vec();
        for (alg, verify, header_key) in [
            (
                Alg::Ps256,
                &ring::signature::RSA_PSS_2048_8192_SHA256,
                "x5t#S256",
            ),
            (
                Alg::Rs256,
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                "x5t",
            ),
        ] {
            let jwt =
                assertion(key.expose(), &cert, "client-1", "https://idp/t/token", alg).unwrap();
            let parts: Vec<&str> = jwt.split('.').collect();
            assert_eq!(parts.len(), 3);
            let header: serde_json::Value =
                serde_json::from_slice(&B64URL.decode(parts[0]).unwrap()).unwrap();
            assert!(header[header_key].is_string(), "{header}");
            let claims: serde_json::Value =
                serde_json::from_slice(&B64URL.decode(parts[1]).unwrap()).unwrap();
            assert_eq!(claims["aud"], "https://idp/t/token");
            assert_eq!(claims["iss"], claims["sub"]);
            let sig = B64URL.decode(parts[2]).unwrap();
            ring::signature::UnparsedPublicKey::new(verify, &spki)
                .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
                .unwrap();
        }
    }

    #[test]
    fn microsofts_refusals_keep_their_number() {
        let e = refusal(br#"{"error":"invalid_client","error_description":"AADSTS700027: Client assertion failed signature validation.","error_codes":[700027]}"#);
        assert_eq!(e.aadsts, Some(700027));
        assert_eq!(e.to_string(), "AADSTS700027");
        let e = refusal(br#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'x' not found."}"#);
        assert_eq!(e.aadsts, Some(90002));
        assert_eq!(refusal(b"not json").aadsts, None);
    }
}
