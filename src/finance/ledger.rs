//! The double-entry ledger, pure: accounts, the entry each money movement posts (balanced by
//! construction), and what is derived from a student's postings (how a payment settles the
//! instalments, arrears by age). The database refuses an unbalanced entry too (migration
//! 0021): the rule lives in both places on purpose.
//!
//! Signs: debits are positive, credits negative. A student's receivable has a debit balance
//! (what they owe); their credit account a credit balance (money paid beyond what was owed,
//! applied to the next invoice automatically).

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Where money comes in: the cash box, a bank, a mobile wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Channel {
    Cash,
    Nmb,
    Nbc,
    Crdb,
    Mpesa,
    Airtel,
    Tigo,
    /// GePG: a parent paid a GePG control number at any bank or wallet.
    Gepg,
}

impl Channel {
    pub const ALL: [Channel; 8] = [Self::Cash, Self::Nmb, Self::Nbc, Self::Crdb, Self::Mpesa, Self::Airtel, Self::Tigo, Self::Gepg];

    pub fn code(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Nmb => "nmb",
            Self::Nbc => "nbc",
            Self::Crdb => "crdb",
            Self::Mpesa => "mpesa",
            Self::Airtel => "airtel",
            Self::Tigo => "tigo",
            Self::Gepg => "gepg",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Self::Cash => "finance-channel-cash",
            Self::Nmb => "finance-channel-nmb",
            Self::Nbc => "finance-channel-nbc",
            Self::Crdb => "finance-channel-crdb",
            Self::Mpesa => "finance-channel-mpesa",
            Self::Airtel => "finance-channel-airtel",
            Self::Tigo => "finance-channel-tigo",
            Self::Gepg => "finance-channel-gepg",
        }
    }

    /// Banks take a slip or transaction reference; cash may have none.
    pub fn needs_reference(self) -> bool {
        self != Self::Cash
    }
}

/// An account of the school's chart of accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Account {
    /// What a student owes.
    Receivable(Uuid),
    /// What the school owes a student (overpaid), applied to the next invoice.
    Credit(Uuid),
    /// Income of one fee item.
    Income(Uuid),
    /// Discounts and allowances given (contra-income).
    Discounts,
    /// Late fines (income).
    Fines,
    /// Money held at a channel (the cash box, a bank account, a wallet) until it is banked.
    Clearing(Channel),
    /// Money that cannot be matched to a student yet (the payments issue).
    Suspense,
    /// Debts given up.
    WriteOffs,
}

impl Account {
    /// (kind, student, item, channel) as stored in `ledger_accounts`.
    pub fn columns(self) -> (&'static str, Option<Uuid>, Option<Uuid>, Option<&'static str>) {
        match self {
            Self::Receivable(s) => ("receivable", Some(s), None, None),
            Self::Credit(s) => ("credit", Some(s), None, None),
            Self::Income(i) => ("income", None, Some(i), None),
            Self::Discounts => ("discounts", None, None, None),
            Self::Fines => ("fines", None, None, None),
            Self::Clearing(c) => ("clearing", None, None, Some(c.code())),
            Self::Suspense => ("suspense", None, None, None),
            Self::WriteOffs => ("write_offs", None, None, None),
        }
    }
}

/// What an entry records; its source document is of the matching kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntryKind {
    Invoice,
    Payment,
    CreditNote,
    CreditApplied,
    Fine,
    FineWaiver,
    Refund,
    WriteOff,
}

impl EntryKind {
    pub const ALL: [EntryKind; 8] =
        [Self::Invoice, Self::Payment, Self::CreditNote, Self::CreditApplied, Self::Fine, Self::FineWaiver, Self::Refund, Self::WriteOff];

    pub fn code(self) -> &'static str {
        match self {
            Self::Invoice => "invoice",
            Self::Payment => "payment",
            Self::CreditNote => "credit_note",
            Self::CreditApplied => "credit_applied",
            Self::Fine => "fine",
            Self::FineWaiver => "fine_waiver",
            Self::Refund => "refund",
            Self::WriteOff => "write_off",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Self::Invoice => "finance-entry-invoice",
            Self::Payment => "finance-entry-payment",
            Self::CreditNote => "finance-entry-credit-note",
            Self::CreditApplied => "finance-entry-credit-applied",
            Self::Fine => "finance-entry-fine",
            Self::FineWaiver => "finance-entry-fine-waiver",
            Self::Refund => "finance-entry-refund",
            Self::WriteOff => "finance-entry-write-off",
        }
    }
}

/// One journal entry before it is stored: balanced by construction (the builders below are
/// the only way to make one outside this module's tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub kind: EntryKind,
    pub source: Uuid,
    pub student: Option<Uuid>,
    pub memo: String,
    pub lines: Vec<(Account, i64)>,
}

impl Posting {
    fn new(kind: EntryKind, source: Uuid, student: Option<Uuid>, memo: String, lines: Vec<(Account, i64)>) -> Self {
        // Zero lines say nothing (and the database refuses them).
        let lines = lines.into_iter().filter(|(_, amount)| *amount != 0).collect();
        Self { kind, source, student, memo, lines }
    }

    /// Lines sum to zero and there are at least two.
    pub fn balances(&self) -> bool {
        self.lines.len() >= 2 && self.lines.iter().map(|(_, a)| i128::from(*a)).sum::<i128>() == 0
    }

    /// Moves `amount` out of what the student owes, the rest (beyond what they owe) into
    /// their credit: the credit side of a payment, a credit note, a waiver.
    fn settle(student: Uuid, amount: i64, owed: i64) -> [(Account, i64); 2] {
        let against_debt = amount.min(owed.max(0));
        [(Account::Receivable(student), -against_debt), (Account::Credit(student), -(amount - against_debt))]
    }

    /// An invoice: the student owes the net, discounts are recorded, each item earns its gross.
    pub fn invoice(invoice: Uuid, student: Uuid, memo: String, lines: &[(Uuid, i64)], discount: i64) -> Self {
        let gross: i64 = lines.iter().map(|(_, g)| *g).sum();
        let mut out = vec![(Account::Receivable(student), gross - discount), (Account::Discounts, discount)];
        out.extend(lines.iter().map(|(item, g)| (Account::Income(*item), -*g)));
        Self::new(EntryKind::Invoice, invoice, Some(student), memo, out)
    }

    /// A payment received at `channel`: settles what is owed, the rest becomes credit.
    pub fn payment(payment: Uuid, student: Uuid, memo: String, channel: Channel, amount: i64, owed: i64) -> Self {
        let mut out = vec![(Account::Clearing(channel), amount)];
        out.extend(Self::settle(student, amount, owed));
        Self::new(EntryKind::Payment, payment, Some(student), memo, out)
    }

    /// Credit (overpayment) used for a new debt (`source`: the invoice or fine). `None` when
    /// there is nothing to apply.
    pub fn credit_applied(source: Uuid, student: Uuid, memo: String, credit: i64, owed: i64) -> Option<Self> {
        let amount = credit.min(owed);
        (amount > 0).then(|| {
            Self::new(
                EntryKind::CreditApplied,
                source,
                Some(student),
                memo,
                vec![(Account::Credit(student), amount), (Account::Receivable(student), -amount)],
            )
        })
    }

    /// A credit note cancelling a whole invoice: each item's income and the discount are
    /// reversed; what the invoice charged leaves the receivable (or becomes credit when it was
    /// already paid).
    pub fn cancellation(note: Uuid, student: Uuid, memo: String, lines: &[(Uuid, i64)], discount: i64, owed: i64) -> Self {
        let gross: i64 = lines.iter().map(|(_, g)| *g).sum();
        let mut out: Vec<(Account, i64)> = lines.iter().map(|(item, g)| (Account::Income(*item), *g)).collect();
        out.push((Account::Discounts, -discount));
        out.extend(Self::settle(student, gross - discount, owed));
        Self::new(EntryKind::CreditNote, note, Some(student), memo, out)
    }

    /// A credit note for part of an invoice: an allowance.
    pub fn allowance(note: Uuid, student: Uuid, memo: String, amount: i64, owed: i64) -> Self {
        let mut out = vec![(Account::Discounts, amount)];
        out.extend(Self::settle(student, amount, owed));
        Self::new(EntryKind::CreditNote, note, Some(student), memo, out)
    }

    pub fn fine(fine: Uuid, student: Uuid, memo: String, amount: i64) -> Self {
        Self::new(EntryKind::Fine, fine, Some(student), memo, vec![(Account::Receivable(student), amount), (Account::Fines, -amount)])
    }

    pub fn fine_waiver(fine: Uuid, student: Uuid, memo: String, amount: i64, owed: i64) -> Self {
        let mut out = vec![(Account::Fines, amount)];
        out.extend(Self::settle(student, amount, owed));
        Self::new(EntryKind::FineWaiver, fine, Some(student), memo, out)
    }

    /// Money paid back at `channel`: from the student's credit first, the rest puts the
    /// student back in debt (a payment returned).
    pub fn refund(refund: Uuid, student: Uuid, memo: String, channel: Channel, amount: i64, credit: i64) -> Self {
        let from_credit = amount.min(credit.max(0));
        Self::new(
            EntryKind::Refund,
            refund,
            Some(student),
            memo,
            vec![
                (Account::Credit(student), from_credit),
                (Account::Receivable(student), amount - from_credit),
                (Account::Clearing(channel), -amount),
            ],
        )
    }

    pub fn write_off(write_off: Uuid, student: Uuid, memo: String, amount: i64) -> Self {
        Self::new(
            EntryKind::WriteOff,
            write_off,
            Some(student),
            memo,
            vec![(Account::WriteOffs, amount), (Account::Receivable(student), -amount)],
        )
    }
}

/// Which debts a payment settles first (a school's setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Allocation {
    /// The oldest due date first (arrears before the current term).
    OldestFirst,
    /// The current term's instalments first, then arrears oldest first.
    CurrentTermFirst,
}

impl Allocation {
    pub fn code(self) -> &'static str {
        match self {
            Self::OldestFirst => "oldest_first",
            Self::CurrentTermFirst => "current_term_first",
        }
    }
    pub fn parse(code: &str) -> Option<Self> {
        [Self::OldestFirst, Self::CurrentTermFirst].into_iter().find(|a| a.code() == code)
    }
}

/// Something a student owes by a date: an instalment or a fine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Debt {
    pub invoice: Uuid,
    /// The instalment's number (0 for a fine).
    pub seq: u32,
    pub due_on: NaiveDate,
    pub amount: i64,
    pub current_term: bool,
}

/// A debt and how much of it is still unpaid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settled {
    pub debt: Debt,
    pub unpaid: i64,
}

/// Spreads what has been settled (everything charged minus the receivable's balance) over the
/// debts in the school's order. Derived on every read: nothing about it is stored.
pub fn allocate(mut debts: Vec<Debt>, settled: i64, order: Allocation) -> Vec<Settled> {
    debts.sort_by(|a, b| {
        let key = |d: &Debt| (order == Allocation::CurrentTermFirst && !d.current_term, d.due_on, d.invoice, d.seq);
        key(a).cmp(&key(b))
    });
    let mut left = settled.max(0);
    let mut out: Vec<Settled> = debts
        .into_iter()
        .map(|debt| {
            let paid = left.min(debt.amount.max(0));
            left -= paid;
            let unpaid = debt.amount - paid;
            Settled { debt, unpaid }
        })
        .collect();
    out.sort_by_key(|s| (s.debt.due_on, s.debt.invoice, s.debt.seq));
    out
}

/// Arrears by days past due: 0–30, 31–60, 61–90, over 90.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Ageing {
    pub days_0_30: i64,
    pub days_31_60: i64,
    pub days_61_90: i64,
    pub days_over_90: i64,
}

impl Ageing {
    pub fn add(&mut self, unpaid: i64, due_on: NaiveDate, today: NaiveDate) {
        let late = (today - due_on).num_days();
        if unpaid <= 0 || late <= 0 {
            return;
        }
        match late {
            1..=30 => self.days_0_30 += unpaid,
            31..=60 => self.days_31_60 += unpaid,
            61..=90 => self.days_61_90 += unpaid,
            _ => self.days_over_90 += unpaid,
        }
    }
    pub fn total(&self) -> i64 {
        self.days_0_30 + self.days_31_60 + self.days_61_90 + self.days_over_90
    }
    pub fn merge(&mut self, other: &Ageing) {
        self.days_0_30 += other.days_0_30;
        self.days_31_60 += other.days_31_60;
        self.days_61_90 += other.days_61_90;
        self.days_over_90 += other.days_over_90;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    /// A student's position (receivable minus credit) after a list of postings.
    fn position(postings: &[Posting], student: Uuid) -> (i64, i64) {
        let mut receivable = 0;
        let mut credit = 0;
        for p in postings {
            for (account, amount) in &p.lines {
                match account {
                    Account::Receivable(s) if *s == student => receivable += amount,
                    Account::Credit(s) if *s == student => credit -= amount,
                    _ => {}
                }
            }
        }
        (receivable, credit)
    }

    #[derive(Debug, Clone)]
    enum Op {
        Invoice(Vec<i64>, i64),
        Pay(i64),
        Cancel,
        Allow(i64),
        Fine(i64),
        Waive,
        Refund(i64),
        WriteOff(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (proptest::collection::vec(1i64..5_000_000, 1..5), 0i64..100).prop_map(|(g, pct)| {
                let gross: i64 = g.iter().sum();
                Op::Invoice(g, gross * pct / 100)
            }),
            (1i64..9_000_000).prop_map(Op::Pay),
            Just(Op::Cancel),
            (1i64..1_000_000).prop_map(Op::Allow),
            (1i64..100_000).prop_map(Op::Fine),
            Just(Op::Waive),
            (1i64..2_000_000).prop_map(Op::Refund),
            (1i64..2_000_000).prop_map(Op::WriteOff),
        ]
    }

    proptest! {
        /// Every posting balances, and after any sequence a student never both owes and has
        /// credit, and their position equals charges minus settlements.
        #[test]
        fn any_sequence_balances(ops in proptest::collection::vec(op(), 1..40)) {
            let student = Uuid::from_u128(7);
            let mut postings: Vec<Posting> = Vec::new();
            let mut charged = 0i64;
            let mut settled = 0i64;
            // (lines, discount, cancelled)
            type Billed = (Vec<(Uuid, i64)>, i64, bool);
            let mut invoices: Vec<Billed> = Vec::new();
            let mut fines: Vec<(i64, bool)> = Vec::new();
            let mut paid = 0i64;
            for (n, op) in ops.into_iter().enumerate() {
                let src = Uuid::from_u128(1000 + n as u128);
                let (owed, credit) = position(&postings, student);
                match op {
                    Op::Invoice(g, disc) => {
                        let lines: Vec<(Uuid, i64)> = g.iter().enumerate().map(|(i, a)| (Uuid::from_u128(i as u128 + 1), *a)).collect();
                        let net = g.iter().sum::<i64>() - disc;
                        postings.push(Posting::invoice(src, student, String::new(), &lines, disc));
                        charged += net;
                        if let Some(p) = Posting::credit_applied(src, student, String::new(), credit, owed + net) { postings.push(p); }
                        invoices.push((lines, disc, false));
                    }
                    Op::Pay(a) => { postings.push(Posting::payment(src, student, String::new(), Channel::Cash, a, owed)); settled += a; paid += a; }
                    Op::Cancel => {
                        if let Some(inv) = invoices.iter_mut().find(|i| !i.2) {
                            inv.2 = true;
                            let net = inv.0.iter().map(|l| l.1).sum::<i64>() - inv.1;
                            postings.push(Posting::cancellation(src, student, String::new(), &inv.0, inv.1, owed));
                            settled += net;
                        }
                    }
                    Op::Allow(a) => { postings.push(Posting::allowance(src, student, String::new(), a, owed)); settled += a; }
                    Op::Fine(a) => {
                        postings.push(Posting::fine(src, student, String::new(), a));
                        charged += a;
                        if let Some(p) = Posting::credit_applied(src, student, String::new(), credit, owed + a) { postings.push(p); }
                        fines.push((a, false));
                    }
                    Op::Waive => {
                        if let Some(f) = fines.iter_mut().find(|f| !f.1) {
                            f.1 = true;
                            postings.push(Posting::fine_waiver(src, student, String::new(), f.0, owed));
                            settled += f.0;
                        }
                    }
                    Op::Refund(a) => {
                        if a <= paid {
                            postings.push(Posting::refund(src, student, String::new(), Channel::Cash, a, credit));
                            settled -= a;
                            paid -= a;
                        }
                    }
                    Op::WriteOff(a) => {
                        if a <= owed {
                            postings.push(Posting::write_off(src, student, String::new(), a));
                            settled += a;
                        }
                    }
                }
                for p in &postings {
                    prop_assert!(p.balances() || p.lines.is_empty(), "{p:?}");
                }
                let (owed, credit) = position(&postings, student);
                prop_assert_eq!(owed - credit, charged - settled);
                prop_assert!(credit >= 0, "credit {}", credit);
                prop_assert!(owed <= 0 || credit == 0 || postings.last().is_some_and(|p| p.kind == EntryKind::Refund), "owes {} with credit {}", owed, credit);
            }
        }
    }

    #[test]
    fn payments_settle_oldest_first_or_current_term_first() {
        let a = Uuid::from_u128(1);
        let b = Uuid::from_u128(2);
        let debts = vec![
            Debt { invoice: b, seq: 1, due_on: d("2027-01-15"), amount: 400, current_term: true },
            Debt { invoice: a, seq: 2, due_on: d("2026-10-01"), amount: 300, current_term: false },
            Debt { invoice: a, seq: 1, due_on: d("2026-08-01"), amount: 300, current_term: false },
        ];
        let s = allocate(debts.clone(), 500, Allocation::OldestFirst);
        assert_eq!(s.iter().map(|s| s.unpaid).collect::<Vec<_>>(), vec![0, 100, 400]);
        let s = allocate(debts, 500, Allocation::CurrentTermFirst);
        assert_eq!(s.iter().map(|s| s.unpaid).collect::<Vec<_>>(), vec![200, 300, 0]);
        let mut ageing = Ageing::default();
        for x in &s {
            ageing.add(x.unpaid, x.debt.due_on, d("2026-12-15"));
        }
        assert_eq!((ageing.days_61_90, ageing.days_over_90, ageing.days_0_30), (300, 200, 0));
    }
}
