//! Requests per second through the connection core alone: a client and a
//! server `Connection` wired back to back in memory, 13-byte request and
//! response bodies, with 1 and with 100 concurrent streams.
//!
//! ```text
//! cargo bench -p ropewalk-proto --bench conn_pair
//! ```
//!
//! One iteration is one batch of `concurrency` exchanges (request HEADERS +
//! DATA, response HEADERS + DATA) on a connection that lives across
//! iterations, so the HPACK tables are warm as they would be in a real
//! connection. Throughput is reported in exchanges (elements) per second.

use std::hint::black_box;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::{HeaderValue, Method, StatusCode};
use ropewalk_proto::conn::{Config, Connection, Event};
use ropewalk_proto::headers::{RequestHead, ResponseHead};

const BODY: &[u8; 13] = b"Hello, world!";

struct Pair {
    now: Instant,
    client: Connection,
    server: Connection,
    wire: BytesMut,
}

impl Pair {
    fn new() -> Pair {
        let now = Instant::now();
        let config = Config::default().with_max_concurrent_streams(1000);
        let mut p = Pair {
            now,
            client: Connection::client(config.clone(), now),
            server: Connection::server(config, now),
            wire: BytesMut::with_capacity(1 << 16),
        };
        for _ in 0..3 {
            p.pump();
        }
        p
    }

    fn pump(&mut self) {
        self.client.poll_transmit_all(self.now, &mut self.wire);
        self.server.recv(&mut self.wire, self.now);
        self.server.poll_transmit_all(self.now, &mut self.wire);
        self.client.recv(&mut self.wire, self.now);
    }

    fn batch(&mut self, concurrency: usize) {
        let req = {
            let mut r = RequestHead::new(Method::POST, "https://example.com/echo".parse().unwrap());
            r.headers
                .insert("user-agent", HeaderValue::from_static("ropewalk-bench"));
            r
        };
        for _ in 0..concurrency {
            let id = self.client.send_request(req.clone(), false).unwrap();
            self.client
                .send_data(id, Bytes::from_static(BODY), true)
                .unwrap();
        }
        let mut done = 0;
        while done < concurrency {
            self.client.poll_transmit_all(self.now, &mut self.wire);
            self.server.recv(&mut self.wire, self.now);
            while let Some(ev) = self.server.poll_event() {
                if let Event::Data {
                    stream,
                    data,
                    end_stream,
                } = ev
                {
                    self.server.release_capacity(stream, data.len());
                    if end_stream {
                        self.server
                            .send_response(stream, ResponseHead::new(StatusCode::OK), false)
                            .unwrap();
                        self.server
                            .send_data(stream, Bytes::from_static(BODY), true)
                            .unwrap();
                    }
                }
            }
            self.server.poll_transmit_all(self.now, &mut self.wire);
            self.client.recv(&mut self.wire, self.now);
            while let Some(ev) = self.client.poll_event() {
                if let Event::Data {
                    stream,
                    data,
                    end_stream,
                } = ev
                {
                    self.client.release_capacity(stream, data.len());
                    black_box(&data);
                    if end_stream {
                        done += 1;
                    }
                }
            }
        }
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("exchanges");
    for concurrency in [1usize, 100] {
        group.throughput(Throughput::Elements(concurrency as u64));
        group.bench_function(format!("{concurrency}_streams"), |b| {
            let mut pair = Pair::new();
            b.iter(|| pair.batch(concurrency));
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
