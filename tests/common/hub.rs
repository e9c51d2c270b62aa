//! The hub as `switchboard run` builds it from the shipped files, pointed
//! at the simulated estate, for end-to-end tests.

use switchboard::catalog::{Catalog, ConnectorJobs};
use switchboard::config::{LoadedConfig, Settings};
use switchboard::sim::estate::Estate;
use switchboard::store::Store;
use switchboard::writer::Writers;
use switchboard::writer::local::{LocalOptions, LocalReport, deliver_once};
use tokio_util::sync::CancellationToken;

use super::{Backend, TestStore};

/// The hub as `switchboard run` builds it, pointed at the simulators.
pub struct Hub {
    pub estate: Estate,
    pub ts: TestStore,
    pub connectors: Vec<ConnectorJobs>,
    pub writers: Writers,
}

impl Hub {
    pub async fn start(backend: Backend) -> Self {
        Self::start_with(backend, None, None).await
    }

    /// With `routing` (a routing.toml file) and `connectors` (a folder of
    /// manifests) in place of the shipped ones.
    pub async fn start_with(
        backend: Backend,
        routing: Option<std::path::PathBuf>,
        connectors: Option<std::path::PathBuf>,
    ) -> Self {
        let estate = Estate::spawn(12).await.expect("simulators start");
        let mut settings = Settings::default();
        switchboard::cli::estate::configure(&estate, &mut settings, None);
        if let Some(r) = routing {
            settings.paths.routing = r;
        }
        if let Some(c) = connectors {
            settings.paths.connectors = c;
        }
        let cfg = LoadedConfig {
            settings,
            file: None,
            base_dir: super::repo(),
        };
        let catalog = Catalog::load(&cfg).unwrap_or_else(|d| panic!("shipped files load: {d}"));
        assert!(catalog.routing.is_some(), "routing.toml is shipped");
        let ts = TestStore::new(backend).await;
        let connectors = catalog.jobs().expect("connectors build");
        let writers = catalog.writers(&ts.store, &connectors);
        Hub {
            estate,
            ts,
            connectors,
            writers,
        }
    }

    pub fn store(&self) -> &Store {
        &self.ts.store
    }

    /// One poll of every stream of `system`.
    pub async fn sync(&self, system: &str) {
        let c = self
            .connectors
            .iter()
            .find(|c| c.system == system)
            .unwrap_or_else(|| panic!("no connector {system}"));
        let never = CancellationToken::new();
        for (stream, result) in
            switchboard::daemon::sync_connector(self.store(), c, &never, &|_, _| {}).await
        {
            result.unwrap_or_else(|e| panic!("{system}/{stream} syncs: {e}"));
        }
    }

    /// Deliver everything the outbox holds now (no retry waits).
    pub async fn deliver(&self) -> LocalReport {
        let options = LocalOptions::default();
        let mut total = LocalReport::default();
        loop {
            let r = deliver_once(self.store(), &self.writers, &options)
                .await
                .expect("delivery reads the store");
            if r.claimed == 0 {
                return total;
            }
            total.claimed += r.claimed;
            total.applied += r.applied;
            total.retried += r.retried;
            total.dead += r.dead;
        }
    }

    pub async fn outbox_total(&self) -> i64 {
        scalar(self.store(), "SELECT COUNT(*) FROM outbox").await
    }
}

pub async fn scalar(store: &Store, sql: &str) -> i64 {
    match store {
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Store::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

pub async fn texts(store: &Store, sql: &str) -> Vec<String> {
    match store {
        Store::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
        Store::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
    }
}

pub async fn execute(store: &Store, sql: &str) {
    match store {
        Store::Postgres(p) => sqlx::query(sql).execute(p).await.map(|_| ()).unwrap(),
        Store::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|_| ()).unwrap(),
    }
}

/// A shipped folder copied to `dir`, each file passed through `edit`.
pub fn copy_edited(
    from: &str,
    dir: &std::path::Path,
    edit: impl Fn(&str, String) -> String,
) -> std::path::PathBuf {
    let to = dir.join(from);
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(super::repo().join(from)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(to.join(&name), edit(&name, text)).unwrap();
    }
    to
}
