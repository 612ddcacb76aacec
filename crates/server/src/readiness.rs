//! Readiness: the database is reachable and migrated, and the server is not shutting down.
//!
//! `GET /ready` checks on demand; a background task checks every second and sets the gRPC
//! health service (`grpc.health.v1.Health`) to `SERVING` or `NOT_SERVING` accordingly, so both
//! probes say the same.

use persona_api_grpc::HealthSwitch;
use persona_domain::Service;
use persona_domain::ports::Store;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How often the background task checks the database.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// How long one check may take before the database counts as unreachable.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// The last known readiness, shared by `/ready`, `/metrics` and the monitor.
#[derive(Debug, Default)]
pub struct Readiness {
    ready: AtomicBool,
    stopping: AtomicBool,
}

impl Readiness {
    /// Whether the last check passed and the server is not stopping.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && !self.is_stopping()
    }

    /// Whether shutdown has begun.
    #[must_use]
    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Marks the server as shutting down: not ready from now on.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    /// Checks the database now and remembers the result.
    pub async fn check<S: Store>(&self, service: &Service<S>) -> bool {
        let outcome = tokio::time::timeout(CHECK_TIMEOUT, service.ready()).await;
        let reachable = matches!(outcome, Ok(Ok(())));
        let was = self.ready.swap(reachable, Ordering::AcqRel);
        if was != reachable {
            if reachable {
                tracing::info!("the database is reachable: ready");
            } else {
                let cause = match &outcome {
                    Ok(Err(error)) => error.cause().unwrap_or_default().to_owned(),
                    _ => "no answer in time".to_owned(),
                };
                tracing::warn!(%cause, "the database is not reachable or not migrated: not ready");
            }
        }
        reachable && !self.is_stopping()
    }
}

/// Checks every [`CHECK_INTERVAL`] until `stop` turns true, and keeps the gRPC health
/// service in step.
pub fn spawn_monitor<S: Store>(
    service: Service<S>,
    readiness: Arc<Readiness>,
    health: HealthSwitch,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(CHECK_INTERVAL);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut serving = None;
        loop {
            tokio::select! {
                _ = interval.tick() => {}
                changed = stop.changed() => if changed.is_err() {
                    health.set_serving(false).await;
                    return;
                }
            }
            let now = if *stop.borrow() { false } else { readiness.check(&service).await };
            if serving != Some(now) {
                health.set_serving(now).await;
                serving = Some(now);
            }
            if *stop.borrow() {
                return;
            }
        }
    })
}
