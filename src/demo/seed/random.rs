//! Randomness for the generator: one ChaCha8 stream per table group, derived from the
//! seed, so each group's output is independent of the order groups run in and of how
//! many values other groups draw. Also the small sampling helpers every group uses.

use chrono::{DateTime, TimeDelta, Utc};
use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// The generator's random source.
pub(super) type Rng = ChaCha8Rng;

/// A timestamp.
pub(super) type Ts = DateTime<Utc>;

/// The ChaCha8 stream `stream` of `seed` (each table group uses its own stream).
pub(super) fn stream(seed: u64, stream: u64) -> Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// A version-4 UUID drawn from the generator (never from the OS).
pub(super) fn uuid(rng: &mut Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `len` random ASCII letters and digits (Stripe-style id bodies, tokens).
pub(super) fn alnum(rng: &mut Rng, len: usize) -> String {
    (0..len).map(|_| char::from(ALNUM[rng.random_range(0..ALNUM.len())])).collect()
}

/// Appends `len` random letters and digits to `out`.
pub(super) fn push_alnum(rng: &mut Rng, out: &mut String, len: usize) {
    for _ in 0..len {
        out.push(char::from(ALNUM[rng.random_range(0..ALNUM.len())]));
    }
}

/// True with probability `p`.
pub(super) fn chance(rng: &mut Rng, p: f64) -> bool {
    rng.random::<f64>() < p
}

/// A uniformly chosen element of a non-empty list.
pub(super) fn pick<'a, T>(rng: &mut Rng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

/// A uniformly chosen word of a non-empty word list.
pub(super) fn word(rng: &mut Rng, words: &[&'static str]) -> &'static str {
    words[rng.random_range(0..words.len())]
}

/// An element chosen with integer weights (the list must not be empty or all-zero).
pub(super) fn weighted<T: Copy>(rng: &mut Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for &(item, w) in items {
        if roll < w {
            return item;
        }
        roll -= w;
    }
    items[items.len() - 1].0
}

/// A uniform integer in `lo..=hi` (returns `lo` when the range is empty).
pub(super) fn between(rng: &mut Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..=hi)
    }
}

/// A uniform real in `lo..hi`.
pub(super) fn real(rng: &mut Rng, lo: f64, hi: f64) -> f64 {
    if hi <= lo {
        lo
    } else {
        rng.random_range(lo..hi)
    }
}

/// A uniform instant in `[a, b]` with whole-second resolution (`a` when `b <= a`).
pub(super) fn time_between(rng: &mut Rng, a: Ts, b: Ts) -> Ts {
    let span = (b - a).num_seconds();
    if span <= 0 {
        a
    } else {
        a + TimeDelta::seconds(rng.random_range(0..=span))
    }
}

/// Whole days.
pub(super) fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

/// Whole hours.
pub(super) fn hours(n: i64) -> TimeDelta {
    TimeDelta::hours(n)
}

/// Whole minutes.
pub(super) fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

/// Whole seconds.
pub(super) fn seconds(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

/// Splits `total` into integer parts proportional to `weights` (largest remainder), so
/// the parts add up to exactly `total`. All-zero weights give all-zero parts.
pub(super) fn allocate(total: u64, weights: &[f64]) -> Vec<u64> {
    let sum: f64 = weights.iter().filter(|w| w.is_finite() && **w > 0.0).sum();
    if sum <= 0.0 || weights.is_empty() {
        return vec![0; weights.len()];
    }
    let mut parts = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    let mut given = 0u64;
    for (i, w) in weights.iter().enumerate() {
        let w = if w.is_finite() && *w > 0.0 { *w } else { 0.0 };
        let exact = total as f64 * w / sum;
        let floor = exact.floor() as u64;
        parts.push(floor);
        given += floor;
        if w > 0.0 {
            rems.push((exact - floor as f64, i));
        }
    }
    // Largest remainders first; ties broken by index so the result is deterministic.
    rems.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = total.saturating_sub(given);
    let mut k = 0;
    while left > 0 && !rems.is_empty() {
        parts[rems[k % rems.len()].1] += 1;
        left -= 1;
        k += 1;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocate_is_exact() {
        let parts = allocate(1000, &[1.0, 2.0, 0.0, 3.3]);
        assert_eq!(parts.iter().sum::<u64>(), 1000);
        assert_eq!(parts[2], 0);
        assert_eq!(allocate(5, &[0.0, 0.0]), vec![0, 0]);
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a = uuid(&mut stream(7, 1));
        assert_eq!(a, uuid(&mut stream(7, 1)));
        assert_ne!(a, uuid(&mut stream(7, 2)));
        assert_eq!(a.get_version_num(), 4);
    }
}
