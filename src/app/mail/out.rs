//! The event objects of a mail transaction (`smtp`, `mail`), with every
//! value that may hold PI masked.

use super::MailTx;
use crate::alert::event::{MailOut, SmtpOut};
use crate::alert::mask_text;

/// Longest masked value written.
const MAX_TEXT: usize = 256;

fn masked(s: &str) -> String {
    mask_text(s.as_bytes(), MAX_TEXT)
}

/// The `smtp` object: HELO, masked envelope addresses.
pub fn smtp_out(tx: &MailTx) -> SmtpOut {
    SmtpOut {
        helo: tx.helo.clone(),
        mail_from: tx.mail_from.as_deref().map(masked),
        rcpt_to: tx.rcpt_to.iter().map(|r| masked(r)).collect(),
    }
}

/// The `mail` object: masked subject, From, To and attachment names.
pub fn mail_out(tx: &MailTx) -> MailOut {
    MailOut {
        subject: tx.subject.as_deref().map(masked),
        from: tx.from.as_deref().map(masked),
        to: tx.to.as_deref().map(masked),
        attachments: tx
            .files
            .iter()
            .map(|f| {
                serde_json::json!({
                    "filename": f.name.as_deref().map(masked),
                    "content_type": f.content_type,
                })
            })
            .collect(),
        login: tx.login,
        limits_hit: tx.limits_hit.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_masked() {
        let tx = MailTx {
            mail_from: Some("zhangsan@example.cn".into()),
            rcpt_to: vec!["13812345678@example.cn".into()],
            subject: Some("身份证 11010519491231002X".into()),
            ..MailTx::default()
        };
        let s = serde_json::to_string(&(smtp_out(&tx), mail_out(&tx))).unwrap_or_default();
        assert!(!s.contains("zhangsan"), "{s}");
        assert!(!s.contains("13812345678"), "{s}");
        assert!(!s.contains("11010519491231002X"), "{s}");
        assert!(s.contains("@example.cn"), "{s}");
    }
}
