//! Every decoder of the normalisation chain on arbitrary bytes: the first
//! byte picks the decoder, the second a split point. No panic, bounded
//! output, and the same output whole or split.
#![no_main]

use leakwatch::detect::normalize::base64::{Base64Runs, Event};
use leakwatch::detect::normalize::entity::Entity;
use leakwatch::detect::normalize::fullwidth::FullWidth;
use leakwatch::detect::normalize::qp::Qp;
use leakwatch::detect::normalize::text::{Charset, JsonUnescape, Percent};
use leakwatch::detect::normalize::utf16::Utf16Runs;
use libfuzzer_sys::fuzz_target;

fn run(which: u8, pieces: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    let mut out = |d: &[u8]| v.extend_from_slice(d);
    match which % 8 {
        0 => {
            let mut p = Percent::new(true);
            pieces.iter().for_each(|d| p.push(d, &mut out));
            p.flush(&mut out);
        }
        1 => {
            let mut j = JsonUnescape::default();
            pieces.iter().for_each(|d| j.push(d, &mut out));
            j.flush(&mut out);
        }
        2 => {
            let mut c = Charset::new(None);
            pieces.iter().for_each(|d| c.push(d, &mut out));
            c.flush(&mut out);
        }
        3 => {
            let mut e = Entity::default();
            pieces.iter().for_each(|d| e.push(d, &mut out));
            e.flush(&mut out);
        }
        4 => {
            let mut f = FullWidth::default();
            pieces.iter().for_each(|d| f.push(d, &mut out));
            f.flush(&mut out);
        }
        5 => {
            let mut q = Qp::armed();
            pieces.iter().for_each(|d| q.push(d, &mut out));
            q.flush(&mut out);
        }
        6 => {
            let mut b = Base64Runs::new(16);
            let mut ev = |e: Event<'_>| match e {
                Event::Data(d) => out(d),
                Event::End => out(b"|"),
            };
            pieces.iter().for_each(|d| b.push(d, &mut ev));
            b.flush(&mut ev);
        }
        _ => {
            let mut u = Utf16Runs::new(8);
            let mut ev = |e: Event<'_>| match e {
                Event::Data(d) => out(d),
                Event::End => out(b"|"),
            };
            pieces.iter().for_each(|d| u.push(d, &mut ev));
            u.flush(&mut ev);
        }
    }
    v
}

fuzz_target!(|data: &[u8]| {
    let [which, cut, rest @ ..] = data else {
        return;
    };
    let cut = usize::from(*cut).min(rest.len());
    let (a, b) = rest.split_at(cut);
    let whole = run(*which, &[rest]);
    let split = run(*which, &[a, b]);
    assert_eq!(whole, split, "decoder {}", which % 8);
    assert!(whole.len() <= rest.len() * 3 + 8, "output bound");
});
