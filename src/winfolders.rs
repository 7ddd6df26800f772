//! Windows' own folders, from the known-folder API: never from the environment, which the person
//! who starts ScanMail sets (a `ProgramData` pointing into their own folder would make an
//! administrator's elevated step act on files that person wrote).

#![cfg(windows)]
#![allow(unsafe_code)]

use std::os::windows::ffi::OsStringExt;
use std::path::PathBuf;
use windows_sys::Win32::System::Com::CoTaskMemFree;
use windows_sys::Win32::UI::Shell::{
    FOLDERID_ProgramData, FOLDERID_ProgramFiles, SHGetKnownFolderPath,
};

/// `C:\ProgramData` as Windows knows it (`None` only if Windows cannot say).
pub fn program_data() -> Option<PathBuf> {
    known(&FOLDERID_ProgramData)
}

/// `C:\Program Files` as Windows knows it.
pub fn program_files() -> Option<PathBuf> {
    known(&FOLDERID_ProgramFiles)
}

fn known(id: &windows_sys::core::GUID) -> Option<PathBuf> {
    let mut path: windows_sys::core::PWSTR = std::ptr::null_mut();
    // SAFETY: the GUID is a static; on success Windows writes a CoTaskMemAlloc'd,
    // NUL-terminated wide string into `path`, which is read up to its NUL and then freed, on
    // failure too (the documented contract: the caller frees whatever was returned).
    unsafe {
        let hr = SHGetKnownFolderPath(id, 0, std::ptr::null_mut(), &mut path);
        let result = if hr == 0 && !path.is_null() {
            let mut len = 0usize;
            while *path.add(len) != 0 {
                len += 1;
            }
            let wide = std::slice::from_raw_parts(path, len);
            Some(PathBuf::from(std::ffi::OsString::from_wide(wide)))
        } else {
            None
        };
        CoTaskMemFree(path.cast_const().cast());
        result
    }
}
