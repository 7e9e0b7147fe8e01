//! A group-partition's lag over its window as a small inline SVG, drawn on the server from the
//! snapshot: no script, no external image, nothing for the Content-Security-Policy to allow.
//!
//! x is time (so uneven gaps between commits show as such), y is lag from 0 at the bottom to the
//! largest lag of the window at the top. A point whose lag is unknown (no head when it was
//! observed) breaks the line; the newest known point is marked with a dot.

use std::fmt::Write as _;

use super::html::{self, DASH};
use crate::store::Secs;

const WIDTH: f64 = 120.0;
const HEIGHT: f64 = 24.0;
/// Room for the dot's radius on every side.
const PAD: f64 = 2.5;

/// Writes the sparkline of `points` (time, lag; oldest first), or a dash without any known lag.
pub fn write(out: &mut String, points: &[(Secs, Option<u64>)]) {
    let known = || points.iter().filter_map(|&(t, l)| Some((t, l?)));
    let Some((first_time, first_lag)) = known().next() else {
        out.push_str(DASH);
        return;
    };
    let (last_time, last_lag) = known().next_back().unwrap_or((first_time, first_lag));
    let max = known().map(|(_, l)| l).max().unwrap_or(0);
    let start = points.first().map_or(first_time, |p| p.0);
    let span = points.last().map_or(0, |p| p.0).saturating_sub(start);
    let x = |t: Secs| {
        if span == 0 {
            WIDTH / 2.0
        } else {
            PAD + f64::from(t.saturating_sub(start)) / f64::from(span) * (WIDTH - 2.0 * PAD)
        }
    };
    let y = |l: u64| {
        let share = if max == 0 { 0.0 } else { l as f64 / max as f64 };
        HEIGHT - PAD - share * (HEIGHT - 2.0 * PAD)
    };
    let _ = write!(
        out,
        "<svg class=\"spark\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"lag "
    );
    html::uint(out, first_lag);
    out.push_str(" to ");
    html::uint(out, last_lag);
    out.push_str(" over ");
    html::duration(out, f64::from(last_time.saturating_sub(first_time)));
    out.push_str("\"><title>lag ");
    html::uint(out, first_lag);
    out.push_str(" → ");
    html::uint(out, last_lag);
    out.push_str(", largest ");
    html::uint(out, max);
    out.push_str("</title>");
    // One polyline per run of at least two known lags (the dot marks a lone newest point).
    for run in points.split(|p| p.1.is_none()).filter(|r| r.len() >= 2) {
        out.push_str("<polyline points=\"");
        for (k, &(t, lag)) in run.iter().enumerate() {
            if k > 0 {
                out.push(' ');
            }
            let _ = write!(out, "{:.1},{:.1}", x(t), y(lag.unwrap_or(0)));
        }
        out.push_str("\"/>");
    }
    let _ = write!(
        out,
        "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2\"/></svg>",
        x(last_time),
        y(last_lag)
    );
}
