//! Deterministic test images, made offline: RGB PNGs written by hand with
//! stored (uncompressed) deflate blocks, so no image crate is needed and
//! the same seed gives the same bytes in every version.

use std::sync::Arc;

use crate::request::Image;
use crate::rng::Rng;

/// The largest side accepted, in pixels: a 4096 × 4096 RGB image is
/// already 48 MiB before base64.
pub const MAX_IMAGE_SIDE: u32 = 4096;

/// A `size` × `size` image drawn from `seed`: a gradient under seeded
/// noise, so that no two seeds look alike to a vision model.
pub(crate) fn image(size: u32, seed: u64) -> Image {
    let png = png(size, size, seed);
    let base64 = base64(&png);
    Image { width: size, height: size, png: png.into(), base64: Arc::from(base64) }
}

/// The PNG file of a `width` × `height` RGB image drawn from `seed`.
pub(crate) fn png(width: u32, height: u32, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ 0x1A6E_5EED);
    let tint = [rng.next_u64() as u8, rng.next_u64() as u8, rng.next_u64() as u8];
    let row = 1 + 3 * width as usize;
    let mut raw = Vec::with_capacity(row * height as usize);
    for y in 0..height {
        raw.push(0); // filter: none
        for x in 0..width {
            let noise = (rng.next_u64() >> 59) as u8;
            let gx = (x * 255 / width.max(1)) as u8;
            let gy = (y * 255 / height.max(1)) as u8;
            raw.extend_from_slice(&[
                gx.wrapping_add(tint[0]) ^ noise,
                gy.wrapping_add(tint[1]) ^ noise,
                (gx / 2 + gy / 2).wrapping_add(tint[2]) ^ noise,
            ]);
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter set, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// The width and height a PNG file says it has, from its header.
pub(crate) fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    if png.len() < 24 || &png[..8] != b"\x89PNG\r\n\x1a\n" || &png[12..16] != b"IHDR" {
        return None;
    }
    let word = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    Some((word(16), word(20)))
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored deflate blocks (at most 65535 bytes each).
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 65535 * 5 + 11);
    out.extend_from_slice(&[0x78, 0x01]);
    let mut blocks = data.chunks(65535).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Standard base64 with padding.
pub(crate) fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for group in data.chunks(3) {
        let n = match *group {
            [a, b, c] => u32::from_be_bytes([0, a, b, c]),
            [a, b] => u32::from_be_bytes([0, a, b, 0]),
            [a] => u32::from_be_bytes([0, a, 0, 0]),
            _ => 0,
        };
        for i in 0..4 {
            if i <= group.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (padding optional); `None` on a bad character.
pub(crate) fn unbase64(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let bytes = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for group in bytes.chunks(4) {
        let mut n = 0u32;
        for (i, &c) in group.iter().enumerate() {
            n |= u32::from(value(c)?) << (18 - 6 * i);
        }
        out.extend_from_slice(&n.to_be_bytes()[1..group.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pngs_are_deterministic_well_formed_and_sized() {
        let a = png(3, 2, 7);
        assert_eq!(a, png(3, 2, 7));
        assert_ne!(a, png(3, 2, 8));
        assert_eq!(png_size(&a), Some((3, 2)));
        // Signature, IHDR (25), IDAT (12 + 2 + 5 + 2 × 10 + 4), IEND (12).
        assert_eq!(a.len(), 8 + 25 + 12 + 2 + 5 + 20 + 4 + 12);
        assert_eq!(&a[a.len() - 12..], b"\0\0\0\0IEND\xaeB`\x82", "the IEND crc is the well-known one");
        // Many blocks: every block header says its length and its complement.
        let big = zlib_stored(&vec![7u8; 70_000]);
        assert_eq!(&big[2..7], &[0, 0xFF, 0xFF, 0, 0]);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn base64_round_trips() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let encoded = base64(text.as_bytes());
            assert_eq!(unbase64(&encoded).as_deref(), Some(text.as_bytes()), "{encoded}");
        }
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(unbase64("Zm9v!"), None);
        let img = image(4, 1);
        assert_eq!((img.width, img.height, img.estimated_tokens()), (4, 4, 1));
        assert!(img.data_uri().starts_with("data:image/png;base64,iVBORw0KGgo"));
    }
}
