//! A stream's queued DATA payloads.

use std::collections::VecDeque;

use bytes::Bytes;

/// The payloads a stream has queued to send, in order. Most responses
/// queue one payload at a time, so the first one is kept inline: a stream
/// that never has two queued allocates nothing for its queue.
#[derive(Debug, Default)]
pub(crate) struct SendQueue {
    /// The first payload; `None` only when the queue is empty.
    head: Option<Bytes>,
    /// The payloads after `head`.
    rest: VecDeque<Bytes>,
}

impl SendQueue {
    pub(crate) fn push_back(&mut self, data: Bytes) {
        if self.head.is_none() {
            self.head = Some(data);
        } else {
            self.rest.push_back(data);
        }
    }

    pub(crate) fn pop_front(&mut self) -> Option<Bytes> {
        let first = self.head.take();
        if first.is_some() {
            self.head = self.rest.pop_front();
        }
        first
    }

    pub(crate) fn front_mut(&mut self) -> Option<&mut Bytes> {
        self.head.as_mut()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_across_the_inline_slot() {
        let mut q = SendQueue::default();
        assert!(q.is_empty());
        assert_eq!(q.pop_front(), None);
        q.push_back(Bytes::from_static(b"a"));
        assert!(!q.is_empty());
        q.push_back(Bytes::from_static(b"b"));
        q.push_back(Bytes::from_static(b"c"));
        q.front_mut().unwrap().truncate(0);
        assert_eq!(q.pop_front().as_deref(), Some(&b""[..]));
        q.push_back(Bytes::from_static(b"d"));
        assert_eq!(q.pop_front().as_deref(), Some(&b"b"[..]));
        assert_eq!(q.front_mut().map(|b| b.clone()).as_deref(), Some(&b"c"[..]));
        assert_eq!(q.pop_front().as_deref(), Some(&b"c"[..]));
        assert_eq!(q.pop_front().as_deref(), Some(&b"d"[..]));
        assert!(q.is_empty());
        assert_eq!(q.pop_front(), None);
        assert!(q.front_mut().is_none());
    }
}
