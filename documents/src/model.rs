//! The plain data a report card is printed from.
//!
//! Every text is already translated and formatted by the caller (the server maps its domain
//! types into these structs); the template only lays them out. Numbers that the template
//! computes with (the chart's bars, attendance) are numbers; everything printed as typed
//! (marks such as "67.5", "ABS", "EX", positions such as "3 / 41") is a string.

use serde::{Deserialize, Serialize};

/// The language the card is printed in. Only chooses the document's language tag (PDF
/// metadata, line breaking); the words themselves come from [`Labels`].
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    #[serde(rename = "en")]
    English,
    #[serde(rename = "sw")]
    Kiswahili,
}

/// A calendar date, used as the document's date (PDF creation date) instead of the clock,
/// so the same card always gives the same bytes.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct DocumentDate {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

/// A student's term report card.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ReportCard {
    pub language: Language,
    /// Every fixed word on the card, in `language`.
    pub labels: Labels,
    /// The day the card is issued: the PDF's creation date (never the clock).
    pub issued_on: DocumentDate,
    pub school: School,
    pub student: Student,
    /// Short names of the term's assessments, one column each (e.g. "CAT 1", "Mid", "Final").
    pub assessments: Vec<String>,
    /// Up to 14 subjects fit one A4 page at the normal size; more (or long remarks) are
    /// printed smaller.
    pub subjects: Vec<SubjectResult>,
    pub summary: Summary,
    pub attendance: Option<Attendance>,
    /// Conduct as the school writes it: a grade ("A") or words ("Very good").
    pub conduct: Option<String>,
    pub class_teacher_comment: String,
    pub head_teacher_comment: String,
    /// "School closes" date, formatted (e.g. "3 April 2026").
    pub closing_date: String,
    /// "Next term opens" date, formatted.
    pub next_term_opens: String,
    /// `None` prints `labels.fee_placeholder` instead of a balance.
    pub fees: Option<FeeBalance>,
    /// e.g. "Generated 3 April 2026, 14:05 by Kilele".
    pub generated_at: String,
    /// Short code printed in the footer (e.g. "ABCD-EFGH"); also the PDF's document identifier.
    pub verification_code: String,
    /// e.g. "Verify at https://school.example/verify/ABCD-EFGH".
    pub verification_text: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct School {
    pub name: String,
    pub motto: String,
    /// Address and phone, one line (e.g. "P.O. Box 123, Arusha · +255 754 000 000").
    pub address: String,
    /// The school's colour as `#RRGGBB`; `None` (or anything else) gives the default green.
    pub accent_colour: Option<String>,
    /// PNG, JPEG or SVG bytes. Not part of the JSON the template reads: served to it as a
    /// virtual file (`/logo`).
    #[serde(skip)]
    pub logo: Option<Vec<u8>>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Student {
    pub name: String,
    pub admission_number: String,
    /// The class level, e.g. "Form 2".
    pub class_name: String,
    /// The stream, e.g. "Form 2 A".
    pub stream: String,
    /// The term, e.g. "2026 Term 1".
    pub term: String,
    pub year: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SubjectResult {
    pub code: String,
    pub name: String,
    /// One entry per assessment (same order as `ReportCard::assessments`), as typed:
    /// "67.5", "ABS", "EX" or "".
    pub marks: Vec<String>,
    /// The term score as printed (e.g. "71.3").
    pub score: String,
    pub grade: String,
    pub points: String,
    /// e.g. "3 / 41".
    pub position: String,
    pub remark: String,
    /// The term score on a 0–100 scale for the chart; `None` draws no bar (e.g. absent).
    pub score_value: Option<f64>,
    /// The class's average for the subject, 0–100, for the chart.
    pub class_average: Option<f64>,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Summary {
    pub total: String,
    pub average: String,
    /// The average's grade, e.g. "B".
    pub grade: String,
    pub points: String,
    /// e.g. "II"; `None` when the student has no division.
    pub division: Option<String>,
    /// Why there is no division (e.g. "Incomplete: fewer than 7 subjects"), printed instead.
    pub division_note: Option<String>,
    /// e.g. "5 / 41".
    pub stream_position: String,
    /// e.g. "12 / 160".
    pub class_position: String,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
pub struct Attendance {
    pub days_present: u32,
    pub days_open: u32,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct FeeBalance {
    /// e.g. "TZS 150,000".
    pub amount: String,
    /// e.g. "31 March 2026".
    pub as_of: String,
}

/// Every fixed word on the card, in the card's language. The caller fills this from its
/// translation files; [`Labels::english`] and [`Labels::kiswahili`] are for tests and samples.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Labels {
    /// The document's title, e.g. "Student Progress Report".
    pub title: String,
    pub student_name: String,
    pub admission_number: String,
    pub class_name: String,
    pub stream: String,
    pub term: String,
    pub year: String,
    pub code: String,
    pub subject: String,
    /// Heading over the assessment columns, e.g. "Marks".
    pub marks: String,
    pub score: String,
    pub grade: String,
    pub points: String,
    pub position: String,
    pub remark: String,
    pub chart_title: String,
    pub chart_student: String,
    pub chart_class_average: String,
    pub summary: String,
    pub total: String,
    pub average: String,
    pub division: String,
    pub stream_position: String,
    pub class_position: String,
    pub attendance: String,
    /// With `{present}` and `{open}` placeholders, e.g. "{present} of {open} days".
    pub attendance_value: String,
    pub conduct: String,
    /// Printed when attendance or conduct is not given, e.g. "—".
    pub not_recorded: String,
    pub class_teacher_comment: String,
    pub head_teacher_comment: String,
    pub signature: String,
    pub date: String,
    pub stamp: String,
    pub closing_date: String,
    pub next_term_opens: String,
    pub fee_balance: String,
    /// e.g. "as of".
    pub fee_as_of: String,
    /// Printed when there is no fee section, e.g. "Fee statement: from the school's bursar".
    pub fee_placeholder: String,
    pub verification_code: String,
}

impl Labels {
    pub fn english() -> Self {
        Self {
            title: "Student Progress Report".into(),
            student_name: "Student".into(),
            admission_number: "Admission No.".into(),
            class_name: "Class".into(),
            stream: "Stream".into(),
            term: "Term".into(),
            year: "Year".into(),
            code: "Code".into(),
            subject: "Subject".into(),
            marks: "Marks".into(),
            score: "Total".into(),
            grade: "Grade".into(),
            points: "Points".into(),
            position: "Position".into(),
            remark: "Teacher's remark".into(),
            chart_title: "Scores by subject".into(),
            chart_student: "Student".into(),
            chart_class_average: "Class average".into(),
            summary: "Summary".into(),
            total: "Total marks".into(),
            average: "Average".into(),
            division: "Division".into(),
            stream_position: "Position in stream".into(),
            class_position: "Position in class".into(),
            attendance: "Attendance".into(),
            attendance_value: "{present} of {open} days".into(),
            conduct: "Conduct".into(),
            not_recorded: "—".into(),
            class_teacher_comment: "Class teacher's comment".into(),
            head_teacher_comment: "Head teacher's comment".into(),
            signature: "Signature".into(),
            date: "Date".into(),
            stamp: "School stamp".into(),
            closing_date: "School closes".into(),
            next_term_opens: "Next term opens".into(),
            fee_balance: "Fee balance".into(),
            fee_as_of: "as of".into(),
            fee_placeholder: "Fee statement: from the school's bursar".into(),
            verification_code: "Verification code".into(),
        }
    }

    pub fn kiswahili() -> Self {
        Self {
            title: "Ripoti ya Maendeleo ya Mwanafunzi".into(),
            student_name: "Mwanafunzi".into(),
            admission_number: "Namba ya Usajili".into(),
            class_name: "Kidato".into(),
            stream: "Mkondo".into(),
            term: "Muhula".into(),
            year: "Mwaka".into(),
            code: "Msimbo".into(),
            subject: "Somo".into(),
            marks: "Alama".into(),
            score: "Jumla".into(),
            grade: "Gredi".into(),
            points: "Pointi".into(),
            position: "Nafasi".into(),
            remark: "Maoni ya mwalimu".into(),
            chart_title: "Alama kwa kila somo".into(),
            chart_student: "Mwanafunzi".into(),
            chart_class_average: "Wastani wa darasa".into(),
            summary: "Muhtasari".into(),
            total: "Jumla ya alama".into(),
            average: "Wastani".into(),
            division: "Daraja".into(),
            stream_position: "Nafasi mkondoni".into(),
            class_position: "Nafasi darasani".into(),
            attendance: "Mahudhurio".into(),
            attendance_value: "Siku {present} kati ya {open}".into(),
            conduct: "Nidhamu".into(),
            not_recorded: "—".into(),
            class_teacher_comment: "Maoni ya mwalimu wa darasa".into(),
            head_teacher_comment: "Maoni ya mkuu wa shule".into(),
            signature: "Sahihi".into(),
            date: "Tarehe".into(),
            stamp: "Muhuri wa shule".into(),
            closing_date: "Shule inafungwa".into(),
            next_term_opens: "Muhula ujao unaanza".into(),
            fee_balance: "Salio la ada".into(),
            fee_as_of: "hadi".into(),
            fee_placeholder: "Taarifa ya ada: kutoka kwa mhasibu wa shule".into(),
            verification_code: "Namba ya uthibitisho".into(),
        }
    }
}

impl ReportCard {
    /// A full English card: 14 subjects, three assessments, attendance, conduct, fees. For
    /// tests, benchmarks and looking at the layout.
    pub fn sample() -> Self {
        let subjects = [
            ("CIV", "Civics", ["72", "68", "75"], "73.1", "B", "2", "Good work; keep it up."),
            ("HIST", "History", ["61", "ABS", "66"], "64.0", "B", "2", "Revise the colonial period."),
            ("GEO", "Geography", ["55", "58", "52"], "54.1", "C", "3", "Map work needs practice."),
            ("KISW", "Kiswahili", ["80", "84", "79"], "80.9", "A", "1", "Excellent composition."),
            ("ENG", "English Language", ["67.5", "70", "71"], "69.9", "B", "2", "Reads widely; good."),
            ("PHY", "Physics", ["44", "49", "51"], "48.7", "C", "3", "Show all working in calculations."),
            ("CHEM", "Chemistry", ["58", "61", "63"], "61.1", "B", "2", "Steady improvement."),
            ("BIO", "Biology", ["70", "66", "74"], "70.8", "B", "2", "Good practical skills."),
            ("B/MATH", "Basic Mathematics", ["38", "41", "45"], "42.0", "C", "3", "Needs more practice in algebra."),
            ("B/KNOW", "Bible Knowledge", ["EX", "EX", "EX"], "", "", "", "Exempted."),
            ("LIT", "Literature in English", ["63", "59", "68"], "64.4", "B", "2", "Thoughtful essays."),
            ("COMP", "Computer Studies", ["85", "88", "90"], "88.3", "A", "1", "Outstanding."),
            ("AGR", "Agriculture", ["49", "52", ""], "50.5", "C", "3", "Final practical to be marked."),
            ("COMM", "Commerce", ["57", "60", "62"], "60.1", "B", "2", "Good grasp of trade terms."),
        ];
        let averages = [61.2, 58.9, 55.3, 70.1, 63.4, 47.5, 52.8, 60.2, 40.6, 0.0, 57.7, 66.0, 54.9, 59.3];
        let subjects = subjects
            .iter()
            .zip(averages)
            .enumerate()
            .map(|(i, (&(code, name, marks, score, grade, points, remark), average))| SubjectResult {
                code: code.into(),
                name: name.into(),
                marks: marks.iter().map(|m| (*m).to_string()).collect(),
                score: score.into(),
                grade: grade.into(),
                points: points.into(),
                position: if score.is_empty() { String::new() } else { format!("{} / 41", (i * 7) % 40 + 1) },
                remark: remark.into(),
                score_value: score.parse().ok(),
                class_average: if average > 0.0 { Some(average) } else { None },
            })
            .collect();
        Self {
            language: Language::English,
            labels: Labels::english(),
            issued_on: DocumentDate { year: 2026, month: 4, day: 3 },
            school: School {
                name: "Mlima Kilele Secondary School".into(),
                motto: "Education is light".into(),
                address: "P.O. Box 123, Moshi, Kilimanjaro · +255 754 000 111 · info@mlimakilele.sc.tz".into(),
                accent_colour: None,
                logo: None,
            },
            student: Student {
                name: "Neema Joseph Mushi".into(),
                admission_number: "S.2024/0147".into(),
                class_name: "Form 2".into(),
                stream: "Form 2 A".into(),
                term: "2026 Term 1".into(),
                year: "2026".into(),
            },
            assessments: vec!["CAT 1".into(), "Mid-term".into(), "Final".into()],
            subjects,
            summary: Summary {
                total: "828.9".into(),
                average: "63.8".into(),
                grade: "B".into(),
                points: "17".into(),
                division: Some("II".into()),
                division_note: None,
                stream_position: "5 / 41".into(),
                class_position: "12 / 160".into(),
            },
            attendance: Some(Attendance { days_present: 58, days_open: 61 }),
            conduct: Some("A (Very good)".into()),
            class_teacher_comment: "Neema is a hard-working and polite student who helps others. She should give more time to \
                                    Basic Mathematics and Physics."
                .into(),
            head_teacher_comment: "A good term. Keep working hard and aim for Division I.".into(),
            closing_date: "3 April 2026".into(),
            next_term_opens: "27 April 2026".into(),
            fees: Some(FeeBalance { amount: "TZS 150,000".into(), as_of: "31 March 2026".into() }),
            generated_at: "Generated 3 April 2026, 14:05 · Kilele".into(),
            verification_code: "K7QD-M2XA".into(),
            verification_text: "Verify at https://mlimakilele.kilele.co.tz/verify/K7QD-M2XA".into(),
        }
    }

    /// The same card in Kiswahili (labels, remarks and dates), for tests and samples.
    pub fn sample_kiswahili() -> Self {
        let mut card = Self::sample();
        card.language = Language::Kiswahili;
        card.labels = Labels::kiswahili();
        card.assessments = vec!["Jaribio 1".into(), "Katikati".into(), "Mwisho".into()];
        for (subject, name) in card.subjects.iter_mut().zip([
            "Uraia",
            "Historia",
            "Jiografia",
            "Kiswahili",
            "Kiingereza",
            "Fizikia",
            "Kemia",
            "Biolojia",
            "Hisabati ya Msingi",
            "Maarifa ya Biblia",
            "Fasihi ya Kiingereza",
            "Masomo ya Kompyuta",
            "Kilimo",
            "Biashara",
        ]) {
            subject.name = name.into();
        }
        for (subject, remark) in card.subjects.iter_mut().zip([
            "Kazi nzuri; endelea hivyo.",
            "Rudia kipindi cha ukoloni.",
            "Fanya mazoezi ya ramani.",
            "Insha bora sana.",
            "Anasoma kwa bidii.",
            "Onyesha hatua zote za hesabu.",
            "Anaendelea vizuri.",
            "Ujuzi mzuri wa vitendo.",
            "Afanye mazoezi zaidi ya aljebra.",
            "Amesamehewa.",
            "Insha zenye fikra.",
            "Bora kabisa.",
            "Mtihani wa vitendo bado.",
            "Anaelewa vizuri istilahi za biashara.",
        ]) {
            subject.remark = remark.into();
        }
        card.student.term = "2026 Muhula 1".into();
        card.conduct = Some("A (Nzuri sana)".into());
        card.class_teacher_comment = "Neema ni mwanafunzi mchapakazi na mwenye adabu. Aongeze juhudi katika Hisabati na Fizikia.".into();
        card.head_teacher_comment = "Muhula mzuri. Endelea kujituma ili upate Daraja la I.".into();
        card.closing_date = "3 Aprili 2026".into();
        card.next_term_opens = "27 Aprili 2026".into();
        card.fees = Some(FeeBalance { amount: "TZS 150,000".into(), as_of: "31 Machi 2026".into() });
        card.generated_at = "Imetolewa 3 Aprili 2026, 14:05 · Kilele".into();
        card.verification_text = "Thibitisha kwenye https://mlimakilele.kilele.co.tz/verify/K7QD-M2XA".into();
        card
    }
}

/// A payment receipt: one A5 page, handed to whoever paid. Every text is formatted by the
/// caller (amounts such as "TZS 150,000", dates and times); `documents` knows nothing of money.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Receipt {
    /// The school's accent colour and logo are used as on the report card; the motto is printed
    /// under the name when it is not empty.
    pub school: School,
    /// e.g. "RCT-2026-000123"; also the PDF's document identifier.
    pub receipt_number: String,
    /// When the payment was recorded, e.g. "3 April 2026, 14:05".
    pub recorded_at: String,
    pub student_name: String,
    pub admission_number: String,
    pub class_name: String,
    /// The GePG control number the payment was made against.
    pub control_number: String,
    /// The amount paid, formatted, e.g. "TZS 150,000".
    pub amount: String,
    /// e.g. "Cash", "NMB bank slip", "M-Pesa".
    pub channel: String,
    /// The bank's or the mobile network's transaction reference, when there is one.
    pub reference: Option<String>,
    /// The day the money was paid, e.g. "2 April 2026".
    pub paid_on: String,
    /// Who recorded the payment, e.g. "Asha Mollel (Bursar)".
    pub recorded_by: String,
    /// How the payment was applied (fee items and their amounts); may be empty (then the
    /// table is left out).
    pub lines: Vec<ReceiptLine>,
    /// The student's balance after this payment, formatted. A balance below zero is a credit:
    /// the caller says so in the text (e.g. "TZS 20,000 (in credit)", with
    /// [`FinanceLabels::in_credit`]).
    pub balance_after: String,
    /// e.g. "ABCDE-FGHJK".
    pub verify_code: String,
    /// Where the receipt can be checked, as printed after [`FinanceLabels::verify`], e.g.
    /// "https://mlimakilele.kilele.co.tz/verify/ABCDE-FGHJK".
    pub verify_url: String,
    /// When this PDF was made, e.g. "3 April 2026, 14:06"; printed after
    /// [`FinanceLabels::generated`].
    pub generated_at: String,
    pub labels: FinanceLabels,
}

/// One fee item a payment was applied to.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct ReceiptLine {
    /// e.g. "Tuition fee, 2026 Term 1".
    pub description: String,
    /// Formatted, e.g. "TZS 120,000".
    pub amount: String,
}

/// A student's fee statement over a period: A4, as many pages as its lines need, the table's
/// header repeated on each page.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Statement {
    pub school: School,
    pub student_name: String,
    pub admission_number: String,
    pub class_name: String,
    pub control_number: String,
    /// The period, formatted, e.g. "1 January 2026 – 31 March 2026".
    pub period: String,
    /// The balance at the start of the period, formatted.
    pub opening_balance: String,
    /// The period's charges and payments, oldest first.
    pub lines: Vec<StatementLine>,
    pub total_debit: String,
    pub total_credit: String,
    pub closing_balance: String,
    /// When this PDF was made, e.g. "3 April 2026, 14:06"; printed after
    /// [`FinanceLabels::generated`].
    pub generated_at: String,
    pub labels: FinanceLabels,
}

/// One line of a statement: a charge (debit) or a payment (credit), with the balance after it.
/// Every field is formatted; the one of `debit` and `credit` that does not apply is empty.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct StatementLine {
    pub date: String,
    pub description: String,
    /// A receipt number, a bank reference or an invoice number; may be empty.
    pub reference: String,
    pub debit: String,
    pub credit: String,
    pub balance: String,
}

/// Every fixed word on a receipt or a statement, in one language. The caller fills this from
/// its translation files; [`FinanceLabels::english`] and [`FinanceLabels::kiswahili`] are the
/// reference wording (and what the tests and samples use).
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct FinanceLabels {
    /// The language of these words: the PDF's language tag (not printed).
    pub language: Language,
    /// "Payment receipt".
    pub title_receipt: String,
    /// "Fee statement".
    pub title_statement: String,
    /// "Receipt No.".
    pub receipt_number: String,
    /// Before the date and time the payment was recorded: "Recorded".
    pub recorded_at: String,
    pub student_name: String,
    pub admission_number: String,
    pub class_name: String,
    /// GePG's term: "Control number" / "Namba ya kumbukumbu ya malipo".
    pub control_number: String,
    pub amount_paid: String,
    /// How the money came: "Payment channel".
    pub channel: String,
    /// "Reference": a receipt's transaction reference and a statement's column.
    pub reference: String,
    pub paid_on: String,
    pub recorded_by: String,
    /// Heading over the receipt's table of fee items: "Applied to".
    pub applied_to: String,
    pub amount: String,
    pub balance_after: String,
    /// For the caller to add to a balance below zero (a credit), e.g. "(in credit)".
    pub in_credit: String,
    pub verification_code: String,
    /// Before the verification address: "Verify at".
    pub verify: String,
    /// Before the generated-at time: "Generated".
    pub generated: String,
    /// Room for the school's stamp on the receipt: "School stamp".
    pub stamp: String,
    pub period: String,
    pub opening_balance: String,
    pub closing_balance: String,
    pub date: String,
    pub description: String,
    /// A statement's column of charges.
    pub debit: String,
    /// A statement's column of payments.
    pub credit: String,
    /// A statement's running balance column.
    pub balance: String,
    pub totals: String,
    /// Printed in the table when the period has no lines.
    pub no_transactions: String,
    /// "Page" and "of": "Page 2 of 3".
    pub page: String,
    pub of: String,
}

impl FinanceLabels {
    pub fn english() -> Self {
        Self {
            language: Language::English,
            title_receipt: "Payment receipt".into(),
            title_statement: "Fee statement".into(),
            receipt_number: "Receipt No.".into(),
            recorded_at: "Recorded".into(),
            student_name: "Student".into(),
            admission_number: "Admission No.".into(),
            class_name: "Class".into(),
            control_number: "Control number".into(),
            amount_paid: "Amount paid".into(),
            channel: "Payment channel".into(),
            reference: "Reference".into(),
            paid_on: "Date paid".into(),
            recorded_by: "Recorded by".into(),
            applied_to: "Applied to".into(),
            amount: "Amount".into(),
            balance_after: "Balance after this payment".into(),
            in_credit: "(in credit)".into(),
            verification_code: "Verification code".into(),
            verify: "Verify at".into(),
            generated: "Generated".into(),
            stamp: "School stamp".into(),
            period: "Period".into(),
            opening_balance: "Opening balance".into(),
            closing_balance: "Closing balance".into(),
            date: "Date".into(),
            description: "Description".into(),
            debit: "Debit".into(),
            credit: "Credit".into(),
            balance: "Balance".into(),
            totals: "Totals".into(),
            no_transactions: "No transactions in this period".into(),
            page: "Page".into(),
            of: "of".into(),
        }
    }

    pub fn kiswahili() -> Self {
        Self {
            language: Language::Kiswahili,
            title_receipt: "Stakabadhi ya malipo".into(),
            title_statement: "Taarifa ya ada".into(),
            receipt_number: "Namba ya stakabadhi".into(),
            recorded_at: "Imerekodiwa".into(),
            student_name: "Mwanafunzi".into(),
            admission_number: "Namba ya usajili".into(),
            class_name: "Darasa".into(),
            control_number: "Namba ya kumbukumbu ya malipo".into(),
            amount_paid: "Kiasi kilicholipwa".into(),
            channel: "Njia ya malipo".into(),
            reference: "Kumbukumbu".into(),
            paid_on: "Tarehe ya malipo".into(),
            recorded_by: "Imerekodiwa na".into(),
            applied_to: "Mgawanyo wa malipo".into(),
            amount: "Kiasi".into(),
            balance_after: "Salio baada ya malipo haya".into(),
            in_credit: "(amelipa zaidi)".into(),
            verification_code: "Namba ya uthibitisho".into(),
            verify: "Thibitisha kwenye".into(),
            generated: "Imetolewa".into(),
            stamp: "Muhuri wa shule".into(),
            period: "Kipindi".into(),
            opening_balance: "Salio la mwanzo".into(),
            closing_balance: "Salio la mwisho".into(),
            date: "Tarehe".into(),
            description: "Maelezo".into(),
            debit: "Tozo".into(),
            credit: "Malipo".into(),
            balance: "Salio".into(),
            totals: "Jumla".into(),
            no_transactions: "Hakuna miamala katika kipindi hiki".into(),
            page: "Ukurasa".into(),
            of: "kati ya".into(),
        }
    }
}

/// The sample school of the finance samples (no logo).
fn sample_school() -> School {
    School {
        name: "Mlima Kilele Secondary School".into(),
        motto: "Education is light".into(),
        address: "P.O. Box 123, Moshi, Kilimanjaro · +255 754 000 111 · info@mlimakilele.sc.tz".into(),
        accent_colour: None,
        logo: None,
    }
}

impl Receipt {
    /// An English receipt for a cash payment applied to two fee items. For tests, benchmarks
    /// and looking at the layout.
    pub fn sample() -> Self {
        Self {
            school: sample_school(),
            receipt_number: "RCT-2026-000123".into(),
            recorded_at: "3 April 2026, 14:05".into(),
            student_name: "Neema Joseph Mushi".into(),
            admission_number: "S.2024/0147".into(),
            class_name: "Form 2 A".into(),
            control_number: "991230045617".into(),
            amount: "TZS 150,000".into(),
            channel: "NMB bank slip".into(),
            reference: Some("NMB-FT26093ZK41".into()),
            paid_on: "2 April 2026".into(),
            recorded_by: "Asha Mollel (Bursar)".into(),
            lines: vec![
                ReceiptLine { description: "Tuition fee, 2026 Term 1".into(), amount: "TZS 120,000".into() },
                ReceiptLine { description: "Examination fee, 2026 Term 1".into(), amount: "TZS 20,000".into() },
                ReceiptLine { description: "Caution money".into(), amount: "TZS 10,000".into() },
            ],
            balance_after: "TZS 180,000".into(),
            verify_code: "ABCDE-FGHJK".into(),
            verify_url: "https://mlimakilele.kilele.co.tz/verify/ABCDE-FGHJK".into(),
            generated_at: "3 April 2026, 14:06".into(),
            labels: FinanceLabels::english(),
        }
    }

    /// The same receipt in Kiswahili.
    pub fn sample_kiswahili() -> Self {
        let mut receipt = Self::sample();
        receipt.labels = FinanceLabels::kiswahili();
        receipt.school.motto = "Elimu ni mwanga".into();
        receipt.recorded_at = "3 Aprili 2026, 14:05".into();
        receipt.class_name = "Kidato cha 2 A".into();
        receipt.channel = "Hati ya benki ya NMB".into();
        receipt.paid_on = "2 Aprili 2026".into();
        receipt.recorded_by = "Asha Mollel (Mhasibu)".into();
        receipt.lines = vec![
            ReceiptLine { description: "Ada ya masomo, 2026 Muhula 1".into(), amount: "TZS 120,000".into() },
            ReceiptLine { description: "Ada ya mitihani, 2026 Muhula 1".into(), amount: "TZS 20,000".into() },
            ReceiptLine { description: "Fedha ya tahadhari".into(), amount: "TZS 10,000".into() },
        ];
        receipt.generated_at = "3 Aprili 2026, 14:06".into();
        receipt
    }
}

impl Statement {
    /// An English statement of one term: the term's charges, then payments in instalments.
    /// For tests, benchmarks and looking at the layout.
    pub fn sample() -> Self {
        let rows = [
            ("6 Jan 2026", "Tuition fee, 2026 Term 1", "INV-2026-0147", "450,000", ""),
            ("6 Jan 2026", "Examination fee, 2026 Term 1", "INV-2026-0147", "40,000", ""),
            ("6 Jan 2026", "Meals, 2026 Term 1", "INV-2026-0147", "180,000", ""),
            ("9 Jan 2026", "Payment: NMB bank slip", "RCT-2026-000031", "", "200,000"),
            ("2 Feb 2026", "Payment: M-Pesa", "RCT-2026-000078", "", "100,000"),
            ("14 Feb 2026", "Sports day contribution", "INV-2026-0212", "15,000", ""),
            ("3 Mar 2026", "Payment: CRDB bank slip", "RCT-2026-000101", "", "85,000"),
            ("2 Apr 2026", "Payment: NMB bank slip", "RCT-2026-000123", "", "150,000"),
        ];
        let mut balance: i64 = 30_000;
        let (mut debit, mut credit) = (0, 0);
        let lines = rows
            .iter()
            .map(|&(date, description, reference, d, c)| {
                let amount = |s: &str| s.replace(',', "").parse::<i64>().unwrap_or(0);
                debit += amount(d);
                credit += amount(c);
                balance += amount(d) - amount(c);
                StatementLine {
                    date: date.into(),
                    description: description.into(),
                    reference: reference.into(),
                    debit: d.into(),
                    credit: c.into(),
                    balance: group_thousands(balance),
                }
            })
            .collect();
        Self {
            school: sample_school(),
            student_name: "Neema Joseph Mushi".into(),
            admission_number: "S.2024/0147".into(),
            class_name: "Form 2 A".into(),
            control_number: "991230045617".into(),
            period: "1 January 2026 – 3 April 2026".into(),
            opening_balance: "TZS 30,000".into(),
            lines,
            total_debit: format!("TZS {}", group_thousands(debit)),
            total_credit: format!("TZS {}", group_thousands(credit)),
            closing_balance: format!("TZS {}", group_thousands(balance)),
            generated_at: "3 April 2026, 14:06".into(),
            labels: FinanceLabels::english(),
        }
    }

    /// The same statement in Kiswahili.
    pub fn sample_kiswahili() -> Self {
        let mut statement = Self::sample();
        statement.labels = FinanceLabels::kiswahili();
        statement.school.motto = "Elimu ni mwanga".into();
        statement.class_name = "Kidato cha 2 A".into();
        statement.period = "1 Januari 2026 – 3 Aprili 2026".into();
        for line in &mut statement.lines {
            line.description = line
                .description
                .replace("Tuition fee", "Ada ya masomo")
                .replace("Examination fee", "Ada ya mitihani")
                .replace("Meals", "Chakula")
                .replace("Sports day contribution", "Mchango wa siku ya michezo")
                .replace("Payment: ", "Malipo: ")
                .replace("bank slip", "hati ya benki")
                .replace("Term", "Muhula");
            line.date = line.date.replace("Mar", "Mac");
        }
        statement.generated_at = "3 Aprili 2026, 14:06".into();
        statement
    }
}

/// 1234567 → "1,234,567" (for the samples).
fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    if value < 0 {
        format!("-{out}")
    } else {
        out
    }
}
