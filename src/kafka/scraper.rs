//! One scraper task per cluster: polls Kafka, updates that cluster's [`Store`], publishes a
//! [`ClusterSnapshot`]. Clusters share nothing but the snapshot slots, so a broken cluster can
//! only slow itself.
//!
//! A poll, in order: metadata (when due), the group list (when due), committed offsets of every
//! watched group (all in flight at once), then low and high watermarks of every partition in
//! batched ListOffsets calls. Offsets are read before watermarks so that, with lag clamped at 0,
//! lag is never negative. Nothing from a failed poll is applied: the last good data stays, the
//! cluster is marked down, and the next attempt backs off.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::watch;

use crate::config::{ClusterConfig, NameFilter, OffsetRequests, TimeLag};
use crate::evaluate::evaluate_store;
use crate::file_watch::{stamps, FileStamp};
use crate::kafka::admin::{self, Admin, AdminError, Committed, GroupList, OffsetSpec};
use crate::kafka::msk_iam::MskIam;
use crate::kafka::record::{RecordReader, RecordWant};
use crate::model::{GroupDescription, GroupState, TopicConfig, TopicPartition};
use crate::snapshot::{ClusterSnapshot, Forget, Health, Snapshots};
use crate::store::{Commit, RecordTime, RecordWanted, Secs, Store, WatermarkSample};
use crate::telemetry::{Stage, Telemetry};

/// Committed-offset requests in flight at once per call, and calls at once per poll.
const GROUPS_IN_FLIGHT: usize = 8;
const CALLS_IN_FLIGHT: usize = 16;
/// Requests in flight when each group is asked for all its commits (all groups in one call).
const WHOLE_GROUPS_IN_FLIGHT: usize = 32;
/// Longest wait between attempts while a cluster is down.
const MAX_BACKOFF: Duration = Duration::from_secs(120);

/// Settings of one cluster's scraper.
#[derive(Debug, Clone)]
pub struct ScraperSettings {
    pub cluster: ClusterConfig,
    pub points: usize,
    pub retention: Duration,
}

/// The watched topics' partitions, from the last metadata refresh.
#[derive(Debug, Default)]
struct Partitions {
    /// The request list for ListOffsets and ListConsumerGroupOffsets.
    list: Arc<[TopicPartition]>,
    /// Store topic id of each entry of `list`.
    topic_ids: Vec<u32>,
}

/// One ListConsumerGroupOffsets call: the groups (indexes into the poll's group list) that are
/// asked about the same partitions, the store topic id of each partition, and how they are
/// asked (for all their commits, keeping those of `partitions`, or for `partitions`).
struct OffsetRequest {
    members: Vec<usize>,
    partitions: Arc<[TopicPartition]>,
    topic_ids: Vec<u32>,
    asked: OffsetRequests,
}

/// One group's committed offsets.
type Commits = Vec<Commit>;

/// The topics asked, their configurations, and how long the request took.
type TopicConfigsRead = (Vec<String>, Vec<Result<TopicConfig, AdminError>>, Duration);

/// A poll's reads, applied to the store only when the poll as a whole succeeded.
struct PollData {
    /// When the watermarks were read: the midpoint of the batched ListOffsets calls (all
    /// partitions' requests are in flight together), not the poll's start, which comes
    /// before every group's offsets were read.
    watermarks_at: Secs,
    groups: Vec<String>,
    offsets: Vec<Result<Commits, AdminError>>,
    earliest: Vec<Result<i64, AdminError>>,
    latest: Vec<Result<i64, AdminError>>,
}

pub struct Scraper {
    index: usize,
    settings: ScraperSettings,
    group_filter: NameFilter,
    topic_filter: NameFilter,
    snapshots: Arc<Snapshots>,
    telemetry: Arc<Telemetry>,
    base: ClusterSnapshot,
    store: Store,
    health: Health,
    admin: Option<Arc<Admin>>,
    partitions: Partitions,
    metadata_at: Option<Instant>,
    listed: Option<GroupList>,
    listed_at: Option<Instant>,
    /// Logged group-list failure, so it is logged once per change.
    list_error_logged: bool,
    described_at: Option<Instant>,
    /// Descriptions read this poll, applied with the rest of its data.
    described: Vec<GroupDescription>,
    /// Groups could not all be described at the last try (logged once per change).
    describe_failing: bool,
    /// Topic configurations could not all be read at the last try (logged once per change).
    configs_failing: bool,
    /// The topic-configuration request in flight, if any.
    configs_task: Option<tokio::task::JoinHandle<TopicConfigsRead>>,
    /// Some request timed out in a poll that otherwise succeeded: reconnect (see `disconnect`).
    reconnect_after_poll: bool,
    /// The consumer reading record timestamps (`time_lag = "record"`), made at the first
    /// poll that needs it and closed after [`RECORD_READER_IDLE_POLLS`] polls without a read.
    records: Option<Arc<RecordReader>>,
    /// Polls in a row with no record to read and none waiting to be tried again.
    records_idle: u32,
    /// The closing of the last idle record reader, which shutdown waits for.
    records_closing: Option<tokio::sync::oneshot::Receiver<()>>,
    /// The signer of the cluster's OAUTHBEARER tokens (`auth` = AWS MSK IAM), shared by every
    /// client made for the cluster: a credentials failure is logged once, however often the
    /// clients are made again.
    msk_iam: Option<MskIam>,
    /// Record reads failed at the last try (logged once per change).
    records_failing: bool,
    /// Record offsets read without an answer, and when to try them again.
    record_misses: HashMap<(u32, i32, i64), Secs>,
    /// When the last poll's watermarks were read: the `now` of its evaluation.
    polled_at: Secs,
    /// The files the client is made from (`ClusterConfig::client_files`), and their stamps
    /// when it was made: a change reconnects with the new content (a rotated password,
    /// certificate or key).
    client_files: Vec<PathBuf>,
    client_stamps: Vec<Option<FileStamp>>,
}

/// The Unix second halfway between `a` and `b`.
fn midpoint(a: SystemTime, b: SystemTime) -> Secs {
    let secs = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64()
    };
    ((secs(a) + secs(b)) / 2.0)
        .round()
        .clamp(0.0, u32::MAX as f64) as Secs
}

fn unix_now() -> (Secs, f64) {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_secs().min(u32::MAX as u64) as Secs, t.as_secs_f64())
}

impl Scraper {
    /// `index` is the cluster's slot in `snapshots` and `telemetry`.
    pub fn new(
        index: usize,
        settings: ScraperSettings,
        snapshots: Arc<Snapshots>,
        telemetry: Arc<Telemetry>,
    ) -> Scraper {
        // The cluster's names and labels, escaped once by whoever made the first snapshot.
        let base = ClusterSnapshot::clone(&snapshots.get(index));
        let client_files = settings.cluster.client_files();
        let msk_iam = MskIam::for_cluster(&settings.cluster);
        Scraper {
            index,
            group_filter: settings.cluster.group_filter().clone(),
            topic_filter: settings.cluster.topic_filter().clone(),
            base,
            store: Store::new(settings.points)
                .with_min_distance(settings.cluster.evaluator.min_distance.as_secs() as Secs)
                .with_member_ids(settings.cluster.groups.member_ids),
            settings,
            snapshots,
            telemetry,
            health: Health::default(),
            admin: None,
            partitions: Partitions::default(),
            metadata_at: None,
            listed: None,
            listed_at: None,
            list_error_logged: false,
            described_at: None,
            described: Vec::new(),
            describe_failing: false,
            configs_failing: false,
            configs_task: None,
            reconnect_after_poll: false,
            records: None,
            records_idle: 0,
            records_closing: None,
            msk_iam,
            records_failing: false,
            record_misses: HashMap::new(),
            polled_at: 0,
            client_files,
            client_stamps: Vec::new(),
        }
    }

    fn name(&self) -> &str {
        &self.settings.cluster.name
    }

    /// Records how long `stage` took since `started`.
    fn timed(&self, stage: Stage, started: Instant) {
        self.telemetry
            .poll_stage(self.index, stage, started.elapsed());
    }

    /// Polls until `shutdown` turns true, leaving a poll in progress at once, then destroys
    /// the client, waiting at most a second for that.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        // Destroying takes well under this: the admin poller stops within 0.2 s, then
        // rd_kafka_destroy returns once librdkafka's threads are gone.
        const CLOSE_LIMIT: Duration = Duration::from_secs(1);
        let interval = self.settings.cluster.poll_interval;
        let mut failures: u32 = 0;
        loop {
            let started = Instant::now();
            // A poll can wait on Kafka for several request timeouts; what an unfinished one
            // did is discarded with the store.
            let result = tokio::select! {
                result = self.poll_once() => result,
                _ = shutdown.changed() => break,
            };
            let was_up = self.health.polled.then_some(self.health.up);
            self.health.polled = true;
            self.health.poll_duration = Some(started.elapsed().as_secs_f64());
            let snapshot = match result {
                Ok(()) => {
                    failures = 0;
                    self.health.up = true;
                    self.health.last_success = Some(unix_now().1);
                    if was_up != Some(true) {
                        tracing::info!(cluster = self.name(), "cluster is up");
                    }
                    // Tens of milliseconds for a large store: tell the runtime, so other
                    // clusters' tasks and HTTP move to another worker meanwhile.
                    let build = || {
                        let started = Instant::now();
                        let evals = evaluate_store(
                            &self.store,
                            self.polled_at,
                            &self.settings.cluster.evaluator,
                        );
                        let snapshot =
                            self.base
                                .from_store(&self.store, &evals, self.health.clone());
                        self.timed(Stage::Evaluate, started);
                        snapshot
                    };
                    match tokio::runtime::Handle::current().runtime_flavor() {
                        tokio::runtime::RuntimeFlavor::MultiThread => {
                            tokio::task::block_in_place(build)
                        }
                        _ => build(),
                    }
                }
                Err((stage, e)) => {
                    failures += 1;
                    // librdkafka's reason (TLS, SASL, refused connection), read before the
                    // client goes: the request's own error rarely says it.
                    let cause = self.admin.as_ref().and_then(|a| a.last_error());
                    self.disconnect();
                    self.health.up = false;
                    self.telemetry.poll_errors(self.index, stage, 1);
                    if was_up != Some(false) {
                        tracing::warn!(cluster = self.name(), stage = stage.as_str(), error = %e, cause = cause.as_deref().unwrap_or("-"), "cluster is down; keeping the last good data and retrying with backoff");
                    }
                    let last = self.snapshots.get(self.index);
                    last.with_health(self.health.clone())
                }
            };
            self.snapshots.publish(self.index, snapshot);
            let wait = if failures == 0 {
                interval.saturating_sub(started.elapsed())
            } else {
                (interval * 2u32.saturating_pow(failures - 1).min(8)).min(MAX_BACKOFF)
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => break,
            }
            if *shutdown.borrow() {
                break;
            }
        }
        let closing = [self.disconnect(), self.records_closing.take()];
        for closed in closing.into_iter().flatten() {
            if tokio::time::timeout(CLOSE_LIMIT, closed).await.is_err() {
                tracing::warn!(
                    cluster = self.name(),
                    "Kafka client not destroyed after {CLOSE_LIMIT:?}; exiting without it"
                );
            }
        }
    }

    /// Drops the clients on a thread of their own ([`crate::kafka::close_on_thread`]); the
    /// receiver hears when it is done.
    ///
    /// Why: librdkafka 2.12 aborts the process (`rd_kafka_enq_once_del_source_return: Assertion
    /// eonce->refcnt > 0`, confluentinc/librdkafka#4605) when a coordinator request that timed
    /// out is sent once the coordinator is back. Destroying the client while the coordinator is
    /// still unreachable fails those requests safely, so after any failure we start afresh.
    fn disconnect(&mut self) -> Option<tokio::sync::oneshot::Receiver<()>> {
        let admin = self.admin.take()?;
        let records = self.records.take();
        // The topic-configuration request holds the client too: cancelled and gone before
        // the client is dropped, so that the drop here is the last one.
        let configs = self.configs_task.take();
        let runtime = tokio::runtime::Handle::current();
        Some(crate::kafka::close_on_thread(move || {
            if let Some(task) = configs {
                task.abort();
                let _ = runtime.block_on(task);
            }
            drop(admin);
            drop(records);
        }))
    }

    /// One poll. On error, the store is unchanged.
    pub async fn poll_once(&mut self) -> Result<(), (Stage, AdminError)> {
        let timeout = self.settings.cluster.request_timeout;
        if self.admin.is_some() && stamps(&self.client_files) != self.client_stamps {
            tracing::info!(
                cluster = self.name(),
                "a client file changed (secret, certificate or key): reconnecting with it"
            );
            self.disconnect();
        }
        if self.admin.is_none() {
            let started = Instant::now();
            // Stamped before reading: a change while the client is made is seen next poll.
            self.client_stamps = stamps(&self.client_files);
            let c = &self.settings.cluster;
            let auth = c.auth.as_ref().zip(self.msk_iam.clone());
            let admin = Admin::with_auth(&c.bootstrap_servers, &c.client, auth);
            self.timed(Stage::Connect, started);
            self.admin = Some(Arc::new(admin.map_err(|e| (Stage::Connect, e))?));
        }
        let (now, _) = unix_now();
        let due = |at: Option<Instant>, every: Duration| at.is_none_or(|t| t.elapsed() >= every);

        let full_scan = due(self.metadata_at, self.settings.cluster.metadata_refresh);
        if full_scan {
            let started = Instant::now();
            let refreshed = self.refresh_metadata(now, timeout).await;
            self.timed(Stage::Metadata, started);
            refreshed?;
        }
        if due(self.listed_at, self.settings.cluster.groups_refresh) {
            let started = Instant::now();
            self.refresh_group_list(timeout).await;
            self.timed(Stage::GroupList, started);
        }
        // The groups of this poll: described and read alike.
        let watched = self.watched_groups();
        let groups = &self.settings.cluster.groups;
        if groups.describe
            && due(
                self.described_at,
                groups.describe_refresh.unwrap_or_default(),
            )
        {
            let started = Instant::now();
            self.describe_groups(&watched, timeout).await;
            self.timed(Stage::GroupDescribe, started);
        }
        // Topic configurations are read in a task of their own, applied by the first poll
        // that finds it done: they never lengthen a poll (a broker without DescribeConfigs
        // answers only at the timeout).
        if full_scan && self.configs_task.is_none() {
            self.configs_task = Some(tokio::spawn(self.topic_configs_request(timeout)));
        }
        let data = self.read(watched, timeout, full_scan).await?;
        if let Some(task) = self.configs_task.take_if(|t| t.is_finished()) {
            if let Ok((topics, answers, took)) = task.await {
                self.telemetry
                    .poll_stage(self.index, Stage::TopicConfigs, took);
                self.apply_topic_configs(&topics, answers);
            }
        }
        for Forget { group, topic } in self.snapshots.take_forget_requests(self.index) {
            match topic {
                None if self.store.forget(&group) => tracing::info!(
                    cluster = self.name(),
                    group,
                    "group forgotten until it commits again"
                ),
                Some(topic) if self.store.forget_topic(&group, &topic) => tracing::info!(
                    cluster = self.name(),
                    group,
                    topic,
                    "topic of group forgotten until the group commits other offsets on it"
                ),
                _ => {}
            }
        }
        self.apply(now, data);
        if self.settings.cluster.time_lag == TimeLag::Record {
            let started = Instant::now();
            self.read_record_times(now).await;
            self.timed(Stage::RecordReads, started);
        }
        if std::mem::take(&mut self.reconnect_after_poll) {
            self.disconnect();
        }
        Ok(())
    }

    /// Reads the records at the committed offsets of lagging group-partitions that have no
    /// record time yet: the largest lags first, at most `time_lag_max_reads` offsets within
    /// `time_lag_max_read_time` (see [`RecordReader::read`]). What is not read is interpolated;
    /// an offset whose partition gave nothing for a second (nothing readable there yet, no
    /// `Read` permission, no leader) waits [`RECORD_RETRY_POLLS`] polls, so it does not cost
    /// the whole budget every poll.
    async fn read_record_times(&mut self, now: Secs) {
        let c = &self.settings.cluster;
        let retry_after = (c.poll_interval.as_secs() as Secs).max(1) * RECORD_RETRY_POLLS;
        self.record_misses.retain(|_, until| *until > now);
        let misses = &self.record_misses;
        let wanted = self
            .store
            .records_wanted(c.time_lag_max_reads, |w| misses.contains_key(&w.key()));
        if wanted.is_empty() {
            // Nothing to read (no lag, or every lagging offset's record already read): an idle
            // reader's partitions, buffers and broker connections go (~15 MB at 5,000
            // partitions), and a new one is made when a group falls behind again.
            // Offsets waiting to be tried again (`record_misses`) still need the reader.
            if self.record_misses.is_empty() {
                self.records_idle = self.records_idle.saturating_add(1);
            }
            if self.records_idle >= RECORD_READER_IDLE_POLLS {
                if let Some(reader) = self.records.take() {
                    // Shutdown waits for this as for `disconnect`.
                    self.records_closing = Some(crate::kafka::close_on_thread(move || {
                        drop(reader);
                        crate::kafka::admin::release_freed_memory();
                    }));
                }
            }
            return;
        }
        self.records_idle = 0;
        let reader = match &self.records {
            Some(r) => r.clone(),
            None => match RecordReader::new(&self.settings.cluster, self.msk_iam.clone()) {
                Ok(r) => self.records.insert(Arc::new(r)).clone(),
                Err(e) => {
                    self.telemetry
                        .poll_errors(self.index, Stage::RecordReads, 1);
                    self.records_failing = log_failures(
                        self.name(),
                        self.records_failing,
                        Some((e, 1, 1)),
                        "making the record-timestamp consumer",
                        "lag in seconds is interpolated",
                    );
                    return;
                }
            },
        };
        let (picked, wants): (Vec<RecordWanted>, Vec<RecordWant>) = wanted
            .into_iter()
            .filter_map(|w| {
                let topic = self.store.topic(w.topic)?.name.raw.to_string();
                let want = RecordWant {
                    topic,
                    partition: w.partition,
                    offset: w.offset,
                };
                Some((w, want))
            })
            .unzip();
        let budget = self.settings.cluster.time_lag_max_read_time;
        // Set when this poll is dropped (shutdown): the read stops within 100 ms.
        let stop = StopOnDrop::default();
        let flag = stop.0.clone();
        let reads = tokio::task::spawn_blocking(move || reader.read(&wants, budget, &flag))
            .await
            .unwrap_or_default();
        drop(stop);
        let answered = reads.answers.len();
        for (i, r) in reads.answers {
            let Some(w) = picked.get(i) else { continue };
            let time = RecordTime {
                timestamp_ms: r.timestamp_ms,
                read_offset: r.offset,
            };
            self.store
                .apply_record_time(w.topic, w.partition, w.offset, time);
        }
        for w in reads.missed.iter().filter_map(|&i| picked.get(i)) {
            self.record_misses.insert(w.key(), now + retry_after);
        }
        if reads.errors > 0 {
            self.telemetry
                .poll_errors(self.index, Stage::RecordReads, reads.errors);
        }
        let failing = reads
            .first_error
            .map(|e| (e, picked.len() - answered, picked.len()));
        self.records_failing = log_failures(
            self.name(),
            self.records_failing,
            failing,
            "reading record timestamps",
            "lag in seconds is interpolated where no record was read",
        );
    }

    async fn refresh_metadata(
        &mut self,
        now: Secs,
        timeout: Duration,
    ) -> Result<(), (Stage, AdminError)> {
        let admin = self.admin.as_ref().expect("admin connected");
        let topics = admin
            .metadata(timeout)
            .await
            .map_err(|e| (Stage::Metadata, e))?;
        let mut watched: Vec<(String, Vec<i32>)> = topics
            .into_iter()
            .filter(|t| t.error.is_none() && !t.partitions.is_empty())
            .filter(|t| self.topic_filter.matches(&t.name))
            .map(|t| (t.name, t.partitions))
            .collect();
        watched.sort();
        let meta: Vec<(&str, u32)> = watched
            .iter()
            .map(|(n, p)| (n.as_str(), p.iter().max().map_or(0, |m| *m as u32 + 1)))
            .collect();
        let ids = self.store.apply_metadata(now, &meta);
        let mut list = Vec::new();
        let mut topic_ids = Vec::new();
        for ((name, parts), id) in watched.iter().zip(ids) {
            let name: Arc<str> = Arc::from(name.as_str());
            for &p in parts {
                list.push(TopicPartition::new(name.clone(), p));
                topic_ids.push(id);
            }
        }
        self.partitions = Partitions {
            list: list.into(),
            topic_ids,
        };
        self.metadata_at = Some(Instant::now());
        Ok(())
    }

    /// A failed listing is counted and logged but does not fail the poll: static groups and
    /// the previous listing still work (MockCluster and ACL-restricted users cannot list).
    async fn refresh_group_list(&mut self, timeout: Duration) {
        let admin = self.admin.as_ref().expect("admin connected");
        self.listed_at = Some(Instant::now());
        let result = match admin.list_groups(timeout).await {
            Ok(list) if list.groups.is_empty() && !list.errors.is_empty() => Err(AdminError {
                code: None,
                message: list.errors.join("; "),
            }),
            other => other,
        };
        match result {
            Ok(list) => {
                if !list.errors.is_empty() {
                    self.telemetry.poll_errors(self.index, Stage::GroupList, 1);
                    tracing::debug!(cluster = self.name(), errors = ?list.errors, "partial group list");
                }
                if self.list_error_logged {
                    tracing::info!(cluster = self.name(), "listing consumer groups works again");
                    self.list_error_logged = false;
                }
                self.listed = Some(list);
            }
            Err(e) => {
                self.telemetry.poll_errors(self.index, Stage::GroupList, 1);
                if !self.list_error_logged {
                    tracing::warn!(cluster = self.name(), error = %e, "cannot list consumer groups; watching groups.static and the last listing");
                    self.list_error_logged = true;
                }
            }
        }
    }

    /// The request for every watched topic's `cleanup.policy`: owns what it needs, so it runs
    /// beside the poll's other reads; answers the topics, their configurations and the time.
    fn topic_configs_request(
        &self,
        timeout: Duration,
    ) -> impl std::future::Future<Output = TopicConfigsRead> + Send + 'static {
        let admin = self.admin.clone().expect("admin connected");
        let topics: Vec<String> = self
            .store
            .topics()
            .map(|(_, t)| t.name.raw.to_string())
            .collect();
        async move {
            let started = Instant::now();
            let answers = admin.describe_topic_configs(&topics, timeout).await;
            (topics, answers, started.elapsed())
        }
    }

    /// Applies the topics' configurations. A topic whose configuration cannot be read keeps what
    /// was known (nothing, at first: it then counts as not compacted); failures are counted and
    /// logged once, and never fail the poll.
    fn apply_topic_configs(
        &mut self,
        topics: &[String],
        answers: Vec<Result<TopicConfig, AdminError>>,
    ) {
        let mut failed = Vec::new();
        for (name, r) in topics.iter().zip(answers) {
            match r {
                Ok(config) => self.store.apply_topic_compacted(name, config.compacted()),
                Err(e) => failed.push(e),
            }
        }
        let failing = self.partial_failures(Stage::TopicConfigs, &failed, topics.len());
        self.configs_failing = log_failures(
            self.name(),
            self.configs_failing,
            failing,
            "reading topic configurations (DescribeConfigs)",
            "compacted topics among them are not recognised, and loss on them may be reported",
        );
    }

    /// Describes every watched group. Failures are counted and logged once, and leave those
    /// groups' members and owners as they were: the poll goes on without them.
    async fn describe_groups(&mut self, groups: &[String], timeout: Duration) {
        let admin = self.admin.clone().expect("admin connected");
        self.described_at = Some(Instant::now());
        self.described.clear(); // from a poll that failed after describing
        let mut failed = Vec::new();
        for r in admin.describe_groups(groups, timeout).await {
            match r {
                Ok(d) => self.described.push(d),
                // A group known only from committed offsets (the test broker says so for
                // those; Kafka calls them Empty): nothing to describe.
                Err(e) if e.code == Some(RDKafkaErrorCode::GroupIdNotFound) => {}
                Err(e) => failed.push(e),
            }
        }
        if failed
            .iter()
            .any(|e| e.code == Some(RDKafkaErrorCode::OperationTimedOut))
        {
            // See `disconnect`: a timed-out coordinator request must not outlive the client.
            self.reconnect_after_poll = true;
        }
        let failing = self.partial_failures(Stage::GroupDescribe, &failed, groups.len());
        self.describe_failing = log_failures(
            self.name(),
            self.describe_failing,
            failing,
            "describing consumer groups",
            "their members and owners are not updated (set groups.describe = false where \
             DescribeGroups is not allowed)",
        );
    }

    /// Counts `failed` (of `asked`) requests of `stage`; the first error with the counts, for
    /// [`log_failures`].
    fn partial_failures(
        &self,
        stage: Stage,
        failed: &[AdminError],
        asked: usize,
    ) -> Option<(String, usize, usize)> {
        let first = failed.first()?;
        self.telemetry
            .poll_errors(self.index, stage, failed.len() as u64);
        Some((first.to_string(), failed.len(), asked))
    }

    /// The groups to read: the listing (filtered, without dead groups) plus static groups.
    fn watched_groups(&self) -> Vec<String> {
        let mut groups: BTreeSet<&str> = self
            .settings
            .cluster
            .groups
            .static_groups
            .iter()
            .map(String::as_str)
            .collect();
        if let Some(list) = &self.listed {
            for g in &list.groups {
                if g.state != GroupState::Dead && self.group_filter.matches(&g.id) {
                    groups.insert(&g.id);
                }
            }
        }
        groups.into_iter().map(str::to_owned).collect()
    }

    /// Which partitions to ask each group about, as `offset_requests` says (unset: `group` where
    /// that is cheap, `admin::WHOLE_GROUPS_CHEAP`). With `group`, every group is asked for all
    /// its commits and those of watched partitions are kept: a group that starts on a watched
    /// topic is seen at the next poll. With `partitions` (the demo's mock cluster answers
    /// nothing else), requests list partitions: every partition of every watched topic when
    /// metadata was refreshed and for groups not known yet, else only the topics a group has
    /// committed to (asking every group about every partition costs about a microsecond per
    /// group-partition in librdkafka, minutes per poll on big clusters); a group that starts
    /// on a new topic is then found at the next metadata refresh.
    fn plan_offset_requests(&self, groups: &[String], full_scan: bool) -> Vec<OffsetRequest> {
        let default = if admin::WHOLE_GROUPS_CHEAP {
            OffsetRequests::Group
        } else {
            OffsetRequests::Partitions
        };
        if self.settings.cluster.offset_requests.unwrap_or(default) == OffsetRequests::Group {
            // One call: the watched partitions are indexed once per poll.
            return vec![OffsetRequest {
                members: (0..groups.len()).collect(),
                partitions: self.partitions.list.clone(),
                topic_ids: self.partitions.topic_ids.clone(),
                asked: OffsetRequests::Group,
            }];
        }
        let mut by_topics: BTreeMap<Vec<u32>, Vec<usize>> = BTreeMap::new();
        for (i, g) in groups.iter().enumerate() {
            let mut topics: Vec<u32> = match (full_scan, self.store.group(g)) {
                (false, Some(known)) => known.runs.iter().map(|r| r.topic).collect(),
                _ => Vec::new(),
            };
            topics.dedup();
            by_topics.entry(topics).or_default().push(i);
        }
        by_topics
            .into_iter()
            .map(|(topics, members)| {
                if topics.is_empty() {
                    return OffsetRequest {
                        members,
                        partitions: self.partitions.list.clone(),
                        topic_ids: self.partitions.topic_ids.clone(),
                        asked: OffsetRequests::Partitions,
                    };
                }
                let (list, ids): (Vec<TopicPartition>, Vec<u32>) = self
                    .partitions
                    .list
                    .iter()
                    .zip(&self.partitions.topic_ids)
                    .filter(|(_, id)| topics.binary_search(id).is_ok())
                    .map(|(tp, id)| (tp.clone(), *id))
                    .unzip();
                OffsetRequest {
                    members,
                    partitions: list.into(),
                    topic_ids: ids,
                    asked: OffsetRequests::Partitions,
                }
            })
            .collect()
    }

    async fn read(
        &mut self,
        groups: Vec<String>,
        timeout: Duration,
        full_scan: bool,
    ) -> Result<PollData, (Stage, AdminError)> {
        let admin = self.admin.clone().expect("admin connected");
        let list = self.partitions.list.clone();
        // Committed offsets first, then watermarks: lag is never negative.
        let mut offsets: Vec<Result<Commits, AdminError>> =
            (0..groups.len()).map(|_| Ok(Vec::new())).collect();
        let started = Instant::now();
        let mut calls = tokio::task::JoinSet::new();
        let mut plan = self.plan_offset_requests(&groups, full_scan).into_iter();
        loop {
            while calls.len() < CALLS_IN_FLIGHT {
                let Some(OffsetRequest {
                    members,
                    partitions: parts,
                    topic_ids: ids,
                    asked,
                }) = plan.next()
                else {
                    break;
                };
                let admin = admin.clone();
                let names: Vec<String> = members.iter().map(|&i| groups[i].clone()).collect();
                calls.spawn(async move {
                    let in_flight = match asked {
                        OffsetRequests::Group => WHOLE_GROUPS_IN_FLIGHT,
                        OffsetRequests::Partitions => GROUPS_IN_FLIGHT,
                    };
                    let found = admin
                        .list_group_offsets(&names, &parts, asked, in_flight, timeout)
                        .await;
                    let found: Vec<Result<Commits, AdminError>> = found
                        .into_iter()
                        .map(|r| {
                            r.map(|v| {
                                v.into_iter()
                                    .filter_map(|Committed { index: k, offset }| {
                                        let p = parts.get(k as usize)?.partition;
                                        Some(Commit::new(*ids.get(k as usize)?, p, offset))
                                    })
                                    .collect()
                            })
                        })
                        .collect();
                    (members, found)
                });
            }
            let Some(done) = calls.join_next().await else {
                break;
            };
            match done {
                Ok((members, found)) => {
                    for (i, r) in members.into_iter().zip(found) {
                        offsets[i] = r;
                    }
                }
                Err(e) => {
                    return Err((
                        Stage::GroupOffsets,
                        AdminError {
                            code: None,
                            message: format!("offset request task failed: {e}"),
                        },
                    ))
                }
            }
        }
        let failed = offsets.iter().filter(|r| r.is_err()).count();
        let timed_out = offsets.iter().any(|r| {
            r.as_ref()
                .is_err_and(|e| e.code == Some(RDKafkaErrorCode::OperationTimedOut))
        });
        if timed_out && failed < offsets.len() {
            // See `disconnect`: a timed-out coordinator request must not outlive the client.
            self.reconnect_after_poll = true;
        }
        if failed > 0 {
            self.telemetry
                .poll_errors(self.index, Stage::GroupOffsets, failed as u64);
            if failed == offsets.len() {
                let e = offsets
                    .into_iter()
                    .find_map(Result::err)
                    .expect("failed > 0");
                return Err((Stage::GroupOffsets, e));
            }
        }
        self.timed(Stage::GroupOffsets, started);
        let started = Instant::now();
        let asked = SystemTime::now();
        let (earliest, latest) = tokio::join!(
            admin.list_offsets(&list, OffsetSpec::Earliest, timeout),
            admin.list_offsets(&list, OffsetSpec::Latest, timeout),
        );
        self.timed(Stage::Watermarks, started);
        let watermarks_at = midpoint(asked, SystemTime::now());
        let earliest = earliest.map_err(|e| (Stage::Watermarks, e))?;
        let latest = latest.map_err(|e| (Stage::Watermarks, e))?;
        Ok(PollData {
            watermarks_at,
            groups,
            offsets,
            earliest,
            latest,
        })
    }

    fn apply(&mut self, started: Secs, data: PollData) {
        // Everything this poll learnt carries the time its head samples were read (lag seconds
        // would otherwise be overstated by the time the offset reads took), and the poll is
        // evaluated at that time: a commit's point and the head it is measured against share
        // one time, as they share one lag.
        let now = data.watermarks_at.max(started);
        self.polled_at = now;
        let ids = &self.partitions.topic_ids;
        let samples: Vec<WatermarkSample> = self
            .partitions
            .list
            .iter()
            .zip(ids)
            .zip(data.earliest.iter().zip(&data.latest))
            .map(|((tp, &topic), (e, l))| WatermarkSample {
                topic,
                partition: tp.partition,
                earliest: e.as_ref().ok().copied(),
                latest: l.as_ref().ok().copied(),
            })
            .collect();
        let failed = samples.iter().filter(|s| s.latest.is_none()).count();
        if failed > 0 {
            self.telemetry.poll_errors(self.index, Stage::Watermarks, 1);
            tracing::debug!(
                cluster = self.name(),
                failed,
                "some partitions have no watermark this poll"
            );
        }
        self.store.apply_watermarks(now, &samples);
        if let Some(list) = &self.listed {
            for g in &list.groups {
                if g.state != GroupState::Dead && self.group_filter.matches(&g.id) {
                    self.store.apply_group_state(now, &g.id, g.state);
                }
            }
        }
        for d in std::mem::take(&mut self.described) {
            self.store.apply_group_description(now, &d);
        }
        for (group, result) in data.groups.iter().zip(data.offsets) {
            let Ok(mut commits) = result else { continue };
            self.store.apply_group_offsets(now, group, &mut commits);
        }
        self.store.expire(now, self.settings.retention);
    }
}

/// Polls an offset read without an answer waits before it is read again.
const RECORD_RETRY_POLLS: Secs = 5;
/// Polls in a row with nothing to read after which the record reader is closed.
const RECORD_READER_IDLE_POLLS: u32 = 3;

/// A flag set when this is dropped: a blocking task holding its clone stops when the future
/// that started it is dropped.
#[derive(Default)]
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Logs a request kind's failures once per change: a warning with the first error when it
/// starts failing (`failing`: the error, how many failed, of how many), one line when it works
/// again. Returns whether it is failing now.
fn log_failures(
    cluster: &str,
    was_failing: bool,
    failing: Option<(String, usize, usize)>,
    what: &str,
    consequence: &str,
) -> bool {
    match (was_failing, failing) {
        (false, Some((error, failed, asked))) => {
            tracing::warn!(cluster, failed, asked, %error, "{what} fails: {consequence}");
            true
        }
        (true, None) => {
            tracing::info!(cluster, "{what} works again");
            false
        }
        (_, now) => now.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ClusterConfig, Config};
    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
    use rdkafka::{Offset, TopicPartitionList};

    #[test]
    fn midpoint_rounds_to_the_second() {
        let t = |ms: u64| UNIX_EPOCH + Duration::from_millis(ms);
        assert_eq!(midpoint(t(10_000), t(13_000)), 12); // 11.5 rounds up
        assert_eq!(midpoint(t(10_000), t(10_400)), 10);
        assert_eq!(midpoint(t(7_000), t(7_000)), 7);
    }

    /// Issue 12, item 5: with slow round trips the offsets take seconds to read, and the head
    /// samples read after them carry the time they were read, not the poll's start.
    #[tokio::test]
    async fn item5_head_samples_carry_the_time_they_were_read() {
        let mock = MockCluster::new(1).expect("mock cluster");
        mock.create_topic("t", 1, 1).expect("topic");
        let bootstrap = mock.bootstrap_servers();
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .create()
            .expect("producer");
        for _ in 0..5 {
            producer
                .send(BaseRecord::<(), str>::to("t").partition(0).payload("x"))
                .expect("queued");
        }
        producer.flush(Duration::from_secs(10)).expect("flush");
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "g")
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset("t", 0, Offset::Offset(2)).unwrap();
        consumer.commit(&tpl, CommitMode::Sync).expect("commit");
        // Every request now takes 700 ms: metadata, the group list, FindCoordinator and
        // OffsetFetch come before the watermarks.
        mock.broker_round_trip_time(1, Duration::from_millis(700))
            .expect("rtt");

        let mut cluster = ClusterConfig::new("mock", bootstrap);
        cluster.groups.static_groups = vec!["g".into()];
        cluster.offset_requests = Some(OffsetRequests::Partitions);
        let config = Config {
            clusters: vec![cluster],
            ..Config::default()
        }
        .validate()
        .expect("valid");
        let cluster = config.clusters[0].clone();
        let snapshots = Arc::new(Snapshots::new(vec![ClusterSnapshot::empty("mock", &[])]));
        let telemetry = Arc::new(Telemetry::new(&config.clusters));
        let settings = ScraperSettings {
            cluster,
            points: 10,
            retention: Duration::from_secs(600),
        };
        let mut scraper = Scraper::new(0, settings, snapshots, telemetry);
        let (started, _) = unix_now();
        scraper.poll_once().await.expect("poll");
        let (ended, _) = unix_now();
        let topic = scraper.store.topic_id("t").expect("topic");
        let head: Vec<(i64, Secs)> = scraper.store.head_history(topic, 0).collect();
        assert_eq!(head.len(), 1);
        assert_eq!(head[0].0, 5);
        // Whole seconds: `started` and `ended` are truncated, the midpoint is rounded.
        assert!(
            head[0].1 >= started + 2 && head[0].1 <= ended + 1,
            "head sampled at {}, poll {started}..{ended}",
            head[0].1
        );
        // The commit's point and the evaluation carry the head's time.
        let group = scraper.store.group("g").expect("group");
        let point = group.window(0, 10).next().expect("a point");
        assert_eq!(
            (point.offset, point.lag, point.time),
            (2, Some(3), head[0].1)
        );
        assert_eq!(scraper.polled_at, head[0].1);
    }
}
