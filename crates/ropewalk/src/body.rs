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

/// A body of any type, as handlers answer and the client sends: made by
/// [`boxed`], [`full`] or [`empty`].
///
/// Octets held in memory ([`full`], [`empty`]) are kept as they are, not
/// boxed: most answers are, and they cost no allocation and no dynamic
/// call. Any other body is boxed (as `http-body-util`'s `UnsyncBoxBody`,
/// which converts with `From`).
///
/// ```
/// use http_body::Body as _;
/// use http_body_util::BodyExt as _;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let body = ropewalk::body::full("hello");
/// assert_eq!(body.size_hint().exact(), Some(5));
/// assert_eq!(body.collect().await.unwrap().to_bytes(), "hello");
/// # });
/// ```
pub struct BoxBody(Repr);

enum Repr {
    /// Octets in memory, until they are taken (`None` then, and for an
    /// empty body).
    Whole(Option<Bytes>),
    Boxed(http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>),
}

impl BoxBody {
    /// `body`, boxed unless it is a `BoxBody` already: [`boxed`].
    pub fn new<B>(body: B) -> BoxBody
    where
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        boxed(body)
    }

    fn whole(bytes: Bytes) -> BoxBody {
        BoxBody(Repr::Whole((!bytes.is_empty()).then_some(bytes)))
    }

    /// The octets of a body held in memory (what is left of them), or the
    /// body itself when it is another.
    pub(crate) fn into_whole(self) -> Result<Bytes, BoxBody> {
        match self.0 {
            Repr::Whole(bytes) => Ok(bytes.unwrap_or_default()),
            other => Err(BoxBody(other)),
        }
    }
}

impl Body for BoxBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().0 {
            Repr::Whole(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Repr::Boxed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Repr::Whole(bytes) => bytes.is_none(),
            Repr::Boxed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Repr::Whole(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Repr::Boxed(body) => body.size_hint(),
        }
    }
}

impl Default for BoxBody {
    /// An empty body.
    fn default() -> BoxBody {
        empty()
    }
}

impl fmt::Debug for BoxBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Repr::Whole(bytes) => f
                .debug_tuple("BoxBody::Whole")
                .field(&bytes.as_ref().map_or(0, Bytes::len))
                .finish(),
            Repr::Boxed(_) => f.write_str("BoxBody::Boxed"),
        }
    }
}

impl From<http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>> for BoxBody {
    fn from(body: http_body_util::combinators::UnsyncBoxBody<Bytes, BoxError>) -> BoxBody {
        BoxBody(Repr::Boxed(body))
    }
}

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
    if let Some(same) = crate::cast::take_as::<BoxBody, _>(&mut slot) {
        return same;
    }
    let Some(body) = slot else {
        unreachable!("only a BoxBody is taken out of the slot");
    };
    BoxBody(Repr::Boxed(body.map_err(Into::into).boxed_unsync()))
}

/// A body of `bytes` (empty bodies end at once), held as it is.
pub fn full(bytes: impl Into<Bytes>) -> BoxBody {
    BoxBody::whole(bytes.into())
}

/// An empty body.
pub fn empty() -> BoxBody {
    BoxBody(Repr::Whole(None))
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

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn poll(body: &mut BoxBody) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        Pin::new(body).poll_frame(&mut cx)
    }

    #[test]
    fn a_full_body_gives_its_octets_once_then_ends() {
        let mut b = full("hello");
        assert!(!b.is_end_stream());
        assert_eq!(b.size_hint().exact(), Some(5));
        let Poll::Ready(Some(Ok(frame))) = poll(&mut b) else {
            panic!("data at once")
        };
        assert_eq!(frame.into_data().unwrap(), "hello");
        assert!(b.is_end_stream());
        assert_eq!(b.size_hint().exact(), Some(0));
        assert!(matches!(poll(&mut b), Poll::Ready(None)));
    }

    #[test]
    fn empty_bodies_end_at_once() {
        for mut b in [empty(), full(""), BoxBody::default()] {
            assert!(b.is_end_stream());
            assert_eq!(b.size_hint().exact(), Some(0));
            assert!(matches!(poll(&mut b), Poll::Ready(None)));
        }
    }

    #[test]
    fn octets_in_memory_are_not_boxed_and_a_box_is_not_boxed_again() {
        assert!(matches!(full("x").0, Repr::Whole(Some(_))));
        // `boxed` of a BoxBody is that body, as it was.
        assert!(matches!(boxed(full("x")).0, Repr::Whole(Some(_))));
        let other = boxed(Full::new(Bytes::from_static(b"s")));
        assert!(matches!(other.0, Repr::Boxed(_)));
        assert!(matches!(boxed(other).0, Repr::Boxed(_)));
    }

    #[tokio::test]
    async fn boxed_bodies_and_converted_ones_give_their_data() {
        let b = boxed(Full::new(Bytes::from_static(b"s")));
        assert_eq!(b.size_hint().exact(), Some(1));
        assert_eq!(b.collect().await.unwrap().to_bytes(), "s");
        let unsync = Full::new(Bytes::from_static(b"u"))
            .map_err(|e| match e {})
            .boxed_unsync();
        let b = BoxBody::from(unsync);
        assert_eq!(b.size_hint().exact(), Some(1));
        assert_eq!(b.collect().await.unwrap().to_bytes(), "u");
        let b = BoxBody::new(Full::new(Bytes::from_static(b"n")));
        assert_eq!(b.collect().await.unwrap().to_bytes(), "n");
    }
}
