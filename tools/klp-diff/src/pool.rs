//! Work spread over a fixed number of threads, in the manner of gimli's
//! `dwarfdump` `parallel_output`: items are claimed in index order, and what
//! comes out does not depend on the number of threads or on which thread did
//! which item.

use std::{
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    thread,
};

/// Runs `work(acc, i)` for every `i` in `0..n` on up to `threads` threads,
/// each folding into its own accumulator from `init`; returns the
/// accumulators. The caller must merge them with an operation for which the
/// order does not matter (set union, minimum, a sort afterwards).
///
/// On errors, returns the one of the lowest index: items are claimed in
/// increasing order and every claimed item finishes, so that error is the same
/// whatever the thread count.
pub(crate) fn fold<A, E, I, W>(threads: usize, n: usize, init: I, work: W) -> Result<Vec<A>, E>
where
    A: Send,
    E: Send,
    I: Fn() -> A + Sync,
    W: Fn(&mut A, usize) -> Result<(), E> + Sync,
{
    let threads = threads.clamp(1, n.max(1));
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let run = || {
        let mut acc = init();
        let mut error: Option<(usize, E)> = None;
        while !failed.load(Ordering::Relaxed) {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                break;
            }
            if let Err(e) = work(&mut acc, i) {
                failed.store(true, Ordering::Relaxed);
                error = Some((i, e));
                break;
            }
        }
        (acc, error)
    };
    let results: Vec<(A, Option<(usize, E)>)> = if threads == 1 {
        vec![run()]
    } else {
        thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(run)).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        })
    };
    let mut accs = Vec::with_capacity(results.len());
    let mut first_error: Option<(usize, E)> = None;
    for (acc, error) in results {
        accs.push(acc);
        if let Some((i, e)) = error {
            if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                first_error = Some((i, e));
            }
        }
    }
    match first_error {
        Some((_, e)) => Err(e),
        None => Ok(accs),
    }
}

/// `work(i)` for every `i` in `0..n`, results in index order.
pub(crate) fn map<T, E, W>(threads: usize, n: usize, work: W) -> Result<Vec<T>, E>
where
    T: Send,
    E: Send,
    W: Fn(usize) -> Result<T, E> + Sync,
{
    let accs = fold(threads, n, Vec::new, |acc: &mut Vec<(usize, T)>, i| {
        acc.push((i, work(i)?));
        Ok(())
    })?;
    let mut all: Vec<(usize, T)> = accs.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, t)| t).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_and_errors_do_not_depend_on_the_thread_count() {
        for threads in 1..=4 {
            let squares = super::map(threads, 100, |i| Ok::<_, ()>(i * i)).unwrap();
            assert_eq!(squares, (0..100).map(|i| i * i).collect::<Vec<_>>());
            let err = super::map(threads, 100, |i| if i % 7 == 3 { Err(i) } else { Ok(i) });
            assert_eq!(err, Err(3));
        }
    }
}
