//! ropewalk: an HTTP/2 server and client on tokio over the sans-I/O
//! [`ropewalk_proto`] connection core.
//!
//! * [`server`]: accept loops (h2c with prior knowledge or the HTTP/1.1
//!   Upgrade, TLS with ALPN `h2`), one driver task per connection, one task
//!   per request, graceful shutdown.
//! * [`client`]: the client: a connection pool (one connection per origin,
//!   multiplexed), TLS with ALPN `h2` and certificate verification, h2c,
//!   retries of requests the server did not process, decompression, push;
//!   [`get`] and [`blocking::get`] fetch a URL in one call.
//! * [`body`]: [`Incoming`] bodies (request bodies on the server, response
//!   bodies on the client; reading releases flow-control capacity) and
//!   body helpers.
//! * [`router`]: exact and prefix routes, redirects, text, static files.
//! * [`compress`]: gzip/br/zstd response compression from `accept-encoding`.
//! * [`tls`]: rustls server configuration, PEM loading, a self-signed
//!   certificate generated and kept across restarts.
//! * [`demo`]: the demo site `ropewalk serve` runs.
//!
//! ```no_run
//! use http::StatusCode;
//! use ropewalk::router::{Router, StaticDir, redirect, text};
//! use ropewalk::{Server, service_fn};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let router = Router::new()
//!     .route("/hello", text("Hello, world!"))
//!     .route("/old", redirect(StatusCode::PERMANENT_REDIRECT, "/hello"))
//!     .prefix("/files/", StaticDir::new("./public")?);
//! let server = Server::new(ropewalk::compress::Compression::new(router));
//!
//! // TLS with ALPN h2 and a self-signed certificate kept across restarts.
//! let cert = ropewalk::tls::self_signed(&ropewalk::tls::default_cert_dir())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
//! let shutdown = async {
//!     let _ = tokio::signal::ctrl_c().await;
//! };
//! server.serve(listener, Some(cert.server_config()?), shutdown).await?;
//!
//! // Or any tower service, e.g. an async closure:
//! let _echo = Server::new(service_fn(|req: http::Request<ropewalk::Incoming>| async move {
//!     Ok::<_, std::convert::Infallible>(http::Response::new(req.into_body()))
//! }));
//! # Ok(())
//! # }
//! ```

pub mod blocking;
pub mod body;
mod cast;
pub mod client;
pub mod compress;
pub mod demo;
mod io;
pub mod router;
pub mod server;
pub mod tls;

pub use body::Incoming;
pub use client::{Client, get};
pub use router::Router;
pub use server::{Options, Server, service_fn};
