//! Feeds arbitrary bytes to the SMTP parser (see `mail_common`).
#![no_main]

mod mail_common;

use leakwatch::app::mail::SmtpParser;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    mail_common::run(data, Box::new(SmtpParser::new(mail_common::cfg())));
});
