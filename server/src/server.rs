//! Listening, serving and shutting down gracefully.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::net::TcpListener;

use crate::app::App;
use crate::http;

/// How often expired login tokens are swept from the catalog.
const TOKEN_SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// How often the server checks whether streaming has gone quiet, to give memory back.
const TRIM_CHECK_EVERY: Duration = Duration::from_secs(5);

/// Binds the configured address and prints the line tests and scripts wait for:
/// `cadenza-server listening on http://ADDR`.
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr)> {
    let listener = listen(addr).with_context(|| {
        format!("cannot listen on {addr}; is another server using that port? (choose one with --listen)")
    })?;
    let local = listener
        .local_addr()
        .context("cannot read the listening address")?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "cadenza-server listening on http://{local}");
    let _ = out.flush();
    tracing::info!("listening on http://{local}");
    Ok((listener, local))
}

/// A listening socket whose accepted connections have Nagle's algorithm off (Linux copies
/// TCP_NODELAY to accepted sockets; warp gives no hook per connection). Without it, small
/// responses and the last segment of a stream wait ~40 ms for a delayed ACK.
fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.set_nodelay(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}

/// Serves until `shutdown` resolves, then stops accepting, lets in-flight requests finish
/// for up to the configured grace period, and closes WebSocket sessions.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let sweeper = tokio::spawn(sweep_tokens(Arc::clone(&app)));
    let trimmer = tokio::spawn(trim_when_quiet(Arc::clone(&app)));
    let feeds = tokio::spawn(crate::podcasts::refresh_periodically(
        Arc::clone(&app),
        app.config.podcast_refresh,
    ));
    let cancel = app.shutdown.clone();
    let http = warp::serve(http::routes(&app))
        .incoming(listener)
        .graceful(async move {
            shutdown.await;
            tracing::info!("shutting down: no new connections; finishing requests in flight");
            cancel.cancel();
        })
        .run();
    let server = async {
        http.await;
        app.sessions.close_and_wait().await;
    };
    let grace = app.config.shutdown_grace;
    let deadline = async {
        app.shutdown.cancelled().await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        () = server => tracing::info!("all connections closed"),
        () = deadline => tracing::warn!(
            "requests still running after {}s; closing them",
            grace.as_secs()
        ),
    }
    sweeper.abort();
    trimmer.abort();
    feeds.abort();
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); only Ctrl-C stops the server");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn sweep_tokens(app: Arc<App>) {
    let mut every = tokio::time::interval(TOKEN_SWEEP_EVERY);
    loop {
        every.tick().await;
        let catalog = Arc::clone(&app.catalog);
        let now = http::unix_now();
        match tokio::task::spawn_blocking(move || catalog.delete_expired_tokens(now)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::debug!("removed {n} expired login tokens"),
            Ok(Err(e)) => tracing::warn!("cannot remove expired login tokens: {e}"),
            Err(e) => tracing::warn!("token sweep task failed: {e}"),
        }
    }
}

/// Gives freed memory back to the system once streaming has gone quiet: when bytes were
/// streamed since the last trim but none in the last check interval, and no stream is open
/// (see [`crate::allocator`]). Never under load, at most once per quiet spell.
async fn trim_when_quiet(app: Arc<App>) {
    let mut every = tokio::time::interval(TRIM_CHECK_EVERY);
    let mut trimmed_at = app.metrics.stream_bytes();
    let mut last_seen = trimmed_at;
    loop {
        every.tick().await;
        let sent = app.metrics.stream_bytes();
        let quiet = sent == last_seen && app.metrics.active_streams() == 0;
        last_seen = sent;
        if !quiet || sent == trimmed_at {
            continue;
        }
        trimmed_at = sent;
        if let Err(e) = tokio::task::spawn_blocking(crate::allocator::release_free_memory).await {
            tracing::debug!("giving memory back failed: {e}");
        }
    }
}
