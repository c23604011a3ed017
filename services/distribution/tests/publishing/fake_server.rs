//! What every fake platform shares: a port of its own, its routes served with no body limit (a
//! video is large), a lock that survives a panicking handler, and faults taken one at a time.

use std::sync::{Mutex, MutexGuard};

use axum::Router;
use tokio::net::TcpListener;

/// A listener on a free local port, and the base URL it answers at.
pub async fn listen() -> anyhow::Result<(TcpListener, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    Ok((listener, base_url))
}

/// Serves `app` on `listener` in the background.
pub fn serve(listener: TcpListener, app: Router) {
    let app = app.layer(axum::extract::DefaultBodyLimit::disable());
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// The fake's state, even after a handler panicked holding it.
pub fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Removes and returns the first injected fault that `wanted` accepts.
pub fn take_fault<F>(faults: &mut Vec<F>, wanted: impl Fn(&F) -> bool) -> Option<F> {
    let index = faults.iter().position(wanted)?;
    Some(faults.remove(index))
}
