//! The exposition primitives every block of families writes with: a [`Family`] (what
//! `# HELP`/`# TYPE` say), a [`Writer`] that appends series lines to a reused buffer and hands
//! it on in chunks, and the cached [`LinePrefix`] of group-partition lines.

use super::{Format, CHUNK};
use crate::snapshot::{ClusterSnapshot, GroupSnapshot};

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Gauge,
    Info,
    /// `name` ends in `_total`, which OpenMetrics' `# TYPE` line leaves out.
    Counter,
}

/// A metric family: what `# HELP`/`# TYPE` say. `name` is the sample name.
pub(super) struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub unit: Option<&'static str>,
}

pub(super) const fn gauge(name: &'static str, help: &'static str) -> Family {
    Family {
        name,
        help,
        kind: Kind::Gauge,
        unit: None,
    }
}

/// An info series (`name` ends in `_info`; the value is always 1).
pub(super) const fn info(name: &'static str, help: &'static str) -> Family {
    Family {
        name,
        help,
        kind: Kind::Info,
        unit: None,
    }
}

/// A counter (`name` ends in `_total`).
pub(super) const fn counter(name: &'static str, help: &'static str) -> Family {
    Family {
        name,
        help,
        kind: Kind::Counter,
        unit: None,
    }
}

/// A gauge in seconds (OpenMetrics gets a `# UNIT` line).
pub(super) const fn seconds(name: &'static str, help: &'static str) -> Family {
    Family {
        name,
        help,
        kind: Kind::Gauge,
        unit: Some("seconds"),
    }
}

/// Writes series into a buffer and hands it to `sink` whenever it holds [`CHUNK`] bytes.
pub(super) struct Writer<'s> {
    pub out: Vec<u8>,
    pub format: Format,
    pub sink: &'s mut dyn FnMut(&mut Vec<u8>),
}

impl<'s> Writer<'s> {
    pub fn new(format: Format, sink: &'s mut dyn FnMut(&mut Vec<u8>)) -> Writer<'s> {
        Writer {
            out: Vec::with_capacity(super::CHUNK + 4096),
            format,
            sink,
        }
    }

    pub fn header(&mut self, f: &Family) {
        let base = match (self.format, f.kind) {
            (Format::OpenMetrics, Kind::Info) => f.name.trim_end_matches("_info"),
            (Format::OpenMetrics, Kind::Counter) => f.name.trim_end_matches("_total"),
            _ => f.name,
        };
        let kind = match (self.format, f.kind) {
            (Format::OpenMetrics, Kind::Info) => "info",
            (_, Kind::Counter) => "counter",
            _ => "gauge",
        };
        let o = &mut self.out;
        for part in [
            "# HELP ",
            base,
            " ",
            f.help,
            "\n# TYPE ",
            base,
            " ",
            kind,
            "\n",
        ] {
            o.extend_from_slice(part.as_bytes());
        }
        if let (Format::OpenMetrics, Some(unit)) = (self.format, f.unit) {
            for part in ["# UNIT ", base, " ", unit, "\n"] {
                o.extend_from_slice(part.as_bytes());
            }
        }
    }

    /// Ends a series line with its integer value, flushing a full chunk.
    #[inline]
    pub fn int(&mut self, v: i64) {
        self.out.extend_from_slice(b"} ");
        self.int_value(v);
    }

    /// Ends a series line with an unsigned value (lags and their sums).
    #[inline]
    pub fn uint(&mut self, v: u64) {
        self.out.extend_from_slice(b"} ");
        self.uint_value(v);
    }

    /// Writes an unsigned value and ends the line (after `"} ` is written).
    #[inline]
    pub fn uint_value(&mut self, v: u64) {
        push_decimal(&mut self.out, v);
        self.end_line();
    }

    /// Starts `name{cluster…,group="G"` (the caller may add labels, then a value).
    #[inline]
    pub fn group(&mut self, f: &Family, c: &ClusterSnapshot, g: &GroupSnapshot) {
        self.start(f, c);
        self.label(b",group=\"", &g.name.escaped);
    }

    /// Writes an integer value and ends the line (after `"} ` is written).
    #[inline]
    pub fn int_value(&mut self, v: i64) {
        if v < 0 {
            self.out.push(b'-');
        }
        push_decimal(&mut self.out, v.unsigned_abs());
        self.end_line();
    }

    /// Ends a series line with a value kept in tenths (see [`Writer::tenths_value`]).
    #[inline]
    pub fn tenths(&mut self, tenths: u32) {
        self.out.extend_from_slice(b"} ");
        self.tenths_value(tenths);
    }

    /// Ends a series line with a ratio kept in ten-thousandths (see
    /// [`Writer::ten_thousandths_value`]).
    #[inline]
    pub fn ten_thousandths(&mut self, v: u64) {
        self.out.extend_from_slice(b"} ");
        self.ten_thousandths_value(v);
    }

    /// Ends a series line with a float value (finite by construction).
    pub fn float(&mut self, v: f64) {
        self.out.extend_from_slice(b"} ");
        self.float_value(v);
    }

    /// Writes a float value and ends the line (after `"} ` is written); finite by
    /// construction, 0 otherwise.
    #[inline]
    pub fn float_value(&mut self, v: f64) {
        if v.is_finite() {
            self.out
                .extend_from_slice(ryu::Buffer::new().format_finite(v).as_bytes());
        } else {
            self.out.extend_from_slice(b"0");
        }
        self.end_line();
    }

    /// Writes a value kept in tenths (lag seconds, as a `Verdict` stores it) and ends the
    /// line (after `"} ` is written): integer formatting only, and the value is exact.
    #[inline]
    pub fn tenths_value(&mut self, tenths: u32) {
        push_decimal(&mut self.out, u64::from(tenths / 10));
        self.out.push(b'.');
        self.out.push(b'0' + (tenths % 10) as u8);
        self.end_line();
    }

    /// Writes a non-negative ratio kept in ten-thousandths (`6111` → `0.6111`) and ends the
    /// line (after `"} ` is written): integer formatting only, and short.
    #[inline]
    fn ten_thousandths_value(&mut self, v: u64) {
        push_decimal(&mut self.out, v / 10_000);
        let frac = v % 10_000;
        if frac != 0 {
            let digits = [
                b'.',
                b'0' + (frac / 1000) as u8,
                b'0' + (frac / 100 % 10) as u8,
                b'0' + (frac / 10 % 10) as u8,
                b'0' + (frac % 10) as u8,
            ];
            let keep = 5 - digits[1..].iter().rev().take_while(|&&d| d == b'0').count();
            self.out.extend_from_slice(&digits[..keep]);
        }
        self.end_line();
    }

    #[inline]
    pub fn end_line(&mut self) {
        self.out.push(b'\n');
        if self.out.len() >= CHUNK {
            (self.sink)(&mut self.out);
        }
    }

    /// Starts `name{prefix` (the caller adds further labels, then a value).
    #[inline]
    pub fn start(&mut self, f: &Family, c: &ClusterSnapshot) {
        self.out.extend_from_slice(f.name.as_bytes());
        self.out.push(b'{');
        self.out.extend_from_slice(c.label_prefix.as_bytes());
    }

    #[inline]
    pub fn label(&mut self, name: &[u8], escaped: &str) {
        self.out.extend_from_slice(name);
        self.out.extend_from_slice(escaped.as_bytes());
        self.out.push(b'"');
    }

    /// Writes `prefix`, the partition number and `"} `: the caller ends the line with
    /// [`Writer::int_value`] or [`Writer::tenths_value`].
    #[inline]
    pub fn prefixed(&mut self, prefix: &[u8], p: i32) {
        self.out.extend_from_slice(prefix);
        push_partition(&mut self.out, p);
        self.out.extend_from_slice(b"\"} ");
    }

    #[inline]
    pub fn partition(&mut self, p: i32) {
        self.out.extend_from_slice(b",partition=\"");
        push_partition(&mut self.out, p);
        self.out.push(b'"');
    }
}

/// Appends a partition number (never negative in Kafka; a negative one is written as such).
#[inline]
pub(super) fn push_partition(out: &mut Vec<u8>, p: i32) {
    if p < 0 {
        out.push(b'-');
    }
    push_decimal(out, u64::from(p.unsigned_abs()));
}

/// Appends the decimal digits of `v`. Most numbers of an exposition are partition numbers,
/// statuses and small lags: one or two digits are stored directly, which spares them the call
/// to `memmove` that copying `itoa`'s slice of varying length costs (a few percent of a
/// render, measured in benches/render.rs).
#[inline]
pub(super) fn push_decimal(out: &mut Vec<u8>, v: u64) {
    if v < 10 {
        out.push(b'0' + v as u8);
    } else if v < 100 {
        out.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8]);
    } else {
        out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
}

/// The start of a group-partition series line, `name{cluster…,group="G",topic="T",partition="`,
/// built once per group and topic: most lines of an exposition are group-partitions, and one
/// copy of a cached prefix is much cheaper than assembling five pieces per line.
pub(super) struct LinePrefix {
    bytes: Vec<u8>,
    /// The topic id the bytes were built for, within the current group.
    topic: Option<u32>,
}

impl LinePrefix {
    pub fn new() -> LinePrefix {
        LinePrefix {
            bytes: Vec::with_capacity(256),
            topic: None,
        }
    }

    /// Starts a new group: the next [`LinePrefix::get`] rebuilds.
    pub fn reset(&mut self) {
        self.topic = None;
    }

    /// The prefix for topic `t` of `g`, or `None` when the snapshot does not know the topic.
    pub fn get(
        &mut self,
        f: &Family,
        c: &ClusterSnapshot,
        g: &GroupSnapshot,
        t: u32,
    ) -> Option<&[u8]> {
        if self.topic != Some(t) {
            let topic = c.topic(t)?;
            let b = &mut self.bytes;
            b.clear();
            for part in [
                f.name,
                "{",
                &c.label_prefix,
                ",group=\"",
                &g.name.escaped,
                "\",topic=\"",
                &topic.name.escaped,
                "\",partition=\"",
            ] {
                b.extend_from_slice(part.as_bytes());
            }
            self.topic = Some(t);
        }
        Some(&self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_as_std_formats_them() {
        let mut values: Vec<u64> = vec![0, 9, 10, 99, 100, 101, 999, 1000, u64::MAX, u64::MAX - 1];
        values.extend((0..20).flat_map(|k| {
            let p = 10u64.pow(k);
            [p - 1, p, p + 1, p.saturating_mul(3).saturating_add(7)]
        }));
        // And numbers of every length with every digit in every place.
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        values.extend((0..100_000u32).map(|k| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            x >> (k % 64)
        }));
        for v in values {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, v);
            assert_eq!(out, format!("x{v}").into_bytes(), "{v}");
        }
        for p in [0, 7, 42, 999, i32::MAX, -1, i32::MIN] {
            let mut out = Vec::new();
            push_partition(&mut out, p);
            assert_eq!(out, p.to_string().into_bytes());
        }
    }
}
