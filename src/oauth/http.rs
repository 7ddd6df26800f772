//! The HTTPS client the `oauth2` crate talks through: ureq on rustls (ring), certificates
//! checked against the OS store (the platform verifier, as for SMTP), redirects never followed
//! (an identity provider's token endpoint does not redirect; following one could send the code
//! elsewhere), bounded in time and size. Blocking calls run on tokio's blocking pool.

use oauth2::{HttpRequest, HttpResponse};
use std::time::Duration;

/// Why a request to the identity provider got no answer, in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host}: {reason}")]
pub struct HttpError {
    pub host: String,
    pub reason: String,
}

const LIMIT: u64 = 256 * 1024;

fn agent() -> ureq::Agent {
    agent_with(Duration::from_secs(10), Duration::from_secs(30))
}

/// An HTTPS agent as every web call of ScanMail makes them: certificates checked against the
/// system's store, no redirects followed, every status an answer (not an error), and these
/// limits to connect and for the whole call.
pub fn agent_with(connect: Duration, whole: Duration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_connect(Some(connect))
        .timeout_global(Some(whole))
        .build()
        .new_agent()
}

/// Sends one request and returns the whole answer (any status).
pub async fn send(request: HttpRequest) -> Result<HttpResponse, HttpError> {
    let host = request.uri().host().unwrap_or("?").to_string();
    let fail = {
        let host = host.clone();
        move |reason: String| HttpError {
            host: host.clone(),
            reason,
        }
    };
    tokio::task::spawn_blocking(move || {
        let response = agent().run(request).map_err(|e| plain(&e))?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .with_config()
            .limit(LIMIT)
            .read_to_vec()
            .map_err(|e| plain(&e))?;
        Ok(oauth2::http::Response::from_parts(parts, bytes))
    })
    .await
    .map_err(|_| fail("the request stopped".into()))?
    .map_err(fail)
}

fn plain(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "it did not answer in time".into(),
        ureq::Error::HostNotFound => "the name was not found".into(),
        ureq::Error::ConnectionFailed => "the connection failed".into(),
        ureq::Error::Io(io) => crate::fsutil::plain_io(io),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "its certificate was not trusted".into(),
        ureq::Error::BodyExceedsLimit(_) => "its answer was far too long".into(),
        other => other.to_string(),
    }
}
