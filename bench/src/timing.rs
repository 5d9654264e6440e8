//! A small calibrated timing loop (a benchmark program, not a test harness).
//!
//! Each measurement: run the operation for [`WARM_UP`] to warm caches and branch
//! predictors and to estimate its cost; pick a batch size so that one batch takes about
//! [`BATCH`]; time [`SAMPLES`] batches with `Instant`; report the median batch time
//! divided by the batch size (and the fastest, for reference).

use std::hint::black_box;
use std::time::{Duration, Instant};

/// Warm-up time per measurement.
pub const WARM_UP: Duration = Duration::from_millis(30);
/// Target time of one timed batch.
pub const BATCH: Duration = Duration::from_millis(4);
/// Timed batches per measurement.
pub const SAMPLES: usize = 15;

/// Nanoseconds per operation of one measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timing {
    /// Median over the batches.
    pub median_ns: f64,
    /// Fastest batch.
    pub min_ns: f64,
    /// Operations per batch.
    pub iters: u64,
}

/// Measures `op`, whose result is passed through `black_box`.
pub fn measure<T>(mut op: impl FnMut() -> T) -> Timing {
    let start = Instant::now();
    let mut warm: u64 = 0;
    while start.elapsed() < WARM_UP {
        for _ in 0..16 {
            black_box(op());
        }
        warm += 16;
    }
    let per_op = start.elapsed().as_nanos() as f64 / warm as f64;
    let iters = ((BATCH.as_nanos() as f64 / per_op.max(0.1)) as u64).max(1);
    let mut samples: Vec<f64> = (0..SAMPLES)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..iters {
                black_box(op());
            }
            t.elapsed().as_nanos() as f64 / iters as f64
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    Timing {
        median_ns: samples[SAMPLES / 2],
        min_ns: samples[0],
        iters,
    }
}

/// Times `run` (one whole workload of `n` operations) `runs` times; returns the median
/// and fastest nanoseconds per operation. For workloads too large to batch.
pub fn measure_runs(runs: usize, n: u64, mut run: impl FnMut() -> Duration) -> Timing {
    black_box(run()); // warm-up
    let mut samples: Vec<f64> = (0..runs.max(1))
        .map(|_| run().as_nanos() as f64 / n as f64)
        .collect();
    samples.sort_by(f64::total_cmp);
    Timing {
        median_ns: samples[samples.len() / 2],
        min_ns: samples[0],
        iters: n,
    }
}
