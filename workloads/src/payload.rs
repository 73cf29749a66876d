//! A pool of pre-generated random bytes that record values are copied from, so the hot loop
//! never generates randomness and the data does not compress to nothing.

use segmodel::XorShift64Star;

/// Pre-generated random bytes with a rolling read position.
#[derive(Debug, Clone)]
pub struct PayloadPool {
    bytes: Vec<u8>,
    pos: usize,
}

/// Default pool size: large enough that consecutive values differ, small enough to stay in cache.
pub const DEFAULT_POOL_BYTES: usize = 4 << 20;

impl PayloadPool {
    /// A pool of `len` pseudo-random bytes (the [`XorShift64Star`] of `seed | 1`, each draw
    /// little-endian), pre-faulted.
    pub fn new(len: usize, seed: u64) -> Self {
        let len = len.max(64);
        let mut rng = XorShift64Star::new(seed | 1);
        let mut bytes = Vec::with_capacity(len + 8);
        while bytes.len() < len {
            bytes.extend_from_slice(&rng.next_u64().to_le_bytes());
        }
        bytes.truncate(len);
        PayloadPool { bytes, pos: 0 }
    }

    /// Copies the next `out.len()` pool bytes into `out`, wrapping around the pool.
    #[inline]
    pub fn fill(&mut self, out: &mut [u8]) {
        let mut done = 0;
        while done < out.len() {
            let n = (out.len() - done).min(self.bytes.len() - self.pos);
            out[done..done + n].copy_from_slice(&self.bytes[self.pos..self.pos + n]);
            done += n;
            self.pos += n;
            if self.pos == self.bytes.len() {
                self.pos = 0;
            }
        }
        // Step by an odd amount so values do not repeat in lockstep with the pool size.
        self.pos = (self.pos + 61) % self.bytes.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_with_varying_bytes_and_wraps() {
        let mut p = PayloadPool::new(1000, 7);
        let mut a = vec![0u8; 300];
        let mut b = vec![0u8; 300];
        p.fill(&mut a);
        p.fill(&mut b);
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != 0));
        let mut big = vec![0u8; 5000];
        p.fill(&mut big);
        assert!(big[4000..].iter().any(|&x| x != 0));
        assert_eq!(
            PayloadPool::new(1000, 7).bytes,
            PayloadPool::new(1000, 7).bytes
        );
    }
}
