//! The overview (`GET /`): every cluster (up or down, last poll, groups by status), then the
//! groups that need attention in full (ERR, then WARN, then the rest; larger lag first), then
//! the OK groups, [`PAGE_SIZE`] a page. The filter (`?q=`) applies to both lists, on the server,
//! so a fleet of any size sends one page of OK groups.

use std::sync::Arc;

use super::figures::{self, Layout};
use super::html::{self, DASH};
use crate::evaluate::Status;
use crate::snapshot::{ClusterSnapshot, GroupSnapshot};

/// OK groups per page.
pub const PAGE_SIZE: usize = 100;

/// What the overview shows: the filter and the page of OK groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverviewQuery {
    /// Groups whose name contains this, ASCII case-insensitively; empty: every group.
    pub q: String,
    /// Page of the OK groups, from 1 (past the last: the last).
    pub page: usize,
}

impl Default for OverviewQuery {
    fn default() -> Self {
        OverviewQuery {
            q: String::new(),
            page: 1,
        }
    }
}

impl OverviewQuery {
    fn matches(&self, name: &str) -> bool {
        let q = self.q.trim().as_bytes();
        q.is_empty()
            || name
                .as_bytes()
                .windows(q.len())
                .any(|w| w.eq_ignore_ascii_case(q))
    }

    /// The overview URL for page `page` with this filter.
    fn href(&self, out: &mut String, page: usize) {
        out.push_str("/?");
        if !self.q.is_empty() {
            out.push_str("q=");
            html::url_component(out, &self.q);
            out.push_str("&amp;");
        }
        out.push_str("page=");
        html::uint(out, page as u64);
    }
}

/// The filter box.
pub(super) fn header(out: &mut String, query: &OverviewQuery) {
    out.push_str(
        "<form method=\"get\" action=\"/\" role=\"search\"><input type=\"search\" name=\"q\" \
         placeholder=\"Filter groups by name\" aria-label=\"Filter groups by name\" value=\"",
    );
    html::text(out, &query.q);
    out.push_str("\"></form>");
}

pub(super) fn main(
    out: &mut String,
    clusters: &[Arc<ClusterSnapshot>],
    query: &OverviewQuery,
    now: f64,
) {
    clusters_table(out, clusters, now);
    if !query.q.trim().is_empty() {
        out.push_str("<p class=\"filter\">Groups whose name contains “");
        html::text(out, query.q.trim());
        out.push_str("” · <a href=\"/\">show all</a></p>");
    }

    let mut attention: Vec<(&ClusterSnapshot, &GroupSnapshot)> = clusters
        .iter()
        .flat_map(|c| c.groups.iter().map(move |g| (&**c, g)))
        .filter(|(_, g)| g.status.eval.status != Status::Ok && query.matches(&g.name.raw))
        .collect();
    // ERR, WARN, then NOTFOUND (status codes descending); within one, the largest lag first.
    attention.sort_by(|(ca, a), (cb, b)| {
        let (ea, eb) = (&a.status.eval, &b.status.eval);
        eb.status
            .cmp(&ea.status)
            .then(eb.total_lag.cmp(&ea.total_lag))
            .then(ca.cluster.raw.cmp(&cb.cluster.raw))
            .then(a.name.raw.cmp(&b.name.raw))
    });
    out.push_str("<section id=\"attention\"><h2>Needs attention (");
    html::uint(out, attention.len() as u64);
    out.push_str(")</h2>");
    if attention.is_empty() {
        out.push_str("<p class=\"empty\">No group is in WARN or ERR.</p>");
    } else {
        groups_table(out, attention.into_iter());
    }
    out.push_str("</section>");

    let ok = || {
        clusters
            .iter()
            .flat_map(|c| c.groups.iter().map(move |g| (&**c, g)))
            .filter(|(_, g)| g.status.eval.status == Status::Ok && query.matches(&g.name.raw))
    };
    let count = ok().count();
    let pages = count.div_ceil(PAGE_SIZE).max(1);
    let page = query.page.min(pages);
    out.push_str("<section id=\"ok\"><h2>OK (");
    html::uint(out, count as u64);
    out.push_str(")</h2>");
    if count == 0 {
        out.push_str("<p class=\"empty\">No OK group.</p>");
    } else {
        groups_table(out, ok().skip((page - 1) * PAGE_SIZE).take(PAGE_SIZE));
        if pages > 1 {
            pager(out, query, page, pages);
        }
    }
    out.push_str("</section>");
}

fn clusters_table(out: &mut String, clusters: &[Arc<ClusterSnapshot>], now: f64) {
    out.push_str(
        "<section id=\"clusters\"><h2>Clusters</h2><table><thead><tr><th>Cluster</th>\
         <th>Kafka</th><th>Last poll</th><th class=\"num\">Poll took</th><th class=\"num\">Topics</th>\
         <th class=\"num\">Groups</th><th class=\"num\">ERR</th><th class=\"num\">WARN</th>\
         <th class=\"num\">OK</th></tr></thead><tbody>",
    );
    for c in clusters {
        let mut by_status = [0u64; 4];
        for g in &c.groups {
            let i = g.status.eval.status.for_group().code() as usize;
            by_status[i.min(3)] += 1;
        }
        out.push_str("<tr class=\"cluster\"><td class=\"name\">");
        html::text(out, &c.cluster.raw);
        for (k, v) in &c.labels {
            out.push_str(" <span class=\"muted\">");
            html::text(out, k);
            out.push('=');
            html::text(out, &v.raw);
            out.push_str("</span>");
        }
        out.push_str("</td><td class=\"health\">");
        let h = &c.health;
        out.push_str(if !h.polled {
            "<span class=\"muted\">waiting for a first poll</span>"
        } else if h.up {
            "<span class=\"up\">up</span>"
        } else {
            "<span class=\"down\">down</span>"
        });
        out.push_str("</td><td>");
        match h.last_success {
            Some(t) => {
                html::duration(out, now - t);
                out.push_str(" ago");
            }
            None => out.push_str(DASH),
        }
        out.push_str("</td><td class=\"num\">");
        match h.poll_duration {
            // A poll usually takes a fraction of a second: in milliseconds then.
            Some(d) if d < 1.0 => {
                html::uint(out, (d * 1000.0).round() as u64);
                out.push_str(" ms");
            }
            Some(d) => html::duration(out, d),
            None => out.push_str(DASH),
        }
        out.push_str("</td><td class=\"num\">");
        html::uint(out, c.topic_order.len() as u64);
        out.push_str("</td><td class=\"num\">");
        html::uint(out, c.groups.len() as u64);
        for i in [3, 2, 1] {
            out.push_str("</td><td class=\"num\">");
            html::uint(out, by_status[i]);
        }
        out.push_str("</td></tr>");
    }
    out.push_str("</tbody></table></section>");
}

fn groups_table<'a>(
    out: &mut String,
    groups: impl Iterator<Item = (&'a ClusterSnapshot, &'a GroupSnapshot)>,
) {
    out.push_str("<table class=\"groups\"><thead><tr><th>Cluster</th><th>Group</th>");
    out.push_str(figures::ROW_HEADINGS);
    out.push_str("</tr></thead><tbody>");
    for (c, g) in groups {
        out.push_str("<tr class=\"group\"><td class=\"cluster\">");
        html::text(out, &c.cluster.raw);
        out.push_str("</td><td><a class=\"group\" href=\"");
        html::group_href(out, &c.cluster.raw, &g.name.raw);
        out.push_str("\">");
        html::text(out, &g.name.raw);
        out.push_str("</a></td>");
        figures::write(out, c, g, Layout::Row);
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

fn pager(out: &mut String, query: &OverviewQuery, page: usize, pages: usize) {
    out.push_str("<nav class=\"pager\" aria-label=\"OK groups pages\">");
    if page > 1 {
        out.push_str("<a rel=\"prev\" href=\"");
        query.href(out, page - 1);
        out.push_str("\">← previous</a>");
    }
    out.push_str("<span>page ");
    html::uint(out, page as u64);
    out.push_str(" of ");
    html::uint(out, pages as u64);
    out.push_str("</span>");
    if page < pages {
        out.push_str("<a rel=\"next\" href=\"");
        query.href(out, page + 1);
        out.push_str("\">next →</a>");
    }
    out.push_str("</nav>");
}
