//! The test controls every simulator shares, written once: the handle type
//! [`Sim`] (clones share one state behind a mutex), and in each simulator's
//! state a [`Controls`] holding the clock, the queue of injected faults, the
//! request log, the latency and the hooks run after the `n`th list request.
//! A simulator keeps only what is its own: its data, its `Fault` and
//! `RequestLog` types, what counts as a list request, and how a fault answers.
//!
//! A simulator whose API is plain HTTP implements [`HttpSim`] (answer one
//! request, log one request) and gets its router, its server and its
//! handler from here; the JSON-RPC ones keep their own handler.
//!
//! Every simulator's handler goes through [`Sim::answer`], so the order of
//! what happens around a request is the same for all of them: its answer is
//! computed, logged and counted under the state lock, then the latency is
//! waited out and the due hooks run with the lock released (hooks usually
//! change data, so they take the lock themselves). It must not know any
//! vendor's wire format.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use chrono::{DateTime, Utc};

use super::request::{Req, query_params};
use super::server::{SimHandle, serve};

/// A test hook: runs once with the simulator's handle.
pub type Hook<S> = Box<dyn FnOnce(&S) + Send>;

/// The controls' state, a field of each simulator's state so that it is
/// read and changed under the same lock as the data.
pub struct Controls<F, L, S> {
    /// A frozen clock; `None` is the real clock.
    clock: Option<DateTime<Utc>>,
    /// Answered, one each, by the next requests that reach the point where
    /// the simulator checks for faults (usually after authentication).
    faults: VecDeque<F>,
    /// Every request, in arrival order, as the simulator logs it.
    log: Vec<L>,
    /// List requests served so far, to find the hooks due.
    list_requests: usize,
    /// Hooks by the (1-based) list request after which they run.
    hooks: Vec<(usize, Hook<S>)>,
    /// Waited out before every response is sent.
    latency: Duration,
}

impl<F, L, S> Controls<F, L, S> {
    pub(crate) fn new(clock: Option<DateTime<Utc>>) -> Self {
        Controls {
            clock,
            faults: VecDeque::new(),
            log: Vec::new(),
            list_requests: 0,
            hooks: Vec::new(),
            latency: Duration::ZERO,
        }
    }

    /// The frozen clock, if any; each simulator rounds it as its vendor does.
    pub(crate) fn clock(&self) -> Option<DateTime<Utc>> {
        self.clock
    }

    /// The next injected fault, taken off the queue.
    pub(crate) fn take_fault(&mut self) -> Option<F> {
        self.faults.pop_front()
    }

    /// Logs one answered request; counts it when it was a served list
    /// request, and takes out the hooks due after it.
    fn record(&mut self, entry: L, list_served: bool) -> Vec<Hook<S>> {
        self.log.push(entry);
        if !list_served {
            return Vec::new();
        }
        self.list_requests += 1;
        let n = self.list_requests;
        let (due, later) = std::mem::take(&mut self.hooks)
            .into_iter()
            .partition(|(at, _)| *at == n);
        self.hooks = later;
        due.into_iter().map(|(_, hook)| hook).collect()
    }
}

/// What a simulator's state gives [`Sim`] to control it.
pub trait HasControls: Sized {
    /// The simulator's injectable failure.
    type Fault: Clone;
    /// One request as the simulator logs it.
    type Log: Clone;
    fn controls(&mut self) -> &mut Controls<Self::Fault, Self::Log, Sim<Self>>;
}

/// A handle on one simulator's state; clones share it. Each simulator names
/// it (`JiraSim = Sim<jira::State>`) and adds its own methods.
pub struct Sim<St> {
    state: Arc<Mutex<St>>,
}

impl<St> Clone for Sim<St> {
    fn clone(&self) -> Self {
        Sim {
            state: Arc::clone(&self.state),
        }
    }
}

impl<St> Sim<St> {
    pub(crate) fn from_state(state: St) -> Self {
        Sim {
            state: Arc::new(Mutex::new(state)),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, St> {
        // A panicking test hook must not wedge every later request.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<St: HasControls> Sim<St> {
    /// The next `times` requests that reach the simulator's fault check
    /// answer with `fault` (queued behind any faults injected earlier).
    pub fn inject(&self, fault: St::Fault, times: usize) {
        let mut st = self.lock();
        st.controls()
            .faults
            .extend(std::iter::repeat_n(fault, times));
    }

    /// Delays every response, as a slow or distant server would.
    pub fn set_latency(&self, latency: Duration) {
        self.lock().controls().latency = latency;
    }

    /// Every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<St::Log> {
        self.lock().controls().log.clone()
    }

    /// Runs `hook` once, right after the `n`-th (1-based) served list
    /// request and before its response is sent, without the state lock
    /// held, so it may change data. Which requests are list requests is the
    /// simulator's to say (its module documents it).
    pub fn after_list_request(&self, n: usize, hook: Hook<Sim<St>>) {
        self.lock().controls().hooks.push((n, hook));
    }

    /// Freezes the simulator clock at `now`.
    pub fn set_now(&self, now: DateTime<Utc>) {
        self.lock().controls().clock = Some(now);
    }

    /// Returns the simulator to the real clock.
    pub fn clear_now(&self) {
        self.lock().controls().clock = None;
    }

    /// Answers one request: `process` computes the response, its log entry
    /// and whether it was a served list request, under the state lock; then
    /// the latency is waited out and the due hooks run, lock released.
    pub(crate) async fn answer(
        &self,
        process: impl FnOnce(&mut St) -> (Response, St::Log, bool),
    ) -> Response {
        let (response, due, latency) = {
            let mut st = self.lock();
            let (response, entry, list_served) = process(&mut st);
            let controls = st.controls();
            let due = controls.record(entry, list_served);
            (response, due, controls.latency)
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        for hook in due {
            hook(self);
        }
        response
    }
}

/// A simulator whose whole API is plain HTTP answered by one fallback
/// handler (routing by hand, so every path, unknown ones too, gets an
/// answer shaped like the vendor's). JSON-RPC simulators log what they
/// parse from the envelope and keep their own handler.
pub(crate) trait HttpSim: HasControls + Send + 'static {
    /// The simulator's name in its server's log lines.
    const NAME: &'static str;
    /// Answers one request; true when it was a served list request.
    fn process(&mut self, req: &Req) -> (Response, bool);
    /// The log entry of `req`, answered with `status`.
    fn log_entry(req: &Req, status: u16) -> Self::Log;
}

// `HttpSim` stays crate-private (it speaks `Req`); every HTTP simulator's
// handle has these methods, which is all a caller needs to know.
#[allow(private_bounds)]
impl<St: HttpSim> Sim<St> {
    /// The simulated API as an axum router, for embedding in another server.
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .fallback(handle::<St>)
            .with_state(self.clone())
    }

    /// Serves this (possibly pre-populated) simulator on 127.0.0.1:0 until
    /// the handle is dropped or shut down.
    pub async fn serve(&self) -> std::io::Result<SimHandle<Sim<St>>> {
        serve(self.clone(), self.router(), St::NAME).await
    }
}

async fn handle<St: HttpSim>(
    AxumState(sim): AxumState<Sim<St>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let params = query_params(&uri);
    let req = Req {
        method: &method,
        uri: &uri,
        headers: &headers,
        params: &params,
        body: &body,
    };
    sim.answer(|st| {
        let (response, list_served) = st.process(&req);
        let entry = St::log_entry(&req, response.status().as_u16());
        (response, entry, list_served)
    })
    .await
}
