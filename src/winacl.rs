//! Windows file security for the machine-wide preset: read a file's owner and access list as
//! SDDL text (judged in `trust`), and lock the preset's folder and file to administrators.
//! Plain Win32 calls; the decisions are made elsewhere, in safe code with tests.

#![cfg(windows)]
#![allow(unsafe_code)]

use std::path::Path;
use windows_sys::Win32::Foundation::{ERROR_SUCCESS, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertSecurityDescriptorToStringSecurityDescriptorW,
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetNamedSecurityInfoW, GetSecurityInfo,
    SDDL_REVISION_1, SE_FILE_OBJECT, SetNamedSecurityInfoW,
};
use windows_sys::Win32::Security::{
    ACL, DACL_SECURITY_INFORMATION, GetSecurityDescriptorDacl, GetSecurityDescriptorOwner,
    OWNER_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR, PSID,
};

fn wide(path: &Path) -> Vec<u16> {
    use std::os::windows::ffi::OsStrExt;
    path.as_os_str()
        .encode_wide()
        .chain(std::iter::once(0))
        .collect()
}

/// Reads security descriptors from the file system.
pub struct Win32;

impl crate::trust::SecurityText for Win32 {
    fn sddl(&self, path: &Path) -> Result<String, String> {
        let name = wide(path);
        let info = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
        let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated and outlives the call; the out pointers we do not
        // want are null, which the function accepts; `sd` receives a LocalAlloc'd descriptor.
        let rc = unsafe {
            GetNamedSecurityInfoW(
                name.as_ptr(),
                SE_FILE_OBJECT,
                info,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &raw mut sd,
            )
        };
        if rc != ERROR_SUCCESS {
            return Err(format!("Windows error {rc}"));
        }
        describe(sd, info)
    }
}

/// The descriptor as SDDL text; frees it.
fn describe(sd: PSECURITY_DESCRIPTOR, info: u32) -> Result<String, String> {
    let mut text: *mut u16 = std::ptr::null_mut();
    let mut len = 0u32;
    // SAFETY: `sd` is the valid descriptor just returned; `text` receives a LocalAlloc'd,
    // NUL-terminated string of `len` characters.
    let ok = unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            SDDL_REVISION_1,
            info,
            &raw mut text,
            &raw mut len,
        )
    };
    let result = if ok == 0 || text.is_null() {
        Err("its permissions could not be described".to_string())
    } else {
        // SAFETY: `text` points at `len` UTF-16 units (the count includes the final NUL).
        let units = unsafe { std::slice::from_raw_parts(text, len as usize) };
        let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
        Ok(String::from_utf16_lossy(&units[..end]))
    };
    // SAFETY: both were allocated by the calls above with LocalAlloc and are freed once.
    unsafe {
        if !text.is_null() {
            LocalFree(text.cast());
        }
        LocalFree(sd);
    }
    result
}
