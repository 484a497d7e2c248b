//! Flow-control windows (RFC 9113 §5.2, §6.9).
//!
//! Windows are kept as `i64`: a SETTINGS_INITIAL_WINDOW_SIZE change can make
//! a send window negative (RFC 9113 §6.9.2), and a window may never exceed
//! 2^31-1 (RFC 9113 §6.9.1).

/// The largest legal flow-control window, 2^31-1 (RFC 9113 §6.9.1).
pub const MAX_WINDOW: i64 = (1 << 31) - 1;

/// The initial window of every stream and of the connection before any
/// SETTINGS or WINDOW_UPDATE (RFC 9113 §6.9.2).
pub const DEFAULT_WINDOW: u32 = 65_535;

/// A window would exceed 2^31-1 (a FLOW_CONTROL_ERROR, RFC 9113 §6.9.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowOverflow;

/// How much we may still send (the peer's receive window as we see it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SendWindow(i64);

impl SendWindow {
    /// A window of `size` octets.
    pub fn new(size: u32) -> SendWindow {
        SendWindow(i64::from(size))
    }

    /// The current window; negative after a shrinking INITIAL_WINDOW_SIZE.
    pub fn get(self) -> i64 {
        self.0
    }

    /// Octets that may be sent now (0 if the window is negative).
    pub fn available(self) -> usize {
        usize::try_from(self.0.max(0)).unwrap_or(usize::MAX)
    }

    /// Applies a WINDOW_UPDATE increment.
    ///
    /// RFC 9113 §6.9.1: "A sender MUST NOT allow a flow-control window to
    /// exceed 2^31-1 octets."
    pub fn increase(&mut self, increment: u32) -> Result<(), WindowOverflow> {
        let next = self.0 + i64::from(increment);
        if next > MAX_WINDOW {
            return Err(WindowOverflow);
        }
        self.0 = next;
        Ok(())
    }

    /// Applies the difference between an old and a new
    /// SETTINGS_INITIAL_WINDOW_SIZE (RFC 9113 §6.9.2); the result may be
    /// negative but may not exceed 2^31-1.
    pub fn adjust(&mut self, delta: i64) -> Result<(), WindowOverflow> {
        let next = self.0 + delta;
        if next > MAX_WINDOW {
            return Err(WindowOverflow);
        }
        self.0 = next;
        Ok(())
    }

    /// Records `n` octets sent. The caller never sends more than
    /// [`available`](Self::available).
    pub fn consume(&mut self, n: usize) {
        self.0 -= i64::try_from(n).unwrap_or(MAX_WINDOW);
    }
}

/// What the peer may still send us, and what the application has released.
///
/// The peer's credit (`window`) shrinks with every flow-controlled octet
/// received and grows with our WINDOW_UPDATEs. The application releases
/// octets it has consumed; releases are batched into one WINDOW_UPDATE once
/// they reach half of the target window (not one update per DATA frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvWindow {
    /// Credit the peer still has.
    window: i64,
    /// The window size we aim to advertise.
    target: u32,
    /// Octets received and not yet released by the application.
    unreleased: u64,
    /// Released octets not yet announced in a WINDOW_UPDATE.
    pending: u64,
}

impl RecvWindow {
    /// A window where the peer's credit is `initial` and the target is
    /// `target` (the difference, if any, is announced by the first
    /// [`take_update`](Self::take_update)).
    pub fn new(initial: u32, target: u32) -> RecvWindow {
        let mut w = RecvWindow {
            window: i64::from(initial),
            target,
            unreleased: 0,
            pending: 0,
        };
        if target > initial {
            w.pending = u64::from(target - initial);
        }
        w
    }

    /// Credit the peer still has.
    pub fn window(&self) -> i64 {
        self.window
    }

    /// The target window size.
    pub fn target(&self) -> u32 {
        self.target
    }

    /// Octets received and not yet released.
    pub fn unreleased(&self) -> u64 {
        self.unreleased
    }

    /// Accounts `n` flow-controlled octets received (padding included).
    ///
    /// RFC 9113 §6.9.1: a sender must not send more than the window allows;
    /// an error here is a FLOW_CONTROL_ERROR.
    pub fn recv(&mut self, n: u32) -> Result<(), WindowOverflow> {
        if i64::from(n) > self.window {
            return Err(WindowOverflow);
        }
        self.window -= i64::from(n);
        self.unreleased += u64::from(n);
        Ok(())
    }

    /// Releases up to `n` received octets; returns how many were released.
    pub fn release(&mut self, n: usize) -> usize {
        let n = (n as u64).min(self.unreleased);
        self.unreleased -= n;
        self.pending += n;
        usize::try_from(n).unwrap_or(usize::MAX)
    }

    /// Changes the target window (BDP tuning, our own SETTINGS). Growth is
    /// announced by the next [`take_update`](Self::take_update); shrinking
    /// simply stops announcing releases until the credit falls below it.
    pub fn set_target(&mut self, target: u32) {
        if target > self.target {
            self.pending += u64::from(target - self.target);
        }
        self.target = target;
    }

    /// Applies an INITIAL_WINDOW_SIZE change the peer has acknowledged
    /// (RFC 9113 §6.9.2): the credit moves by `delta`.
    pub fn adjust(&mut self, delta: i64, new_target: u32) {
        self.window += delta;
        self.target = new_target;
    }

    /// The WINDOW_UPDATE increment to send now, if the released octets
    /// warrant one: at least half the target, or the peer's credit is below
    /// half the target with something to give back.
    pub fn take_update(&mut self) -> Option<u32> {
        if self.pending == 0 {
            return None;
        }
        let half = u64::from(self.target / 2).max(1);
        let low = self.window < i64::from(self.target / 2);
        if self.pending < half && !low {
            return None;
        }
        // Never grow the credit beyond the target or 2^31-1.
        let room = (i64::from(self.target) - self.window).clamp(0, MAX_WINDOW);
        let inc = self.pending.min(room as u64).min(MAX_WINDOW as u64);
        if inc == 0 {
            // Shrunk target: the released octets are simply forgotten.
            self.pending = 0;
            return None;
        }
        self.pending -= inc;
        if self.window + inc as i64 >= i64::from(self.target) {
            self.pending = 0;
        }
        self.window += inc as i64;
        u32::try_from(inc).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9113_6_9_1_send_window_overflow() {
        let mut w = SendWindow::new(DEFAULT_WINDOW);
        assert_eq!(w.increase((MAX_WINDOW - 65_535) as u32), Ok(()));
        assert_eq!(w.get(), MAX_WINDOW);
        assert_eq!(w.increase(1), Err(WindowOverflow));
    }

    #[test]
    fn rfc9113_6_9_2_initial_window_change_goes_negative() {
        let mut w = SendWindow::new(100);
        w.consume(80);
        w.adjust(-50).unwrap();
        assert_eq!(w.get(), -30);
        assert_eq!(w.available(), 0);
        w.increase(40).unwrap();
        assert_eq!(w.available(), 10);
    }

    #[test]
    fn rfc9113_6_9_recv_over_window_is_error() {
        let mut w = RecvWindow::new(10, 10);
        w.recv(10).unwrap();
        assert_eq!(w.recv(1), Err(WindowOverflow));
    }

    #[test]
    fn rfc9113_6_9_updates_are_batched() {
        let mut w = RecvWindow::new(1000, 1000);
        w.recv(100).unwrap();
        w.release(100);
        assert_eq!(w.take_update(), None, "10% released: no update yet");
        w.recv(450).unwrap();
        w.release(450);
        assert_eq!(w.take_update(), Some(550));
        assert_eq!(w.window(), 1000);
        assert_eq!(w.take_update(), None);
    }

    #[test]
    fn rfc9113_6_9_target_growth_is_announced() {
        let mut w = RecvWindow::new(65_535, 1 << 20);
        assert_eq!(w.take_update(), Some((1 << 20) - 65_535));
        w.set_target(2 << 20);
        assert_eq!(w.take_update(), Some(1 << 20));
        assert_eq!(w.window(), 2 << 20);
    }

    #[test]
    fn release_is_capped_by_unreleased() {
        let mut w = RecvWindow::new(100, 100);
        w.recv(10).unwrap();
        assert_eq!(w.release(50), 10);
        assert_eq!(w.unreleased(), 0);
    }
}
