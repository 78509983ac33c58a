//! One client connection through the fault proxy: read a request, ask the dice what to do with
//! it, do it, repeat. HTTP/1.1 clients such as reqwest send one request at a time on a connection
//! (no pipelining), so a plain loop keeps each request paired with its answer.

use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use super::http::{copy_body, read_head, BodyFraming, RelayError, RequestHead, ResponseHead};
use super::{FaultKind, Shared};

/// How the proxy lets go of the client socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectionEnd {
    /// FIN: the client sees an orderly close between requests.
    Close,
    /// RST (SO_LINGER 0): the client sees "connection reset", the failure the faults simulate.
    Reset,
}

/// What happened to a forwarded request.
enum Forwarded {
    KeepAlive,
    Close,
    Reset,
    /// The upstream switched protocols (101): from now on the bytes are opaque.
    Upgrade,
}

/// The upstream side of a client connection, opened on the first forwarded request and reused
/// while both sides keep the connection alive.
struct Upstream {
    stream: TcpStream,
    /// Bytes read from the upstream beyond the current answer's head.
    buf: BytesMut,
}

impl Upstream {
    async fn connect(addr: SocketAddr) -> Result<Upstream, RelayError> {
        let stream = TcpStream::connect(addr).await.map_err(RelayError::Write)?;
        stream.set_nodelay(true).map_err(RelayError::Write)?;
        Ok(Upstream {
            stream,
            buf: BytesMut::new(),
        })
    }

    /// An upstream that closed its idle keep-alive connection (or sent something unasked) must
    /// not be given the next request; a fresh connection is opened instead.
    fn is_reusable(&self) -> bool {
        let idle = self.stream.try_read(&mut [0u8; 1]);
        self.buf.is_empty() && matches!(idle, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// Serves one accepted client connection until either side closes it, the blackhole swallows
/// it, or the proxy shuts down.
pub(crate) async fn serve(
    client: TcpStream,
    upstream_addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let mut blackhole = shared.blackhole.subscribe();
    // A connection that arrives while the network is "gone" is accepted but left unread until
    // the network comes back; its bytes wait in the kernel, as they would behind a dead link.
    tokio::select! {
        _ = shutdown.cancelled() => return,
        back = blackhole.wait_for(|on| !*on) => if back.is_err() { return },
    }
    // Small heads and answers must not sit in Nagle's buffer: tests measure latency.
    let _ = client.set_nodelay(true);
    let mut connection = ProxiedConnection {
        client,
        client_buf: BytesMut::new(),
        upstream: None,
        upstream_addr,
        shared,
    };
    let end = tokio::select! {
        _ = shutdown.cancelled() => ConnectionEnd::Close,
        _ = blackhole.wait_for(|on| *on) => ConnectionEnd::Reset,
        result = connection.relay() => result.unwrap_or(ConnectionEnd::Reset),
    };
    if end == ConnectionEnd::Reset {
        // With a zero linger, dropping the socket sends RST instead of FIN.
        let _ = connection.client.set_zero_linger();
    }
}

struct ProxiedConnection {
    client: TcpStream,
    /// Bytes read from the client beyond the current request's head.
    client_buf: BytesMut,
    upstream: Option<Upstream>,
    upstream_addr: SocketAddr,
    shared: Arc<Shared>,
}

impl ProxiedConnection {
    async fn relay(&mut self) -> io::Result<ConnectionEnd> {
        loop {
            let Some(head) = read_head(&mut self.client, &mut self.client_buf).await? else {
                return Ok(ConnectionEnd::Close);
            };
            let request = RequestHead::parse(&head)?;
            let decision = self.shared.decide(&request.method);
            if !decision.latency.is_zero() {
                tokio::time::sleep(decision.latency).await;
            }
            match decision.fault {
                Some(FaultKind::ResetBefore) => return Ok(ConnectionEnd::Reset),
                Some(FaultKind::Stall) => match decision.stall_for {
                    // Swallow whatever the client sends until it gives up and closes.
                    None => {
                        copy_body(
                            &mut self.client,
                            &mut self.client_buf,
                            &mut tokio::io::sink(),
                            BodyFraming::UntilClose,
                        )
                        .await?;
                        return Ok(ConnectionEnd::Close);
                    }
                    // A bounded stall is a very slow server: afterwards the request goes through.
                    Some(stall_for) => tokio::time::sleep(stall_for).await,
                },
                Some(FaultKind::Status503) => {
                    self.answer_locally(&request, &unavailable_answer(&request))
                        .await?;
                    if !request.keep_alive {
                        return Ok(ConnectionEnd::Close);
                    }
                    continue;
                }
                Some(FaultKind::Status429) => {
                    let answer = too_many_requests_answer(&request, decision.retry_after_secs);
                    self.answer_locally(&request, &answer).await?;
                    if !request.keep_alive {
                        return Ok(ConnectionEnd::Close);
                    }
                    continue;
                }
                Some(FaultKind::ResetAfter) | None => {}
            }
            let reset_after = decision.fault == Some(FaultKind::ResetAfter);
            match self.forward(&head, &request, reset_after).await? {
                Forwarded::KeepAlive => {}
                Forwarded::Close => return Ok(ConnectionEnd::Close),
                Forwarded::Reset => return Ok(ConnectionEnd::Reset),
                Forwarded::Upgrade => {
                    self.tunnel().await?;
                    return Ok(ConnectionEnd::Close);
                }
            }
        }
    }

    /// Answers without the upstream, after reading and discarding the request body so that the
    /// next request on this keep-alive connection starts where the client thinks it does.
    async fn answer_locally(&mut self, request: &RequestHead, answer: &[u8]) -> io::Result<()> {
        if request.expects_continue {
            self.client
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await?;
        }
        copy_body(
            &mut self.client,
            &mut self.client_buf,
            &mut tokio::io::sink(),
            request.framing,
        )
        .await?;
        self.client.write_all(answer).await
    }

    /// Sends the request upstream and relays its answer back. The request body and the answer
    /// are copied concurrently: an upstream may answer (413, or `100 Continue`) before it has
    /// read the whole body, and waiting for the body first would deadlock or lose that answer.
    async fn forward(
        &mut self,
        head: &[u8],
        request: &RequestHead,
        reset_after: bool,
    ) -> io::Result<Forwarded> {
        let upstream = match self.upstream.take() {
            Some(upstream) if upstream.is_reusable() => upstream,
            _ => Upstream::connect(self.upstream_addr).await?,
        };
        let upstream = self.upstream.insert(upstream);
        self.shared.counters.requests_forwarded.increment();

        // The futures below borrow both sockets; the block ends those borrows before cleanup.
        let (answered, sent) = {
            let (mut client_read, mut client_write) = self.client.split();
            let (mut upstream_read, mut upstream_write) = upstream.stream.split();
            let client_buf = &mut self.client_buf;
            let mut discard = tokio::io::sink();
            // The reset_after victim's answer is read in full, so the upstream has finished its
            // work (stored the chunk) before the client is cut off, and then thrown away.
            let answer_to: &mut (dyn AsyncWrite + Unpin + Send) = if reset_after {
                &mut discard
            } else {
                &mut client_write
            };

            let mut send = pin!(async {
                upstream_write
                    .write_all(head)
                    .await
                    .map_err(RelayError::Write)?;
                copy_body(
                    &mut client_read,
                    client_buf,
                    &mut upstream_write,
                    request.framing,
                )
                .await
            });
            let mut answer = pin!(relay_answer(
                &mut upstream_read,
                &mut upstream.buf,
                answer_to,
                request.is_head()
            ));
            let mut sent = None;
            loop {
                tokio::select! {
                    // Polled first so that a body that is complete is seen as complete.
                    biased;
                    result = &mut send, if sent.is_none() => match result {
                        // The client vanished or sent garbage: nobody is left to answer.
                        Err(RelayError::Read(error)) => return Err(error),
                        // The upstream stopped reading; it may still be answering: keep listening.
                        other => sent = Some(other.is_ok()),
                    },
                    result = &mut answer => break (result, sent),
                }
            }
        };

        let forwarded = match answered {
            Err(error) => Err(error.into()),
            Ok(_) if reset_after => Ok(Forwarded::Reset),
            Ok(Forwarded::Upgrade) => Ok(Forwarded::Upgrade),
            // An answer that came before the whole request body leaves the request stream in an
            // unknown place: the only coherent thing left is to close.
            Ok(_) if sent != Some(true) => Ok(Forwarded::Close),
            Ok(Forwarded::KeepAlive) if request.keep_alive => Ok(Forwarded::KeepAlive),
            Ok(_) => Ok(Forwarded::Close),
        };
        if !matches!(forwarded, Ok(Forwarded::KeepAlive) | Ok(Forwarded::Upgrade)) {
            self.upstream = None;
        }
        forwarded
    }

    /// After a 101 the bytes belong to another protocol: copy them both ways blindly.
    async fn tunnel(&mut self) -> io::Result<()> {
        let Some(upstream) = self.upstream.as_mut() else {
            return Ok(());
        };
        upstream.stream.write_all(&self.client_buf).await?;
        self.client_buf.clear();
        self.client.write_all(&upstream.buf).await?;
        upstream.buf.clear();
        tokio::io::copy_bidirectional(&mut self.client, &mut upstream.stream).await?;
        Ok(())
    }
}

/// Relays one answer (after any interim 1xx answers) from the upstream to `dst`.
async fn relay_answer(
    src: &mut (impl tokio::io::AsyncRead + Unpin),
    buf: &mut BytesMut,
    dst: &mut (dyn AsyncWrite + Unpin + Send),
    request_was_head: bool,
) -> Result<Forwarded, RelayError> {
    loop {
        let Some(head) = read_head(src, buf).await? else {
            return Err(RelayError::Read(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "fault proxy: the upstream closed the connection without answering",
            )));
        };
        let answer = ResponseHead::parse(&head, request_was_head).map_err(RelayError::Read)?;
        dst.write_all(&head).await.map_err(RelayError::Write)?;
        if answer.status == 101 {
            return Ok(Forwarded::Upgrade);
        }
        if (100..200).contains(&answer.status) {
            continue;
        }
        copy_body(src, buf, dst, answer.framing).await?;
        dst.flush().await.map_err(RelayError::Write)?;
        return Ok(if answer.keep_alive {
            Forwarded::KeepAlive
        } else {
            Forwarded::Close
        });
    }
}

fn local_answer(
    request: &RequestHead,
    status_line: &str,
    extra_headers: &str,
    body: &str,
) -> Vec<u8> {
    let connection = if request.keep_alive {
        ""
    } else {
        "Connection: close\r\n"
    };
    let length = body.len();
    let mut answer = format!(
        "HTTP/1.1 {status_line}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {length}\r\n{extra_headers}{connection}\r\n"
    );
    if !request.is_head() {
        answer.push_str(body);
    }
    answer.into_bytes()
}

fn unavailable_answer(request: &RequestHead) -> Vec<u8> {
    local_answer(
        request,
        "503 Service Unavailable",
        "",
        "fault proxy: injected 503\n",
    )
}

fn too_many_requests_answer(request: &RequestHead, retry_after_secs: u64) -> Vec<u8> {
    let retry_after = format!("Retry-After: {retry_after_secs}\r\n");
    local_answer(
        request,
        "429 Too Many Requests",
        &retry_after,
        "fault proxy: injected 429\n",
    )
}
