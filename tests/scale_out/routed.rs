//! Routed work across three instances: items applied once through a
//! SIGKILL of one instance and through a rolling restart.

use super::*;

/// The shipped project (the incident list alone for ServiceNow) with
/// ServiceNow polled every 2 s and Maximo, the target of the heating rule,
/// at full speed; the other connectors off.
fn routed_cluster(ts: &TestStore, estate: &Estate, test: &str) -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["connectors", "mappings"] {
        common::hub::copy_edited(sub, dir.path(), |_, t| t);
    }
    common::project::copy_servicenow(dir.path());
    for file in ["routing.toml", "services.toml"] {
        std::fs::copy(repo().join(file), dir.path().join(file)).unwrap();
    }
    let sn = &estate.servicenow.base_url;
    let mx = &estate.maximo.base_url;
    let tables = format!(
        "[connectors.servicenow]\nenabled = true\nbase_url = \"{sn}\"\nusername = \"admin\"\npassword = \"sim-password\"\n\
         schedule = \"*/2 * * * * *\"\nrate_limit_per_sec = 0\n\
         [connectors.maximo]\nenabled = true\nbase_url = \"{mx}\"\ntoken = \"sim-maximo-api-key\"\n\
         schedule = \"0 0 0 1 1 *\"\nrate_limit_per_sec = 0\n{}",
        ["jira", "topdesk", "personio", "odoo", "bamboohr", "hr-csv"]
            .iter()
            .map(|s| format!("[connectors.{s}]\nenabled = false\n"))
            .collect::<String>()
    );
    Cluster::new(dir, &ts.url, &prefix(test), move |_| tables.clone())
}

/// Maximo work orders by description, for the titles starting `tag`.
fn orders_by_title(estate: &Estate, tag: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for r in estate.maximo.sim.records() {
        if let Some(d) = r["description"].as_str().filter(|d| d.starts_with(tag)) {
            *out.entry(d.to_string()).or_default() += 1;
        }
    }
    out
}

/// Start three instances and wait for ServiceNow's first (baseline) run:
/// what is created after it is routed.
async fn start_routed(cluster: &mut Cluster, ts: &TestStore) {
    cluster
        .start_routing(3, &ts.store, Duration::from_secs(30))
        .await;
}

/// The titled items a writer was cut off applying (SIGKILL between its
/// `applying` mark and the end of its call): dead letters "in doubt" for a
/// person to check in Maximo and replay, by design, never applied again
/// blindly (docs/OPERATIONS.md). At most the messages in hand.
async fn in_doubt(test: &str, tag: &str) -> Vec<String> {
    fn titled(v: &Value, tag: &str) -> Option<String> {
        match v {
            Value::String(s) if s.starts_with(tag) => Some(s.clone()),
            Value::Array(a) => a.iter().find_map(|v| titled(v, tag)),
            Value::Object(o) => o.values().find_map(|v| titled(v, tag)),
            _ => None,
        }
    }
    let topology = switchboard::transport::Topology::for_prefix(&prefix(test));
    switchboard::transport::dlq::list(&common::broker::amqp_url(), &topology)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|d| d.reason.contains("cut off mid-call"))
        .filter_map(|d| titled(&d.payload, tag))
        .collect()
}

/// Every titled item applied once in Maximo: none missing, none twice.
async fn all_applied_once(cluster: &mut Cluster, estate: &Estate, tag: &str, titles: usize) {
    applied_once_or_in_doubt(cluster, estate, None, tag, titles).await;
}

/// [`all_applied_once`], except that an item whose writer was killed
/// mid-call may be a dead letter in doubt instead (`test`'s queues).
async fn applied_once_or_in_doubt(
    cluster: &mut Cluster,
    estate: &Estate,
    test: Option<&str>,
    tag: &str,
    titles: usize,
) {
    let within = lease() + Duration::from_secs(90);
    let done = cluster
        .wait_until(within, || async {
            let mut seen: std::collections::BTreeSet<String> =
                orders_by_title(estate, tag).into_keys().collect();
            // The dead letters are read only when one item is left.
            if let Some(t) = test.filter(|_| seen.len() + 1 == titles) {
                seen.extend(in_doubt(t, tag).await);
            }
            seen.len() >= titles
        })
        .await;
    // A second application would come soon after: give it a moment.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let orders = orders_by_title(estate, tag);
    let twice: Vec<_> = orders.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "applied more than once: {twice:?}");
    let doubted = match test {
        Some(t) => in_doubt(t, tag).await,
        None => Vec::new(),
    };
    // One writer per instance applies one message at a time.
    assert!(doubted.len() <= 1, "in doubt: {doubted:?}");
    let mut seen: std::collections::BTreeSet<&String> = orders.keys().collect();
    seen.extend(&doubted);
    let missing = titles.saturating_sub(seen.len());
    assert!(
        done && missing == 0,
        "{} of {titles} items applied ({doubted:?} in doubt) within {within:?}\n{}",
        orders.len(),
        cluster.logs()
    );
    if !doubted.is_empty() {
        eprintln!("in doubt after the kill, a dead letter to check: {doubted:?}");
    }
}

/// 1,000 routed items (ServiceNow incidents about heating, each becoming a
/// Maximo work order) while one of three instances is SIGKILLed a third of
/// the way: each work order created once, none lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routed_items_are_applied_once_when_an_instance_is_killed() {
    const ITEMS: usize = 1_000;
    let _turn = take_turn().await;
    let ts = TestStore::new(Backend::Postgres).await;
    let estate = Estate::spawn(5).await.unwrap();
    let mut cluster = routed_cluster(&ts, &estate, "killrouted");
    start_routed(&mut cluster, &ts).await;
    let tag = "No heating in room K";
    for i in 0..ITEMS {
        estate
            .servicenow
            .sim
            .insert("incident", incident(&format!("{tag}{i:04}")));
    }
    cluster
        .wait_for("a third applied", Duration::from_secs(60), || async {
            orders_by_title(&estate, tag).len() >= ITEMS / 3
        })
        .await;
    cluster.kill(1);
    let at_kill = orders_by_title(&estate, tag).len();
    assert!(at_kill < ITEMS, "killed mid-delivery ({at_kill} applied)");
    applied_once_or_in_doubt(&mut cluster, &estate, Some("killrouted"), tag, ITEMS).await;
    eprintln!("killed at {at_kill} of {ITEMS} applied");
    let topology = switchboard::transport::Topology::for_prefix(&prefix("killrouted"));
    delete_topology(&topology, &["maximo", "servicenow", "odoo"]).await;
    estate.shutdown().await;
}

/// Routed items arriving while each of three instances in turn is
/// SIGTERMed and replaced (ready on /readyz before the next goes): every
/// item applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_restart_loses_and_repeats_nothing() {
    let _turn = take_turn().await;
    let ts = TestStore::new(Backend::Postgres).await;
    let estate = Estate::spawn(5).await.unwrap();
    let mut cluster = routed_cluster(&ts, &estate, "rolling");
    start_routed(&mut cluster, &ts).await;
    let tag = "No heating in room R";
    let sim = estate.servicenow.sim.clone();
    let flowing = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let producer = {
        let flowing = flowing.clone();
        tokio::spawn(async move {
            let mut n = 0;
            while flowing.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..10 {
                    sim.insert("incident", incident(&format!("{tag}{n:04}")));
                    n += 1;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            n
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    for i in 0..3 {
        let grace = Duration::from_secs(common::instances::GRACE_SECS + 5);
        let status = cluster.terminate(i, grace).await;
        assert!(status.success(), "instance {i} stopped cleanly: {status}");
        cluster.start(i);
        cluster.ready(i, Duration::from_secs(30)).await;
        // Work flows through the new instance before the next one goes.
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    flowing.store(false, std::sync::atomic::Ordering::Relaxed);
    let items = producer.await.unwrap();
    all_applied_once(&mut cluster, &estate, tag, items).await;
    eprintln!("{items} items through a rolling restart");
    let topology = switchboard::transport::Topology::for_prefix(&prefix("rolling"));
    delete_topology(&topology, &["maximo", "servicenow", "odoo"]).await;
    estate.shutdown().await;
}
