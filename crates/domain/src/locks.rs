//! Per-key async locks: commands on the same aggregate in one process take turns instead of
//! racing to a conflict, so concurrent updates of one user all succeed. Across processes the
//! store's sequence check still decides.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

type Slot = Arc<async_lock::Mutex<()>>;

/// A set of locks keyed by aggregate id; entries disappear when nobody holds or waits for them.
#[derive(Debug, Default)]
pub(crate) struct KeyedLocks {
    slots: Mutex<HashMap<String, Slot>>,
}

/// Holds one key's lock until dropped.
pub(crate) struct KeyGuard<'a> {
    locks: &'a KeyedLocks,
    key: String,
    guard: Option<async_lock::MutexGuardArc<()>>,
}

impl KeyedLocks {
    /// Waits for the lock of `key`.
    pub(crate) async fn lock(&self, key: &str) -> KeyGuard<'_> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(slots.entry(key.to_owned()).or_default())
        };
        let guard = slot.lock_arc().await;
        KeyGuard { locks: self, key: key.to_owned(), guard: Some(guard) }
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut slots = self.locks.slots.lock().unwrap_or_else(PoisonError::into_inner);
        // Only the map itself still refers to the slot: nobody holds or awaits it.
        if slots.get(&self.key).is_some_and(|slot| Arc::strong_count(slot) == 1) {
            slots.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_are_removed_when_released() {
        let locks = KeyedLocks::default();
        {
            let _a = locks.lock("a").await;
            let _b = locks.lock("b").await;
            assert_eq!(locks.slots.lock().expect("lock").len(), 2);
        }
        assert!(locks.slots.lock().expect("lock").is_empty());
    }

    #[tokio::test]
    async fn one_key_is_held_by_one_task_at_a_time() {
        let locks = Arc::new(KeyedLocks::default());
        let inside = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (locks, inside) = (Arc::clone(&locks), Arc::clone(&inside));
            tasks.push(tokio::spawn(async move {
                let _guard = locks.lock("k").await;
                let before = inside.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                tokio::task::yield_now().await;
                inside.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                before
            }));
        }
        for task in tasks {
            assert_eq!(task.await.expect("task"), 0, "another task was inside");
        }
    }
}
