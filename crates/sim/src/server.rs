//! Serving a simulator on loopback: one handle type for every vendor.

use std::net::SocketAddr;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A simulator serving on a local port; dropping it (or `shutdown`) stops
/// the server. `sim` is the simulator's handle, to inspect or change its
/// state while it serves.
pub struct SimHandle<S> {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`
    pub base_url: String,
    pub sim: S,
    /// Kept to serve again after [`SimHandle::go_down`].
    app: axum::Router,
    name: &'static str,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl<S> SimHandle<S> {
    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        self.go_down().await;
    }

    /// An outage: the server stops and its port refuses connections, as a
    /// vendor system down for maintenance does, until [`SimHandle::come_back`].
    /// Its state is kept.
    pub async fn go_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// The end of an outage: serve again, on the same port, with the state
    /// the simulator had. Does nothing while it is up.
    pub async fn come_back(&mut self) -> std::io::Result<()> {
        if self.task.is_some() {
            return Ok(());
        }
        let listener = tokio::net::TcpListener::bind(self.addr).await?;
        let (tx, task) = spawn_server(listener, self.app.clone(), self.name);
        self.shutdown = Some(tx);
        self.task = Some(task);
        Ok(())
    }
}

impl<S> Drop for SimHandle<S> {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serve `app` on 127.0.0.1:0 in a background task until the handle goes.
pub async fn serve<S>(
    sim: S,
    app: axum::Router,
    name: &'static str,
) -> std::io::Result<SimHandle<S>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (tx, task) = spawn_server(listener, app.clone(), name);
    Ok(SimHandle {
        addr,
        base_url: format!("http://{addr}"),
        sim,
        app,
        name,
        shutdown: Some(tx),
        task: Some(task),
    })
}

fn spawn_server(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    name: &'static str,
) -> (oneshot::Sender<()>, JoinHandle<()>) {
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(e) = server.await {
            tracing::warn!(error = %e, simulator = name, "simulator stopped with an error");
        }
    });
    (tx, task)
}
