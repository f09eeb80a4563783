//! Seeds and the one random-number generator of bayeslab.
//!
//! Every random stream in an experiment is a [`Rng`] seeded by [`derive_seed`] from the
//! experiment's master seed and a list of labels that say what the stream is for
//! (`["quickstart", "adam", "v0", "seed2", "split0", "init"]`). Nothing reads global state, so a run
//! draws the same numbers whatever order or thread it runs in.

use rand::SeedableRng;

/// The one RNG type: ChaCha with 8 rounds, a named portable algorithm whose stream is fixed by its
/// specification (unlike `StdRng`, which may change between `rand` releases).
pub type Rng = rand_chacha::ChaCha8Rng;

/// Derives a 64-bit seed from a master seed and labels, stably across platforms and releases.
///
/// The hash is FNV-1a (64-bit: offset 0xcbf29ce484222325, prime 0x100000001b3) over the master
/// seed's 8 little-endian bytes, then each label's UTF-8 bytes followed by a 0xff separator (a byte
/// that never occurs in UTF-8, so `["ab", "c"]` and `["a", "bc"]` differ), finished by the
/// SplitMix64 mixer so that nearby inputs give unrelated seeds. It never uses `std`'s hasher, whose
/// output is not specified.
pub fn derive_seed(master: u64, labels: &[&str]) -> u64 {
    const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = FNV_OFFSET;
    let mut eat = |byte: u8| {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(FNV_PRIME);
    };
    for byte in master.to_le_bytes() {
        eat(byte);
    }
    for label in labels {
        for &byte in label.as_bytes() {
            eat(byte);
        }
        eat(0xff);
    }
    splitmix64(hash)
}

/// The SplitMix64 finaliser (Steele, Lea & Flood 2014).
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A generator seeded by [`derive_seed`]`(master, labels)`.
pub fn rng_for(master: u64, labels: &[&str]) -> Rng {
    Rng::seed_from_u64(derive_seed(master, labels))
}

/// A generator seeded directly from a 64-bit seed.
pub fn rng_from_seed(seed: u64) -> Rng {
    Rng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng as _;

    #[test]
    fn derive_seed_is_pinned_and_label_sensitive() {
        // FNV-1a + SplitMix64 are specified algorithms: a change of this value breaks every stored
        // result, so it is pinned here.
        let a = derive_seed(2026, &["quickstart", "adam"]);
        assert_eq!(a, derive_seed(2026, &["quickstart", "adam"]));
        assert_ne!(a, derive_seed(2026, &["quickstart", "sgd"]));
        assert_ne!(a, derive_seed(2027, &["quickstart", "adam"]));
        assert_ne!(derive_seed(1, &["ab", "c"]), derive_seed(1, &["a", "bc"]));
        assert_eq!(splitmix64(0), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn same_labels_same_stream() {
        let mut r1 = rng_for(7, &["x"]);
        let mut r2 = rng_for(7, &["x"]);
        for _ in 0..16 {
            assert_eq!(r1.next_u64(), r2.next_u64());
        }
    }
}
