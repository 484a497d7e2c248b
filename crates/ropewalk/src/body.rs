//! HTTP bodies: [`Incoming`] (a body as it arrives from the peer: a
//! request body on the server, a response body on the client) and a few
//! bodies to send ([`Full`], [`channel`], [`BoxBody`]).

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use ropewalk_proto::frame::StreamId;
use tokio::sync::mpsc;

use crate::server::driver::{CmdTx, ToDriver};

/// Where an [`Incoming`] body gives back flow-control capacity: the
/// connection task that owns the stream (server or client).
#[derive(Debug, Clone)]
pub(crate) enum Releaser {
    Server(CmdTx),
    Client(mpsc::UnboundedSender<crate::client::conn::Cmd>),
    /// (Client) a body whose stream has ended: only the connection's
    /// window is left to give back, and that is added up in `Shared`, one
    /// command waking the task for all that came before it took them.
    ClientEnded(
        mpsc::UnboundedSender<crate::client::conn::Cmd>,
        std::sync::Arc<crate::client::conn::Shared>,
    ),
}

impl Releaser {
    fn release(&self, id: StreamId, n: usize) {
        // A closed channel means the connection is gone: nothing to release.
        match self {
            Releaser::Server(tx) => {
                let _ = tx.send(ToDriver::Release(id, n));
            }
            Releaser::Client(tx) => {
                let _ = tx.send(crate::client::conn::Cmd::Release(id, n));
            }
            Releaser::ClientEnded(tx, shared) => {
                if shared.add_released(n) {
                    let _ = tx.send(crate::client::conn::Cmd::Released);
                }
            }
        }
    }
}

impl From<CmdTx> for Releaser {
    fn from(tx: CmdTx) -> Releaser {
        Releaser::Server(tx)
    }
}

/// A boxed error, as handlers and bodies return them.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A boxed response body.
pub type BoxBody = http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>;

/// A body held in memory (re-exported from `http-body-util`).
pub type Full = http_body_util::Full<Bytes>;

/// Boxes any body whose data is [`Bytes`]. A body that is a [`BoxBody`]
/// already is returned as it is, not boxed again (layers that box what
/// they pass on would otherwise add a box, an allocation and an indirect
/// call per frame, each).
///
/// ```
/// use http_body::Body as _;
/// let b = ropewalk::body::boxed(ropewalk::body::full("hi"));
/// assert_eq!(b.size_hint().exact(), Some(2));
/// ```
pub fn boxed<B>(body: B) -> BoxBody
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    use http_body_util::BodyExt;
    let mut slot = Some(body);
    if let Some(same) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<BoxBody>>()
        && let Some(b) = same.take()
    {
        return b;
    }
    let Some(body) = slot else {
        unreachable!("only a BoxBody is taken out of the slot");
    };
    body.map_err(Into::into).boxed_unsync()
}

/// A body of `bytes` (empty bodies end at once).
pub fn full(bytes: impl Into<Bytes>) -> BoxBody {
    boxed(Full::new(bytes.into()))
}

/// An empty body.
pub fn empty() -> BoxBody {
    boxed(http_body_util::Empty::<Bytes>::new())
}

/// The stream failed while its body was being received.
#[derive(Debug, Clone)]
pub struct BodyError(pub String);

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "body failed: {}", self.0)
    }
}

impl std::error::Error for BodyError {}

/// What the connection task hands to an [`Incoming`] body.
#[derive(Debug)]
pub(crate) enum BodyMsg {
    Data(Bytes),
    Trailers(HeaderMap),
    Error(String),
}

/// A body streamed from the peer: the request body in a server handler,
/// the response body a [`Client`](crate::client::Client) returns.
///
/// Data arrives as the peer sends it; the peer may send only as much as
/// the stream's flow-control window allows, and polling data out of this
/// body releases that capacity (a WINDOW_UPDATE follows), so an unread
/// body bounds what is buffered. Trailers come as the last frame.
pub struct Incoming {
    inner: Option<Inner>,
    content_length: Option<u64>,
    /// Content decoding (client responses only, when asked for).
    decoder: Option<Box<crate::client::decode::Decode>>,
}

struct Inner {
    id: StreamId,
    source: Source,
    cmds: Releaser,
}

/// Where an [`Incoming`] body's frames come from.
enum Source {
    /// The connection task, as the data arrives.
    Channel(mpsc::UnboundedReceiver<BodyMsg>),
    /// (Client) the whole body arrived with the response head: this data,
    /// then the end.
    Ready(Bytes),
}

impl Source {
    /// Takes the data that arrived and was not read (closing the channel,
    /// so that later data is not queued) and says how much that was.
    fn take_unread(&mut self) -> usize {
        match self {
            Source::Ready(data) => std::mem::take(data).len(),
            Source::Channel(rx) => {
                rx.close();
                let mut n = 0;
                while let Ok(msg) = rx.try_recv() {
                    if let BodyMsg::Data(d) = msg {
                        n += d.len();
                    }
                }
                n
            }
        }
    }
}

impl fmt::Debug for Incoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("open", &self.inner.is_some())
            .field("content_length", &self.content_length)
            .finish()
    }
}

impl Incoming {
    /// A body that is already finished.
    pub fn empty() -> Incoming {
        Incoming {
            inner: None,
            content_length: Some(0),
            decoder: None,
        }
    }

    pub(crate) fn new(
        id: StreamId,
        rx: mpsc::UnboundedReceiver<BodyMsg>,
        cmds: impl Into<Releaser>,
        content_length: Option<u64>,
    ) -> Incoming {
        Incoming {
            inner: Some(Inner {
                id,
                source: Source::Channel(rx),
                cmds: cmds.into(),
            }),
            content_length,
            decoder: None,
        }
    }

    /// (Client) a body that arrived whole with its head: `data` (not
    /// empty), then the end. Reading it releases its flow-control capacity,
    /// as for any other body.
    pub(crate) fn ready(
        id: StreamId,
        data: Bytes,
        cmds: impl Into<Releaser>,
        content_length: Option<u64>,
    ) -> Incoming {
        Incoming {
            inner: Some(Inner {
                id,
                source: Source::Ready(data),
                cmds: cmds.into(),
            }),
            content_length,
            decoder: None,
        }
    }

    /// (Client) forgets the data that arrived and was not read, without
    /// releasing it, and says how much that was: the connection task
    /// releases it itself when nobody took the response.
    pub(crate) fn forget_unread(&mut self) -> usize {
        self.inner.as_mut().map_or(0, |i| i.source.take_unread())
    }

    /// Decodes the body's content coding as it is read (client responses).
    pub(crate) fn with_decoder(mut self, decoder: crate::client::decode::Decode) -> Incoming {
        self.decoder = Some(Box::new(decoder));
        self.content_length = None;
        self
    }

    /// The body as the peer sent it, content coding untouched.
    pub(crate) fn poll_raw(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let rx = match &mut inner.source {
            Source::Channel(rx) => rx,
            Source::Ready(data) => {
                let data = std::mem::take(data);
                // Reading releases flow-control capacity.
                if !data.is_empty() {
                    inner.cmds.release(inner.id, data.len());
                }
                if let Some(n) = self.content_length.as_mut() {
                    *n = n.saturating_sub(data.len() as u64);
                }
                self.inner = None;
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
        };
        match rx.poll_recv(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Some(BodyMsg::Data(data))) => {
                if !data.is_empty() {
                    // Reading releases flow-control capacity.
                    inner.cmds.release(inner.id, data.len());
                }
                if let Some(n) = self.content_length.as_mut() {
                    *n = n.saturating_sub(data.len() as u64);
                }
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Poll::Ready(Some(BodyMsg::Trailers(t))) => {
                self.inner = None;
                Poll::Ready(Some(Ok(Frame::trailers(t))))
            }
            Poll::Ready(Some(BodyMsg::Error(e))) => {
                self.inner = None;
                Poll::Ready(Some(Err(BodyError(e))))
            }
            Poll::Ready(None) => {
                self.inner = None;
                Poll::Ready(None)
            }
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Data that arrived but was never read still holds flow-control
        // window: give it back, and make later data be released at once.
        let n = self.source.take_unread();
        if n > 0 {
            self.cmds.release(self.id, n);
        }
    }
}

impl Body for Incoming {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        match this.decoder.take() {
            None => this.poll_raw(cx),
            Some(mut d) => {
                let res = d.poll_decoded(this, cx);
                if !d.is_done() {
                    this.decoder = Some(d);
                }
                res
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_none() && self.decoder.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.content_length {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}

/// The sending half of a [`channel`] body.
#[derive(Debug)]
pub struct Sender {
    tx: mpsc::Sender<Result<Frame<Bytes>, BoxError>>,
}

impl Sender {
    /// Sends a chunk of data; waits while the body's small buffer is full
    /// (the response is being written as fast as the peer reads it).
    /// Fails once the body was dropped (the stream is gone).
    pub async fn send_data(&self, data: impl Into<Bytes>) -> Result<(), BoxError> {
        self.tx
            .send(Ok(Frame::data(data.into())))
            .await
            .map_err(|_| "response body receiver dropped".into())
    }

    /// Sends trailers; the body ends after them.
    pub async fn send_trailers(self, trailers: HeaderMap) -> Result<(), BoxError> {
        self.tx
            .send(Ok(Frame::trailers(trailers)))
            .await
            .map_err(|_| "response body receiver dropped".into())
    }

    /// Ends the body with an error (the stream is reset).
    pub async fn abort(self, error: impl Into<BoxError>) {
        let _ = self.tx.send(Err(error.into())).await;
    }
}

/// A streaming body fed from another task: dropping the [`Sender`] ends
/// it. At most `buffer` frames wait in between.
pub fn channel(buffer: usize) -> (Sender, ChannelBody) {
    let (tx, rx) = mpsc::channel(buffer.max(1));
    (Sender { tx }, ChannelBody { rx, done: false })
}

/// The receiving half of a [`channel`].
#[derive(Debug)]
pub struct ChannelBody {
    rx: mpsc::Receiver<Result<Frame<Bytes>, BoxError>>,
    done: bool,
}

impl Body for ChannelBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.done {
            return Poll::Ready(None);
        }
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) => {
                self.done = true;
                Poll::Ready(None)
            }
            Poll::Ready(Some(f)) => {
                if f.as_ref().map_or(true, |f| f.is_trailers()) {
                    self.done = true;
                }
                Poll::Ready(Some(f))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done
    }
}
