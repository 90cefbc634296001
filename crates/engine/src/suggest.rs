//! "Did you mean …?": the nearest of a set of names to what someone typed.

/// The candidate nearest to `typed` by edit distance, when near enough to be a typo: one edit
/// for short words, two for longer ones (`advnce`, `lsot`, `deal-new`), so that unrelated
/// words get no misleading suggestion.
///
/// The distance is at least the difference in length, so candidates too long or too short are
/// skipped without computing it: a value thousands of characters long (a pasted paragraph where
/// a time zone belongs) then costs a length count per candidate, not a table per candidate.
pub fn closest<'a>(typed: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let length = typed.chars().count();
    let allowed = if length <= 3 { 1 } else { 2 };
    candidates
        .filter(|c| c.chars().count().abs_diff(length) <= allowed)
        .map(|c| (edit_distance(typed, c), c))
        .filter(|(d, _)| *d <= allowed)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: Levenshtein plus swapping two neighbouring characters,
/// the most common typing slip, as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Rows i-2, i-1 and i of the distance table.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            current[j] = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                current[j] = current[j].min(before[j - 2] + 1);
            }
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions_and_swaps() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn only_near_names_are_suggested() {
        let names = ["discovery-call", "demo", "proposal-sent"];
        assert_eq!(
            closest("discovry-call", names.into_iter()),
            Some("discovery-call")
        );
        assert_eq!(closest("karaoke", names.into_iter()), None);
    }

    /// `closest` without skipping by length: what the skipping must agree with.
    fn closest_by_distance_alone<'a>(typed: &str, candidates: &[&'a str]) -> Option<&'a str> {
        let allowed = if typed.chars().count() <= 3 { 1 } else { 2 };
        candidates
            .iter()
            .map(|c| (edit_distance(typed, c), *c))
            .filter(|(d, _)| *d <= allowed)
            .min_by_key(|(d, _)| *d)
            .map(|(_, c)| c)
    }

    proptest::proptest! {
        #[test]
        fn skipping_candidates_by_length_never_changes_the_suggestion(
            typed in "[a-dé]{0,9}",
            candidates in proptest::collection::vec("[a-dé]{0,9}", 0..8),
        ) {
            let candidates: Vec<&str> = candidates.iter().map(String::as_str).collect();
            proptest::prop_assert_eq!(
                closest(&typed, candidates.iter().copied()),
                closest_by_distance_alone(&typed, &candidates)
            );
        }
    }
}
