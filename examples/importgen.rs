//! Writes a HubSpot-shaped deals export of any size, for timing `dealgate import` (BENCHMARKS.md,
//! "Importing 100,000 deals"): every deal of the default pipeline with its `Date entered`
//! history up to its stage, owners among the three people of the import fixtures.
//!
//! ```text
//! cargo run --release --example importgen -- --deals 100000 --out /tmp/deals.csv
//! ```

use std::io::Write;

use clap::Parser;

#[derive(Parser)]
struct Args {
    /// How many deals.
    #[arg(long, default_value_t = 100_000)]
    deals: usize,
    /// The file to write.
    #[arg(long)]
    out: std::path::PathBuf,
}

const STAGES: [&str; 7] = [
    "Appointment Scheduled",
    "Qualified to Buy",
    "Presentation Scheduled",
    "Decision Maker Bought-In",
    "Contract Sent",
    "Closed Won",
    "Closed Lost",
];
const OWNERS: [&str; 3] = ["Alice Adams", "Bob Brown", "Cara Chen"];

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&args.out)?);
    write!(
        out,
        "Record ID,Deal Name,Deal Stage,Amount,Close Date,Deal owner,Pipeline,Create Date,Currency"
    )?;
    for stage in STAGES {
        write!(out, ",\"Date entered \"\"{stage} (Sales Pipeline)\"\"\"")?;
    }
    writeln!(out)?;
    // A fixed linear congruential sequence: the same file every time, without a dependency.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % n
    };
    for i in 0..args.deals {
        // Most deals open, spread over the five open stages; a fifth closed.
        let stage = match next(10) {
            0 => 5,
            1 => 6,
            _ => next(5) as usize,
        };
        let amount = 1_000 + next(200) * 500;
        let month = 1 + next(12);
        let day = 1 + next(28);
        write!(
            out,
            "{},Deal {i} - {},{},{amount},2027-{month:02}-{day:02},{},Sales Pipeline,\
             2026-01-{:02} 09:00,USD",
            30_000_000 + i,
            ["Platform", "Renewal", "Expansion", "Pilot"][i % 4],
            STAGES[stage],
            OWNERS[i % 3],
            1 + i % 28
        )?;
        let reached = if stage >= 5 { 4 } else { stage };
        for (s, _) in STAGES.iter().enumerate() {
            if s <= reached {
                write!(out, ",2026-{:02}-{:02} 10:00", 2 + s, 1 + i % 28)?;
            } else if s == stage {
                write!(out, ",2026-08-{:02} 16:00", 1 + i % 28)?;
            } else {
                write!(out, ",")?;
            }
        }
        writeln!(out)?;
    }
    out.flush()
}
