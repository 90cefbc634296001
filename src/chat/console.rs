//! The local shell adapter: the same commands typed in a terminal, or piped in one per line.
//!
//! ```text
//! $ dealgate console --as alex
//! alex> /advance deal-3
//! ── deal-3 can't leave Qualify yet
//!    Requirements not met (1):
//!    ❌ Log Discovery call held (`discovery-call`) … — log `discovery-call`: `/log deal-3 discovery-call`
//! ```

use std::io::{IsTerminal, Write};

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::commands::execute::execute_line;
use crate::commands::reply::{Reply, Tone};
use crate::service::{Caller, Service};

/// The console's workspace: one per database unless named otherwise.
pub const DEFAULT_WORKSPACE: &str = "local";

/// A caller typing at the console as `user` in `workspace`.
pub fn caller(workspace: &str, user: &str) -> Caller {
    Caller {
        platform: "console".to_string(),
        workspace: workspace.to_string(),
        workspace_name: workspace.to_string(),
        user_key: user.to_string(),
        display_name: user.to_string(),
        platform_role: None,
    }
}

/// Reads command lines until end of input and writes each reply. `/as NAME` switches the acting
/// member; blank lines and `#` comments are skipped; `/quit` ends early. A prompt is shown only
/// when a person is typing.
pub async fn run<R, W>(
    service: &Service,
    workspace: &str,
    user: &str,
    input: R,
    out: &mut W,
) -> std::io::Result<()>
where
    R: AsyncBufRead + Unpin,
    W: Write,
{
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    let mut user = user.to_string();
    let mut lines = input.lines();
    loop {
        if interactive {
            write!(out, "{user}> ")?;
            out.flush()?;
        }
        let Some(line) = lines.next_line().await? else {
            break;
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if matches!(line, "/quit" | "/exit" | "quit" | "exit") {
            break;
        }
        if let Some(rest) = line.strip_prefix("/as") {
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
            writeln!(out, "{user}> {line}")?;
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

/// A reply as terminal text.
pub fn render(reply: &Reply) -> String {
    let mut out = String::new();
    let marker = match reply.tone {
        Tone::Error | Tone::Refusal => "!!",
        Tone::Success => "✔",
        _ => "──",
    };
    out.push_str(&format!("{marker} {}\n", plain(&reply.title)));
    if !reply.fields.is_empty() {
        let inline: Vec<String> = reply
            .fields
            .iter()
            .filter(|f| f.inline)
            .map(|f| format!("{}: {}", f.name, plain(&f.value)))
            .collect();
        if !inline.is_empty() {
            out.push_str(&format!("   {}\n", inline.join(" · ")));
        }
        for f in reply.fields.iter().filter(|f| !f.inline) {
            out.push_str(&format!("   {}: {}\n", f.name, plain(&f.value)));
        }
    }
    for line in &reply.lines {
        out.push_str(&format!("   {}\n", plain(line)));
    }
    for b in &reply.buttons {
        out.push_str(&format!("   [{}] {}\n", b.label, b.command));
    }
    if let Some(image) = &reply.image {
        out.push_str(&format!(
            "   (image {}: {} bytes)\n",
            image.file_name,
            image.png.len()
        ));
    }
    out.push('\n');
    out
}

/// Drops the `**bold**` markers a terminal would show literally.
fn plain(text: &str) -> String {
    text.replace("**", "")
}
