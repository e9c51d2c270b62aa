//! The API at an organisation's size: a PostgreSQL store seeded with a
//! million work items, three million activities and a hundred thousand
//! people (`seed.rs`), the real router on loopback, and 50 clients calling
//! one endpoint at a time as fast as answers come: an employee's requests,
//! a work item's detail, a quarter's KPIs by department. Reports p50, p99,
//! max and calls per second of each.
//!
//! `cargo bench --bench api`. `BENCH_API_ITEMS` sets the size (default
//! 1000000), `BENCH_API_SECS` the seconds per endpoint (default 20),
//! `BENCH_API_CLIENTS` the clients (default 50), `BENCH_API_PAUSE_MS` each
//! client's pause between calls (default 0: as fast as answered; 1000: a
//! person clicking once a second); `BENCH_API_KEEP=1` leaves
//! the database `switchboard_bench_api` behind (it is dropped otherwise,
//! as it takes gigabytes) and reuses a kept one of the same size.
//! Figures go into docs/PERFORMANCE.md by hand. Under `cargo test
//! --benches` it runs as a smoke check on 2000 items for a second each.

#[path = "../../tests/common/org.rs"]
mod seed;

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::Connection;
use switchboard::api::{ApiState, EMPLOYEE_HEADER, Tokens, router};
use switchboard::config::{ApiSettings, ApiToken, SecretRef};
use switchboard::store::Store;

const DB: &str = "switchboard_bench_api";

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let items: i64 = if benching {
        env_or("BENCH_API_ITEMS", 1_000_000)
    } else {
        2_000
    };
    let secs: u64 = if benching {
        env_or("BENCH_API_SECS", 20)
    } else {
        1
    };
    let clients: usize = env_or("BENCH_API_CLIENTS", 50);
    // Each client's pause between calls: 0 (default) is clients that never
    // pause (the saturation figure); 1000 is people clicking once a second.
    let pause = Duration::from_millis(env_or("BENCH_API_PAUSE_MS", 0));
    let keep = std::env::var("BENCH_API_KEEP").is_ok_and(|v| v == "1");
    let volume = seed::Volume::from_items(items);
    let admin_url = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut url = url::Url::parse(&admin_url).expect("postgres url");
    url.set_path(&format!("/{DB}"));

    let reuse = keep && seeded_items(url.as_str()).await == Some(items + volume.cases());
    if !reuse {
        recreate(&admin_url).await;
    }
    let store = Store::connect(url.as_str(), 16).await.expect("store");
    let started = Instant::now();
    store.migrate().await.expect("migrations");
    // On a kept database this is the time the pending migrations take at
    // this size (a backfill, say).
    println!("migrated in {:.1} s", started.elapsed().as_secs_f64());
    let Store::Postgres(pool) = &store else {
        unreachable!("a postgres url")
    };
    if !reuse {
        let started = Instant::now();
        seed::seed(pool, volume).await.expect("seed");
        println!(
            "seeded {items} work items (+{} cases), {} activities, {} people, {} links in {:.0} s",
            volume.cases(),
            count(pool, "activities").await,
            volume.people,
            count(pool, "links").await,
            started.elapsed().as_secs_f64()
        );
    }
    // What autovacuum does after a bulk load, done now rather than at an
    // unknown moment during the measurements: statistics for the planner
    // (a migration may have added columns and indexes), and the
    // visibility map that lets an index-only scan skip the table.
    let started = Instant::now();
    sqlx::query("VACUUM ANALYZE")
        .execute(pool)
        .await
        .expect("vacuum");
    println!("vacuumed in {:.1} s", started.elapsed().as_secs_f64());

    let base = serve(store.clone()).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .expect("http client");
    let (from, to) = seed::QUARTER;
    let people = volume.people as u64;
    let max_id = items as u64;
    let kpis = format!("{base}/api/v1/kpis?from={from}&to={to}&group_by=department");
    let endpoints: Vec<(&str, usize, Target)> = vec![
        (
            "GET /me/requests",
            clients,
            Arc::new(move |r: u64| Call {
                path: "/api/v1/me/requests".into(),
                token: "portal-token",
                employee: Some(format!("person{}@example.com", 1 + r % people)),
            }),
        ),
        (
            "GET /work-items/{id}",
            clients,
            Arc::new(move |r: u64| Call {
                path: format!("/api/v1/work-items/{}", 1 + r % max_id),
                token: "agent-token",
                employee: None,
            }),
        ),
        (
            "GET /kpis (quarter, by department)",
            clients,
            kpi_target(kpis.clone()),
        ),
        ("GET /kpis (quarter, by department)", 1, kpi_target(kpis)),
    ];
    let warm = if benching { 2 } else { 0 };
    println!(
        "{items} work items, {secs} s per endpoint after {warm} s of warm-up, \
         each client pausing {} ms between calls",
        pause.as_millis()
    );
    println!("| endpoint | clients | calls | errors | p50 (ms) | p99 (ms) | max (ms) | calls/s |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, n, target) in endpoints {
        load(
            &http,
            &base,
            n,
            Duration::from_secs(warm),
            pause,
            target.clone(),
        )
        .await;
        let (mut lat, errors, wall) =
            load(&http, &base, n, Duration::from_secs(secs), pause, target).await;
        lat.sort_unstable();
        let pct = |p: usize| match lat.len() {
            0 => f64::NAN,
            len => lat[(len * p).div_ceil(100).max(1) - 1] as f64 / 1000.0,
        };
        println!(
            "| {name} | {n} | {} | {errors} | {:.1} | {:.1} | {:.1} | {:.0} |",
            lat.len(),
            pct(50),
            pct(99),
            pct(100),
            lat.len() as f64 / wall.as_secs_f64()
        );
    }
    drop(store);
    if !keep {
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("admin");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .expect("drop the bench database");
    }
}

/// One call: which path, as whom.
struct Call {
    path: String,
    token: &'static str,
    employee: Option<String>,
}

/// The call to make for a random number.
type Target = Arc<dyn Fn(u64) -> Call + Send + Sync>;

fn kpi_target(url: String) -> Target {
    let path = url.split_once("/api/").map(|(_, p)| format!("/api/{p}"));
    let path = path.expect("a KPI path");
    Arc::new(move |_| Call {
        path: path.clone(),
        token: "agent-token",
        employee: None,
    })
}

/// `clients` tasks calling for `span`: every successful call's latency in
/// µs, how many calls failed, and the wall time taken.
async fn load(
    http: &reqwest::Client,
    base: &str,
    clients: usize,
    span: Duration,
    pause: Duration,
    target: Target,
) -> (Vec<u64>, usize, Duration) {
    let started = Instant::now();
    let deadline = started + span;
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, base, target) = (http.clone(), base.to_string(), target.clone());
        tasks.push(tokio::spawn(async move {
            // xorshift: a different, repeatable sequence per client.
            let mut r: u64 = 0x9E37_79B9_7F4A_7C15 ^ (c as u64 + 1).wrapping_mul(0x2545_F491);
            let (mut lat, mut errors) = (Vec::new(), 0usize);
            // Paced clients start spread over one pause, not all at once.
            tokio::time::sleep(pause * c as u32 / clients.max(1) as u32).await;
            while Instant::now() < deadline {
                r ^= r << 13;
                r ^= r >> 7;
                r ^= r << 17;
                let call = target(r);
                let mut req = http
                    .get(format!("{base}{}", call.path))
                    .bearer_auth(call.token);
                if let Some(e) = &call.employee {
                    req = req.header(EMPLOYEE_HEADER, e);
                }
                let t = Instant::now();
                let resp = req.send().await.expect("the API answers");
                let status = resp.status();
                let body = resp.bytes().await.expect("a body");
                if !status.is_success() {
                    // Counted, not timed: a fast error is no figure. The
                    // first few are shown, as they say what went wrong.
                    if errors < 1 && c == 0 {
                        eprintln!(
                            "{} answered {status}: {}",
                            call.path,
                            String::from_utf8_lossy(&body)
                        );
                    }
                    errors += 1;
                    continue;
                }
                lat.push(t.elapsed().as_micros() as u64);
                tokio::time::sleep(pause).await;
            }
            (lat, errors)
        }));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (lat, e) = t.await.expect("client task");
        all.extend(lat);
        errors += e;
    }
    (all, errors, started.elapsed())
}

async fn serve(store: Store) -> String {
    let token = |name: &str, secret: &str, scopes: &[&str]| ApiToken {
        name: name.into(),
        token: Some(SecretRef::parse(secret)),
        sha256: None,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
    };
    let settings = ApiSettings {
        tokens: vec![
            token("agents", "agent-token", &["read", "agent", "hr"]),
            token("portal", "portal-token", &["portal"]),
        ],
        // The bench is one client per token at thousands of calls a second.
        rate_limit_per_minute: 0,
        ..ApiSettings::default()
    };
    let tokens = Tokens::from_settings(&settings).expect("tokens resolve");
    let app = router(ApiState {
        store,
        tokens: Arc::new(tokens),
        services: None,
        router: None,
        connectors: Vec::new(),
        broker: None,
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    base
}

async fn recreate(admin_url: &str) {
    let mut admin = sqlx::PgConnection::connect(admin_url)
        .await
        .expect("PostgreSQL reachable");
    for sql in [
        format!("DROP DATABASE IF EXISTS {DB} WITH (FORCE)"),
        format!("CREATE DATABASE {DB}"),
    ] {
        sqlx::query(&sql).execute(&mut admin).await.expect(&sql);
    }
}

/// How many work items a kept bench database holds, if there is one.
async fn seeded_items(url: &str) -> Option<i64> {
    let mut conn = sqlx::PgConnection::connect(url).await.ok()?;
    sqlx::query_scalar("SELECT COUNT(*) FROM work_items")
        .fetch_one(&mut conn)
        .await
        .ok()
}

async fn count(pool: &sqlx::PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .expect("count")
}
