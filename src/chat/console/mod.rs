//! The local shell adapter: the same commands typed in a terminal, or piped in one per line.
//!
//! ```text
//! $ dealgate console --as alex
//! alex> /advance deal-3
//! ── deal-3 can't leave Qualify yet
//!    Requirements not met (1):
//!    ❌ Log Discovery call held (`discovery-call`) … — log `discovery-call`: `/log deal-3 discovery-call`
//! ```

use std::io::Write;

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::commands::execute::execute_line;
use crate::commands::reply::{Reply, Tone};
use crate::commands::user_text::{Piece, pieces};
use crate::commands::{Caller, Platform, Service};

mod editor;
pub mod operator;
mod sender;

pub use editor::Editor;
pub use sender::ConsoleSender;

/// The console's workspace: one per database unless named otherwise.
pub const DEFAULT_WORKSPACE: &str = "local";

/// A caller typing at the console as `user` in `workspace`.
pub fn caller(workspace: &str, user: &str) -> Caller {
    Caller {
        platform: Platform::Console,
        workspace: workspace.to_string(),
        workspace_name: workspace.to_string(),
        user_key: user.to_string(),
        display_name: user.to_string(),
        platform_role: None,
        known_only: false,
    }
}

/// Where the console's lines come from.
#[derive(Debug)]
pub enum Input<R> {
    /// Read as they come: a pipe, a file, a test. Each line is echoed after the acting
    /// member's name, so a transcript reads like a session.
    Read(tokio::io::Lines<R>),
    /// A person at a terminal, with line editing and history.
    Terminal(Editor),
}

impl<R: AsyncBufRead + Unpin> Input<R> {
    /// Lines read from `reader` as they come.
    pub fn read(reader: R) -> Self {
        Input::Read(reader.lines())
    }

    async fn next_line(&mut self, prompt: &str) -> std::io::Result<Option<String>> {
        match self {
            Input::Read(lines) => lines.next_line().await,
            Input::Terminal(editor) => editor.next_line(prompt).await,
        }
    }
}

/// Reads command lines until end of input and writes each reply. `/as NAME` switches the acting
/// member; blank lines and `#` comments are skipped; `/quit` ends early. A prompt is shown only
/// when a person is typing.
pub async fn run<R, W>(
    service: &Service,
    workspace: &str,
    user: &str,
    mut input: Input<R>,
    out: &mut W,
) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    let interactive = matches!(input, Input::Terminal(_));
    let mut user = user.to_string();
    loop {
        let Some(line) = input.next_line(&format!("{user}> ")).await? else {
            break;
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if matches!(line, "/quit" | "/exit" | "quit" | "exit") {
            break;
        }
        // `/as` alone or followed by a space: `/ask` is some other (unknown) command.
        if let Some(rest) = line
            .strip_prefix("/as")
            .filter(|rest| rest.is_empty() || rest.starts_with(char::is_whitespace))
        {
            let name = rest.trim().trim_start_matches('@');
            if is_valid_name(name) {
                user = name.to_string();
                writeln!(out, "Now acting as {user}.")?;
            } else {
                writeln!(
                    out,
                    "Usage: /as NAME (letters, digits, `.`, `_` or `-`, up to 64)."
                )?;
            }
            continue;
        }
        if !interactive {
            writeln!(out, "{user}> {}", crate::engine::text::one_line(line))?;
        }
        let reply = execute_line(service, &caller(workspace, &user), line).await;
        out.write_all(render(&reply).as_bytes())?;
        out.flush()?;
    }
    Ok(())
}

pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// A reply as terminal text. Every piece of it is on one line and free of control characters
/// (ESC included), whoever wrote it; the bot's `**bold**` markers are dropped, a person's
/// asterisks kept as typed.
pub fn render(reply: &Reply) -> String {
    let mut out = String::new();
    let marker = match reply.tone {
        Tone::Error | Tone::Refusal => "!!",
        Tone::Success => "✔",
        _ => "──",
    };
    out.push_str(&format!("{marker} {}\n", terminal(&reply.title)));
    if !reply.fields.is_empty() {
        let inline: Vec<String> = reply
            .fields
            .iter()
            .filter(|f| f.inline)
            .map(|f| format!("{}: {}", terminal(&f.name), terminal(&f.value)))
            .collect();
        if !inline.is_empty() {
            out.push_str(&format!("   {}\n", inline.join(" · ")));
        }
        for f in reply.fields.iter().filter(|f| !f.inline) {
            out.push_str(&format!(
                "   {}: {}\n",
                terminal(&f.name),
                terminal(&f.value)
            ));
        }
    }
    for line in &reply.lines {
        out.push_str(&format!("   {}\n", terminal(line)));
    }
    for b in &reply.buttons {
        out.push_str(&format!(
            "   [{}] {}\n",
            terminal(&b.label),
            terminal(&b.press.command_line())
        ));
    }
    if let Some(image) = &reply.image {
        out.push_str(&format!(
            "   (image {}: {} bytes)\n",
            terminal(&image.file_name),
            image.png.len()
        ));
    }
    out.push('\n');
    out
}

/// One line of a reply as a terminal shows it: the bot's `**bold**` markers dropped (a
/// terminal would show them literally), user text as typed, and nothing that is not printable.
pub fn terminal(text: &str) -> String {
    pieces(text)
        .into_iter()
        .map(|p| match p {
            Piece::Bot(s) => s.replace("**", ""),
            Piece::User(s) => s,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::user_text::user;

    #[test]
    fn the_terminal_gets_user_text_as_typed_on_one_line_and_no_control_character() {
        let reply = Reply::new(format!("deal-1 · {}", user("Acme\n✅ Approved")))
            .line(format!("**Owner** {}", user("**ann**\u{1b}[2J")))
            .line("stored before: a\u{1b}[31mb\u{202e}c")
            .field("Champion", user("Priya\tShah\u{200b}"));
        assert_eq!(
            render(&reply),
            "── deal-1 · Acme ✅ Approved\n   Champion: Priya Shah\n   Owner **ann**[2J\n   \
             stored before: a[31mbc\n\n"
        );
    }
}
