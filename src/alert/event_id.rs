//! `event_id`: a stable, unique id on every event so that consumers of an
//! at-least-once stream can drop repeats.
//!
//! The id is the first 128 bits (hex) of SHA-256 over the sensor id, the
//! event's sort key (packet time, flow id, direction, number within the
//! direction) and the event's JSON. It is computed once, before the event
//! enters any sink or spool, so a re-delivered event carries the same id;
//! replaying the same capture on the same sensor gives the same ids.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

/// Field name.
pub const EVENT_ID: &str = "event_id";

/// Makes event ids for one sensor.
#[derive(Clone, Debug)]
pub struct EventIds {
    sensor: String,
}

impl EventIds {
    /// Ids for `sensor` (the `[output] sensor_id`; default: host name).
    pub fn new(sensor: &str) -> EventIds {
        EventIds {
            sensor: sensor.to_string(),
        }
    }

    /// The id of an event with this sort key and JSON.
    pub fn id(&self, key: [u64; 4], json: &str) -> String {
        let mut h = Sha256::new();
        h.update(self.sensor.as_bytes());
        h.update([0]);
        for k in key {
            h.update(k.to_le_bytes());
        }
        h.update(json.as_bytes());
        hex::encode(h.finalize().get(..16).unwrap_or_default())
    }

    /// `json` with `"event_id"` as its first field (unchanged, and not
    /// copied, when it is not a JSON object or already has one).
    pub fn stamp<'a>(&self, key: [u64; 4], json: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(json);
        if let Some(field) = self.field(key, json) {
            out.to_mut().insert_str(1, &field);
        }
        out
    }

    /// [`EventIds::stamp`] in place: workers stamp their own events, so the
    /// hashing runs in parallel rather than in the output thread.
    pub fn stamp_in_place(&self, key: [u64; 4], json: &mut String) {
        if let Some(field) = self.field(key, json) {
            json.insert_str(1, &field);
        }
    }

    /// The `"event_id":"...",` text to insert after the opening brace;
    /// `None` when `json` is not an object or already has an id.
    fn field(&self, key: [u64; 4], json: &str) -> Option<String> {
        let rest = json.strip_prefix('{')?;
        if rest.starts_with("\"event_id\"") {
            return None;
        }
        let id = self.id(key, json);
        let sep = if rest.trim_start().starts_with('}') {
            ""
        } else {
            ","
        };
        Some(format!("\"{EVENT_ID}\":\"{id}\"{sep}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamped_ids_are_stable_and_distinct() {
        let ids = EventIds::new("s1");
        let a = ids.stamp([1, 2, 0, 0], r#"{"event_type":"dlp"}"#);
        assert_eq!(a, ids.stamp([1, 2, 0, 0], r#"{"event_type":"dlp"}"#));
        let v: serde_json::Value = serde_json::from_str(&a).unwrap();
        assert_eq!(v["event_id"].as_str().unwrap().len(), 32);
        assert_eq!(v["event_type"], "dlp");
        let b = ids.stamp([1, 2, 0, 1], r#"{"event_type":"dlp"}"#);
        assert_ne!(a, b, "sequence number differs");
        let c = EventIds::new("s2").stamp([1, 2, 0, 0], r#"{"event_type":"dlp"}"#);
        assert_ne!(a, c, "sensor differs");
        assert_eq!(ids.stamp([0; 4], &a), a, "already stamped");
        assert_eq!(ids.stamp([0; 4], "{}").len(), 1 + 10 + 1 + 34 + 1);
        assert!(matches!(ids.stamp([0; 4], &a), Cow::Borrowed(_)));
        let mut s = r#"{"event_type":"dlp"}"#.to_string();
        ids.stamp_in_place([1, 2, 0, 0], &mut s);
        assert_eq!(s, a, "in place gives the same text");
        ids.stamp_in_place([9, 9, 9, 9], &mut s);
        assert_eq!(s, a, "already stamped: unchanged");
        let mut not_obj = "[1]".to_string();
        ids.stamp_in_place([0; 4], &mut not_obj);
        assert_eq!(not_obj, "[1]");
    }
}
