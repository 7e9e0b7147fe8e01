//! Writing the page's HTML: the one escaper every name from Kafka goes through (for text and
//! attribute values alike), the one encoder for names in URLs, and the small formats the page
//! shares (numbers, durations, statuses).
//!
//! Group and topic names are attacker-controlled (any client can commit under any group id), so
//! nothing from a snapshot is written raw: text and attributes get [`text`], paths and queries
//! get [`url_component`] (whose output is then plain ASCII that needs no further escaping).

use std::fmt::Write as _;

use crate::evaluate::{Status, Trend};

/// Writes `s` escaped for HTML text and for a quoted attribute value (`&`, `<`, `>`, `"`, `'`).
/// NUL and the other C0 controls but tab and newline, which HTML does not allow, become U+FFFD.
pub fn text(out: &mut String, s: &str) {
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        let replacement = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            b'\t' | b'\n' => continue,
            0..=0x1f | 0x7f => "\u{fffd}",
            _ => continue,
        };
        out.push_str(&s[start..i]);
        out.push_str(replacement);
        start = i + 1;
    }
    out.push_str(&s[start..]);
}

/// Writes `s` percent-encoded for a URL path segment or query value: every byte but the
/// unreserved ones (`A-Z a-z 0-9 - . _ ~`) as `%XX`.
pub fn url_component(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// Writes the page of group `group` of cluster `cluster`: `/clusters/C/groups/G`, or, for the
/// names a browser would resolve as a path step or not route at all (``, `.`, `..`),
/// `/clusters/C/groups?name=G`.
pub fn group_href(out: &mut String, cluster: &str, group: &str) {
    out.push_str("/clusters/");
    url_component(out, cluster);
    if matches!(group, "" | "." | "..") {
        out.push_str("/groups?name=");
    } else {
        out.push_str("/groups/");
    }
    url_component(out, group);
}

pub fn uint(out: &mut String, v: u64) {
    out.push_str(itoa::Buffer::new().format(v));
}

pub fn int(out: &mut String, v: i64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// A rate or a number of seconds with at most one decimal.
pub fn decimal(out: &mut String, v: f64) {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        let _ = write!(out, "{v:.0}");
    } else {
        let _ = write!(out, "{v:.1}");
    }
}

/// A duration in its two largest units (`2d 3h`, `4h 12m`, `5m 3s`, `42s`, `4.5s` below 10 s).
pub fn duration(out: &mut String, seconds: f64) {
    let seconds = if seconds.is_finite() {
        seconds.max(0.0)
    } else {
        0.0
    };
    if seconds < 10.0 {
        decimal(out, (seconds * 10.0).round() / 10.0);
        out.push('s');
        return;
    }
    let s = seconds.round() as u64;
    let units = [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')];
    let Some(first) = units.iter().position(|&(n, _)| s >= n) else {
        return;
    };
    let (n, unit) = units[first];
    uint(out, s / n);
    out.push(unit);
    if let Some(&(m, next)) = units.get(first + 1) {
        let rest = (s % n) / m;
        if rest > 0 {
            out.push(' ');
            uint(out, rest);
            out.push(next);
        }
    }
}

/// A status as text with its colour class (never colour alone).
pub fn status(out: &mut String, status: Status) {
    let class = match status.for_group() {
        Status::Ok => "ok",
        Status::Warn => "warn",
        Status::Err => "err",
        _ => "none",
    };
    out.push_str("<span class=\"st st-");
    out.push_str(class);
    out.push_str("\">");
    out.push_str(status.as_str());
    out.push_str("</span>");
}

/// Where a lag is heading: the time to catch up, "falling behind", "steady", or "–" when no
/// movement is known.
pub fn trend(out: &mut String, trend: Option<Trend>) {
    match trend {
        Some(Trend::CatchingUp(0.0)) => out.push_str("caught up"),
        Some(Trend::CatchingUp(s)) => {
            out.push_str("catches up in ");
            duration(out, s);
        }
        Some(Trend::FallingBehind) => out.push_str("<span class=\"behind\">falling behind</span>"),
        Some(Trend::Steady) => out.push_str("steady"),
        None => out.push_str(DASH),
    }
}

/// What an unknown value shows.
pub const DASH: &str = "–";
