//! Billing, pure: checking a fee structure as the bursar typed it, and working out one
//! student's invoice from it (optional items, discounts, sibling rank, pro rata, instalments).
//! The same code runs in the invoicing job and in the tests; amounts are integer minor units.

use super::{Currency, Money};
use crate::ValidationError;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// 100 % in basis points.
pub const FULL_BP: u32 = 10_000;
/// The largest amount one fee item may have (TZS 100 million): a typo guard.
pub const MAX_ITEM_MINOR: i64 = 100_000_000 * 100;
pub const MAX_ITEMS: usize = 30;
pub const MAX_INSTALMENTS: usize = 12;

/// One line of a fee structure as typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct ItemForm {
    pub name: String,
    pub amount: String,
    pub compulsory: bool,
}

/// One instalment as typed: a percentage ("40", "33.34") and a due date (YYYY-MM-DD).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct InstalmentForm {
    pub percent: String,
    pub due_on: String,
}

/// A checked fee-structure line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeLine {
    pub name: String,
    pub amount_minor: i64,
    pub compulsory: bool,
}

/// A checked instalment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instalment {
    pub share_bp: u32,
    pub due_on: NaiveDate,
}

/// A fee structure's content, checked: what a class pays and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeePlan {
    pub lines: Vec<FeeLine>,
    pub instalments: Vec<Instalment>,
}

/// Reads a percentage with up to two decimals into basis points ("40" → 4000, "33.33" → 3333).
pub fn parse_percent_bp(input: &str) -> Option<u32> {
    let s = input.trim().trim_end_matches('%').trim();
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || whole.len() > 3 || frac.len() > 2 || !whole.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let frac: u32 = if frac.is_empty() { 0 } else { format!("{frac:0<2}").parse().ok()? };
    let bp = whole.checked_mul(100)?.checked_add(frac)?;
    (bp <= FULL_BP).then_some(bp)
}

/// A fee item's name: trimmed, 1–80 characters, no spreadsheet-formula start.
pub fn clean_item_name(input: &str) -> Option<String> {
    let name = input.split_whitespace().collect::<Vec<_>>().join(" ");
    let ok = !name.is_empty() && name.chars().count() <= 80 && !name.starts_with(['=', '+', '-', '@']);
    ok.then_some(name)
}

impl FeePlan {
    /// Checks the whole form and reports every problem at once (`items.2.amount`,
    /// `instalments.1.due_on`, `instalments`…). Empty rows (no name, no amount) are ignored.
    pub fn parse(items: &[ItemForm], instalments: &[InstalmentForm]) -> Result<Self, Vec<ValidationError>> {
        let mut errors = Vec::new();
        let mut lines: Vec<FeeLine> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if item.name.trim().is_empty() && item.amount.trim().is_empty() {
                continue;
            }
            let name = clean_item_name(&item.name);
            if name.is_none() {
                errors.push(ValidationError::new(&format!("items.{i}.name"), "finance-error-item-name"));
            }
            let amount = Money::parse(&item.amount, Currency::Tzs).ok().map(|m| m.minor).filter(|m| *m > 0);
            match amount {
                None => errors.push(ValidationError::new(&format!("items.{i}.amount"), "finance-error-fee-amount")),
                Some(m) if m > MAX_ITEM_MINOR => {
                    errors.push(ValidationError::new(&format!("items.{i}.amount"), "finance-error-fee-too-large"))
                }
                _ => {}
            }
            if let Some(name) = &name {
                if lines.iter().any(|l| l.name.to_lowercase() == name.to_lowercase()) {
                    errors.push(ValidationError::new(&format!("items.{i}.name"), "finance-error-item-twice"));
                }
            }
            if let (Some(name), Some(amount_minor)) = (name, amount) {
                lines.push(FeeLine { name, amount_minor, compulsory: item.compulsory });
            }
        }
        if lines.is_empty() && errors.is_empty() {
            errors.push(ValidationError::new("items", "finance-error-no-items"));
        }
        if lines.len() > MAX_ITEMS {
            errors.push(ValidationError::new("items", "finance-error-too-many-items"));
        }
        if !lines.iter().any(|l| l.compulsory) && !lines.is_empty() {
            errors.push(ValidationError::new("items", "finance-error-no-compulsory"));
        }

        let mut plan: Vec<Instalment> = Vec::new();
        let mut instalment_errors = false;
        for (i, row) in instalments.iter().enumerate() {
            if row.percent.trim().is_empty() && row.due_on.trim().is_empty() {
                continue;
            }
            let share = parse_percent_bp(&row.percent).filter(|bp| *bp > 0);
            if share.is_none() {
                errors.push(ValidationError::new(&format!("instalments.{i}.percent"), "finance-error-percent"));
                instalment_errors = true;
            }
            let due = NaiveDate::parse_from_str(row.due_on.trim(), "%Y-%m-%d").ok();
            if due.is_none() {
                errors.push(ValidationError::new(&format!("instalments.{i}.due_on"), "error-date-invalid"));
                instalment_errors = true;
            }
            if let (Some(share_bp), Some(due_on)) = (share, due) {
                if plan.last().is_some_and(|prev| prev.due_on >= due_on) {
                    errors.push(ValidationError::new(&format!("instalments.{i}.due_on"), "finance-error-due-order"));
                    instalment_errors = true;
                }
                plan.push(Instalment { share_bp, due_on });
            }
        }
        if plan.is_empty() && !instalment_errors {
            errors.push(ValidationError::new("instalments", "finance-error-no-instalments"));
        } else if plan.len() > MAX_INSTALMENTS {
            errors.push(ValidationError::new("instalments", "finance-error-too-many-instalments"));
        } else if !instalment_errors && plan.iter().map(|p| p.share_bp).sum::<u32>() != FULL_BP {
            errors.push(ValidationError::new("instalments", "finance-error-shares-sum"));
        }
        if errors.is_empty() {
            Ok(Self { lines, instalments: plan })
        } else {
            Err(errors)
        }
    }
}

/// What a discount takes off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DiscountValue {
    /// Basis points of what is left after earlier discounts (1–10,000).
    Percent(u32),
    /// A fixed amount in minor units (never more than what is left).
    Amount(i64),
}

impl DiscountValue {
    /// Reads "10%" / "10" with `percent`, or an amount ("25,000").
    pub fn parse(input: &str, percent: bool) -> Result<Self, ValidationError> {
        if percent {
            parse_percent_bp(input)
                .filter(|bp| *bp > 0)
                .map(Self::Percent)
                .ok_or_else(|| ValidationError::new("value", "finance-error-discount-percent"))
        } else {
            Money::parse(input, Currency::Tzs)
                .ok()
                .map(|m| m.minor)
                .filter(|m| *m > 0 && *m <= MAX_ITEM_MINOR)
                .map(Self::Amount)
                .ok_or_else(|| ValidationError::new("value", "finance-error-fee-amount"))
        }
    }

    /// How much of `base` this takes off: whole shillings for a percentage (rounded down: a
    /// bill never asks for cents nobody can pay).
    fn off(self, base: i64) -> i64 {
        match self {
            Self::Percent(bp) if bp >= FULL_BP => base,
            Self::Percent(bp) => whole_shillings(share_of(base, bp)),
            Self::Amount(minor) => minor.min(base),
        }
        .clamp(0, base.max(0))
    }
}

/// `amount × bp / 10,000`, rounded half up (in minor units).
pub fn share_of(amount: i64, bp: u32) -> i64 {
    let num = i128::from(amount) * i128::from(bp);
    i64::try_from((num + i128::from(FULL_BP / 2)) / i128::from(FULL_BP)).unwrap_or(i64::MAX)
}

/// A discount that applies to one student's invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discount {
    /// One item's line, or the whole invoice.
    pub item: Option<Uuid>,
    pub value: DiscountValue,
}

/// One item of the structure as the job reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StructureItem {
    pub item: Uuid,
    pub name: String,
    pub amount_minor: i64,
    pub compulsory: bool,
}

/// Everything one student's invoice depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BillInput<'a> {
    pub items: &'a [StructureItem],
    /// Optional items this student takes.
    pub optional_taken: &'a [Uuid],
    pub discounts: &'a [Discount],
    /// The family's sibling discount for this child's rank (0 for the eldest).
    pub sibling_bp: u32,
    /// Billed for part of the term: (days left, days in the term).
    pub pro_rata: Option<(u32, u32)>,
    pub instalments: &'a [Instalment],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillLine {
    pub item: Uuid,
    pub description: String,
    pub gross_minor: i64,
    pub discount_minor: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    pub lines: Vec<BillLine>,
    /// (due date, amount) per instalment, summing to the net total.
    pub instalments: Vec<(NaiveDate, i64)>,
}

impl Bill {
    pub fn gross(&self) -> i64 {
        self.lines.iter().map(|l| l.gross_minor).sum()
    }
    pub fn discount(&self) -> i64 {
        self.lines.iter().map(|l| l.discount_minor).sum()
    }
    pub fn net(&self) -> i64 {
        self.gross() - self.discount()
    }
}

/// Rounds down to whole shillings (TZS is paid in whole shillings).
fn whole_shillings(minor: i64) -> i64 {
    minor - minor.rem_euclid(100)
}

/// Splits `total` into `parts` proportional to `weights`, exactly (largest remainder), so the
/// pieces always sum to `total`.
fn apportion(total: i64, weights: &[i64]) -> Vec<i64> {
    let sum: i128 = weights.iter().map(|w| i128::from(*w)).sum();
    if sum <= 0 || weights.is_empty() {
        return vec![0; weights.len()];
    }
    let mut parts: Vec<(usize, i64, i128)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let exact = i128::from(total) * i128::from(*w);
            (i, i64::try_from(exact / sum).unwrap_or(0), exact % sum)
        })
        .collect();
    let mut left = total - parts.iter().map(|p| p.1).sum::<i64>();
    parts.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
    for p in parts.iter_mut() {
        if left <= 0 {
            break;
        }
        p.1 += 1;
        left -= 1;
    }
    parts.sort_by_key(|p| p.0);
    parts.into_iter().map(|p| p.1).collect()
}

/// Works out one student's invoice. `None` when nothing is billable (no line applies).
///
/// Order: pro rata on each line's amount (whole shillings); then discounts on one item; then
/// the sibling discount and whole-invoice discounts on what is left, spread over the lines in
/// proportion; a discount never takes a line below zero. Instalments share the net total by
/// their percentages in whole shillings, the last taking the remainder.
pub fn bill(input: &BillInput<'_>) -> Option<Bill> {
    let mut lines: Vec<BillLine> = input
        .items
        .iter()
        .filter(|i| i.compulsory || input.optional_taken.contains(&i.item))
        .map(|i| {
            let gross = match input.pro_rata {
                Some((left, total)) if total > 0 && left < total => {
                    whole_shillings(i64::try_from(i128::from(i.amount_minor) * i128::from(left) / i128::from(total)).unwrap_or(0))
                }
                _ => i.amount_minor,
            };
            BillLine { item: i.item, description: i.name.clone(), gross_minor: gross, discount_minor: 0 }
        })
        .filter(|l| l.gross_minor > 0)
        .collect();
    if lines.is_empty() {
        return None;
    }
    for d in input.discounts.iter().filter(|d| d.item.is_some()) {
        if let Some(line) = lines.iter_mut().find(|l| Some(l.item) == d.item) {
            line.discount_minor += d.value.off(line.gross_minor - line.discount_minor);
        }
    }
    let whole: Vec<DiscountValue> = (input.sibling_bp > 0)
        .then_some(DiscountValue::Percent(input.sibling_bp.min(FULL_BP)))
        .into_iter()
        .chain(input.discounts.iter().filter(|d| d.item.is_none()).map(|d| d.value))
        .collect();
    for value in whole {
        let remaining: Vec<i64> = lines.iter().map(|l| l.gross_minor - l.discount_minor).collect();
        let off = value.off(remaining.iter().sum());
        for (line, part) in lines.iter_mut().zip(apportion(off, &remaining)) {
            line.discount_minor += part.min(line.gross_minor - line.discount_minor);
        }
    }
    let net = lines.iter().map(|l| l.gross_minor - l.discount_minor).sum::<i64>();
    let mut instalments = Vec::with_capacity(input.instalments.len());
    let mut given = 0;
    for (i, inst) in input.instalments.iter().enumerate() {
        let amount =
            if i + 1 == input.instalments.len() { net - given } else { whole_shillings(share_of(net, inst.share_bp)).min(net - given) };
        given += amount;
        instalments.push((inst.due_on, amount));
    }
    Some(Bill { lines, instalments })
}

/// The sibling discount for a child's rank in the family (1 = eldest: none).
pub fn sibling_bp(rank: u32, second_bp: u32, third_bp: u32) -> u32 {
    match rank {
        0 | 1 => 0,
        2 => second_bp,
        _ => third_bp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn form(items: &[(&str, &str, bool)], inst: &[(&str, &str)]) -> Result<FeePlan, Vec<ValidationError>> {
        let items: Vec<ItemForm> =
            items.iter().map(|(n, a, c)| ItemForm { name: (*n).into(), amount: (*a).into(), compulsory: *c }).collect();
        let inst: Vec<InstalmentForm> =
            inst.iter().map(|(p, due)| InstalmentForm { percent: (*p).into(), due_on: (*due).into() }).collect();
        FeePlan::parse(&items, &inst)
    }

    fn fields(e: Vec<ValidationError>) -> Vec<(String, String)> {
        e.into_iter().map(|e| (e.field, e.message)).collect()
    }

    #[test]
    fn a_good_plan_parses() {
        let p = form(
            &[("Tuition", "450,000", true), ("Transport", "120000", false), ("", "", false)],
            &[("40", "2027-01-15"), ("30", "2027-03-01"), ("30%", "2027-05-01")],
        )
        .unwrap();
        assert_eq!(p.lines.len(), 2);
        assert_eq!(p.lines[0].amount_minor, 45_000_000);
        assert_eq!(p.instalments.iter().map(|i| i.share_bp).collect::<Vec<_>>(), vec![4000, 3000, 3000]);
    }

    #[test]
    fn every_mistake_is_reported_at_once() {
        let e = fields(
            form(
                &[("Tuition", "-5", true), ("tuition", "abc", true), ("=cmd", "100", true)],
                &[("60", "2027-01-15"), ("30", "2027-01-01")],
            )
            .unwrap_err(),
        );
        assert!(e.contains(&("items.0.amount".into(), "finance-error-fee-amount".into())), "{e:?}");
        assert!(e.contains(&("items.1.amount".into(), "finance-error-fee-amount".into())), "{e:?}");
        assert!(e.contains(&("items.1.name".into(), "finance-error-item-twice".into())) || e.len() >= 3, "{e:?}");
        assert!(e.contains(&("items.2.name".into(), "finance-error-item-name".into())), "{e:?}");
        assert!(e.contains(&("instalments.1.due_on".into(), "finance-error-due-order".into())), "{e:?}");
        let e = fields(form(&[("Tuition", "100", true)], &[("60", "2027-01-15"), ("30", "2027-02-01")]).unwrap_err());
        assert_eq!(e, vec![("instalments".into(), "finance-error-shares-sum".into())]);
        let e = fields(form(&[("Tuition", "100", true)], &[("120", "2027-01-15")]).unwrap_err());
        assert_eq!(e, vec![("instalments.0.percent".into(), "finance-error-percent".into())]);
        let e = fields(form(&[("Bus", "100", false)], &[("100", "2027-01-15")]).unwrap_err());
        assert_eq!(e, vec![("items".into(), "finance-error-no-compulsory".into())]);
        let e = fields(form(&[], &[]).unwrap_err());
        assert!(e.contains(&("items".into(), "finance-error-no-items".into())), "{e:?}");
    }

    #[test]
    fn percentages_and_discounts_parse() {
        assert_eq!(parse_percent_bp("33.33"), Some(3333));
        assert_eq!(parse_percent_bp("100"), Some(10_000));
        assert_eq!(parse_percent_bp("100.01"), None);
        assert_eq!(parse_percent_bp("-1"), None);
        assert!(DiscountValue::parse("101", true).is_err());
        assert!(DiscountValue::parse("0", true).is_err());
        assert_eq!(DiscountValue::parse("25,000", false).unwrap(), DiscountValue::Amount(2_500_000));
    }

    fn items() -> Vec<StructureItem> {
        vec![
            StructureItem { item: Uuid::from_u128(1), name: "Tuition".into(), amount_minor: 45_000_000, compulsory: true },
            StructureItem { item: Uuid::from_u128(2), name: "Transport".into(), amount_minor: 12_000_000, compulsory: false },
            StructureItem { item: Uuid::from_u128(3), name: "Exam".into(), amount_minor: 3_333_300, compulsory: true },
        ]
    }

    fn plan() -> Vec<Instalment> {
        vec![
            Instalment { share_bp: 4000, due_on: d("2027-01-15") },
            Instalment { share_bp: 3000, due_on: d("2027-03-01") },
            Instalment { share_bp: 3000, due_on: d("2027-05-01") },
        ]
    }

    #[test]
    fn optional_items_siblings_and_instalments() {
        let items = items();
        let plan = plan();
        let base = BillInput { items: &items, optional_taken: &[], discounts: &[], sibling_bp: 0, pro_rata: None, instalments: &plan };
        let b = bill(&base).unwrap();
        assert_eq!(b.lines.len(), 2);
        assert_eq!(b.gross(), 48_333_300);
        assert_eq!(b.instalments.iter().map(|i| i.1).sum::<i64>(), b.net());
        assert_eq!(b.instalments[0].1, 19_333_300);
        let taken = [Uuid::from_u128(2)];
        let b = bill(&BillInput { optional_taken: &taken, sibling_bp: 1000, ..base.clone() }).unwrap();
        assert_eq!(b.gross(), 60_333_300);
        assert_eq!(b.discount(), 6_033_300, "whole shillings");
        assert!(b.instalments.iter().all(|i| i.1 % 100 == 0), "{:?}", b.instalments);
        assert_eq!(b.instalments.iter().map(|i| i.1).sum::<i64>(), b.net());
        // Bursary of 100 % on tuition, then TZS 50,000 off the rest.
        let discounts = [
            Discount { item: Some(Uuid::from_u128(1)), value: DiscountValue::Percent(10_000) },
            Discount { item: None, value: DiscountValue::Amount(5_000_000) },
        ];
        let b = bill(&BillInput { discounts: &discounts, ..base.clone() }).unwrap();
        // Tuition free; the examination fee (TZS 33,333) is less than TZS 50,000: nothing left.
        assert_eq!(b.net(), 0);
        assert!(b.lines.iter().all(|l| l.discount_minor <= l.gross_minor));
        // Joined with a quarter of the term left.
        let b = bill(&BillInput { pro_rata: Some((25, 100)), ..base }).unwrap();
        assert_eq!(b.lines[0].gross_minor, 11_250_000);
        assert_eq!(b.lines[1].gross_minor, 833_300);
    }

    #[test]
    fn apportioning_is_exact() {
        for total in [0, 1, 7, 99, 1_000_001] {
            for w in [vec![1, 1, 1], vec![5, 0, 3], vec![45_000_000, 3_333_300]] {
                assert_eq!(apportion(total, &w).iter().sum::<i64>(), total);
            }
        }
        assert_eq!(sibling_bp(1, 1000, 1500), 0);
        assert_eq!(sibling_bp(2, 1000, 1500), 1000);
        assert_eq!(sibling_bp(4, 1000, 1500), 1500);
    }
}
