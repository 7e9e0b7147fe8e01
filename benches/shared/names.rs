//! The synthetic fleet's names, shared by the benches that build a store: realistic lengths,
//! since the exposition and the pages are mostly names.

/// `n` topic names.
pub fn topics(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("orders.eu-west-1.events-v2-{i:05}"))
        .collect()
}

/// `n` group names.
pub fn groups(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("payments-service-consumer-{i:05}"))
        .collect()
}

/// The metadata of `topics`, each with `partitions` partitions.
pub fn metadata(topics: &[String], partitions: usize) -> Vec<(&str, u32)> {
    topics
        .iter()
        .map(|n| (n.as_str(), partitions as u32))
        .collect()
}
