//! Extensible priorities (RFC 9218): the `priority` header field and
//! PRIORITY_UPDATE values, and the send scheduler that uses them.

use std::collections::{HashSet, VecDeque};

use crate::frame::StreamId;

/// An RFC 9218 priority: urgency 0 (highest) to 7, and whether the response
/// is processed incrementally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Priority {
    /// Urgency, 0..=7 (RFC 9218 §4.1); lower is more urgent.
    pub urgency: u8,
    /// Incremental delivery (RFC 9218 §4.2).
    pub incremental: bool,
}

impl Default for Priority {
    /// RFC 9218 §4.1, §4.2: urgency 3, not incremental.
    fn default() -> Priority {
        Priority {
            urgency: 3,
            incremental: false,
        }
    }
}

impl Priority {
    /// Parses a Priority Field Value (RFC 9218 §4, a Structured Fields
    /// Dictionary). Unknown parameters and out-of-range or mistyped values
    /// are ignored, keeping the defaults (RFC 9218 §4: "… MUST be ignored").
    ///
    /// ```
    /// use ropewalk_proto::priority::Priority;
    ///
    /// let p = Priority::parse(b"u=1, i");
    /// assert_eq!((p.urgency, p.incremental), (1, true));
    /// assert_eq!(Priority::parse(b"u=9, x=?1"), Priority::default());
    /// ```
    pub fn parse(value: &[u8]) -> Priority {
        Priority::default().merged(value)
    }

    /// Applies the members of `value` on top of `self` (several `priority`
    /// field lines are combined, RFC 9110 §5.3).
    pub fn merged(mut self, value: &[u8]) -> Priority {
        let Ok(text) = std::str::from_utf8(value) else {
            return self;
        };
        for member in text.split(',') {
            // Parameters (";...") of a member are ignored.
            let member = member.split(';').next().unwrap_or("").trim();
            let (key, val) = match member.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (member, None),
            };
            match key {
                "u" => {
                    if let Some(u) = val.and_then(|v| v.parse::<u8>().ok()) {
                        if u <= 7 {
                            self.urgency = u;
                        }
                    }
                }
                "i" => match val {
                    None | Some("?1") => self.incremental = true,
                    Some("?0") => self.incremental = false,
                    _ => {}
                },
                _ => {}
            }
        }
        self
    }
}

/// The Priority Field Value form (RFC 9218 §4): `u=N` and, if incremental,
/// `, i`.
///
/// ```
/// use ropewalk_proto::priority::Priority;
///
/// let p = Priority { urgency: 1, incremental: true };
/// assert_eq!(p.to_string(), "u=1, i");
/// assert_eq!(Priority::parse(p.to_string().as_bytes()), p);
/// ```
impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "u={}", self.urgency)?;
        if self.incremental {
            f.write_str(", i")?;
        }
        Ok(())
    }
}

/// Chooses which ready stream sends next: lowest urgency first; within an
/// urgency, incremental streams take turns (round-robin) and a
/// non-incremental stream keeps the link until it blocks or finishes
/// (RFC 9218 §10).
#[derive(Debug, Default)]
pub struct Scheduler {
    queues: [VecDeque<StreamId>; 8],
    // Keyed `IdHashing`, not SipHash: three lookups per response (push, pop,
    // remove).
    queued: HashSet<StreamId, crate::stream::IdHashing>,
}

impl Scheduler {
    /// An empty scheduler.
    pub fn new() -> Scheduler {
        Scheduler::default()
    }

    /// Marks `id` ready at the back of its urgency (no-op if already ready).
    pub fn push(&mut self, id: StreamId, priority: Priority) {
        if self.queued.insert(id) {
            self.queues[usize::from(priority.urgency.min(7))].push_back(id);
        }
    }

    /// Puts `id` back after it was served: round-robin for incremental
    /// streams, at the front for non-incremental ones.
    pub fn requeue(&mut self, id: StreamId, priority: Priority) {
        if self.queued.insert(id) {
            let q = &mut self.queues[usize::from(priority.urgency.min(7))];
            if priority.incremental {
                q.push_back(id);
            } else {
                q.push_front(id);
            }
        }
    }

    /// Takes the next stream to serve.
    pub fn pop(&mut self) -> Option<StreamId> {
        for q in &mut self.queues {
            if let Some(id) = q.pop_front() {
                self.queued.remove(&id);
                return Some(id);
            }
        }
        None
    }

    /// Removes `id` (closed or reset).
    pub fn remove(&mut self, id: StreamId) {
        if self.queued.remove(&id) {
            for q in &mut self.queues {
                q.retain(|&s| s != id);
            }
        }
    }

    /// `true` if `id` is queued.
    pub fn contains(&self, id: StreamId) -> bool {
        self.queued.contains(&id)
    }

    /// Number of ready streams.
    pub fn len(&self) -> usize {
        self.queued.len()
    }

    /// `true` if no stream is ready.
    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> StreamId {
        StreamId::new(n)
    }

    #[test]
    fn rfc9218_4_defaults() {
        assert_eq!(Priority::parse(b""), Priority::default());
        assert_eq!(Priority::default().urgency, 3);
        assert!(!Priority::default().incremental);
    }

    #[test]
    fn rfc9218_4_1_urgency_parsing() {
        assert_eq!(Priority::parse(b"u=0").urgency, 0);
        assert_eq!(Priority::parse(b"u=7").urgency, 7);
        assert_eq!(Priority::parse(b"u=8").urgency, 3, "out of range ignored");
        assert_eq!(Priority::parse(b"u=-1").urgency, 3);
        assert_eq!(Priority::parse(b"u=a").urgency, 3);
        assert_eq!(Priority::parse(b"u=5;foo=bar, i").urgency, 5);
    }

    #[test]
    fn rfc9218_4_2_incremental_parsing() {
        assert!(Priority::parse(b"i").incremental);
        assert!(Priority::parse(b"i=?1").incremental);
        assert!(!Priority::parse(b"i=?0").incremental);
        assert!(!Priority::parse(b"i=1").incremental, "not a boolean");
        assert!(!Priority::parse(&[0xff, b'i']).incremental);
    }

    #[test]
    fn rfc9218_4_unknown_members_ignored() {
        let p = Priority::parse(b"x=1, u=2, y, z=?1");
        assert_eq!(p.urgency, 2);
        assert!(!p.incremental);
    }

    #[test]
    fn rfc9218_10_urgency_first() {
        let mut s = Scheduler::new();
        s.push(id(1), Priority::parse(b"u=5"));
        s.push(id(3), Priority::parse(b"u=1"));
        s.push(id(5), Priority::default());
        assert_eq!(s.pop(), Some(id(3)));
        assert_eq!(s.pop(), Some(id(5)));
        assert_eq!(s.pop(), Some(id(1)));
        assert_eq!(s.pop(), None);
    }

    #[test]
    fn rfc9218_10_incremental_round_robin() {
        let mut s = Scheduler::new();
        let p = Priority::parse(b"i");
        s.push(id(1), p);
        s.push(id(3), p);
        let a = s.pop().unwrap();
        s.requeue(a, p);
        let b = s.pop().unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn rfc9218_10_non_incremental_keeps_link() {
        let mut s = Scheduler::new();
        let p = Priority::default();
        s.push(id(1), p);
        s.push(id(3), p);
        let a = s.pop().unwrap();
        s.requeue(a, p);
        assert_eq!(s.pop(), Some(a));
    }

    #[test]
    fn scheduler_dedup_and_remove() {
        let mut s = Scheduler::new();
        s.push(id(1), Priority::default());
        s.push(id(1), Priority::default());
        assert_eq!(s.len(), 1);
        s.remove(id(1));
        assert!(s.is_empty());
        assert_eq!(s.pop(), None);
    }
}
