//! Pipeline movement: how a period's open pipeline got from what a snapshot saw to what is open
//! now, bucket by bucket, so that
//!
//! ```text
//! start + created + pulled in + amount up − amount down − pushed out − lost − won = end
//! ```
//!
//! holds by construction: each deal is walked through once (how it entered, how its amount
//! changed, how it left) and the buckets are sums of those walks.

/// A deal as the window sees it: whether the start snapshot held it (and at what amount), and
/// where it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealPath<K> {
    /// Names the deal in the bucket's list (its number, say).
    pub key: K,
    /// Its amount in the start snapshot, when the snapshot held it open and closing in the
    /// period.
    pub start: Option<i128>,
    /// Created after the start snapshot was taken.
    pub created_in_window: bool,
    pub end: EndState,
    /// Its amount now (or when it closed).
    pub amount: i128,
}

/// Where a deal is at the end of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndState {
    /// Open, closing in the period.
    InPeriod,
    /// Open, its close date moved out of the period.
    OutOfPeriod,
    Won,
    Lost,
}

/// A bucket of the identity by name, as `/forecast changes … list:` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BucketName {
    Start,
    Created,
    PulledIn,
    AmountUp,
    AmountDown,
    PushedOut,
    Lost,
    Won,
    End,
}

impl BucketName {
    pub const ALL: [BucketName; 9] = [
        Self::Start,
        Self::Created,
        Self::PulledIn,
        Self::AmountUp,
        Self::AmountDown,
        Self::PushedOut,
        Self::Lost,
        Self::Won,
        Self::End,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Created => "created",
            Self::PulledIn => "pulled-in",
            Self::AmountUp => "up",
            Self::AmountDown => "down",
            Self::PushedOut => "pushed-out",
            Self::Lost => "lost",
            Self::Won => "won",
            Self::End => "end",
        }
    }

    /// Its name as typed, case and `_`/`-` aside.
    pub fn parse(text: &str) -> Option<Self> {
        let wanted = text.trim().to_ascii_lowercase().replace('_', "-");
        Self::ALL.into_iter().find(|b| b.as_str() == wanted)
    }
}

/// The buckets of the identity, each a count, an amount and the deals in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Movement<K> {
    pub start: Bucket<K>,
    pub created: Bucket<K>,
    pub pulled_in: Bucket<K>,
    pub amount_up: Bucket<K>,
    pub amount_down: Bucket<K>,
    pub pushed_out: Bucket<K>,
    pub lost: Bucket<K>,
    pub won: Bucket<K>,
    pub end: Bucket<K>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket<K> {
    /// Always positive: the identity's sign is the bucket's, not the amount's.
    pub amount: i128,
    pub deals: Vec<(K, i128)>,
}

impl<K> Default for Bucket<K> {
    fn default() -> Self {
        Self {
            amount: 0,
            deals: Vec::new(),
        }
    }
}

impl<K> Bucket<K> {
    fn add(&mut self, key: K, amount: i128) {
        self.amount += amount;
        self.deals.push((key, amount));
    }
}

impl<K> Movement<K> {
    pub fn bucket(&self, name: BucketName) -> &Bucket<K> {
        match name {
            BucketName::Start => &self.start,
            BucketName::Created => &self.created,
            BucketName::PulledIn => &self.pulled_in,
            BucketName::AmountUp => &self.amount_up,
            BucketName::AmountDown => &self.amount_down,
            BucketName::PushedOut => &self.pushed_out,
            BucketName::Lost => &self.lost,
            BucketName::Won => &self.won,
            BucketName::End => &self.end,
        }
    }

    /// The right-hand side of the identity recomputed from the other buckets: always equal to
    /// `end.amount` (the property tests hold it to that).
    pub fn computed_end(&self) -> i128 {
        self.start.amount + self.created.amount + self.pulled_in.amount + self.amount_up.amount
            - self.amount_down.amount
            - self.pushed_out.amount
            - self.lost.amount
            - self.won.amount
    }
}

/// Walks each deal through the window. A deal the start did not hold and that did not end in
/// the period or won in the window never counted in it, and is left out.
pub fn movement<K: Clone>(paths: impl IntoIterator<Item = DealPath<K>>) -> Movement<K> {
    let mut m = Movement {
        start: Bucket::default(),
        created: Bucket::default(),
        pulled_in: Bucket::default(),
        amount_up: Bucket::default(),
        amount_down: Bucket::default(),
        pushed_out: Bucket::default(),
        lost: Bucket::default(),
        won: Bucket::default(),
        end: Bucket::default(),
    };
    for p in paths {
        // How it entered, and at what amount; the difference to its amount now is a change.
        match p.start {
            Some(at_start) => {
                m.start.add(p.key.clone(), at_start);
                let delta = p.amount - at_start;
                if delta > 0 {
                    m.amount_up.add(p.key.clone(), delta);
                } else if delta < 0 {
                    m.amount_down.add(p.key.clone(), -delta);
                }
            }
            None => {
                let counted = matches!(p.end, EndState::InPeriod | EndState::Won);
                if !counted {
                    continue;
                }
                if p.created_in_window {
                    m.created.add(p.key.clone(), p.amount);
                } else {
                    m.pulled_in.add(p.key.clone(), p.amount);
                }
            }
        }
        let exit = match p.end {
            EndState::InPeriod => &mut m.end,
            EndState::OutOfPeriod => &mut m.pushed_out,
            EndState::Won => &mut m.won,
            EndState::Lost => &mut m.lost,
        };
        exit.add(p.key, p.amount);
    }
    m
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn path(
        key: u32,
        start: Option<i128>,
        created: bool,
        end: EndState,
        amount: i128,
    ) -> DealPath<u32> {
        DealPath {
            key,
            start,
            created_in_window: created,
            end,
            amount,
        }
    }

    #[test]
    fn each_way_in_and_out_lands_in_its_bucket() {
        let m = movement([
            path(1, Some(100), false, EndState::InPeriod, 100),
            path(2, Some(100), false, EndState::InPeriod, 150), // up 50
            path(3, Some(100), false, EndState::Won, 80),       // down 20, won 80
            path(4, Some(60), false, EndState::OutOfPeriod, 60),
            path(5, Some(40), false, EndState::Lost, 40),
            path(6, None, true, EndState::InPeriod, 30),
            path(7, None, false, EndState::Won, 70), // pulled in, won
            path(8, None, false, EndState::Lost, 90), // never counted here
            path(9, None, true, EndState::OutOfPeriod, 10), // never counted here
        ]);
        assert_eq!(m.start.amount, 400);
        assert_eq!(m.created.amount, 30);
        assert_eq!(m.pulled_in.amount, 70);
        assert_eq!(m.amount_up.amount, 50);
        assert_eq!(m.amount_down.amount, 20);
        assert_eq!(m.pushed_out.amount, 60);
        assert_eq!(m.lost.amount, 40);
        assert_eq!(m.won.amount, 150);
        assert_eq!(m.end.amount, 280);
        assert_eq!(m.computed_end(), m.end.amount);
        assert_eq!(m.won.deals, vec![(3, 80), (7, 70)]);
    }

    fn end_state() -> impl Strategy<Value = EndState> {
        prop_oneof![
            Just(EndState::InPeriod),
            Just(EndState::OutOfPeriod),
            Just(EndState::Won),
            Just(EndState::Lost),
        ]
    }

    proptest! {
        /// start + created + pulled in + up − down − pushed out − lost − won = end, whatever
        /// happened to whichever deals.
        #[test]
        fn the_identity_always_holds(
            deals in proptest::collection::vec(
                (proptest::option::of(0i128..1_000_000), any::<bool>(), end_state(), 0i128..1_000_000),
                0..60,
            )
        ) {
            let m = movement(deals.iter().enumerate().map(|(i, (start, created, end, amount))| {
                path(i as u32, *start, *created, *end, *amount)
            }));
            prop_assert_eq!(m.computed_end(), m.end.amount);
            let listed = |b: &Bucket<u32>| b.deals.iter().map(|(_, a)| a).sum::<i128>();
            for b in [&m.start, &m.created, &m.pulled_in, &m.amount_up, &m.amount_down,
                      &m.pushed_out, &m.lost, &m.won, &m.end] {
                prop_assert_eq!(listed(b), b.amount);
                prop_assert!(b.amount >= 0);
            }
        }
    }
}
