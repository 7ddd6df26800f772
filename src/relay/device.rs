//! Copiers' logins: a generated password shown once (16 letters and digits: copiers cap their
//! password fields at 20-31 characters and mishandle symbols), kept only as an Argon2id hash,
//! checked off the async threads with at most two checks at once (each takes 19 MB).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use std::sync::{Arc, LazyLock};

/// Letters and digits a person can read off a card and type on a copier's panel: no 0/O, 1/l/I.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
pub const PASSWORD_LEN: usize = 16;

/// A new password from the OS's random source (uniform over the alphabet).
pub fn new_password() -> crate::secrets::AppPassword {
    let mut out = String::with_capacity(PASSWORD_LEN);
    let limit = 256 - (256 % ALPHABET.len());
    while out.len() < PASSWORD_LEN {
        let mut b = [0u8; 32];
        OsRng.fill_bytes(&mut b);
        for &x in &b {
            if usize::from(x) < limit && out.len() < PASSWORD_LEN {
                out.push(char::from(ALPHABET[usize::from(x) % ALPHABET.len()]));
            }
        }
    }
    crate::secrets::AppPassword::new(out)
}

/// The Argon2id PHC string for `password` (OWASP's parameters: 19 MiB, 2 passes).
pub fn hash(password: &crate::secrets::AppPassword) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("the password could not be hashed ({e})"))
}

/// The most memory a stored hash may ask for (a planted hash must not exhaust the machine).
const MAX_MEMORY_KIB: u32 = 65_536;

/// Checks `password` against a stored hash, in constant time (argon2 compares with `subtle`).
pub fn verify_now(password: &str, phc: &str) -> bool {
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    let params = Params::try_from(&h);
    if params.is_err() || params.is_ok_and(|p| p.m_cost() > MAX_MEMORY_KIB) {
        return false;
    }
    Argon2::default()
        .verify_password(password.as_bytes(), &h)
        .is_ok()
}

static CHECKS: LazyLock<Arc<tokio::sync::Semaphore>> =
    LazyLock::new(|| Arc::new(tokio::sync::Semaphore::new(2)));

/// [`verify_now`] on the blocking pool, at most two at once.
pub async fn verify(password: crate::secrets::AppPassword, phc: String) -> bool {
    let Ok(_permit) = CHECKS.clone().acquire_owned().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || verify_now(password.expose(), &phc))
        .await
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_sixteen_readable_characters_and_hashes_check() {
        let a = new_password();
        let b = new_password();
        assert_eq!(a.expose().len(), 16);
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().bytes().all(|c| ALPHABET.contains(&c)));
        let h = hash(&a).unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(!h.contains(a.expose()));
        assert!(verify_now(a.expose(), &h));
        assert!(!verify_now(b.expose(), &h));
        assert!(!verify_now(a.expose(), "not a hash"));
        // A hash that asks for 4 GB is refused, not computed.
        let greedy = h.replace("m=19456", "m=4194304");
        assert!(!verify_now(a.expose(), &greedy));
    }
}
