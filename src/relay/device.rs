//! Copiers' logins: a generated password shown once (16 letters and digits: copiers cap their
//! password fields at 20-31 characters and mishandle symbols), kept only as an Argon2id hash,
//! checked off the async threads with at most two checks at once (each takes 19 MB).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
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

/// The most memory, passes and lanes a stored hash may ask for: a hash planted in relay.toml
/// must not take the machine's memory or minutes of its time at every sign-in (ours: 19 MiB,
/// 2 passes, 1 lane).
const MAX_MEMORY_KIB: u32 = 65_536;
const MAX_PASSES: u32 = 8;
const MAX_LANES: u32 = 4;

/// True when a stored hash asks for no more than the caps above.
pub fn within_caps(params: &Params) -> bool {
    params.m_cost() <= MAX_MEMORY_KIB
        && params.t_cost() <= MAX_PASSES
        && params.p_cost() <= MAX_LANES
}

/// Argon2's working memory (19 MiB for a default hash), kept between checks: at most two
/// checks run at once, so at most two buffers are kept. Handing 19 MiB back to the C allocator
/// after every check would raise its threshold for giving memory back to the system, and 20
/// copiers sending at once then held 300 MB instead of 55 MB (measured, benches/relay.rs).
static MEMORY: std::sync::Mutex<Vec<Vec<argon2::Block>>> = std::sync::Mutex::new(Vec::new());

/// Checks `password` against a stored hash, in constant time.
pub fn verify_now(password: &str, phc: &str) -> bool {
    use subtle::ConstantTimeEq;
    let Ok(h) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(params) = Params::try_from(&h) else {
        return false;
    };
    if !within_caps(&params) {
        return false;
    }
    let (Ok(algorithm), Some(salt), Some(expected)) =
        (argon2::Algorithm::try_from(h.algorithm), h.salt, h.hash)
    else {
        return false;
    };
    let version = match h.version.map(argon2::Version::try_from) {
        None => argon2::Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut blocks = MEMORY
        .lock()
        .ok()
        .and_then(|mut m| m.pop())
        .unwrap_or_default();
    blocks.resize(params.block_count(), argon2::Block::default());
    let mut out = vec![0u8; expected.len()];
    let ok = Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut blocks[..])
        .is_ok()
        && bool::from(out.as_slice().ct_eq(expected.as_bytes()));
    if blocks.len() <= 19 * 1024
        && let Ok(mut m) = MEMORY.lock()
        && m.len() < 2
    {
        m.push(blocks);
    }
    ok
}

static CHECKS: LazyLock<Arc<tokio::sync::Semaphore>> =
    LazyLock::new(|| Arc::new(tokio::sync::Semaphore::new(2)));

/// [`verify_now`] on the blocking pool, at most two at once.
pub async fn verify(password: crate::secrets::AppPassword, phc: String) -> bool {
    let Ok(_permit) = CHECKS.clone().acquire_owned().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        crate::receive::contain::quietly(|| verify_now(password.expose(), &phc))
    })
    .await
    .unwrap_or(false)
}

/// How long a login that passed Argon2 is known without hashing again.
pub const KNOWN_FOR: std::time::Duration = std::time::Duration::from_secs(3600);

/// Logins that already passed Argon2 in this process: a copier signs in for every scan, and
/// pays the slow hash (tens of milliseconds, 19 MB) once an hour instead of every time. Kept in
/// memory only: per copier, a BLAKE2b digest of the password and its stored hash under a key
/// made at start (a changed hash, a new password, forgets it), compared in constant time.
pub struct Known {
    key: [u8; 32],
    seen: std::sync::Mutex<std::collections::HashMap<String, ([u8; 32], std::time::Instant)>>,
}

impl Default for Known {
    fn default() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Self {
            key,
            seen: std::sync::Mutex::default(),
        }
    }
}

impl Known {
    fn digest(&self, password: &str, phc: &str) -> [u8; 32] {
        use blake2::digest::{Mac, consts::U32};
        let Ok(mut m) = blake2::Blake2bMac::<U32>::new_from_slice(&self.key) else {
            return [0; 32];
        };
        m.update(&(password.len() as u64).to_le_bytes());
        m.update(password.as_bytes());
        m.update(phc.as_bytes());
        m.finalize().into_bytes().into()
    }

    /// Whether this copier signed in with this password (against this hash) within the hour.
    pub fn knows(&self, name: &str, password: &str, phc: &str) -> bool {
        use subtle::ConstantTimeEq;
        let d = self.digest(password, phc);
        self.seen.lock().is_ok_and(|seen| {
            seen.get(name)
                .is_some_and(|(k, at)| at.elapsed() < KNOWN_FOR && bool::from(k.ct_eq(&d)))
        })
    }

    pub fn remember(&self, name: &str, password: &str, phc: &str) {
        let d = self.digest(password, phc);
        if let Ok(mut seen) = self.seen.lock() {
            seen.insert(name.to_string(), (d, std::time::Instant::now()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_login_needs_the_same_password_and_the_same_hash() {
        let k = Known::default();
        assert!(!k.knows("copier", "pw-one", "$argon2id$a"));
        k.remember("copier", "pw-one", "$argon2id$a");
        assert!(k.knows("copier", "pw-one", "$argon2id$a"));
        assert!(
            !k.knows("copier", "pw-two", "$argon2id$a"),
            "another password"
        );
        assert!(!k.knows("copier", "pw-one", "$argon2id$b"), "a new hash");
        assert!(!k.knows("other", "pw-one", "$argon2id$a"), "another copier");
        // Another process (another key) knows nothing.
        assert!(!Known::default().knows("copier", "pw-one", "$argon2id$a"));
    }

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
        // So is one that asks for a million passes, or 255 lanes.
        assert!(h.contains(",t=2,p=1"), "{h}");
        assert!(!verify_now(a.expose(), &h.replace(",t=2,", ",t=1000000,")));
        assert!(!verify_now(a.expose(), &h.replace(",p=1", ",p=255")));
    }
}
