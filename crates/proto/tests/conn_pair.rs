//! An in-memory client ⇄ server pair: many multiplexed exchanges with
//! randomized stream counts, body sizes, frame sizes, window sizes and
//! read/write chunking; every byte of every body is checked.

use std::collections::BTreeMap as HashMap;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use ropewalk_proto::conn::{Config, Connection, Event};
use ropewalk_proto::frame::StreamId;
use ropewalk_proto::headers::{RequestHead, ResponseHead};

/// Total exchanges across all connections.
const EXCHANGES: usize = 10_000;

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

fn body(id: u64, salt: u8, len: usize) -> Bytes {
    (0..len)
        .map(|i| (id as usize).wrapping_mul(31).wrapping_add(i * 7) as u8 ^ salt)
        .collect::<Vec<u8>>()
        .into()
}

fn body_len(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0 => rng.range(60_000, 300_000) as usize,
        1..=10 => rng.range(4_000, 40_000) as usize,
        11..=20 => 0,
        _ => rng.below(3_000) as usize,
    }
}

fn random_config(rng: &mut Rng) -> Config {
    let windows = [1_000u32, 16_384, 65_535, 100_000, 1 << 20];
    Config::default()
        .with_initial_window_size(windows[rng.below(windows.len() as u64) as usize])
        .with_connection_window_size([65_535u32, 200_000, 1 << 20][rng.below(3) as usize])
        .with_max_frame_size([16_384u32, 20_000, 1 << 20][rng.below(3) as usize])
        .with_max_concurrent_streams(rng.range(1, 100) as u32)
        .with_adaptive_window(rng.below(2) == 0)
}

/// Moves a random-sized prefix of `from` into the peer.
fn shuttle(
    rng: &mut Rng,
    from: &mut BytesMut,
    to: &mut Connection,
    inbuf: &mut BytesMut,
    now: Instant,
) {
    if !from.is_empty() {
        let n = match rng.below(4) {
            0 => from.len(),
            1 => rng.range(1, 20) as usize,
            _ => rng.range(1, 70_000) as usize,
        }
        .min(from.len());
        inbuf.extend_from_slice(&from.split_to(n));
    }
    to.recv(inbuf, now);
}

fn transmit(rng: &mut Rng, c: &mut Connection, out: &mut BytesMut, now: Instant) {
    // vectored style: header bytes, then the payload
    for _ in 0..rng.range(1, 8) {
        match c.poll_transmit(now, out) {
            Some(payload) => out.extend_from_slice(&payload),
            None => break,
        }
    }
}

#[derive(Default)]
struct ClientExchange {
    id: u64,
    resp_len: usize,
    got: Vec<u8>,
    status: Option<StatusCode>,
    trailers: bool,
    done: bool,
}

fn run_connection(rng: &mut Rng, exchanges: usize, base_id: u64) -> usize {
    let now = Instant::now();
    let mut client = Connection::client(random_config(rng), now);
    let mut server = Connection::server(random_config(rng), now);
    let (mut c2s, mut s2c) = (BytesMut::new(), BytesMut::new());
    let (mut c_in, mut s_in) = (BytesMut::new(), BytesMut::new());
    let concurrency = rng.range(1, 64) as usize;

    let mut next = 0usize;
    let mut in_flight: HashMap<StreamId, ClientExchange> = HashMap::new();
    // request bodies waiting for send capacity: stream → remaining
    let mut c_pending: HashMap<StreamId, Bytes> = HashMap::new();
    // requests fully received, to answer
    let mut s_complete: Vec<StreamId> = Vec::new();
    // response bodies being sent: stream → (rest, id for trailers)
    let mut s_pending: HashMap<StreamId, (Bytes, Option<u64>)> = HashMap::new();
    let mut server_reqs: HashMap<StreamId, (u64, usize, usize, Vec<u8>)> = HashMap::new();
    let mut completed = 0usize;
    let mut idle_rounds = 0;

    while completed < exchanges {
        // client issues requests
        while client.is_ready() && next < exchanges && in_flight.len() < concurrency {
            let id = base_id + next as u64;
            next += 1;
            let req_len = body_len(rng);
            let resp_len = body_len(rng);
            let mut head =
                RequestHead::new(Method::POST, "https://example.com/echo".parse().unwrap());
            head.headers.insert("x-id", HeaderValue::from(id));
            head.headers.insert("x-req-len", HeaderValue::from(req_len));
            head.headers
                .insert("x-resp-len", HeaderValue::from(resp_len));
            if rng.below(3) == 0 {
                head.headers
                    .insert("priority", HeaderValue::from_static("u=1, i"));
            }
            let end = req_len == 0;
            let sid = client.send_request(head, end).expect("send_request");
            if !end {
                c_pending.insert(sid, body(id, 0x5a, req_len));
            }
            in_flight.insert(
                sid,
                ClientExchange {
                    id,
                    resp_len,
                    ..Default::default()
                },
            );
        }
        // client pushes request body pieces
        let ids: Vec<StreamId> = c_pending.keys().copied().collect();
        for sid in ids {
            let Some(rest) = c_pending.get_mut(&sid) else {
                continue;
            };
            let n = (rng.range(1, 50_000) as usize).min(rest.len());
            let piece = rest.split_to(n);
            let end = rest.is_empty();
            match client.send_data(sid, piece.clone(), end) {
                Ok(()) => {
                    if end {
                        c_pending.remove(&sid);
                    }
                }
                Err(ropewalk_proto::conn::UserError::SendBufferFull) => {
                    // put it back
                    let mut b = BytesMut::from(&piece[..]);
                    b.extend_from_slice(rest);
                    *rest = b.freeze();
                }
                Err(e) => panic!("client send_data: {e}"),
            }
        }
        transmit(rng, &mut client, &mut c2s, now);
        shuttle(rng, &mut c2s, &mut server, &mut s_in, now);

        while let Some(ev) = server.poll_event() {
            match ev {
                Event::Request {
                    stream,
                    head,
                    end_stream,
                } => {
                    let get =
                        |n: &str| -> u64 { head.headers[n].to_str().unwrap().parse().unwrap() };
                    server_reqs.insert(
                        stream,
                        (
                            get("x-id"),
                            get("x-req-len") as usize,
                            get("x-resp-len") as usize,
                            Vec::new(),
                        ),
                    );
                    if end_stream {
                        s_complete.push(stream);
                    }
                }
                Event::Data {
                    stream,
                    data,
                    end_stream,
                } => {
                    server.release_capacity(stream, data.len());
                    let r = server_reqs.get_mut(&stream).expect("known stream");
                    r.3.extend_from_slice(&data);
                    if end_stream {
                        s_complete.push(stream);
                    }
                }
                Event::Reset { error } => {
                    panic!("server reset: {error}; conn: {:?}", server.close_reason())
                }
                Event::Closed { error } => panic!("server closed: {error}"),
                _ => {}
            }
        }
        // server responds to complete requests
        let ready = std::mem::take(&mut s_complete);
        for stream in ready {
            let (id, req_len, resp_len, got) = server_reqs.remove(&stream).expect("request");
            assert_eq!(got.len(), req_len, "request body length of {id}");
            assert!(
                got[..] == body(id, 0x5a, req_len)[..],
                "request body bytes of {id}"
            );
            let mut head = ResponseHead::new(StatusCode::OK);
            head.headers.insert("x-id", HeaderValue::from(id));
            let trailers = id % 7 == 0;
            let end = resp_len == 0 && !trailers;
            server.send_response(stream, head, end).unwrap();
            if trailers && resp_len == 0 {
                let mut t = HeaderMap::new();
                t.insert("x-trailer", HeaderValue::from(id));
                server.send_trailers(stream, t).unwrap();
            }
            if resp_len > 0 {
                s_pending.insert(stream, (body(id, 0xa5, resp_len), trailers.then_some(id)));
            }
        }
        let ids: Vec<StreamId> = s_pending.keys().copied().collect();
        for stream in ids {
            let Some((rest, trailer_id)) = s_pending.get_mut(&stream) else {
                continue;
            };
            let n = (rng.range(1, 50_000) as usize).min(rest.len());
            let piece = rest.split_to(n);
            let end = rest.is_empty();
            match server.send_data(stream, piece.clone(), end && trailer_id.is_none()) {
                Ok(()) => {
                    if end {
                        if let Some(id) = *trailer_id {
                            let mut t = HeaderMap::new();
                            t.insert("x-trailer", HeaderValue::from(id));
                            server.send_trailers(stream, t).unwrap();
                        }
                        s_pending.remove(&stream);
                    }
                }
                Err(ropewalk_proto::conn::UserError::SendBufferFull) => {
                    let mut b = BytesMut::from(&piece[..]);
                    b.extend_from_slice(rest);
                    *rest = b.freeze();
                }
                Err(e) => panic!("server send_data: {e}"),
            }
        }
        transmit(rng, &mut server, &mut s2c, now);
        shuttle(rng, &mut s2c, &mut client, &mut c_in, now);

        let mut progressed = false;
        while let Some(ev) = client.poll_event() {
            progressed = true;
            match ev {
                Event::Response {
                    stream,
                    head,
                    end_stream,
                    ..
                } => {
                    let x = in_flight.get_mut(&stream).expect("response for a request");
                    assert_eq!(head.headers["x-id"].to_str().unwrap(), x.id.to_string());
                    x.status = Some(head.status);
                    if end_stream {
                        x.done = true;
                    }
                }
                Event::Data {
                    stream,
                    data,
                    end_stream,
                } => {
                    client.release_capacity(stream, data.len());
                    let x = in_flight.get_mut(&stream).expect("data for a request");
                    x.got.extend_from_slice(&data);
                    if end_stream {
                        x.done = true;
                    }
                }
                Event::Trailers { stream, trailers } => {
                    let x = in_flight.get_mut(&stream).expect("trailers for a request");
                    assert_eq!(trailers["x-trailer"].to_str().unwrap(), x.id.to_string());
                    x.trailers = true;
                    x.done = true;
                }
                Event::Reset { error } => {
                    panic!("client reset: {error}; conn: {:?}", client.close_reason())
                }
                Event::Closed { error } => panic!("client closed: {error}"),
                _ => {}
            }
        }
        let done: Vec<StreamId> = in_flight
            .iter()
            .filter(|(_, x)| x.done)
            .map(|(s, _)| *s)
            .collect();
        for s in done {
            let x = in_flight.remove(&s).unwrap();
            assert_eq!(x.status, Some(StatusCode::OK));
            assert_eq!(x.got.len(), x.resp_len, "response length of {}", x.id);
            assert!(
                x.got[..] == body(x.id, 0xa5, x.resp_len)[..],
                "response bytes of {}",
                x.id
            );
            assert_eq!(x.trailers, x.id % 7 == 0, "trailers of {}", x.id);
            completed += 1;
        }
        if progressed || !c2s.is_empty() || !s2c.is_empty() {
            idle_rounds = 0;
        } else {
            idle_rounds += 1;
            assert!(
                idle_rounds < 1_000,
                "stuck: {completed}/{exchanges} done, {} in flight",
                in_flight.len()
            );
        }
    }
    assert_eq!(client.stream_count(), 0);
    completed
}

#[test]
fn many_multiplexed_exchanges() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut done = 0;
    let mut base = 0u64;
    while done < EXCHANGES {
        let n = (rng.range(1, 400) as usize).min(EXCHANGES - done);
        done += run_connection(&mut rng, n, base);
        base += n as u64;
    }
    assert_eq!(done, EXCHANGES);
}
