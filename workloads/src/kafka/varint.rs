//! Zig-zag variable-length integers, as Kafka's `ByteUtils` writes them in v2 records.
//!
//! A value is zig-zag mapped (`(v << 1) ^ (v >> 31)`, so small negative numbers stay short) and
//! then written 7 bits at a time, least significant group first, with the high bit of each byte
//! set when more bytes follow. A varint takes 1 to 5 bytes, a varlong 1 to 10.
//!
//! Decoding follows `ByteUtils.readVarint` / `readVarlong`: at most 5 (10) bytes are read and the
//! bits beyond 32 (64) in the last byte are ignored; a longer sequence is an error (`None`).

/// Most bytes a varint takes.
pub const MAX_VARINT_LEN: usize = 5;
/// Most bytes a varlong takes.
pub const MAX_VARLONG_LEN: usize = 10;

#[inline]
fn zigzag32(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

#[inline]
fn zigzag64(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Bytes of the unsigned LEB128 encoding of `z`.
#[inline]
fn unsigned_len(z: u64) -> usize {
    let bits = 64 - (z | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

#[inline]
fn put_unsigned(out: &mut [u8], mut z: u64) -> usize {
    let mut i = 0;
    while z >= 0x80 {
        out[i] = (z as u8) | 0x80;
        z >>= 7;
        i += 1;
    }
    out[i] = z as u8;
    i + 1
}

/// Encoded length of `v` as a varint, 1 to 5 bytes (Kafka `ByteUtils.sizeOfVarint`).
#[inline]
pub fn varint_len(v: i32) -> usize {
    unsigned_len(u64::from(zigzag32(v)))
}

/// Writes `v` as a varint at the start of `out` and returns the bytes written.
/// Panics if `out` is shorter than [`varint_len`]`(v)`.
#[inline]
pub fn put_varint(out: &mut [u8], v: i32) -> usize {
    let z = zigzag32(v);
    if z < 0x80 {
        out[0] = z as u8;
        return 1;
    }
    put_unsigned(out, u64::from(z))
}

/// Encoded length of `v` as a varlong, 1 to 10 bytes (Kafka `ByteUtils.sizeOfVarlong`).
#[inline]
pub fn varlong_len(v: i64) -> usize {
    unsigned_len(zigzag64(v))
}

/// Writes `v` as a varlong at the start of `out` and returns the bytes written.
/// Panics if `out` is shorter than [`varlong_len`]`(v)`.
#[inline]
pub fn put_varlong(out: &mut [u8], v: i64) -> usize {
    put_unsigned(out, zigzag64(v))
}

/// Reads a varint from the start of `buf`: `(value, bytes read)`, or `None` when `buf` ends
/// inside it or it is longer than 5 bytes.
#[inline]
pub fn get_varint(buf: &[u8]) -> Option<(i32, usize)> {
    let mut z: u32 = 0;
    for i in 0..MAX_VARINT_LEN {
        let b = *buf.get(i)?;
        // As Kafka: bits shifted past 32 in the fifth byte are dropped.
        z |= u32::from(b & 0x7f).wrapping_shl(7 * i as u32);
        if b & 0x80 == 0 {
            return Some((((z >> 1) as i32) ^ -((z & 1) as i32), i + 1));
        }
    }
    None
}

/// Reads a varlong from the start of `buf`: `(value, bytes read)`, or `None` when `buf` ends
/// inside it or it is longer than 10 bytes.
#[inline]
pub fn get_varlong(buf: &[u8]) -> Option<(i64, usize)> {
    let mut z: u64 = 0;
    for i in 0..MAX_VARLONG_LEN {
        let b = *buf.get(i)?;
        z |= u64::from(b & 0x7f).wrapping_shl(7 * i as u32);
        if b & 0x80 == 0 {
            return Some((((z >> 1) as i64) ^ -((z & 1) as i64), i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Known encodings, from the zig-zag table of the protobuf encoding guide (0 -> 0, -1 -> 1,
    /// 1 -> 2, -2 -> 3, 2147483647 -> 4294967294, -2147483648 -> 4294967295) and LEB128.
    const VARINTS: &[(i32, &[u8])] = &[
        (0, &[0x00]),
        (-1, &[0x01]),
        (1, &[0x02]),
        (-2, &[0x03]),
        (63, &[0x7e]),
        (-64, &[0x7f]),
        (64, &[0x80, 0x01]),
        (-65, &[0x81, 0x01]),
        (150, &[0xac, 0x02]),
        (8191, &[0xfe, 0x7f]),
        (8192, &[0x80, 0x80, 0x01]),
        (-8193, &[0x81, 0x80, 0x01]),
        (1_048_575, &[0xfe, 0xff, 0x7f]),
        (1_048_576, &[0x80, 0x80, 0x80, 0x01]),
        (134_217_727, &[0xfe, 0xff, 0xff, 0x7f]),
        (134_217_728, &[0x80, 0x80, 0x80, 0x80, 0x01]),
        (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
        (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
    ];

    #[test]
    fn varints_match_known_encodings() {
        for &(v, bytes) in VARINTS {
            let mut out = [0u8; 8];
            let n = put_varint(&mut out, v);
            assert_eq!(&out[..n], bytes, "encoding of {v}");
            assert_eq!(varint_len(v), bytes.len(), "length of {v}");
            assert_eq!(get_varint(bytes), Some((v, bytes.len())), "decoding of {v}");
            // The varlong encoding of a value that fits in an i32 is the same bytes.
            assert_eq!(varlong_len(i64::from(v)), bytes.len());
            let n = put_varlong(&mut out, i64::from(v));
            assert_eq!(&out[..n], bytes);
            assert_eq!(get_varlong(bytes), Some((i64::from(v), bytes.len())));
        }
    }

    #[test]
    fn varlong_extremes() {
        let mut out = [0u8; 12];
        let n = put_varlong(&mut out, i64::MAX);
        assert_eq!(
            &out[..n],
            &[0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        let n = put_varlong(&mut out, i64::MIN);
        assert_eq!(
            &out[..n],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        assert_eq!(get_varlong(&out[..n]), Some((i64::MIN, 10)));
        assert_eq!(varlong_len(i64::MIN), 10);
        // zig-zag(2^62 - 1) = 2^63 - 2 needs 63 bits (9 bytes); zig-zag(2^62) = 2^63 needs 64.
        assert_eq!(varlong_len((1 << 62) - 1), 9);
        assert_eq!(varlong_len(-(1 << 62)), 9);
        assert_eq!(varlong_len(1 << 62), 10);
    }

    #[test]
    fn truncated_and_overlong_sequences_are_rejected() {
        assert_eq!(get_varint(&[]), None);
        assert_eq!(get_varint(&[0x80]), None);
        assert_eq!(get_varint(&[0x80, 0x80, 0x80, 0x80]), None);
        // Six bytes: longer than any varint (Kafka: "Varint is too long").
        assert_eq!(get_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x01]), None);
        assert_eq!(get_varlong(&[0xff; 10]), None);
        assert_eq!(get_varlong(&[0xff; 9]), None);
        // Trailing bytes after a complete varint are not consumed.
        assert_eq!(get_varint(&[0x02, 0xff]), Some((1, 1)));
    }

    proptest! {
        #[test]
        fn varint_round_trips(v in any::<i32>()) {
            let mut out = [0u8; MAX_VARINT_LEN];
            let n = put_varint(&mut out, v);
            prop_assert_eq!(n, varint_len(v));
            prop_assert_eq!(get_varint(&out[..n]), Some((v, n)));
        }

        #[test]
        fn varlong_round_trips(v in any::<i64>()) {
            let mut out = [0u8; MAX_VARLONG_LEN];
            let n = put_varlong(&mut out, v);
            prop_assert_eq!(n, varlong_len(v));
            prop_assert_eq!(get_varlong(&out[..n]), Some((v, n)));
        }
    }
}
