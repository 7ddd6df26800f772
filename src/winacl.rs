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

/// The owner and access list of an open file, as SDDL text: read from the handle itself, so the
/// file judged is the file read.
pub fn sddl_of_file(file: &std::fs::File) -> Result<String, String> {
    use std::os::windows::io::AsRawHandle;
    let info = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: the handle is open for as long as `file` lives (all of this call); the out
    // pointers we do not want are null, which the function accepts; `sd` receives a
    // LocalAlloc'd descriptor.
    let rc = unsafe {
        GetSecurityInfo(
            file.as_raw_handle(),
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

/// Gives `path` the owner and access list in `sddl` (Administrators as owner, a protected list:
/// nothing inherited from the folder above). Needs an administrator.
pub fn lock(path: &Path, sddl: &str) -> Result<(), String> {
    let text: Vec<u16> = sddl.encode_utf16().chain(std::iter::once(0)).collect();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: `text` is NUL-terminated; `sd` receives a LocalAlloc'd self-relative descriptor.
    let ok = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            text.as_ptr(),
            SDDL_REVISION_1,
            &raw mut sd,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err("the permissions text was refused".into());
    }
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let (mut defaulted, mut present) = (0, 0);
    // SAFETY: `sd` is valid; the owner and list pointers point into it and are used before
    // it is freed.
    let rc = unsafe {
        GetSecurityDescriptorOwner(sd, &raw mut owner, &raw mut defaulted);
        GetSecurityDescriptorDacl(sd, &raw mut present, &raw mut dacl, &raw mut defaulted);
        let name = wide(path);
        let rc = SetNamedSecurityInfoW(
            name.as_ptr(),
            SE_FILE_OBJECT,
            OWNER_SECURITY_INFORMATION
                | DACL_SECURITY_INFORMATION
                | PROTECTED_DACL_SECURITY_INFORMATION,
            owner,
            std::ptr::null_mut(),
            dacl,
            std::ptr::null(),
        );
        LocalFree(sd);
        rc
    };
    if rc == ERROR_SUCCESS {
        Ok(())
    } else {
        Err(format!("Windows error {rc}"))
    }
}

/// True under Wine: its ntdll exports `wine_get_version`; Windows' ntdll does not.
pub fn is_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    let name: Vec<u16> = "ntdll.dll"
        .encode_utf16()
        .chain(std::iter::once(0))
        .collect();
    // SAFETY: both names are NUL-terminated; ntdll is loaded in every process, and the handle
    // from GetModuleHandleW needs no freeing.
    unsafe {
        let module = GetModuleHandleW(name.as_ptr());
        !module.is_null() && GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

/// True when this process runs with an administrator's full rights (elevated).
pub fn is_elevated() -> bool {
    use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
    use windows_sys::Win32::Security::{
        GetTokenInformation, TOKEN_ELEVATION, TOKEN_QUERY, TokenElevation,
    };
    use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};
    let mut token: HANDLE = std::ptr::null_mut();
    let mut elevation = TOKEN_ELEVATION { TokenIsElevated: 0 };
    let mut len = 0u32;
    // SAFETY: the process pseudo-handle needs no closing; `token` is closed below; the buffer
    // is a TOKEN_ELEVATION of the size given.
    unsafe {
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &raw mut token) == 0 {
            return false;
        }
        let ok = GetTokenInformation(
            token,
            TokenElevation,
            (&raw mut elevation).cast(),
            std::mem::size_of::<TOKEN_ELEVATION>() as u32,
            &raw mut len,
        );
        CloseHandle(token);
        ok != 0 && elevation.TokenIsElevated != 0
    }
}
