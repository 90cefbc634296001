//! Forecast truth, the arithmetic: how a forecast fared against what closed, how well the stage
//! probabilities predict, what the history says each stage's probability really is, and the
//! range a period's closed-won amount is likely to fall in. Plain numbers in, plain numbers out;
//! the service reads the snapshots and history (issue 15).
//!
//! ```text
//! accuracy(150_000, 120_000)          → 0.8     (HubSpot: 1 − |A − F| / A, at least 0)
//! ratio(120_000, 150_000)             → 0.8     (Gong: F / A; under 1 is an under-forecast)
//! calibrate(0.60, 14, 41, PRIOR)      → observed 34 %, shrunk 38 % [29–47], change proposed
//! ranges(won, &open, 10_000, seed)    → P10 / P50 / P90 of the period's closed-won amount
//! ```

/// HubSpot's forecast accuracy: `max(0, 1 − |A − F| / A)`, with `A` the amount won in the period
/// and `F` the forecast for it. `None` when nothing was won (the measure is undefined).
pub fn accuracy(actual: i128, forecast: i128) -> Option<f64> {
    (actual > 0).then(|| (1.0 - (actual - forecast).abs() as f64 / actual as f64).max(0.0))
}

/// Gong's forecast ratio `F / A`: above 1 an over-forecast, below 1 an under-forecast. `None`
/// when nothing was won.
pub fn ratio(forecast: i128, actual: i128) -> Option<f64> {
    (actual > 0).then(|| forecast as f64 / actual as f64)
}

/// The Brier score of probabilities against outcomes: the mean of `(p − o)²`, 0 perfect, 0.25
/// what always saying 50 % scores. `None` without outcomes.
pub fn brier(outcomes: &[(f64, bool)]) -> Option<f64> {
    (!outcomes.is_empty()).then(|| {
        outcomes
            .iter()
            .map(|(p, won)| (p - f64::from(u8::from(*won))).powi(2))
            .sum::<f64>()
            / outcomes.len() as f64
    })
}

/// The Brier score over groups of deals sharing a probability: `(p, won, not won)` each. The
/// same as `brier` over the deals one by one, without listing them.
pub fn brier_grouped(groups: &[(f64, u64, u64)]) -> Option<f64> {
    let n: u64 = groups.iter().map(|(_, won, lost)| won + lost).sum();
    (n > 0).then(|| {
        groups
            .iter()
            .map(|(p, won, lost)| *won as f64 * (p - 1.0).powi(2) + *lost as f64 * p.powi(2))
            .sum::<f64>()
            / n as f64
    })
}

/// Of the deals forecast to close in a period, how many (and how much) did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Slip {
    pub slipped: u32,
    pub of: u32,
    pub slipped_amount: i128,
    pub of_amount: i128,
}

impl Slip {
    /// Adds up `(amount, closed in the period)` per deal.
    pub fn of_deals(deals: &[(i128, bool)]) -> Self {
        deals
            .iter()
            .fold(Self::default(), |mut s, (amount, closed)| {
                s.of += 1;
                s.of_amount += amount;
                if !closed {
                    s.slipped += 1;
                    s.slipped_amount += amount;
                }
                s
            })
    }

    /// Share of the deals that slipped; `None` of none.
    pub fn rate(self) -> Option<f64> {
        (self.of > 0).then(|| f64::from(self.slipped) / f64::from(self.of))
    }
}

/// How strongly the configured probability holds against the history: worth this many deals.
/// Stated rather than fitted while few workspaces have history to fit it on.
pub const PRIOR_STRENGTH: f64 = 10.0;

/// Below this many decided deals a stage's history proposes no change.
pub const MIN_DECIDED: u32 = 30;

/// What a stage's history says its probability is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibrated {
    /// The configured probability, 0–1.
    pub configured: f64,
    /// Won of decided (closed) deals that entered the stage.
    pub won: u32,
    pub decided: u32,
    /// `won / decided`; `None` without decided deals.
    pub observed: Option<f64>,
    /// The posterior mean with the configured probability as a Beta prior worth `strength`
    /// deals: the observed rate pulled toward the configured one, the less the more deals.
    pub shrunk: f64,
    /// The posterior's 90 % interval.
    pub interval: (f64, f64),
    /// Enough decided deals and the configured probability outside the interval.
    pub propose: bool,
}

impl Calibrated {
    /// The probability to forecast with: the calibrated one once enough deals have decided,
    /// the configured one while the history is thin.
    pub fn probability(&self) -> f64 {
        if self.decided >= MIN_DECIDED {
            self.shrunk
        } else {
            self.configured
        }
    }
}

/// Calibrates one stage: `won` of `decided` deals that entered it were won (deals still open
/// are left out: not yet decided), the configured probability `configured` a Beta prior worth
/// `strength` deals.
pub fn calibrate(configured: f64, won: u32, decided: u32, strength: f64) -> Calibrated {
    let p0 = configured.clamp(0.001, 0.999);
    let alpha = f64::from(won) + strength * p0;
    let beta = f64::from(decided - won.min(decided)) + strength * (1.0 - p0);
    let interval = (
        beta_quantile(0.05, alpha, beta),
        beta_quantile(0.95, alpha, beta),
    );
    Calibrated {
        configured,
        won,
        decided,
        observed: (decided > 0).then(|| f64::from(won) / f64::from(decided)),
        shrunk: alpha / (alpha + beta),
        interval,
        propose: decided >= MIN_DECIDED && !(interval.0..=interval.1).contains(&configured),
    }
}

/// The `q` quantile of Beta(a, b), by bisection on the regularized incomplete beta function.
fn beta_quantile(q: f64, a: f64, b: f64) -> f64 {
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if incomplete_beta(mid, a, b) < q {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// The regularized incomplete beta function I_x(a, b), by its continued fraction (Lentz).
fn incomplete_beta(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    // The fraction converges fast on this side; the other side by symmetry.
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(x, a, b) / a
    } else {
        1.0 - front * beta_fraction(1.0 - x, b, a) / b
    }
}

fn beta_fraction(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let mut c = 1.0;
    let mut d = 1.0 - (a + b) * x / (a + 1.0);
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let even = m * (b - m) * x / ((a + m2 - 1.0) * (a + m2));
        d = 1.0 + even * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + even / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        h *= d * c;
        let odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1.0));
        d = 1.0 + odd * d;
        d = if d.abs() < TINY { TINY } else { d };
        c = 1.0 + odd / c;
        c = if c.abs() < TINY { TINY } else { c };
        d = 1.0 / d;
        let step = d * c;
        h *= step;
        if (step - 1.0).abs() < 1e-12 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine terms: about 15 significant digits).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection keeps the series where it is accurate.
        return (std::f64::consts::PI / (std::f64::consts::PI * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + 7.5;
    let series = G[1..]
        .iter()
        .enumerate()
        .fold(G[0], |sum, (i, g)| sum + g / (x + i as f64 + 1.0));
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + series.ln()
}

/// An open deal as the range sees it: its amount, the chance it is won, and the chance that, won,
/// it closes inside the period (one less the observed slip rate).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenBet {
    pub amount: i128,
    pub win: f64,
    pub in_period: f64,
}

/// P10, P50 and P90 of a period's closed-won amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub p10: i128,
    pub p50: i128,
    pub p90: i128,
}

impl Range {
    pub fn contains(&self, amount: i128) -> bool {
        (self.p10..=self.p90).contains(&amount)
    }
}

/// Draws `runs` outcomes of the period, each open deal won and closing in it with its chances,
/// added to what is already won, and reads the 10th, 50th and 90th percentiles. Seeded, so the
/// same inputs always give the same range. The service draws the same runs on several threads
/// (`Bets::draw` over parts of `0..runs`); the result is identical.
pub fn ranges(won: i128, open: &[OpenBet], runs: u32, seed: u64) -> Range {
    percentiles(won, Bets::new(open).draw(seed, 0..runs.max(1)))
}

/// The open deals of a range, four at a time: one 64-bit draw decides a quad, each deal's
/// chance a 15-bit threshold (exact to 1/32,768) in a lane of its own. The lanes are compared at
/// once (SWAR) and the four outcomes pick one of the quad's sixteen precomputed sums.
#[derive(Debug, Clone, PartialEq)]
pub struct Bets {
    /// Per quad, lane `k` holds `0x7FFF + threshold_k`: subtracting four 15-bit draws leaves
    /// lane `k`'s top bit set exactly when draw `k` is below threshold `k`, and never borrows
    /// from the next lane.
    lanes: Vec<u64>,
    /// Per quad, the sum of each subset of its four amounts, indexed by the hit bits.
    sums: Vec<[i64; 16]>,
}

const LANE_DRAWS: u64 = 0x7FFF_7FFF_7FFF_7FFF;
const LANE_TOPS: u64 = 0x8000_8000_8000_8000;
/// Gathers the four lane tops (shifted to bits 0, 16, 32 and 48) into bits 45–48.
const GATHER: u64 = 1 | 1 << 15 | 1 << 30 | 1 << 45;

impl Bets {
    pub fn new(open: &[OpenBet]) -> Self {
        let mut lanes = Vec::with_capacity(open.len().div_ceil(4));
        let mut sums = Vec::with_capacity(open.len().div_ceil(4));
        for quad in open.chunks(4) {
            let mut lane = 0_u64;
            let mut amounts = [0_i64; 4];
            for (k, d) in quad.iter().enumerate() {
                let threshold = ((d.win * d.in_period).clamp(0.0, 1.0) * 32_768.0).round() as u64;
                lane |= (0x7FFF + threshold) << (16 * k);
                // An amount is an `i64` in the store; a run's sum of them is an `i128`.
                amounts[k] = i64::try_from(d.amount).unwrap_or(i64::MAX);
            }
            // Lanes past the last deal stay 0x7FFF minus a draw: never a hit.
            for k in quad.len()..4 {
                lane |= 0x7FFF << (16 * k);
            }
            let mut table = [0_i64; 16];
            for (hits, sum) in table.iter_mut().enumerate() {
                *sum = (0..4)
                    .filter(|k| hits >> k & 1 == 1)
                    .fold(0_i64, |s, k| s.saturating_add(amounts[k]));
            }
            lanes.push(lane);
            sums.push(table);
        }
        Self { lanes, sums }
    }

    /// The totals of the runs numbered `runs` (without what is already won). Run `r` draws
    /// from its own stream, `seed` mixed with `r`, so any split of the runs gives the same
    /// totals. The quads are walked in blocks that stay in the cache while every run draws
    /// over them, each run carrying its stream from block to block: the same draws as one run
    /// after another, without reading the whole pipeline from memory once per run.
    pub fn draw(&self, seed: u64, runs: std::ops::Range<u32>) -> Vec<i128> {
        let mut streams: Vec<WyRand> = runs
            .map(|run| WyRand(seed ^ SplitMix(u64::from(run)).next()))
            .collect();
        let mut totals = vec![0_i128; streams.len()];
        for (lanes, sums) in self.lanes.chunks(BLOCK).zip(self.sums.chunks(BLOCK)) {
            for (rng, total) in streams.iter_mut().zip(totals.iter_mut()) {
                *total += block_sum(lanes, sums, rng);
            }
        }
        totals
    }
}

/// Quads per block: 1,024 quads are 136 KB of lanes and sums, which stay in the cache.
const BLOCK: usize = 1024;

/// One run's draw over one block of quads: the sum of the deals that came in.
fn block_sum(lanes: &[u64], sums: &[[i64; 16]], rng: &mut WyRand) -> i128 {
    let mut sum: i128 = 0;
    for (lane, table) in lanes.iter().zip(sums) {
        let hits = (lane - (rng.next() & LANE_DRAWS)) & LANE_TOPS;
        let index = ((hits >> 15).wrapping_mul(GATHER) >> 45) & 0xF;
        sum += i128::from(table[index as usize]);
    }
    sum
}

/// wyrand: one 64×64→128-bit multiply per draw, and passes the usual statistical batteries;
/// SplitMix seeds it per run.
struct WyRand(u64);

impl WyRand {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    }
}

/// P10 / P50 / P90 of `won` plus the drawn totals.
pub fn percentiles(won: i128, mut totals: Vec<i128>) -> Range {
    if totals.is_empty() {
        totals.push(0);
    }
    totals.sort_unstable();
    let at = |q: f64| won + totals[((totals.len() - 1) as f64 * q).round() as usize];
    Range {
        p10: at(0.10),
        p50: at(0.50),
        p90: at(0.90),
    }
}

/// SplitMix64: a small, well-mixed generator, so a range is the same on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1): the tests draw their synthetic worlds with it.
    #[cfg(test)]
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub mod movement;

#[cfg(test)]
mod tests;
