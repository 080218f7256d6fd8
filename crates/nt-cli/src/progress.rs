//! Progress on stderr, so that stdout (tables, JSON) stays clean: an indicatif bar when stderr is
//! a terminal, and otherwise (scripts, CI logs, `2> file`) one plain line every few seconds with
//! the step, the latest message (losses) and the ETA. `--quiet` silences both.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Seconds between two plain progress lines when stderr is not a terminal.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing (`--quiet`).
    Quiet,
    /// An animated bar (stderr is a terminal).
    Bar,
    /// A plain line every [`LINE_EVERY`] (stderr is a file or a pipe).
    Lines,
}

/// A progress indicator of `total` steps; see the module doc for what it prints where.
#[derive(Debug)]
pub(crate) struct Progress {
    bar: ProgressBar,
    mode: Mode,
    label: String,
    /// When the last plain line was printed (`None` before the first, which the first step
    /// prints, so that a script sees at once that work started).
    last_line: Mutex<Option<Instant>>,
}

/// A progress indicator of `total` steps labelled `message`, silent when `quiet`.
pub(crate) fn bar(total: u64, message: impl Into<String>, quiet: bool) -> Progress {
    let mode = if quiet {
        Mode::Quiet
    } else if std::io::stderr().is_terminal() {
        Mode::Bar
    } else {
        Mode::Lines
    };
    Progress::new(total, message.into(), mode)
}

impl Progress {
    fn new(total: u64, label: String, mode: Mode) -> Progress {
        let target = match mode {
            Mode::Bar => ProgressDrawTarget::stderr(),
            Mode::Quiet | Mode::Lines => ProgressDrawTarget::hidden(),
        };
        let pb = ProgressBar::with_draw_target(Some(total), target);
        pb.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix:<24} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_prefix(label.clone());
        if mode == Mode::Bar {
            pb.enable_steady_tick(Duration::from_millis(200));
        }
        Progress {
            bar: pb,
            mode,
            label,
            last_line: Mutex::new(None),
        }
    }

    /// Moves to step `pos`; in line mode prints a line at the first step and then whenever
    /// [`LINE_EVERY`] has passed.
    pub(crate) fn set_position(&self, pos: u64) {
        self.bar.set_position(pos);
        if self.mode == Mode::Lines {
            let mut last = self.last_line.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_none_or(|t| t.elapsed() >= LINE_EVERY) {
                *last = Some(Instant::now());
                eprintln!("{}", self.line());
            }
        }
    }

    /// Sets the text shown beside the count (e.g. the latest losses).
    pub(crate) fn set_message(&self, message: impl Into<String>) {
        self.bar.set_message(message.into());
    }

    /// Ends the indicator: the bar disappears (plain lines already printed stay).
    pub(crate) fn finish_and_clear(&self) {
        self.bar.finish_and_clear();
    }

    /// The plain line: `label: step 40/200 (20%), loss 0.1234, 12s elapsed, eta 48s`.
    fn line(&self) -> String {
        let pos = self.bar.position();
        let len = self.bar.length().unwrap_or(0).max(1);
        let pct = 100 * pos.min(len) / len;
        let msg = self.bar.message();
        let msg = if msg.is_empty() {
            String::new()
        } else {
            format!(", {msg}")
        };
        format!(
            "{}: step {pos}/{len} ({pct}%){msg}, {}s elapsed, eta {}s",
            self.label,
            self.bar.elapsed().as_secs(),
            self.bar.eta().as_secs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_line_names_step_share_message_and_eta() {
        let p = Progress::new(200, "train nhits".into(), Mode::Lines);
        p.bar.set_position(40);
        p.set_message("loss 0.1234");
        let line = p.line();
        assert!(
            line.starts_with("train nhits: step 40/200 (20%), loss 0.1234, "),
            "{line}"
        );
        assert!(line.contains("eta "), "{line}");
    }
}
