//! Server push (RFC 9113 §8.4), seen from the client: the responses a
//! server pushed alongside the response they came with.

use std::fmt;
use std::sync::Arc;

use http::{Request, Response};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::conn::ResponseResult;
use super::error::Error;
use crate::body::Incoming;

/// A pushed response: the request the server promised (a GET or HEAD,
/// RFC 9113 §8.4.1) and, once it arrives, its response.
pub struct PushedResponse {
    request: http::request::Parts,
    response: oneshot::Receiver<ResponseResult>,
}

impl fmt::Debug for PushedResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushedResponse")
            .field("method", &self.request.method)
            .field("uri", &self.request.uri)
            .finish()
    }
}

impl PushedResponse {
    pub(crate) fn new(
        request: http::request::Parts,
        response: oneshot::Receiver<ResponseResult>,
    ) -> PushedResponse {
        PushedResponse { request, response }
    }

    /// The promised request (method, URI with scheme and authority, fields).
    pub fn request(&self) -> Request<()> {
        let mut b = Request::builder()
            .method(self.request.method.clone())
            .uri(self.request.uri.clone())
            .version(http::Version::HTTP_2);
        if let Some(h) = b.headers_mut() {
            *h = self.request.headers.clone();
        }
        b.body(()).unwrap_or_default()
    }

    /// Waits for the pushed response.
    pub async fn response(self) -> Result<Response<Incoming>, Error> {
        self.response
            .await
            .unwrap_or_else(|_| Err(Error::Closed("pushed stream abandoned".into())))
    }
}

/// Pushed responses not yet taken from a [`Pushes`] stream; further
/// promises are cancelled (RST_STREAM CANCEL, RFC 9113 §8.4.2) so that an
/// unread stream of pushes cannot grow without bound.
pub const MAX_PENDING_PUSHES: usize = 64;

/// The pushes that came with one response: a response extension, present
/// when the client was built with
/// [`enable_push`](super::ClientBuilder::enable_push). The stream ends once
/// the server has finished the response they came with (no promise can
/// follow it, RFC 9113 §8.4).
///
/// ```no_run
/// # async fn run() -> Result<(), ropewalk::client::Error> {
/// use ropewalk::client::{Client, Pushes};
///
/// let client = Client::builder().enable_push(true).build()?;
/// let resp = client.get("http://127.0.0.1:8080/push").await?;
/// let pushes = resp.extensions().get::<Pushes>().cloned().unwrap();
/// let page = ropewalk::client::collect(resp).await?; // the pushing response first
/// while let Some(p) = pushes.next().await {
///     let uri = p.request().uri().clone();
///     let pushed = p.response().await?;
///     println!("{uri}: {}", pushed.status());
/// }
/// # let _ = page; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Pushes(Arc<Mutex<mpsc::Receiver<PushedResponse>>>);

impl fmt::Debug for Pushes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pushes(..)")
    }
}

impl Pushes {
    pub(crate) fn new(rx: mpsc::Receiver<PushedResponse>) -> Pushes {
        Pushes(Arc::new(Mutex::new(rx)))
    }

    /// The next pushed response, or `None` once no more can come.
    pub async fn next(&self) -> Option<PushedResponse> {
        self.0.lock().await.recv().await
    }
}
