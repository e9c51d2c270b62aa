//! What `/readyz` asks before it says "ready": the store, the broker when
//! there is one, and whether this instance is draining (a load balancer
//! must stop sending it webhooks while it stops).
//!
//! A probe comes every few seconds from each kubelet or load balancer, so
//! the broker's answer is kept for a few seconds rather than opening an AMQP
//! connection per probe.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::config::Secret;
use crate::store::Store;

/// How long one broker answer stands for the next probes.
const BROKER_ANSWER_KEPT: Duration = Duration::from_secs(5);
/// A broker that takes longer than this to accept a connection is not
/// ready; the probe itself must answer within the orchestrator's timeout.
const BROKER_TIMEOUT: Duration = Duration::from_millis(1500);

/// The checks behind `/readyz`.
#[derive(Clone, Default)]
pub struct Readiness {
    broker: Option<Arc<BrokerProbe>>,
    /// Cancelled when the instance starts to stop.
    draining: CancellationToken,
}

struct BrokerProbe {
    url: Secret,
    last: Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Readiness {
    /// Ask the broker at `url` too; `draining` fires at SIGTERM.
    pub fn new(broker: Option<Secret>, draining: CancellationToken) -> Self {
        Self {
            broker: broker.map(|url| {
                Arc::new(BrokerProbe {
                    url,
                    last: Mutex::new(None),
                })
            }),
            draining,
        }
    }

    /// `Ok` when ready, or why not, in words for the on-call engineer.
    pub async fn check(&self, store: &Store) -> Result<(), String> {
        if self.draining.is_cancelled() {
            return Err("draining: this instance is stopping".into());
        }
        match store.ready().await {
            Ok(true) => {}
            Ok(false) => return Err("store reachable, migrations not applied".into()),
            Err(e) => return Err(format!("store unreachable: {e}")),
        }
        match &self.broker {
            Some(b) => b.check().await,
            None => Ok(()),
        }
    }
}

impl BrokerProbe {
    async fn check(&self) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = &*last
            && at.elapsed() < BROKER_ANSWER_KEPT
        {
            return answer.clone();
        }
        let ping = crate::transport::amqp::ping(self.url.expose());
        let answer = match tokio::time::timeout(BROKER_TIMEOUT, ping).await {
            Ok(Ok(())) => Ok(()),
            // lapin's error names no credentials: the URL is never printed.
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!(
                "cannot reach the broker: no answer within {} ms",
                BROKER_TIMEOUT.as_millis()
            )),
        };
        *last = Some((Instant::now(), answer.clone()));
        answer
    }
}
