//! Response content decoding (RFC 9110 §8.4.1): gzip, deflate (zlib),
//! br and zstd, applied to an [`Incoming`] body as it is read.
//!
//! Memory stays bounded whatever the server sends: brotli and zstd decode
//! into a fixed-size output buffer and stop when it is full; deflate (whose
//! expansion is at most 1032:1) takes input in small slices; decoding
//! pauses once [`OUT_CAP`] octets of output are waiting. A small, highly
//! compressed body (a "zip bomb") is thus handed out piece by piece as it
//! is read, never inflated at once. Windows are bounded too: brotli's
//! strict 16 MiB (RFC 7932, no large-window extension), zstd's 8 MiB
//! (RFC 9659 §4). A truncated or corrupt stream is a body error.

use std::io::{self, Write};
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::HeaderMap;
use http_body::Frame;

use crate::body::{BodyError, Incoming};

/// Largest piece of decoded output produced per poll.
pub(crate) const OUT_CAP: usize = 256 * 1024;
/// Compressed octets fed to the decoder at a time.
const SLICE: usize = 256;

/// The content codings the client decodes, as sent in `accept-encoding`.
pub(crate) const ACCEPT_ENCODING: &str = "gzip, deflate, br, zstd";

type BrotliState = brotli::BrotliState<
    brotli::enc::StandardAlloc,
    brotli::enc::StandardAlloc,
    brotli::enc::StandardAlloc,
>;

/// RFC 9659 §4: a zstd content coding needs no window above 8 MiB;
/// decoders may refuse more, which bounds the memory a server can make us
/// allocate.
const ZSTD_WINDOW_LOG_MAX: u32 = 23;

enum Decoder {
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    Deflate(flate2::write::ZlibDecoder<Vec<u8>>),
    /// Low-level streaming: output stops when the buffer is full. The
    /// strict state keeps RFC 7932's 16 MiB window (no "large window").
    Brotli(Box<BrotliState>, Vec<u8>, bool),
    /// The flag: the last call ended a frame (the stream may stop there).
    Zstd(zstd::stream::raw::Decoder<'static>, Vec<u8>, bool),
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

impl Decoder {
    /// Decodes from `input` until it is used up or `room` octets were
    /// produced; returns the octets of input consumed. deflate's output per
    /// input octet is bounded (at most 1032:1), so it takes input in
    /// [`SLICE`]s; brotli and zstd can expand far more and are stopped by
    /// the size of their output buffer.
    fn decode(&mut self, input: &[u8], room: usize) -> io::Result<usize> {
        match self {
            Decoder::Gzip(d) => {
                let n = SLICE.min(input.len());
                d.write_all(&input[..n])?;
                d.flush()?;
                Ok(n)
            }
            Decoder::Deflate(d) => {
                let n = SLICE.min(input.len());
                d.write_all(&input[..n])?;
                d.flush()?;
                Ok(n)
            }
            Decoder::Brotli(state, out, finished) => {
                if *finished {
                    return if input.is_empty() {
                        Ok(0)
                    } else {
                        Err(corrupt("data after the end of the brotli stream"))
                    };
                }
                let start = out.len();
                out.resize(start + room, 0);
                let (mut avail_in, mut in_off) = (input.len(), 0);
                let (mut avail_out, mut out_off) = (room, start);
                let mut total = 0;
                let res = brotli::BrotliDecompressStream(
                    &mut avail_in,
                    &mut in_off,
                    input,
                    &mut avail_out,
                    &mut out_off,
                    out,
                    &mut total,
                    state,
                );
                out.truncate(out_off);
                match res {
                    brotli::BrotliResult::ResultFailure => Err(corrupt("invalid brotli data")),
                    brotli::BrotliResult::ResultSuccess => {
                        *finished = true;
                        Ok(in_off)
                    }
                    _ => Ok(in_off),
                }
            }
            Decoder::Zstd(d, out, complete) => {
                use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
                let start = out.len();
                out.resize(start + room, 0);
                let mut inb = InBuffer::around(input);
                let mut outb = OutBuffer::around_pos(out, start);
                let res = d.run(&mut inb, &mut outb);
                let produced = outb.pos();
                out.truncate(produced);
                let hint = res?;
                if inb.pos() > 0 || produced > start {
                    // 0: a frame was completely decoded and flushed.
                    *complete = hint == 0;
                }
                Ok(inb.pos())
            }
        }
    }

    fn output(&mut self) -> &mut Vec<u8> {
        match self {
            Decoder::Gzip(d) => d.get_mut(),
            Decoder::Deflate(d) => d.get_mut(),
            Decoder::Brotli(_, out, _) => out,
            Decoder::Zstd(_, out, _) => out,
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match self {
            Decoder::Gzip(d) => d.try_finish(),
            Decoder::Deflate(d) => d.try_finish(),
            Decoder::Brotli(_, _, true) => Ok(()),
            Decoder::Brotli(..) => Err(corrupt("truncated brotli stream")),
            Decoder::Zstd(_, _, true) => Ok(()),
            Decoder::Zstd(..) => Err(corrupt("truncated zstd stream")),
        }
    }
}

/// The decoding state of one body.
pub(crate) struct Decode {
    coding: &'static str,
    dec: Option<Decoder>,
    /// Compressed input not yet fed.
    stash: Bytes,
    /// Trailers to hand out once the decoded data is out.
    trailers: Option<HeaderMap>,
    done: bool,
}

impl Decode {
    /// A decoder for `content-encoding: coding`, if we support it.
    pub(crate) fn new(coding: &str) -> Option<Decode> {
        let (coding, dec) = match coding.trim().to_ascii_lowercase().as_str() {
            "gzip" | "x-gzip" => (
                "gzip",
                Decoder::Gzip(flate2::write::GzDecoder::new(Vec::new())),
            ),
            "deflate" => (
                "deflate",
                Decoder::Deflate(flate2::write::ZlibDecoder::new(Vec::new())),
            ),
            "br" => (
                "br",
                Decoder::Brotli(
                    Box::new(BrotliState::new_strict(
                        Default::default(),
                        Default::default(),
                        Default::default(),
                    )),
                    Vec::new(),
                    false,
                ),
            ),
            "zstd" => {
                let mut d = zstd::stream::raw::Decoder::new().ok()?;
                d.set_parameter(zstd::stream::raw::DParameter::WindowLogMax(
                    ZSTD_WINDOW_LOG_MAX,
                ))
                .ok()?;
                ("zstd", Decoder::Zstd(d, Vec::new(), false))
            }
            _ => return None,
        };
        Some(Decode {
            coding,
            dec: Some(dec),
            stash: Bytes::new(),
            trailers: None,
            done: false,
        })
    }

    pub(crate) fn is_done(&self) -> bool {
        self.done
    }

    fn fail(&mut self, e: io::Error) -> BodyError {
        self.done = true;
        BodyError(format!("{} decoding failed: {e}", self.coding))
    }

    /// Feeds stashed input until [`OUT_CAP`] octets are out (or the
    /// decoder makes no more progress).
    fn feed(&mut self) -> io::Result<Bytes> {
        let Some(dec) = self.dec.as_mut() else {
            self.stash.clear();
            return Ok(Bytes::new());
        };
        loop {
            let have = dec.output().len();
            if have >= OUT_CAP {
                break;
            }
            let used = dec.decode(&self.stash, OUT_CAP - have)?;
            let _ = self.stash.split_to(used);
            if used == 0 && dec.output().len() == have {
                break;
            }
        }
        Ok(take(dec.output()))
    }

    /// Output the decoder still holds without needing input (zstd and
    /// brotli flush what fits).
    fn drain(&mut self) -> io::Result<Bytes> {
        self.feed()
    }

    /// At the end of the body: what is left, then the decoder must be at
    /// the end of its stream.
    fn finish(&mut self) -> io::Result<Bytes> {
        let out = self.drain()?;
        if !out.is_empty() {
            // More may follow: come back once this is handed out.
            return Ok(out);
        }
        let Some(mut dec) = self.dec.take() else {
            return Ok(Bytes::new());
        };
        dec.finish()?;
        Ok(take(dec.output()))
    }

    /// The next decoded frame of `body`.
    pub(crate) fn poll_decoded(
        &mut self,
        body: &mut Incoming,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        loop {
            if self.done {
                return Poll::Ready(None);
            }
            if !self.stash.is_empty() {
                match self.feed() {
                    Ok(out) if !out.is_empty() => return Poll::Ready(Some(Ok(Frame::data(out)))),
                    Ok(_) => continue,
                    Err(e) => return Poll::Ready(Some(Err(self.fail(e)))),
                }
            }
            if self.dec.is_none() {
                self.done = true;
                return Poll::Ready(self.trailers.take().map(|t| Ok(Frame::trailers(t))));
            }
            let end = match ready!(body.poll_raw(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        self.stash = data;
                        continue;
                    }
                    Err(frame) => {
                        self.trailers = frame.into_trailers().ok();
                        true
                    }
                },
                Some(Err(e)) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(e)));
                }
                None => true,
            };
            if end {
                match self.finish() {
                    Ok(out) if !out.is_empty() => return Poll::Ready(Some(Ok(Frame::data(out)))),
                    Ok(_) => {}
                    Err(e) => return Poll::Ready(Some(Err(self.fail(e)))),
                }
            }
        }
    }
}

fn take(v: &mut Vec<u8>) -> Bytes {
    Bytes::from(std::mem::take(v))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use http_body_util::BodyExt;
    use tokio::sync::mpsc;

    use super::*;
    use crate::body::{BodyMsg, Releaser};

    /// An Incoming body fed `chunks` (as the connection task would), with
    /// `decoder` on it; returns every data frame and the trailers.
    async fn run(
        coding: &str,
        chunks: Vec<Bytes>,
        trailers: bool,
    ) -> (Vec<Bytes>, Option<HeaderMap>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (ctx, _crx) = mpsc::unbounded_channel();
        for c in chunks {
            tx.send(BodyMsg::Data(c)).unwrap();
        }
        if trailers {
            let mut t = HeaderMap::new();
            t.insert("x-t", "1".parse().unwrap());
            tx.send(BodyMsg::Trailers(t)).unwrap();
        }
        drop(tx);
        let body = Incoming::new(
            ropewalk_proto::frame::StreamId::new(1),
            rx,
            Releaser::Client(ctx),
            None,
        )
        .with_decoder(Decode::new(coding).unwrap());
        let mut body = std::pin::pin!(body);
        let mut frames = Vec::new();
        let mut tr = None;
        while let Some(f) = body.frame().await {
            let f = f.unwrap();
            match f.into_data() {
                Ok(d) => frames.push(d),
                Err(f) => tr = f.into_trailers().ok(),
            }
        }
        (frames, tr)
    }

    fn compress(coding: &str, data: &[u8]) -> Vec<u8> {
        match coding {
            "gzip" => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            "deflate" => {
                let mut e =
                    flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            "br" => {
                let mut out = Vec::new();
                {
                    let mut e = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
                    e.write_all(data).unwrap();
                }
                out
            }
            "zstd" => zstd::stream::encode_all(data, 19).unwrap(),
            _ => unreachable!(),
        }
    }

    #[tokio::test]
    async fn every_coding_round_trips_in_any_chunking_with_trailers() {
        let data: Vec<u8> = (0..300_000u32)
            .map(|i| (i.wrapping_mul(7) % 13) as u8)
            .collect();
        for coding in ["gzip", "deflate", "br", "zstd"] {
            let z = Bytes::from(compress(coding, &data));
            for chunk in [1usize, 7, 1000, z.len()] {
                let chunks = z.chunks(chunk).map(Bytes::copy_from_slice).collect();
                let (frames, tr) = run(coding, chunks, true).await;
                assert_eq!(frames.concat(), data, "{coding} in chunks of {chunk}");
                assert_eq!(tr.unwrap()["x-t"], "1", "{coding}: trailers after the data");
            }
        }
    }

    #[tokio::test]
    async fn a_bomb_is_handed_out_in_bounded_pieces() {
        // 64 MiB of zeros compress to a few dozen KiB; no single piece of
        // output may be much larger than OUT_CAP.
        let zeros = vec![0u8; 64 << 20];
        for coding in ["gzip", "deflate", "br", "zstd"] {
            let z = Bytes::from(compress(coding, &zeros));
            assert!(z.len() < 1 << 20, "{coding}: {}", z.len());
            let (frames, _) = run(coding, vec![z], false).await;
            assert_eq!(frames.iter().map(Bytes::len).sum::<usize>(), 64 << 20);
            let largest = frames.iter().map(Bytes::len).max().unwrap();
            // deflate may overshoot by what one SLICE expands to (<= 1032:1).
            assert!(
                largest <= OUT_CAP + 1032 * SLICE,
                "{coding}: a piece of {largest} octets"
            );
        }
    }

    #[tokio::test]
    async fn truncated_or_corrupt_input_is_an_error() {
        let data = vec![42u8; 100_000];
        let z = compress("gzip", &data);
        let (tx, rx) = mpsc::unbounded_channel();
        let (ctx, _crx) = mpsc::unbounded_channel();
        tx.send(BodyMsg::Data(Bytes::copy_from_slice(&z[..z.len() / 2])))
            .unwrap();
        drop(tx);
        let body = Incoming::new(
            ropewalk_proto::frame::StreamId::new(1),
            rx,
            Releaser::Client(ctx),
            None,
        )
        .with_decoder(Decode::new("gzip").unwrap());
        assert!(
            body.collect().await.is_err(),
            "a truncated gzip body must fail"
        );
        for coding in ["br", "zstd"] {
            let z = compress(coding, &data);
            let (tx, rx) = mpsc::unbounded_channel();
            let (ctx, _crx) = mpsc::unbounded_channel();
            let bad = z[..z.len() * 3 / 4].to_vec();
            tx.send(BodyMsg::Data(Bytes::from(bad))).unwrap();
            drop(tx);
            let body = Incoming::new(
                ropewalk_proto::frame::StreamId::new(1),
                rx,
                Releaser::Client(ctx),
                None,
            )
            .with_decoder(Decode::new(coding).unwrap());
            assert!(
                body.collect().await.is_err(),
                "{coding}: corrupt, truncated input must fail"
            );
        }
        assert!(Decode::new("compress").is_none());
    }
}
