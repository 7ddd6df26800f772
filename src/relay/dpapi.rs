//! The relay's secret file on Windows, sealed with DPAPI in machine scope: only code running on
//! this computer can open it (a copied file or a disk taken elsewhere is useless), and the
//! state folder's access list keeps standard users from reading it at all.

#![cfg(windows)]
#![allow(unsafe_code)]

use windows_sys::Win32::Foundation::LocalFree;
use windows_sys::Win32::Security::Cryptography::{
    CRYPT_INTEGER_BLOB, CRYPTPROTECT_LOCAL_MACHINE, CRYPTPROTECT_UI_FORBIDDEN, CryptProtectData,
    CryptUnprotectData,
};

/// What a sealed file starts with.
pub const PREFIX: &str = "dpapi:";

fn call(data: &[u8], seal: bool) -> Result<Vec<u8>, String> {
    let len = u32::try_from(data.len()).map_err(|_| "the secret is too large".to_string())?;
    let input = CRYPT_INTEGER_BLOB {
        cbData: len,
        pbData: data.as_ptr().cast_mut(),
    };
    let mut output = CRYPT_INTEGER_BLOB {
        cbData: 0,
        pbData: std::ptr::null_mut(),
    };
    let flags = CRYPTPROTECT_UI_FORBIDDEN | CRYPTPROTECT_LOCAL_MACHINE;
    // SAFETY: `input` points at `data`, alive for the call; DPAPI only reads it. On success
    // `output` holds a LocalAlloc'd buffer of `cbData` bytes, copied and then freed.
    unsafe {
        let ok = if seal {
            CryptProtectData(
                &input,
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                flags,
                &mut output,
            )
        } else {
            CryptUnprotectData(
                &input,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                flags,
                &mut output,
            )
        };
        if ok == 0 || output.pbData.is_null() {
            return Err(if seal {
                "Windows could not seal the secret (DPAPI)".into()
            } else {
                "Windows could not open the sealed secret: it was sealed on another computer".into()
            });
        }
        let bytes = std::slice::from_raw_parts(output.pbData, output.cbData as usize).to_vec();
        LocalFree(output.pbData.cast());
        Ok(bytes)
    }
}

/// The file's text for this secret.
pub fn seal(secret: &str) -> Result<String, String> {
    use base64::Engine as _;
    let sealed = call(secret.as_bytes(), true)?;
    Ok(format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::STANDARD.encode(sealed)
    ))
}

/// The secret from the file's text (an unsealed file, written by hand, is taken as it is).
pub fn open(text: &str) -> Result<String, String> {
    use base64::Engine as _;
    let Some(b64) = text.trim().strip_prefix(PREFIX) else {
        return Ok(text.trim().to_string());
    };
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .map_err(|_| "the sealed secret is damaged: sign the relay in again".to_string())?;
    let plain = call(&sealed, false)?;
    String::from_utf8(plain)
        .map_err(|_| "the sealed secret is damaged: sign the relay in again".to_string())
}
