//! A bug that panics inside one connection stays in that connection: tokio ends the task, its
//! [`super::slots::Slot`] gives the place back, and the listener goes on. The panic is logged
//! once, by place in the code only: a panic's own message may quote what the stranger sent (a
//! slice of their line) or what a client signed in with, so it is never printed.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

thread_local! {
    /// True while this thread polls a connection's task.
    static IN_SESSION: Cell<bool> = const { Cell::new(false) };
}

static HOOK: Once = Once::new();

/// Installs (once per process) the panic hook that keeps a connection's panic message out of
/// every log. Panics elsewhere are printed as before.
pub fn install_hook() {
    HOOK.call_once(|| {
        let before = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_SESSION.with(Cell::get) {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!(
                        "{} scanmail: a connection ended on an internal error ({}); the server goes on",
                        crate::time::utc_rfc3339(crate::time::now_unix()),
                        info.location()
                            .map_or_else(String::new, |l| format!("{}:{}", l.file(), l.line()))
                    );
                }
            } else {
                before(info);
            }
        }));
    });
}

/// Runs `f` marked as a connection's work (for the blocking work a connection hands to another
/// thread: a password check, a request to the provider), so a panic in it is logged by place
/// only.
pub fn quietly<T>(f: impl FnOnce() -> T) -> T {
    IN_SESSION.with(|m| m.set(true));
    let _unmark = Unmark;
    f()
}

/// A connection's future, marked as one while it is polled.
pub struct Marked<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Marked<F> {
    pub fn new(f: F) -> Self {
        Self { inner: Box::pin(f) }
    }
}

/// Clears the mark when the poll ends, by return or by unwinding.
struct Unmark;

impl Drop for Unmark {
    fn drop(&mut self) {
        IN_SESSION.with(|f| f.set(false));
    }
}

impl<F: Future> Future for Marked<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        IN_SESSION.with(|f| f.set(true));
        let _unmark = Unmark;
        self.inner.as_mut().poll(cx)
    }
}
