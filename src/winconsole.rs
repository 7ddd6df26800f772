//! A windowed Windows program started from a terminal has no standard output. This gives the
//! command line back its terminal: attach to the parent's console, and point only the missing
//! standard handles at it (a redirected `> out.json` or a pipe is left alone). Elsewhere it does
//! nothing. Plain Win32 calls.

#[cfg(windows)]
#[allow(unsafe_code)]
pub fn attach_to_terminal() {
    use windows_sys::Win32::Foundation::{
        GENERIC_READ, GENERIC_WRITE, HANDLE, INVALID_HANDLE_VALUE,
    };
    use windows_sys::Win32::Storage::FileSystem::{
        CreateFileW, FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ, FILE_SHARE_WRITE, OPEN_EXISTING,
    };
    use windows_sys::Win32::System::Console::{
        ATTACH_PARENT_PROCESS, AttachConsole, GetStdHandle, STD_ERROR_HANDLE, STD_INPUT_HANDLE,
        STD_OUTPUT_HANDLE, SetStdHandle,
    };
    let missing = |h: HANDLE| h.is_null() || h == INVALID_HANDLE_VALUE;
    let open = |name: &str| -> HANDLE {
        let wide: Vec<u16> = name.encode_utf16().chain(std::iter::once(0)).collect();
        // SAFETY: `wide` is a NUL-terminated UTF-16 string that outlives the call; the other
        // arguments are plain flags and null pointers, which CreateFileW accepts.
        unsafe {
            CreateFileW(
                wide.as_ptr(),
                GENERIC_READ | GENERIC_WRITE,
                FILE_SHARE_READ | FILE_SHARE_WRITE,
                std::ptr::null(),
                OPEN_EXISTING,
                FILE_ATTRIBUTE_NORMAL,
                std::ptr::null_mut(),
            )
        }
    };
    // SAFETY: GetStdHandle, AttachConsole and SetStdHandle take and return plain values.
    unsafe {
        let (input, output, error) = (
            GetStdHandle(STD_INPUT_HANDLE),
            GetStdHandle(STD_OUTPUT_HANDLE),
            GetStdHandle(STD_ERROR_HANDLE),
        );
        // Attached even when the handles are there (scanmail-cli.exe passes its own): Ctrl+C
        // on that console then reaches this program too.
        if AttachConsole(ATTACH_PARENT_PROCESS) == 0 {
            return;
        }
        if !missing(output) && !missing(error) && !missing(input) {
            return;
        }
        let conout = open("CONOUT$");
        if !missing(conout) {
            if missing(output) {
                SetStdHandle(STD_OUTPUT_HANDLE, conout);
            }
            if missing(error) {
                SetStdHandle(STD_ERROR_HANDLE, conout);
            }
        }
        if missing(input) {
            let conin = open("CONIN$");
            if !missing(conin) {
                SetStdHandle(STD_INPUT_HANDLE, conin);
            }
        }
    }
}

#[cfg(not(windows))]
pub fn attach_to_terminal() {}
