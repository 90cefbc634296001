//! What the operator's commands `dealgate digest --dry-run` and `dealgate outbox` print. Kept
//! out of `main.rs` so the output can be tested.
//!
//! Everything printed passes through `terminal` or `one_line`: a workspace name, a stored
//! reply's title or a platform's error text may hold ESC or a line break, and an operator's
//! terminal must show them as text, never obey them.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;

use super::{render, terminal};
use crate::commands::{MessageStatus, Service};
use crate::engine::text::one_line;
use crate::jobs::scheduler::digest_reply;

/// Prints the digest of each workspace (or one) as it would be posted now.
pub async fn print_digests<W: Write>(
    service: &Service,
    dry_run: bool,
    only: Option<i64>,
    chart_dir: Option<&std::path::Path>,
    out: &mut W,
) -> anyhow::Result<ExitCode> {
    if !dry_run {
        anyhow::bail!(
            "`dealgate digest` only prints for now: add --dry-run. Scheduled digests are posted \
             by `dealgate serve` after `/digest setup`."
        );
    }
    let all = service.workspaces().await.context("list workspaces")?;
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|t| only.is_none_or(|id| id == t.id))
        .collect();
    if chosen.is_empty() {
        anyhow::bail!(match only {
            Some(id) => format!("there is no workspace {id}"),
            None => "there are no workspaces yet: a workspace is made by its first command, in \
                     chat or in `dealgate console`; `dealgate demo --no-console` makes one to try"
                .to_string(),
        });
    }
    let now = service.clock().now();
    for tenant in chosen {
        let schedule = service.schedule(tenant.id).await?;
        let reply = async { digest_reply(&service.digest_run(&schedule, now).await?, &schedule) }
            .await
            .with_context(|| format!("build the digest of workspace {}", tenant.id))?;
        let target = schedule
            .digest_channel
            .as_deref()
            .map_or("no channel set up yet".to_string(), |c| format!("#{c}"));
        writeln!(
            out,
            "Workspace {} ({}) → {}",
            tenant.id,
            one_line(&tenant.name),
            one_line(&target)
        )?;
        write!(out, "{}", render(&reply))?;
        if let (Some(dir), Some(image)) = (chart_dir, &reply.image) {
            // So a person can look at the chart before it is ever posted.
            let path = dir.join(format!("workspace-{}-{}", tenant.id, image.file_name));
            std::fs::write(&path, &image.png)
                .with_context(|| format!("write the chart to {}", path.display()))?;
            writeln!(out, "Chart saved to {}", path.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists undelivered messages: what, where, how many attempts, the last error, and what a
/// failed attempt had already done.
pub async fn print_outbox<W: Write>(service: &Service, out: &mut W) -> anyhow::Result<ExitCode> {
    let rows = service
        .undelivered_messages()
        .await
        .context("read the outbox")?;
    if rows.is_empty() {
        writeln!(out, "The outbox is empty: every message was delivered.")?;
    }
    for row in rows {
        let row = match row {
            Ok(m) => m,
            Err(why) => {
                writeln!(out, "unreadable message {}", one_line(&why))?;
                continue;
            }
        };
        let title = serde_json::from_str::<serde_json::Value>(&row.payload)
            .ok()
            .and_then(|v| v.get("title").and_then(|t| t.as_str()).map(str::to_string))
            .map(|t| terminal(&t))
            .unwrap_or_default();
        let (status, next) = match row.status {
            MessageStatus::Failed => ("failed", "never (failed for good)".to_string()),
            MessageStatus::Pending => ("pending", stored_time(row.next_attempt_at)),
            MessageStatus::Sent => ("sent", "never (sent)".to_string()),
        };
        writeln!(
            out,
            "#{id} {status} workspace {tenant} ({platform}) → {kind} {target}: \"{title}\" · {attempts} attempt(s) · next {next} · last error: {err}",
            id = row.id,
            tenant = row.tenant_id,
            platform = row.platform,
            kind = row.target.kind(),
            target = one_line(row.target.id()),
            attempts = row.attempts,
            err = one_line(row.last_error.as_deref().unwrap_or("none")),
        )?;
        if let Some(done) = &row.progress {
            writeln!(
                out,
                "   already done, not repeated on retry: {}",
                one_line(done)
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A time as the database stores it (`2026-10-26T08:30:00.000000Z`), which is what this listing
/// has always shown.
fn stored_time(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// `dealgate playbook apply FILE --workspace PLATFORM:ID --reason … [--map …] [--yes]`: prints
/// the preview of the change, and with `yes` applies it. Exit 1 when the change is refused or
/// cannot apply; nothing changed then.
pub async fn apply_playbook<W: Write>(
    service: &Service,
    file: &std::path::Path,
    workspace: &str,
    reason: &str,
    map: &str,
    yes: bool,
    out: &mut W,
) -> anyhow::Result<ExitCode> {
    use crate::commands::playbook_replies::{ConfirmBy, playbook_applied, playbook_preview};
    let (platform, id) = crate::transfer::workspace(workspace)?;
    let bytes = read_capped(file)?;
    let proposed = crate::service::ProposedPlaybook {
        reference: file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        bytes,
    };
    let preview = match service
        .propose_playbook_as_operator(platform, id, &proposed, map, reason)
        .await
    {
        Ok(p) => p,
        Err(e) if !e.is_internal() => {
            writeln!(out, "{}", terminal(&e.to_string()))?;
            return Ok(ExitCode::FAILURE);
        }
        Err(e) => return Err(e).context("preview the playbook change"),
    };
    write!(
        out,
        "{}",
        render(&playbook_preview(&preview, ConfirmBy::CommandLine))
    )?;
    let Some(draft) = preview.draft else {
        return Ok(ExitCode::FAILURE);
    };
    if !yes {
        writeln!(out, "Nothing changed.")?;
        return Ok(ExitCode::SUCCESS);
    }
    match service
        .confirm_playbook_as_operator(preview.workspace_id, draft)
        .await
    {
        Ok(applied) => {
            write!(out, "{}", render(&playbook_applied(&applied)))?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if !e.is_internal() => {
            writeln!(out, "{}", terminal(&e.to_string()))?;
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e).context("apply the playbook change"),
    }
}

/// The file's bytes, up to one past the service's limit (it refuses a larger one in words).
fn read_capped(file: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    let opened = std::fs::File::open(file).with_context(|| format!("read {}", file.display()))?;
    let mut bytes = Vec::new();
    let limit = u64::try_from(crate::service::MAX_PLAYBOOK_BYTES).unwrap_or(u64::MAX) + 1;
    opened
        .take(limit)
        .read_to_end(&mut bytes)
        .with_context(|| format!("read {}", file.display()))?;
    Ok(bytes)
}
