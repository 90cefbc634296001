//! Keeping a cell text when a spreadsheet opens the file.
//!
//! Excel, LibreOffice and Google Sheets run a cell that starts with `=`, `+`, `-` or `@` as a
//! formula, and a tab or carriage return in front does not stop them; a deal named
//! `=HYPERLINK("http://evil.example","Click")` becomes a link in the sales manager's copy of the
//! export. OWASP's advice is to prefix such a cell with a single quote, which spreadsheets take
//! as "this is text" and do not show. dealgate's export does that (`neutralise`), and its import
//! undoes exactly that (`restore`), so a value survives the round trip unchanged.
//!
//! ```text
//! neutralise("=1+1") → "'=1+1"     restore("'=1+1") → "=1+1"
//! neutralise("'=1")  → "''=1"      restore("''=1")  → "'=1"
//! neutralise("Acme") → "Acme"      restore("'Acme") → "'Acme"   (not one of ours: kept)
//! ```
//!
//! A value that itself starts with quotes before a formula character (`'=1`) gets one quote
//! more, or `restore` could not tell it from a neutralised `=1`: that keeps the two exact
//! inverses.

use std::borrow::Cow;

/// The first characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// Whether `cell` would be run as a formula by a spreadsheet that opened it.
pub fn starts_like_formula(cell: &str) -> bool {
    cell.starts_with(FORMULA_STARTS)
}

/// Whether `cell` is quotes (none or more) and then a formula character.
fn quoted_formula(cell: &str) -> bool {
    starts_like_formula(cell.trim_start_matches('\''))
}

/// `cell` as an export writes it: prefixed with `'` when it would otherwise be a formula (or
/// when it already looks like a neutralised one).
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    if quoted_formula(cell) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// `cell` as it was before `neutralise`: one `'` is dropped only when a formula character
/// follows it (after any further quotes), so a value that really starts with a quote
/// (`'93 vintage`) is kept as it is.
pub fn restore(cell: &str) -> Cow<'_, str> {
    match cell.strip_prefix('\'') {
        Some(rest) if quoted_formula(rest) => Cow::Borrowed(rest),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_formula_start_is_prefixed_with_a_quote() {
        for cell in ["=1+1", "+44 20", "-5", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn plain_text_is_left_alone_both_ways() {
        for cell in ["Acme renewal", "", "12500", "'93 vintage", "a=b", " =x"] {
            assert_eq!(neutralise(cell), cell);
            assert_eq!(restore(cell), cell);
        }
    }

    #[test]
    fn restore_strips_only_a_quote_before_a_formula_character() {
        assert_eq!(restore("'=HYPERLINK(\"x\")"), "=HYPERLINK(\"x\")");
        assert_eq!(restore("'-20% deal"), "-20% deal");
        assert_eq!(restore("''=x"), "'=x");
        assert_eq!(restore("'a=x"), "'a=x");
        assert_eq!(restore("'"), "'");
    }

    #[test]
    fn restore_undoes_neutralise_for_any_cell() {
        for cell in [
            "=1+1", "'=1+1", "''", "'", "@home", "Acme", "-", "\t\t", "'\r", "é=ü", "",
        ] {
            assert_eq!(restore(&neutralise(cell)), cell, "{cell:?}");
        }
    }
}
