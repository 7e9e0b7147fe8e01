//! A group's figures, the same as `/metrics` gives (status, lag sum, largest lag and where,
//! largest lag in seconds) with its state, partition count and trend: one writer for the
//! overview's table row and the group page's summary list.

use super::html::{self, DASH};
use crate::snapshot::{ClusterSnapshot, GroupSnapshot};

/// Where the figures go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// Table cells (`<td>`), the overview's columns.
    Row,
    /// A description list's entries (`<dt>`/`<dd>`).
    List,
}

impl Layout {
    fn open(self, out: &mut String, label: &str, class: &str) {
        match self {
            Layout::Row => out.push_str("<td class=\""),
            Layout::List => {
                out.push_str("<dt>");
                out.push_str(label);
                out.push_str("</dt><dd class=\"");
            }
        }
        out.push_str(class);
        out.push_str("\">");
    }

    fn close(self, out: &mut String) {
        out.push_str(match self {
            Layout::Row => "</td>",
            Layout::List => "</dd>",
        });
    }
}

/// The column headings of [`Layout::Row`], in order.
pub(super) const ROW_HEADINGS: &str =
    "<th>Status</th><th>State</th><th class=\"num\">Partitions</th>\
     <th class=\"num\">Lag</th><th class=\"num\">Max lag</th><th class=\"num\">Lag (time)</th>\
     <th>Trend</th>";

pub(super) fn write(out: &mut String, c: &ClusterSnapshot, g: &GroupSnapshot, layout: Layout) {
    let eval = &g.status.eval;
    let num = |class: &'static str| match layout {
        Layout::Row => class,
        Layout::List => class.trim_start_matches("num "),
    };
    layout.open(out, "Status", "status");
    html::status(out, eval.status);
    layout.close(out);
    layout.open(out, "State", "state");
    out.push_str(g.state.as_str());
    layout.close(out);
    layout.open(out, "Partitions", num("num partitions"));
    html::uint(out, u64::from(eval.partition_count));
    layout.close(out);
    // Without any known head, lag is unknown (`/metrics` has no series then), not 0.
    let known = g.partitions().any(|(t, p, o)| c.lag(t, p, o).is_some());
    layout.open(out, "Lag", num("num lag"));
    match known {
        true => html::uint(out, eval.total_lag),
        false => out.push_str(DASH),
    }
    layout.close(out);
    layout.open(out, "Max lag", num("num max-lag"));
    match eval.max_lag.filter(|_| known) {
        Some(m) => {
            let mut at = String::new();
            if let Some(t) = c.topic(m.topic) {
                html::text(&mut at, &t.name.raw);
            }
            at.push_str(" partition ");
            html::int(&mut at, i64::from(m.partition));
            match layout {
                // The place on hover: the column stays a number.
                Layout::Row => {
                    out.push_str("<span title=\"");
                    out.push_str(&at);
                    out.push_str("\">");
                    html::uint(out, m.lag);
                    out.push_str("</span>");
                }
                Layout::List => {
                    html::uint(out, m.lag);
                    out.push_str(" <span class=\"muted\">(");
                    out.push_str(&at);
                    out.push_str(")</span>");
                }
            }
        }
        None => out.push_str(DASH),
    }
    layout.close(out);
    layout.open(out, "Lag (time)", num("num lag-seconds"));
    match g.status.max_lag_seconds {
        Some(s) => html::duration(out, s),
        None => out.push_str(DASH),
    }
    layout.close(out);
    layout.open(out, "Trend", "trend");
    html::trend(out, g.status.rates().trend());
    layout.close(out);
}
