//! Feeds arbitrary bytes to the IMAP parser (see `mail_common`).
#![no_main]

mod mail_common;

use leakwatch::app::mail::ImapParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mail_common::run(data, Box::new(ImapParser::new(mail_common::cfg())));
});
