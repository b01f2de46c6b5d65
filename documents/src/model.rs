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
