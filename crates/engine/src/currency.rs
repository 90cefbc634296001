//! What a currency allows: how many decimals its amounts have (ISO 4217's minor unit), so an
//! amount is refused when it is finer than the currency (`JPY 1,234.56`) and figures are shown
//! to the currency's precision.
//!
//! Amounts are kept in hundredths of the major unit whatever the currency, so a currency with
//! three decimals (the Kuwaiti dinar) is kept to two: an amount with a third decimal is refused
//! by the parser before it gets here.

use crate::ids::{Money, ValueError};

/// ISO 4217 currencies with no minor unit: amounts in them are whole numbers.
const NO_MINOR_UNIT: &[&str] = &[
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
    "VUV", "XAF", "XOF", "XPF",
];

/// Decimals kept for `currency` (an ISO code such as `EUR`): 0 for the yen and its kind, 2 for
/// the rest.
pub fn decimals(currency: &str) -> u32 {
    if NO_MINOR_UNIT.contains(&currency.trim().to_ascii_uppercase().as_str()) {
        0
    } else {
        2
    }
}

/// Refuses an amount finer than `currency` allows, saying so in the currency's terms.
pub fn check(amount: Money, currency: &str) -> Result<Money, ValueError> {
    if decimals(currency) == 0 && amount.minor() % 100 != 0 {
        return Err(ValueError::MoneyFinerThanCurrency {
            amount: amount.to_string(),
            currency: currency.to_string(),
        });
    }
    Ok(amount)
}

/// A figure in minor units (hundredths) rounded, half up, to what `currency` shows: a weighted
/// yen figure is whole yen.
pub fn round(minor: i128, currency: &str) -> i128 {
    if decimals(currency) == 0 {
        (minor + 50).div_euclid(100) * 100
    } else {
        minor
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::ids::format_minor;

    fn money(text: &str) -> Money {
        text.parse().unwrap()
    }

    #[test]
    fn the_yen_takes_whole_amounts_and_the_euro_takes_cents() {
        assert_eq!(decimals("JPY"), 0);
        assert_eq!(decimals("jpy"), 0);
        assert_eq!(decimals("EUR"), 2);
        assert!(check(money("1,234"), "JPY").is_ok());
        let err = check(money("1,234.56"), "JPY").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`1,234.56` is finer than JPY allows: JPY amounts are whole numbers, such as `1,234`"
        );
        assert!(check(money("1,234.56"), "EUR").is_ok());
    }

    #[test]
    fn figures_are_rounded_to_the_currencys_precision() {
        assert_eq!(round(12_350, "JPY"), 12_400);
        assert_eq!(round(12_349, "JPY"), 12_300);
        assert_eq!(round(12_349, "USD"), 12_349);
    }

    proptest! {
        /// What a reply prints for an amount is what a person may type back, and it reads as
        /// the same amount, in every currency.
        #[test]
        fn a_printed_amount_parses_back_to_itself(
            minor in 1..=Money::MAX_MINOR,
            currency in prop::sample::select(vec!["USD", "EUR", "JPY", "KRW", "GBP"]),
        ) {
            let minor = if decimals(currency) == 0 { (minor / 100).max(1) * 100 } else { minor };
            let amount = Money::from_minor(minor).unwrap();
            let printed = format_minor(round(i128::from(minor), currency));
            let typed: Money = printed.parse().unwrap();
            prop_assert_eq!(typed, amount);
            prop_assert_eq!(check(typed, currency), Ok(amount));
        }
    }
}
