//! A client's sign-in: AUTH PLAIN (with or without an initial response) or AUTH LOGIN, read from
//! bytes. The password goes straight into an [`AppPassword`] and is never kept elsewhere.

use super::handler::{End, Login, Reply};
use super::session::Talk;
use super::wire::Cut;
use super::{Stop, clean};
use crate::secrets::AppPassword;
use base64::Engine;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The client's answer to a 334 prompt: `None` for `*` (it gave up), a too-long line or
/// something that is not base64.
async fn answer(t: &mut Talk<'_>, prompt: &str) -> Result<Option<Vec<u8>>, End> {
    t.say(&Reply::new(334, prompt)).await?;
    let limit = t.within(t.limits.data_idle);
    let line = match t.wire.line(t.limits.command_line, limit, Stop::Cut).await {
        Ok(l) => l,
        Err(Cut::TooLong) => return Ok(None),
        Err(c) => return Err(t.ended(c)),
    };
    if line == b"*" {
        return Ok(None);
    }
    Ok(B64.decode(line.trim_ascii()).ok())
}

/// Reads the sign-in for `mechanism`; `Ok(None)`: it could not be read.
pub async fn read_login(
    t: &mut Talk<'_>,
    mechanism: &str,
    initial: Option<&[u8]>,
) -> Result<Option<Login>, End> {
    let (user, password) = match mechanism {
        "PLAIN" => {
            let raw = match initial {
                Some(d) => B64.decode(d.trim_ascii()).ok(),
                None => answer(t, "").await?,
            };
            let Some(raw) = raw else { return Ok(None) };
            let mut fields = raw.split(|&b| b == 0);
            let _authz = fields.next();
            match (fields.next(), fields.next()) {
                (Some(u), Some(p)) => (u.to_vec(), p.to_vec()),
                _ => return Ok(None),
            }
        }
        "LOGIN" => {
            let user = match initial {
                Some(d) => B64.decode(d.trim_ascii()).ok(),
                None => answer(t, "VXNlcm5hbWU6").await?,
            };
            let Some(user) = user else { return Ok(None) };
            let Some(pw) = answer(t, "UGFzc3dvcmQ6").await? else {
                return Ok(None);
            };
            (user, pw)
        }
        _ => return Ok(None),
    };
    let password = AppPassword::new(String::from_utf8_lossy(&password).into_owned());
    Ok(Some(Login {
        mechanism: mechanism.to_string(),
        user: clean(&String::from_utf8_lossy(&user), 320),
        password,
        secure: t.secure,
    }))
}
