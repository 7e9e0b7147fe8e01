//! A group's page: its figures (status, state, lag, where the lag is heading, members), then per
//! topic (by name) and partition: status, committed offset against the head, lag, lag in
//! seconds, owner where known, and the window's lag as a sparkline.

use super::figures::{self, Layout};
use super::html::{self, DASH};
use super::sparkline;
use crate::snapshot::{ClusterSnapshot, GroupSnapshot};
use crate::store::Secs;

/// The header has only the common links.
pub(super) fn header(_out: &mut String, _cluster: &ClusterSnapshot, _group: &GroupSnapshot) {}

pub(super) fn main(out: &mut String, c: &ClusterSnapshot, g: &GroupSnapshot, now: f64) {
    let eval = &g.status.eval;
    out.push_str("<h2 class=\"title\"><a href=\"/\">All groups</a> › ");
    html::text(out, &c.cluster.raw);
    out.push_str(" › <span class=\"group-name\">");
    html::text(out, &g.name.raw);
    out.push_str("</span></h2><dl class=\"summary\">");
    figures::write(out, c, g, Layout::List);
    out.push_str("<dt>Full windows</dt><dd>");
    html::uint(out, (eval.complete * 100.0).round() as u64);
    out.push_str("% of the partitions</dd>");
    let rates = g.status.rates();
    out.push_str("<dt>Consuming</dt><dd>");
    if rates.partitions > 0 {
        html::decimal(out, rates.consume);
        out.push_str(" messages/s");
    } else {
        out.push_str(DASH);
    }
    out.push_str("</dd><dt>Members</dt><dd class=\"members\">");
    match &g.membership {
        Some(m) => {
            html::uint(out, m.members.len() as u64);
            if !m.protocol.raw.is_empty() {
                out.push_str(" · assignor ");
                html::text(out, &m.protocol.raw);
            }
            if let Some(id) = m.coordinator {
                out.push_str(" · coordinator broker ");
                html::int(out, i64::from(id));
            }
            out.push_str(" · ");
            html::uint(out, m.rebalances);
            out.push_str(" rebalances seen");
        }
        None => out.push_str("<span class=\"muted\">not described</span>"),
    }
    out.push_str("</dd><dt>Last poll</dt><dd>");
    match c.health.last_success {
        Some(t) => {
            html::duration(out, now - t);
            out.push_str(" ago");
        }
        None => out.push_str(DASH),
    }
    out.push_str("</dd></dl>");
    topics(out, c, g);
}

/// A section per topic, by name; a row per partition, ascending.
fn topics(out: &mut String, c: &ClusterSnapshot, g: &GroupSnapshot) {
    let name = |topic: u32| c.topic(topic).map(|t| &*t.name.raw);
    let mut runs: Vec<usize> = (0..g.runs.len()).collect();
    runs.sort_by(|&a, &b| {
        name(g.runs[a].topic)
            .cmp(&name(g.runs[b].topic))
            .then(a.cmp(&b))
    });
    // The newest point is the current lag at the last poll, when that is newer than the window.
    let polled = c.health.last_success.map(|t| t as Secs);
    let mut points: Vec<(Secs, Option<u64>)> = Vec::with_capacity(c.window_points + 1);
    let mut k = 0;
    while k < runs.len() {
        let topic = g.runs[runs[k]].topic;
        let end = k + runs[k..]
            .iter()
            .take_while(|&&r| g.runs[r].topic == topic)
            .count();
        let topic_name = name(topic).unwrap_or("");
        out.push_str("<section class=\"topic\"><h2>Topic <span class=\"topic-name\">");
        html::text(out, topic_name);
        out.push_str("</span></h2>");
        if let Some((_, r)) = g.status.topic_rates.iter().find(|(t, _)| *t == topic) {
            if r.partitions > 0 {
                out.push_str("<p class=\"muted\">consuming ");
                html::decimal(out, r.consume);
                out.push_str(" messages/s · ");
                html::trend(out, r.trend());
                out.push_str("</p>");
            }
        }
        out.push_str(
            "<table class=\"partitions\"><thead><tr><th class=\"num\">Partition</th>\
             <th>Status</th><th class=\"num\">Committed</th><th class=\"num\">Head</th>\
             <th class=\"num\">Lag</th><th class=\"num\">Lag (time)</th><th>Owner</th>\
             <th>Window</th></tr></thead><tbody>",
        );
        for &r in &runs[k..end] {
            for (i, p) in g.runs[r].partitions() {
                let offset = g.offsets[i];
                let verdict = g.status.verdicts.get(i).copied().unwrap_or_default();
                let lag = c.lag(topic, p, offset);
                out.push_str("<tr class=\"partition\"><td class=\"num\">");
                html::int(out, i64::from(p));
                out.push_str("</td><td class=\"status\">");
                html::status(out, verdict.status());
                out.push_str("</td><td class=\"num committed\">");
                html::int(out, offset);
                out.push_str("</td><td class=\"num head\">");
                let head = c
                    .topic(topic)
                    .and_then(|t| t.watermarks.get(usize::try_from(p).ok()?))
                    .map(|w| w.latest)
                    .filter(|&l| l >= 0);
                match head {
                    Some(h) => html::int(out, h),
                    None => out.push_str(DASH),
                }
                out.push_str("</td><td class=\"num lag\">");
                match lag {
                    Some(l) => html::uint(out, l),
                    None => out.push_str(DASH),
                }
                out.push_str("</td><td class=\"num lag-seconds\">");
                match verdict.lag_seconds() {
                    Some(s) => html::duration(out, s),
                    None => out.push_str(DASH),
                }
                out.push_str("</td><td class=\"owner\">");
                owner(out, g, topic_name, p);
                out.push_str("</td><td class=\"window\">");
                points.clear();
                points.extend(g.window(i, c.window_points).map(|pt| (pt.time, pt.lag)));
                points.reverse();
                let newest = points.last().map(|pt| pt.0);
                if let Some(t) = polled.filter(|&t| newest.is_none_or(|n| t > n)) {
                    points.push((t, lag));
                }
                sparkline::write(out, &points);
                out.push_str("</td></tr>");
            }
        }
        out.push_str("</tbody></table></section>");
        k = end;
    }
}

/// The member owning the partition (client id and host), or why it is not known.
fn owner(out: &mut String, g: &GroupSnapshot, topic: &str, partition: i32) {
    let Some(m) = &g.membership else {
        out.push_str(DASH);
        return;
    };
    if !m.assignments_known {
        out.push_str("<span class=\"muted\">not reported</span>");
        return;
    }
    match m.owner(topic, partition) {
        Some(member) => {
            html::text(out, &member.client_id.raw);
            out.push_str(" <span class=\"muted\">");
            html::text(out, &member.host.raw);
            out.push_str("</span>");
        }
        None => out.push_str("<span class=\"muted\">none</span>"),
    }
}
