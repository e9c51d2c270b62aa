//! A TCP proxy a test can cut: every connection through it is closed at
//! once, as a load balancer's reset or a network partition would, while
//! new connections are still accepted. Closer to a real outage than
//! closing the client's socket from inside, and precise in time, which
//! `rabbitmqctl close_connection` (a second to start) is not.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct CutProxy {
    pub addr: SocketAddr,
    cuts: Arc<watch::Sender<usize>>,
    accepted: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl CutProxy {
    /// Listen on a free loopback port and forward each connection to
    /// `upstream` (host:port).
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cuts = Arc::new(watch::channel(0usize).0);
        let accepted = Arc::new(AtomicUsize::new(0));
        let upstream = upstream.to_string();
        let (tx, count) = (cuts.clone(), accepted.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let mut cut = tx.subscribe();
                cut.mark_unchanged();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                    // Both sockets drop here: each side sees the other close.
                });
            }
        });
        Self {
            addr,
            cuts,
            accepted,
            task,
        }
    }

    /// Close every connection open through the proxy now.
    pub fn cut(&self) {
        self.cuts.send_modify(|n| *n += 1);
    }

    /// How many connections the proxy has accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}
