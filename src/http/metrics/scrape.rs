//! Serving `/metrics` with bounded memory: at most `http.max_concurrent_scrapes` replies in
//! flight (503 with `Retry-After` beyond), and one rendered body per snapshot generation,
//! exposition format and encoding, shared by every scrape of it. Only warren's own telemetry,
//! which moves with every request, is rendered per scrape and sent after the shared part.
//!
//! A slow reader therefore holds a reference to the shared body, not a copy, and no thread:
//! rendering runs once on a blocking thread and never waits for a client.
//!
//! Large expositions are not held whole: once a shared part comes out larger than
//! [`SHARE_UP_TO`], it is dropped as soon as the scrapes sending it finish, and later scrapes
//! of that format and encoding are rendered for each scrape as its client reads (a few chunks
//! in memory, one blocking thread, both bounded by the scrape cap), until a render is small
//! again.
//!
//! gzip: the shared part is a gzip header and raw deflate blocks ending in a sync flush (byte
//! aligned, not final); each scrape appends the telemetry as a final deflate block of its own
//! and the trailer (CRC-32 continued from the shared part's, total length). The result is one
//! ordinary gzip member, which every decoder reads.

use std::io::Write;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::Compression;
use tokio::sync::{mpsc, OnceCell, OwnedSemaphorePermit, Semaphore};

use super::{render_snapshots, render_telemetry, BuildInfo, Format, CHUNK};
use crate::snapshot::ClusterSnapshot;
use crate::telemetry::Telemetry;

/// Shared parts up to this size are kept for their generation; larger expositions are rendered
/// per scrape as the client reads (see the module comment).
pub const SHARE_UP_TO: usize = 32 << 20;

/// gzip member header: deflate, no flags, no time, no extra flags, unknown OS.
const GZIP_HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];

/// How a body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
}

impl Encoding {
    /// gzip when `Accept-Encoding` lists `gzip`, `x-gzip` or `*` with a non-zero q.
    pub fn negotiate(accept_encoding: Option<&str>) -> Encoding {
        if super::accepts(accept_encoding, &["gzip", "x-gzip", "*"]) {
            Encoding::Gzip
        } else {
            Encoding::Identity
        }
    }
}

/// The snapshots' part of an exposition, as sent.
#[derive(Debug)]
pub struct SharedPart {
    /// Identity: the text. gzip: header and sync-flushed deflate blocks.
    bytes: Bytes,
    /// CRC-32 and length of the text (gzip only).
    crc: u32,
    len: u64,
}

/// The shared part of one (format, encoding), for one snapshot generation.
#[derive(Debug)]
struct Slot {
    generation: u64,
    part: Arc<OnceCell<Arc<SharedPart>>>,
}

/// The scrape cap and the shared bodies.
#[derive(Debug)]
pub struct Scrapes {
    permits: Arc<Semaphore>,
    /// Indexed by [`slot_index`].
    slots: Mutex<[Option<Slot>; 4]>,
    /// Per slot: [`UNKNOWN`] until a render's size is known, then whether scrapes share one
    /// body ([`SHARE`]) or stream ([`STREAM`]: the last render was larger than `share_up_to`).
    streaming: [AtomicU8; 4],
    share_up_to: usize,
}

const UNKNOWN: u8 = 0;
const SHARE: u8 = 1;
const STREAM: u8 = 2;

fn slot_index(format: Format, encoding: Encoding) -> usize {
    usize::from(format == Format::OpenMetrics) * 2 + usize::from(encoding == Encoding::Gzip)
}

/// A scrape in flight: holds its place under the cap until every clone is dropped. The reply
/// body holds one and the render another, so a client that leaves early does not free the
/// place while its render still runs.
#[derive(Debug, Clone)]
pub struct ScrapePermit {
    _place: Arc<OwnedSemaphorePermit>,
}

impl Scrapes {
    pub fn new(max_concurrent: usize) -> Scrapes {
        Scrapes::sharing_up_to(max_concurrent, SHARE_UP_TO)
    }

    /// With another size limit for shared parts (tests).
    pub fn sharing_up_to(max_concurrent: usize, share_up_to: usize) -> Scrapes {
        Scrapes {
            permits: Arc::new(Semaphore::new(max_concurrent)),
            slots: Mutex::new(Default::default()),
            streaming: Default::default(),
            share_up_to,
        }
    }

    /// Whether scrapes in `format` and `encoding` are rendered for each scrape as it reads,
    /// the exposition being too large to hold whole. Before any render of the slot, an
    /// uncompressed exposition whose `estimate` (see [`super::estimated_size`]) is over the
    /// limit streams too, so that not even the first scrape holds a large body whole.
    pub fn streams(
        &self,
        format: Format,
        encoding: Encoding,
        estimate: impl FnOnce() -> usize,
    ) -> bool {
        let state = &self.streaming[slot_index(format, encoding)];
        match state.load(Ordering::Relaxed) {
            STREAM => true,
            SHARE => false,
            _ if encoding == Encoding::Identity && estimate() > self.share_up_to => {
                state.store(STREAM, Ordering::Relaxed);
                true
            }
            _ => false,
        }
    }

    /// Records the size of a streamed exposition: a small one is shared again.
    pub fn streamed(&self, format: Format, encoding: Encoding, sent: usize) {
        if sent <= self.share_up_to / 2 {
            self.streaming[slot_index(format, encoding)].store(SHARE, Ordering::Relaxed);
        }
    }

    /// A place under the cap, or `None` when `http.max_concurrent_scrapes` are in flight.
    pub fn permit(&self) -> Option<ScrapePermit> {
        let place = self.permits.clone().try_acquire_owned().ok()?;
        Some(ScrapePermit {
            _place: Arc::new(place),
        })
    }

    /// The shared part for snapshot `generation`, rendered by `render` on a blocking thread by
    /// the first scrape that asks for it (the others wait for that one). `generation` must be
    /// read before the snapshots `render` loads, so the body is never older than its key. The
    /// render holds `permit` until it ends, even when the scrape that started it is gone.
    pub async fn shared_part(
        &self,
        format: Format,
        encoding: Encoding,
        generation: u64,
        permit: ScrapePermit,
        clusters: impl FnOnce() -> (Vec<Arc<ClusterSnapshot>>, BuildInfo) + Send + 'static,
    ) -> Result<Arc<SharedPart>, String> {
        let cell = {
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            let slot = &mut slots[slot_index(format, encoding)];
            match slot {
                // A slot of a newer generation serves an older request too: its body is never
                // older than its key.
                Some(s) if s.generation >= generation => s.part.clone(),
                // A newer generation replaces the old body (scrapes still sending it keep it).
                _ => {
                    let part = Arc::new(OnceCell::new());
                    *slot = Some(Slot {
                        generation,
                        part: part.clone(),
                    });
                    part
                }
            }
        };
        let part = cell
            .get_or_try_init(|| async move {
                tokio::task::spawn_blocking(move || {
                    let _place = permit;
                    let (clusters, build) = clusters();
                    Arc::new(render_shared(&clusters, &build, format, encoding))
                })
                .await
                .map_err(|e| format!("rendering /metrics failed: {e}"))
            })
            .await
            .cloned()?;
        let state = &self.streaming[slot_index(format, encoding)];
        if part.bytes.len() <= self.share_up_to {
            // Only a first render's size is news; a streaming slot was set by a larger one.
            let _ = state.compare_exchange(UNKNOWN, SHARE, Ordering::Relaxed, Ordering::Relaxed);
        } else {
            // Too large to keep: let it go with the scrapes sending it, and stream from now on.
            state.store(STREAM, Ordering::Relaxed);
            let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
            let slot = &mut slots[slot_index(format, encoding)];
            if slot.as_ref().is_some_and(|s| s.generation == generation) {
                *slot = None;
            }
        }
        Ok(part)
    }
}

/// Renders the snapshots' part in `format` and `encoding`.
pub fn render_shared(
    clusters: &[Arc<ClusterSnapshot>],
    build: &BuildInfo,
    format: Format,
    encoding: Encoding,
) -> SharedPart {
    match encoding {
        Encoding::Identity => {
            let mut all = Vec::new();
            render_snapshots(clusters, build, format, &mut |c| all.append(c));
            SharedPart {
                len: all.len() as u64,
                bytes: Bytes::from(all),
                crc: 0,
            }
        }
        Encoding::Gzip => {
            let mut deflate = DeflateEncoder::new(GZIP_HEADER.to_vec(), Compression::fast());
            let mut crc = crc32fast::Hasher::new();
            let mut len = 0u64;
            render_snapshots(clusters, build, format, &mut |chunk| {
                crc.update(chunk);
                len += chunk.len() as u64;
                // Writing into a Vec cannot fail.
                let _ = deflate.write_all(chunk);
                chunk.clear();
            });
            // A sync flush ends the blocks on a byte boundary without a final block, so the
            // telemetry's blocks can follow.
            let _ = deflate.flush();
            let bytes = std::mem::take(deflate.get_mut());
            SharedPart {
                bytes: Bytes::from(bytes),
                crc: crc.finalize(),
                len,
            }
        }
    }
}

/// Renders a whole reply (snapshots, then telemetry) into `tx` as the receiver takes it: the
/// rendering thread waits while the channel is full. Returns the exposition's size before
/// compression. Stops sending (and finishes cheaply) once the client is gone.
pub fn render_streamed(
    clusters: &[Arc<ClusterSnapshot>],
    build: &BuildInfo,
    telemetry: &Telemetry,
    format: Format,
    encoding: Encoding,
    tx: &mpsc::Sender<Bytes>,
) -> usize {
    let mut open = true;
    let mut size = 0;
    let mut gzip =
        (encoding == Encoding::Gzip).then(|| GzEncoder::new(Vec::new(), Compression::fast()));
    let mut send = |bytes: Vec<u8>| {
        if open && !bytes.is_empty() {
            open = tx.blocking_send(Bytes::from(bytes)).is_ok();
        }
    };
    let mut sink = |chunk: &mut Vec<u8>| {
        size += chunk.len();
        match &mut gzip {
            Some(gz) => {
                // Writing into a Vec cannot fail.
                let _ = gz.write_all(chunk);
                chunk.clear();
                send(std::mem::take(gz.get_mut()));
            }
            None => send(std::mem::replace(chunk, Vec::with_capacity(CHUNK + 4096))),
        }
    };
    render_snapshots(clusters, build, format, &mut sink);
    sink(&mut render_telemetry(telemetry, format));
    if let Some(gz) = gzip {
        send(gz.finish().unwrap_or_default());
    }
    size
}

/// The parts of one `/metrics` reply: the shared part, then this scrape's telemetry (and, with
/// gzip, the trailer).
pub fn reply_parts(
    shared: &SharedPart,
    telemetry: &Telemetry,
    format: Format,
    encoding: Encoding,
) -> [Bytes; 2] {
    let tail = render_telemetry(telemetry, format);
    let tail = match encoding {
        Encoding::Identity => tail,
        Encoding::Gzip => {
            let mut deflate = DeflateEncoder::new(Vec::new(), Compression::fast());
            let _ = deflate.write_all(&tail);
            let mut out = deflate.finish().unwrap_or_default();
            let mut crc = crc32fast::Hasher::new_with_initial_len(shared.crc, shared.len);
            crc.update(&tail);
            out.extend_from_slice(&crc.finalize().to_le_bytes());
            // ISIZE is the length modulo 2^32.
            let total = shared.len.wrapping_add(tail.len() as u64) as u32;
            out.extend_from_slice(&total.to_le_bytes());
            out
        }
    };
    [shared.bytes.clone(), Bytes::from(tail)]
}

/// A `/metrics` reply body: its parts, its place under the cap, and the scrape's start (the
/// scrape is counted, with its duration, when the body is dropped: sent or abandoned).
pub struct ReplyBody {
    parts: [Option<Bytes>; 2],
    /// Chunks of a streamed reply, after `parts` (which are then empty).
    stream: Option<mpsc::Receiver<Bytes>>,
    _permit: ScrapePermit,
    telemetry: Arc<Telemetry>,
    format: Format,
    started: Instant,
}

/// What a `/metrics` reply sends: the shared part and the telemetry, or the chunks of a
/// render made for this scrape ([`render_streamed`]).
pub enum Content {
    Shared([Bytes; 2]),
    Streamed(mpsc::Receiver<Bytes>),
}

impl ReplyBody {
    pub fn new(
        content: Content,
        permit: ScrapePermit,
        telemetry: Arc<Telemetry>,
        format: Format,
        started: Instant,
    ) -> ReplyBody {
        let (parts, stream) = match content {
            Content::Shared(parts) => (parts.map(Some), None),
            Content::Streamed(chunks) => ([None, None], Some(chunks)),
        };
        ReplyBody {
            parts,
            stream,
            _permit: permit,
            telemetry,
            format,
            started,
        }
    }

    fn remaining(&self) -> u64 {
        self.parts.iter().flatten().map(|b| b.len() as u64).sum()
    }
}

impl Drop for ReplyBody {
    fn drop(&mut self) {
        self.telemetry
            .scrape(self.format.as_str(), self.started.elapsed());
    }
}

impl http_body::Body for ReplyBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let frame = |b| Ok(http_body::Frame::data(b));
        if let Some(next) = self.parts.iter_mut().find_map(Option::take) {
            return std::task::Poll::Ready(Some(frame(next)));
        }
        match &mut self.stream {
            Some(rx) => rx.poll_recv(cx).map(|c| c.map(frame)),
            None => std::task::Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.stream.is_none() && self.parts.iter().all(Option::is_none)
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self.stream {
            Some(_) => http_body::SizeHint::default(),
            None => http_body::SizeHint::with_exact(self.remaining()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gunzip(parts: &[Bytes]) -> String {
        let all: Vec<u8> = parts.iter().flat_map(|b| b.iter().copied()).collect();
        let mut text = String::new();
        // One member: the single-member decoder reads all of it.
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&all[..]), &mut text)
            .expect("valid gzip");
        text
    }

    #[test]
    fn gzip_reply_is_one_member_with_shared_part_then_telemetry() {
        let telemetry = Telemetry::new(&[]);
        telemetry.http_request("/metrics", 200);
        let build = BuildInfo {
            version: "1.2.3",
            librdkafka: "2.0".into(),
        };
        let clusters = vec![Arc::new(ClusterSnapshot::empty("c", &[]))];
        for format in [Format::Text, Format::OpenMetrics] {
            let shared = render_shared(&clusters, &build, format, Encoding::Gzip);
            let parts = reply_parts(&shared, &telemetry, format, Encoding::Gzip);
            let expected = String::from_utf8(super::super::render_to_vec(
                &clusters, &build, &telemetry, format,
            ))
            .unwrap();
            assert_eq!(gunzip(&parts), expected);
            let plain = render_shared(&clusters, &build, format, Encoding::Identity);
            let parts = reply_parts(&plain, &telemetry, format, Encoding::Identity);
            assert_eq!(String::from_utf8(parts.concat()).unwrap(), expected);
        }
    }

    #[test]
    fn gzip_is_negotiated_from_accept_encoding() {
        for (header, expected) in [
            (None, Encoding::Identity),
            (Some("gzip"), Encoding::Gzip),
            (Some("deflate, GZIP;q=0.5"), Encoding::Gzip),
            (Some("gzip;q=0"), Encoding::Identity),
            (Some("br"), Encoding::Identity),
            (Some("*"), Encoding::Gzip),
        ] {
            assert_eq!(Encoding::negotiate(header), expected, "{header:?}");
        }
    }

    /// A part larger than the sharing limit is not kept: later scrapes stream, with the same
    /// bytes as a shared reply, until an exposition is small again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn large_expositions_are_streamed_not_kept() {
        let build = BuildInfo {
            version: "1",
            librdkafka: "2".into(),
        };
        let telemetry = Telemetry::new(&[]);
        let clusters = vec![Arc::new(ClusterSnapshot::empty("c", &[]))];
        let small = render_shared(&clusters, &build, Format::Text, Encoding::Identity);
        let scrapes = Arc::new(Scrapes::sharing_up_to(2, small.bytes.len() - 1));
        for encoding in [Encoding::Identity, Encoding::Gzip] {
            let (c, b) = (clusters.clone(), build.clone());
            let permit = scrapes.permit().expect("a place");
            let part = scrapes
                .shared_part(Format::Text, encoding, 1, permit, move || (c, b))
                .await
                .unwrap();
            let shared = reply_parts(&part, &telemetry, Format::Text, encoding);
            assert!(
                scrapes.streams(Format::Text, encoding, || 0)
                    == (part.bytes.len() > small.bytes.len() - 1)
            );
            let (tx, mut rx) = mpsc::channel(4);
            let (c, b, t) = (clusters.clone(), build.clone(), Telemetry::new(&[]));
            let sent = tokio::task::spawn_blocking(move || {
                render_streamed(&c, &b, &t, Format::Text, encoding, &tx)
            });
            let mut chunks = Vec::new();
            while let Some(c) = rx.recv().await {
                chunks.push(c);
            }
            let sent = sent.await.unwrap();
            let text = |parts: &[Bytes]| match encoding {
                Encoding::Gzip => gunzip(parts),
                Encoding::Identity => String::from_utf8(parts.concat()).unwrap(),
            };
            assert_eq!(text(&chunks), text(&shared));
            assert_eq!(sent, text(&shared).len());
        }
        assert!(scrapes.streams(Format::Text, Encoding::Identity, || 0));
        // The slot was emptied: nothing of the large part is kept.
        assert!(scrapes.slots.lock().unwrap()[0].is_none());
        scrapes.streamed(Format::Text, Encoding::Identity, 0);
        assert!(!scrapes.streams(Format::Text, Encoding::Identity, || usize::MAX));
    }

    /// Before any render, an uncompressed exposition estimated over the limit streams from the
    /// first scrape; a small estimate, or gzip (whose shared part is small), shares.
    #[test]
    fn a_first_scrape_streams_when_the_estimate_is_over_the_limit() {
        let scrapes = Scrapes::sharing_up_to(2, 1000);
        assert!(!scrapes.streams(Format::Text, Encoding::Identity, || 1000));
        assert!(!scrapes.streams(Format::Text, Encoding::Gzip, || 1001));
        assert!(scrapes.streams(Format::Text, Encoding::Identity, || 1001));
        // Decided: the estimate is not asked again.
        assert!(scrapes.streams(Format::Text, Encoding::Identity, || unreachable!()));
        assert!(!scrapes.streams(Format::OpenMetrics, Encoding::Identity, || 10));
    }

    #[tokio::test]
    async fn one_render_per_generation_and_cap() {
        let scrapes = Scrapes::new(2);
        let renders = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let build = BuildInfo {
            version: "1",
            librdkafka: "2".into(),
        };
        let part = |generation: u64| {
            let renders = renders.clone();
            let build = build.clone();
            let permit = scrapes.permit().expect("a place");
            scrapes.shared_part(
                Format::Text,
                Encoding::Identity,
                generation,
                permit,
                move || {
                    renders.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    (vec![Arc::new(ClusterSnapshot::empty("c", &[]))], build)
                },
            )
        };
        let (a, b) = tokio::join!(part(1), part(1));
        assert!(Arc::ptr_eq(&a.unwrap(), &b.unwrap()));
        let newer = part(2).await.unwrap();
        assert_eq!(renders.load(std::sync::atomic::Ordering::SeqCst), 2);
        // A scrape that read an older generation gets the newer body, no new render.
        let late = part(1).await.unwrap();
        assert!(Arc::ptr_eq(&newer, &late));
        assert_eq!(renders.load(std::sync::atomic::Ordering::SeqCst), 2);

        let first = scrapes.permit().expect("1 of 2");
        let _second = scrapes.permit().expect("2 of 2");
        assert!(scrapes.permit().is_none());
        drop(first);
        assert!(scrapes.permit().is_some());
    }
}
