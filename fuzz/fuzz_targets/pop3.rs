//! Feeds arbitrary bytes to the POP3 parser (see `mail_common`).
#![no_main]

mod mail_common;

use leakwatch::app::mail::Pop3Parser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mail_common::run(data, Box::new(Pop3Parser::new(mail_common::cfg())));
});
