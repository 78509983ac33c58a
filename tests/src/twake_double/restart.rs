//! Stopping and starting the double as a real server restarts: the port closes and every open
//! connection is cut (kept-alive ones too, so a client's pool cannot hide the outage), then the
//! port opens on the same address while the services are still starting — for that moment
//! (the warm-up) tdrive answers 401 to every authenticated route and to the token renewal,
//! and 500 to sign-in (routes.rs reads `Shared::warming`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

/// Accepts connections that all break when `stop` is cancelled.
pub(crate) struct CutListener {
    pub inner: TcpListener,
    pub stop: CancellationToken,
}

impl axum::serve::Listener for CutListener {
    type Io = CutStream;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            if let Ok((stream, addr)) = self.inner.accept().await {
                let stopped = Box::pin(self.stop.clone().cancelled_owned());
                return (
                    CutStream {
                        inner: stream,
                        stopped,
                    },
                    addr,
                );
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that fails every read and write once the server stopped, so the HTTP
/// server drops it and the peer sees it closed.
pub(crate) struct CutStream {
    inner: TcpStream,
    stopped: Pin<Box<WaitForCancellationFutureOwned>>,
}

impl CutStream {
    fn cut(&mut self, cx: &mut Context<'_>) -> bool {
        self.stopped.as_mut().poll(cx).is_ready()
    }
}

fn reset() -> io::Error {
    io::Error::new(io::ErrorKind::ConnectionReset, "the server restarted")
}

impl AsyncRead for CutStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.cut(cx) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for CutStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if self.cut(cx) {
            return Poll::Ready(Err(reset()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
