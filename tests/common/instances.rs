//! Several `switchboard run` processes on one PostgreSQL and one RabbitMQ,
//! as replicas run them, for the scale-out tests (tests/scale_out.rs) and
//! the 1-, 2- and 3-instance benchmark (benches/scale_out.rs).
//!
//! A [`Cluster`] is one project folder (connectors/, mappings/, routing)
//! with one config file per instance: the same store and broker prefix, its
//! own HTTP port, and `[connectors.*]` tables the test writes per instance
//! (so each instance can reach a simulator by its own door, see
//! [`TaggedDoors`]). Instances are started, SIGTERMed and SIGKILLed by
//! index; every child still running is killed when the cluster is dropped,
//! so a failed test leaks no process.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::bin::switchboard;

/// How long a stream lease holds without renewal in these tests (`[daemon]
/// lease_secs`, the shortest allowed): a killed instance's streams are
/// taken over within seconds, not the default 30.
pub const LEASE_SECS: Option<u64> = Some(3);

/// How long a SIGTERMed instance may drain (`[daemon] shutdown_grace_secs`).
pub const GRACE_SECS: u64 = 10;

/// The lease the instances run with.
pub fn lease() -> Duration {
    Duration::from_secs(LEASE_SECS.unwrap_or(30))
}

/// One running `switchboard run`.
pub struct Proc {
    pub child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    fn signal(&self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.pid() as i32, sig) };
        assert_eq!(rc, 0, "kill({}, {sig})", self.pid());
    }
}

/// N instances of the binary sharing a project folder, a store and a broker.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub store_url: String,
    pub prefix: String,
    /// Per instance `i`, what its config says under `[connectors.*]`.
    pub connectors: Box<dyn Fn(usize) -> String + Send>,
    /// Extra `SWITCHBOARD__…` settings for every instance.
    pub env: Vec<(String, String)>,
    pub procs: BTreeMap<usize, Proc>,
    /// Instances started so far, whatever became of them.
    pub started: usize,
}

impl Cluster {
    /// A cluster on `store_url` with broker `prefix`; the project folder
    /// is filled by the caller (`dir`).
    pub fn new(
        dir: tempfile::TempDir,
        store_url: &str,
        prefix: &str,
        connectors: impl Fn(usize) -> String + Send + 'static,
    ) -> Self {
        let mut env = vec![(
            "SWITCHBOARD__DAEMON__SHUTDOWN_GRACE_SECS".to_string(),
            GRACE_SECS.to_string(),
        )];
        if let Some(secs) = LEASE_SECS {
            env.push(("SWITCHBOARD__DAEMON__LEASE_SECS".into(), secs.to_string()));
        }
        Cluster {
            dir,
            store_url: store_url.into(),
            prefix: prefix.into(),
            connectors: Box::new(connectors),
            env,
            procs: BTreeMap::new(),
            started: 0,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Start instance `i` (a new process; `i` may be one that was stopped).
    pub fn start(&mut self, i: usize) {
        assert!(!self.procs.contains_key(&i), "instance {i} runs already");
        let port = free_port();
        let config = self.path().join(format!("instance-{i}.toml"));
        let text = format!(
            "version = 1\n\n[store]\nurl = \"{}\"\nmax_connections = 8\n\n[broker]\nurl = \"{}\"\nprefix = \"{}\"\n\n\
             [http]\nlisten = \"127.0.0.1:{port}\"\n\n{}",
            self.store_url,
            super::broker::amqp_url(),
            self.prefix,
            (self.connectors)(i)
        );
        std::fs::write(&config, text).unwrap();
        self.started += 1;
        let log = self
            .path()
            .join(format!("instance-{i}-{}.log", self.started));
        let child = switchboard(self.path(), &["--config", config.to_str().unwrap(), "run"])
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(File::create(&log).unwrap()))
            .spawn()
            .expect("switchboard starts");
        self.procs.insert(i, Proc { child, port, log });
    }

    pub fn start_all(&mut self, n: usize) {
        for i in 0..n {
            self.start(i);
        }
    }

    pub fn proc(&self, i: usize) -> &Proc {
        self.procs
            .get(&i)
            .unwrap_or_else(|| panic!("no instance {i}"))
    }

    /// SIGKILL instance `i`: no drain, its leases expire.
    pub fn kill(&mut self, i: usize) {
        let mut p = self.procs.remove(&i).expect("instance to kill");
        p.signal(libc::SIGKILL);
        let _ = p.child.wait();
    }

    /// SIGTERM instance `i` and wait for it to end within `grace`; its
    /// exit status.
    pub async fn terminate(&mut self, i: usize, grace: Duration) -> std::process::ExitStatus {
        let mut p = self.procs.remove(&i).expect("instance to stop");
        p.signal(libc::SIGTERM);
        let deadline = Instant::now() + grace;
        loop {
            if let Some(status) = p.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = p.child.kill();
                panic!(
                    "instance {i} did not stop within {grace:?} of SIGTERM:\n{}",
                    tail(&p.log)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until instance `i` answers `/readyz` with 200.
    pub async fn ready(&mut self, i: usize, within: Duration) {
        let url = format!("http://127.0.0.1:{}/readyz", self.proc(i).port);
        let client = reqwest::Client::new();
        let deadline = Instant::now() + within;
        loop {
            self.alive();
            let ok = client
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "instance {i} not ready within {within:?}:\n{}",
                tail(&self.proc(i).log)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every instance that should run still does: a crash fails the test
    /// with its log.
    pub fn alive(&mut self) {
        for (i, p) in self.procs.iter_mut() {
            if let Some(status) = p.child.try_wait().unwrap() {
                panic!("instance {i} exited ({status}):\n{}", tail(&p.log));
            }
        }
    }

    /// Peak RSS (KiB) of each running instance, by index.
    pub fn peak_rss_kib(&self) -> BTreeMap<usize, u64> {
        self.procs
            .iter()
            .filter_map(|(i, p)| p.peak_rss_kib().map(|k| (*i, k)))
            .collect()
    }

    /// The logs of every instance started, for a failure message.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        let mut entries: Vec<_> = std::fs::read_dir(self.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "log"))
            .collect();
        entries.sort();
        for p in entries {
            out.push_str(&format!("== {}\n{}\n", p.display(), tail(&p)));
        }
        out
    }

    /// Start `n` instances, wait for each to be ready and for ServiceNow's
    /// incident list to finish its baseline run: what the source gets
    /// after that is routed.
    pub async fn start_routing(
        &mut self,
        n: usize,
        store: &switchboard::store::Store,
        within: Duration,
    ) {
        self.start_all(n);
        for i in 0..n {
            self.ready(i, within).await;
        }
        self.wait_for("ServiceNow's baseline", within, || async {
            store
                .baseline_done("servicenow", "incident")
                .await
                .unwrap_or(false)
        })
        .await;
    }

    /// Poll `check` until it holds, failing with `what` after `within`;
    /// every instance must stay up meanwhile.
    pub async fn wait_for<F, Fut>(&mut self, what: &str, within: Duration, check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        if !self.wait_until(within, check).await {
            panic!("{what}: not within {within:?}\n{}", self.logs());
        }
    }

    /// As [`Cluster::wait_for`], `false` when `check` does not hold in time.
    pub async fn wait_until<F, Fut>(&mut self, within: Duration, mut check: F) -> bool
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let deadline = Instant::now() + within;
        loop {
            self.alive();
            if check().await {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for p in self.procs.values_mut() {
            let _ = p.child.kill();
            let _ = p.child.wait();
        }
    }
}

/// The first 20 and the last 40 lines of a log.
pub fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= 60 {
        return text;
    }
    let (head, rest) = (&lines[..20], &lines[lines.len() - 40..]);
    format!("{}\n…\n{}", head.join("\n"), rest.join("\n"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One request a simulator answered through a [`TaggedDoors`] door.
#[derive(Debug, Clone)]
pub struct Fetch {
    /// The instance whose door it came through.
    pub instance: usize,
    /// The connector (system) it was for: the first path segment.
    pub system: String,
    /// `sysparm_offset`: 0 starts a run.
    pub offset: Option<u64>,
    pub started: Instant,
    pub ended: Instant,
}

/// A simulator's router served once per instance, under one path prefix
/// per connector (`/<system>/api/…`), logging which instance asked for
/// which page and when: the simulators' own logs cannot tell instances
/// apart.
pub struct TaggedDoors {
    /// Per instance, the base URL of its door (append `/<system>`).
    pub bases: Vec<String>,
    pub log: Arc<Mutex<Vec<Fetch>>>,
}

impl TaggedDoors {
    pub async fn serve(
        instances: usize,
        systems: &[String],
        sim: impl Fn() -> axum::Router,
    ) -> Self {
        let log: Arc<Mutex<Vec<Fetch>>> = Arc::default();
        let mut bases = Vec::new();
        for instance in 0..instances {
            let mut app = axum::Router::new();
            for system in systems {
                let (log, system_name) = (log.clone(), system.clone());
                let tagged = sim().layer(axum::middleware::from_fn(
                    move |req: axum::extract::Request, next: axum::middleware::Next| {
                        let (log, system) = (log.clone(), system_name.clone());
                        async move {
                            let offset = req.uri().query().and_then(|q| {
                                url::form_urlencoded::parse(q.as_bytes())
                                    .find(|(k, _)| k == "sysparm_offset")
                                    .and_then(|(_, v)| v.parse().ok())
                            });
                            let started = Instant::now();
                            let response = next.run(req).await;
                            log.lock().unwrap().push(Fetch {
                                instance,
                                system,
                                offset,
                                started,
                                ended: Instant::now(),
                            });
                            response
                        }
                    },
                ));
                app = app.nest(&format!("/{system}"), tagged);
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            bases.push(format!("http://{}", listener.local_addr().unwrap()));
            tokio::spawn(async move { axum::serve(listener, app).await });
        }
        TaggedDoors { bases, log }
    }

    pub fn fetches(&self) -> Vec<Fetch> {
        self.log.lock().unwrap().clone()
    }
}

/// A stream's runs as one instance's consecutive fetches, a fetch of
/// offset 0 starting the next: `(instance, first fetch's start, last
/// fetch's end)` for each run, by system.
pub fn runs(fetches: &[Fetch]) -> BTreeMap<String, Vec<(usize, Instant, Instant)>> {
    let mut sorted = fetches.to_vec();
    sorted.sort_by_key(|f| f.started);
    let mut out: BTreeMap<String, Vec<(usize, Instant, Instant)>> = BTreeMap::new();
    // Per (system, instance), the run in progress (an index into out[system]).
    let mut open: BTreeMap<(String, usize), usize> = BTreeMap::new();
    for f in sorted {
        let runs = out.entry(f.system.clone()).or_default();
        let key = (f.system.clone(), f.instance);
        match open.get(&key) {
            Some(&at) if f.offset != Some(0) => runs[at].2 = runs[at].2.max(f.ended),
            _ => {
                open.insert(key, runs.len());
                runs.push((f.instance, f.started, f.ended));
            }
        }
    }
    out
}
