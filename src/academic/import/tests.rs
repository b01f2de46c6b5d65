use super::*;
use crate::academic::students::clean_name;
use crate::academic::AdmissionNo;
use crate::identity::{Email, Phone};
use chrono::NaiveDate;
use std::collections::HashSet;
use std::io::Cursor;

const HEADER: &str = "admission_no,first_name,middle_name,last_name,sex,date_of_birth,class,\
guardian1_name,guardian1_relationship,guardian1_phone,guardian1_email,guardian1_sms,\
guardian2_name,guardian2_relationship,guardian2_phone,guardian2_email,guardian2_sms";

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 1).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn classes() -> Vec<String> {
    ["Form 1A", "Form 2A", "Form 2B", "Standard III A"].map(String::from).to_vec()
}

fn check(kind: FileKind, bytes: &[u8]) -> Preview {
    validate(read(kind, bytes).unwrap(), &classes(), &HashSet::new(), today())
}

fn csv(lines: &[&str]) -> Vec<u8> {
    let mut s = String::from(HEADER);
    for line in lines {
        s.push('\n');
        s.push_str(line);
    }
    s.into_bytes()
}

fn asha() -> StudentRow {
    StudentRow {
        line: 2,
        admission_no: AdmissionNo::parse("KHSS/2026/0001").unwrap(),
        first_name: "Asha".into(),
        middle_name: Some("Neema".into()),
        last_name: "Mwakyusa".into(),
        sex: Sex::F,
        date_of_birth: Some(date(2011, 5, 3)),
        class_name: "Form 2A".into(),
        guardians: vec![
            GuardianRow {
                name: "Mary Mwakyusa".into(),
                relationship: Relationship::Mother,
                phone: Phone::parse("0712345678").unwrap(),
                email: Some(Email::parse("mary@example.com").unwrap()),
                receives_sms: true,
            },
            GuardianRow {
                name: "John Mwakyusa".into(),
                relationship: Relationship::Father,
                phone: Phone::parse("+255687123456").unwrap(),
                email: None,
                receives_sms: false,
            },
        ],
    }
}

#[test]
fn csv_happy_path() {
    let bytes = csv(&[
        " khss/2026/0001 ,  Asha , Neema ,Mwakyusa,Ke,03/05/2011,form 2a,Mary   Mwakyusa,Mama,0712 345 678,Mary@Example.com,ndiyo,\
John Mwakyusa,baba,+255687123456,,",
        "",
        ",,,,,,,,,,,,,,,,",
        "KHSS/2026/0002,Baraka,,Kimaro,Me,2012-01-20,FORM 2 B,Grace Kimaro,,0687-123-456,,,,,,,",
        "\"KHSS/2026/0003\",\"Juma, Jr\",,Said,M,,Standard III A,Mlezi Said,guardian,712345678,,no,,mother,,,yes",
    ]);
    let preview = check(FileKind::Csv, &bytes);
    assert_eq!(preview.errors, vec![]);
    assert!(preview.is_clean());
    assert_eq!(preview.rows.len(), 3);
    assert_eq!(preview.rows[0], asha());

    let baraka = &preview.rows[1];
    assert_eq!(baraka.line, 5, "blank and all-empty lines are skipped but still counted");
    assert_eq!(baraka.sex, Sex::M);
    assert_eq!(baraka.date_of_birth, Some(date(2012, 1, 20)));
    assert_eq!(baraka.class_name, "Form 2B");
    assert_eq!(baraka.middle_name, None);
    assert_eq!(baraka.guardians.len(), 1);
    assert_eq!(baraka.guardians[0].relationship, Relationship::Guardian);
    assert_eq!(baraka.guardians[0].phone.as_str(), "+255687123456");
    assert!(baraka.guardians[0].receives_sms, "guardian 1 gets SMS by default");

    let juma = &preview.rows[2];
    assert_eq!(juma.line, 6);
    assert_eq!(juma.first_name, "Juma, Jr");
    assert_eq!(juma.class_name, "Standard III A");
    assert!(!juma.guardians[0].receives_sms);
    assert_eq!(juma.guardians.len(), 1, "relationship and SMS alone do not make a second guardian");
}

#[test]
fn line_numbers_follow_the_file() {
    let text = format!(
        "{HEADER},notes\r\nKHSS/1,Asha,,Mwakyusa,F,,Form 2A,Mary,,0712345678,,,,,,,,\"two\r\nlines\"\r\n\r\n\
KHSS/2,Baraka,,Kimaro,X,,Form 2A,Grace,,0712345679,,,,,,,,\r\n"
    );
    let rows = read(FileKind::Csv, text.as_bytes()).unwrap();
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2, 5]);
    let preview = validate(rows, &classes(), &HashSet::new(), today());
    assert_eq!(preview.errors.iter().map(|e| e.line).collect::<Vec<_>>(), vec![5]);
}

#[test]
fn semicolon_csv() {
    let text = format!("{}\nKHSS/1;Asha;;Mwakyusa;F;2011-05-03;Form 2A;Mary;mother;0712345678;;yes;;;;;\n", HEADER.replace(',', ";"));
    let preview = check(FileKind::Csv, text.as_bytes());
    assert_eq!(preview.errors, vec![]);
    assert_eq!(preview.rows.len(), 1);
    assert_eq!(preview.rows[0].last_name, "Mwakyusa");
    assert_eq!(preview.rows[0].guardians[0].relationship, Relationship::Mother);
}

#[test]
fn byte_order_mark_is_stripped() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(csv(&["KHSS/1,Asha,,Mwakyusa,F,,Form 2A,Mary,,0712345678,,,,,,,"]));
    let rows = read(FileKind::Csv, &bytes).unwrap();
    assert_eq!(rows[0].get(Column::AdmissionNo), "KHSS/1");
    assert_eq!(rows[0].line, 2);
    assert_eq!(check(FileKind::Csv, &bytes).rows.len(), 1);
}

#[test]
fn kiswahili_and_loose_headers() {
    let text = "Namba ya Usajili,JINA_LA_KWANZA,jina la kati, Jina_la_Ukoo ,Jinsia,Tarehe ya Kuzaliwa,Darasa,\
Guardian 1 Name,Guardian1 Phone,Maelezo\n\
KHSS/9,Neema,,Mushi,Mwanamke,2010-10-10,form 1a,Rehema Mushi,0755123123,hana\n";
    let preview = check(FileKind::Csv, text.as_bytes());
    assert_eq!(preview.errors, vec![]);
    let row = &preview.rows[0];
    assert_eq!((row.first_name.as_str(), row.last_name.as_str(), row.sex), ("Neema", "Mushi", Sex::F));
    assert_eq!(row.class_name, "Form 1A");
    assert_eq!(row.date_of_birth, Some(date(2010, 10, 10)));
    assert_eq!(row.guardians[0].phone.as_str(), "+255755123123");
}

#[test]
fn title_rows_above_the_header_are_skipped() {
    let text = format!("Kilimanjaro Hills - students 2026\n\n{HEADER}\nKHSS/1,Asha,,Mwakyusa,F,,Form 2A,Mary,,0712345678,,,,,,,\n");
    let rows = read(FileKind::Csv, text.as_bytes()).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].line, 4);
}

#[test]
fn every_error_is_reported_with_its_line() {
    let mut existing = HashSet::new();
    existing.insert("khss/2025/0100 ".to_owned());
    let bytes = csv(&[
        /* 2 */ "KHSS/1,Asha,,Mwakyusa,F,2011-05-03,Form 2A,Mary,,0712345678,,,,,,,",
        /* 3 */ "KHSS/2,Baraka,,Kimaro,M,,Form 2A,Grace,,0512345678,,,,,,,",
        /* 4 */ "KHSS/3,Juma,,Said,M,,Form 2A,Halima,,0712345679,halima@,,,,,,",
        /* 5 */ "KHSS/DUP,Neema,,Mushi,F,,Form 2A,Rehema,,0712345670,,,,,,,",
        /* 6 */ "KHSS/2025/0100,Zawadi,,Mrema,F,,Form 2A,Anna,,0712345671,,,,,,,",
        /* 7 */ "khss/dup,Daudi,,Lema,M,,Form 2A,Petro,,0712345672,,,,,,,",
        /* 8 */ "KHSS/4,Amani,,Swai,M,,Form 9Z,Paulo,,0712345673,,,,,,,",
        /* 9 */ "KHSS/5,,,Moshi,M,,Form 2A,,,,,,,,,,",
        /* 10 */ "KHSS/6,Faraja,,Minja,X,,Form 2A,Elia,,0712345674,,,,,,,",
        /* 11 */ "KHSS/7,Furaha,,Kessy,F,31/02/2011,Form 2A,Ester,,0712345675,,,,,,,",
        /* 12 */ "KHSS/8,Imani,,Temba,F,2027-01-01,Form 2A,Sara,,0712345676,,,,,,,",
        /* 13 */ "KHSS/9,Tumaini,,Urio,F,1985-06-01,Form 2A,Eva,,0712345677,,,,,,,",
        /* 14 */ "KHSS 10,=cmd,,Ngowi,,,,Rose,aunt,0712,a@b,maybe,Peter,,,,sometimes",
        /* 15 */ "KHSS/11,Upendo,,Massawe,F,,Form 2A,Lucy,,0713000000,,,Lucy Jr,,0713 000 000,,",
    ]);
    let rows = read(FileKind::Csv, &bytes).unwrap();
    let preview = validate(rows, &classes(), &existing, today());
    let got: Vec<(usize, &str, &str, &str)> =
        preview.errors.iter().map(|e| (e.line, e.field.as_str(), e.message.as_str(), e.value.as_str())).collect();
    assert_eq!(
        got,
        vec![
            (3, "guardian1_phone", "error-phone-invalid", "0512345678"),
            (4, "guardian1_email", "error-email-invalid", "halima@"),
            (5, "admission_no", "error-admission-duplicate", "KHSS/DUP"),
            (6, "admission_no", "error-admission-exists", "KHSS/2025/0100"),
            (7, "admission_no", "error-admission-duplicate", "khss/dup"),
            (8, "class", "error-class-unknown", "Form 9Z"),
            (9, "first_name", "error-name-required", ""),
            (9, "guardian1_name", "error-name-required", ""),
            (9, "guardian1_phone", "error-phone-required", ""),
            (10, "sex", "error-sex-invalid", "X"),
            (11, "date_of_birth", "error-date-invalid", "31/02/2011"),
            (12, "date_of_birth", "error-date-of-birth-future", "2027-01-01"),
            (13, "date_of_birth", "error-date-of-birth-too-early", "1985-06-01"),
            (14, "admission_no", "error-admission-invalid", "KHSS 10"),
            (14, "first_name", "error-name-invalid", "=cmd"),
            (14, "sex", "error-sex-required", ""),
            (14, "class", "error-class-required", ""),
            (14, "guardian1_relationship", "error-relationship-invalid", "aunt"),
            (14, "guardian1_phone", "error-phone-invalid", "0712"),
            (14, "guardian1_email", "error-email-invalid", "a@b"),
            (14, "guardian1_sms", "error-sms-invalid", "maybe"),
            (14, "guardian2_phone", "error-phone-required", ""),
            (14, "guardian2_sms", "error-sms-invalid", "sometimes"),
            (15, "guardian2_phone", "error-guardian-phone-repeated", "0713 000 000"),
        ]
    );
    assert_eq!(preview.rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![2]);
    assert_eq!(preview.lines_with_errors(), 13);
    assert!(!preview.is_clean());
}

#[test]
fn names_are_cleaned_and_bounded() {
    assert_eq!(clean_name("  Mary \t  Anne  "), Ok("Mary Anne".into()));
    assert_eq!(clean_name(&"a".repeat(60)), Ok("a".repeat(60)));
    assert_eq!(clean_name(&"a".repeat(61)), Err("error-name-too-long"));
    assert_eq!(clean_name("   "), Err("error-name-required"));
    assert_eq!(clean_name("12345"), Err("error-name-invalid"));
    assert_eq!(clean_name("+Mary"), Err("error-name-invalid"));
    assert_eq!(clean_name("N'gwandu-Mollel"), Ok("N'gwandu-Mollel".into()));
}

#[test]
fn values_in_both_languages() {
    for (typed, sex) in
        [("F", Sex::F), ("female", Sex::F), ("KE", Sex::F), ("Mwanamke", Sex::F), ("m", Sex::M), ("Me", Sex::M), ("mwanaume", Sex::M)]
    {
        assert_eq!(Sex::parse(typed), Some(sex), "{typed}");
    }
    assert_eq!(Sex::parse("x"), None);
    assert_eq!(Relationship::parse("MLEZI"), Some(Relationship::Guardian));
    assert_eq!(Relationship::parse("Baba"), Some(Relationship::Father));
    assert_eq!(parse_yes_no("Hapana"), Some(false));
    assert_eq!(parse_yes_no("1"), Some(true));
    assert_eq!(parse_date("3/5/2011"), Some(date(2011, 5, 3)));
    assert_eq!(parse_date("2011-05-03"), Some(date(2011, 5, 3)));
    assert_eq!(parse_date("05/03/11x"), None);
}

#[test]
fn missing_and_duplicate_columns_are_file_errors() {
    let text = "admission_no,first_name,sex,class,guardian1_name,notes\nKHSS/1,Asha,F,Form 2A,Mary,x\n";
    assert_eq!(read(FileKind::Csv, text.as_bytes()), Err(FileError::MissingColumns(vec!["last_name".into(), "guardian1_phone".into()])));
    let err = read(FileKind::Csv, text.as_bytes()).unwrap_err();
    assert_eq!(err.message(), "import-error-missing-column");

    let text = format!("{HEADER},darasa\nKHSS/1,Asha,,Mwakyusa,F,,Form 2A,Mary,,0712345678,,,,,,,,Form 2A\n");
    assert_eq!(read(FileKind::Csv, text.as_bytes()), Err(FileError::DuplicateColumn("class".into())));

    // A file without a header at all names every required column.
    let text = "KHSS/1,Asha,Mwakyusa\n";
    assert!(matches!(read(FileKind::Csv, text.as_bytes()), Err(FileError::MissingColumns(c)) if c.len() == 7));
}

#[test]
fn empty_files_and_bad_bytes() {
    assert_eq!(read(FileKind::Csv, b""), Err(FileError::Empty));
    assert_eq!(read(FileKind::Csv, b"\xEF\xBB\xBF\n\n"), Err(FileError::Empty));
    assert_eq!(read(FileKind::Csv, HEADER.as_bytes()), Err(FileError::Empty));
    assert_eq!(read(FileKind::Csv, format!("{HEADER}\n,,,\n").as_bytes()), Err(FileError::Empty));
    assert_eq!(read(FileKind::Csv, b"adm\xFFission"), Err(FileError::NotUtf8));
    assert_eq!(read(FileKind::Xlsx, b"admission_no,first_name"), Err(FileError::NotASpreadsheet));
    assert_eq!(read(FileKind::Xlsx, b"PK\x03\x04garbage"), Err(FileError::NotASpreadsheet));
    assert_eq!(FileError::Empty.message(), "import-error-empty");
}

#[test]
fn too_many_rows_are_refused() {
    let row = "KHSS/1,Asha,,Mwakyusa,F,,Form 2A,Mary,,0712345678,,,,,,,\n";
    let mut text = format!("{HEADER}\n");
    text.push_str(&row.repeat(MAX_ROWS));
    assert_eq!(read(FileKind::Csv, text.as_bytes()).map(|r| r.len()), Ok(MAX_ROWS));
    text.push_str(row);
    assert_eq!(read(FileKind::Csv, text.as_bytes()), Err(FileError::TooManyRows));
    assert_eq!(FileError::TooManyRows.message(), "import-error-too-many-rows");
}

#[test]
fn detects_the_kind() {
    assert_eq!(detect("students.CSV", b"admission_no"), Some(FileKind::Csv));
    assert_eq!(detect("students.xlsx", b"PK\x03\x04rest"), Some(FileKind::Xlsx));
    assert_eq!(detect("students", b"PK\x03\x04rest"), Some(FileKind::Xlsx));
    assert_eq!(detect("students.xls", b"\xD0\xCF\x11\xE0"), None);
    assert_eq!(detect("photo.png", b"\x89PNG"), None);
}

fn sample_rows(n: usize) -> Vec<StudentRow> {
    let classes = classes();
    (0..n)
        .map(|i| {
            let mut row = asha();
            row.line = i + 2;
            row.admission_no = AdmissionNo::parse(&format!("KHSS/2026/{i:04}")).unwrap();
            row.first_name = format!("Mwanafunzi {}", i % 97 + 1).replace(char::is_numeric, "x");
            row.middle_name = (i % 3 != 0).then(|| "Neema".to_owned());
            row.sex = if i % 2 == 0 { Sex::F } else { Sex::M };
            row.date_of_birth = (i % 5 != 0).then(|| date(2008, 1, 1) + chrono::Days::new(i as u64 % 3000));
            row.class_name = classes[i % classes.len()].clone();
            row.guardians[0].phone = Phone::parse(&format!("07{:08}", i)).unwrap();
            row.guardians[0].receives_sms = i % 4 != 0;
            if i % 2 == 0 {
                row.guardians.truncate(1);
            } else {
                row.guardians[1].phone = Phone::parse(&format!("06{:08}", i)).unwrap();
                row.guardians[1].email = Some(Email::parse(&format!("g{i}@example.com")).unwrap());
            }
            row
        })
        .collect()
}

#[test]
fn csv_export_imports_again() {
    let mut rows = sample_rows(50);
    rows[3].first_name = "Juma, \"JJ\"".into();
    let bytes = write_csv(&rows);
    assert!(bytes.starts_with(b"\xEF\xBB\xBFadmission_no,first_name,"));
    assert_eq!(detect("export.csv", &bytes), Some(FileKind::Csv));
    let preview = check(FileKind::Csv, &bytes);
    assert_eq!(preview.errors, vec![]);
    assert_eq!(preview.rows, rows);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains(",+255700000001,"), "phones are written in E.164");
}

#[test]
fn csv_export_defuses_formulas() {
    let mut row = asha();
    row.first_name = "=HYPERLINK(\"http://x\")".into();
    row.guardians[0].email = Some(Email::parse("+1@example.com").unwrap());
    let text = String::from_utf8(write_csv(&[row])).unwrap();
    assert!(text.contains(",\"'=HYPERLINK(\"\"http://x\"\")\","), "{text}");
    assert!(text.contains(",'+1@example.com,"), "{text}");
    assert!(text.contains(",+255712345678,"), "phones stay as they are");
}

#[test]
fn serialised_codes() {
    assert_eq!(serde_json::to_string(&Column::Guardian1Sms).unwrap(), "\"guardian1_sms\"");
    assert_eq!(serde_json::to_string(&Relationship::Mother).unwrap(), "\"mother\"");
    assert_eq!(serde_json::to_string(&Sex::F).unwrap(), "\"F\"");
    for column in Column::ALL {
        assert_eq!(Column::from_header(column.name()), Some(column));
        assert_eq!(serde_json::to_value(column).unwrap(), column.name());
    }
}

#[test]
fn xlsx_round_trip_with_date_cells() {
    let bytes = csv(&[
        "KHSS/2026/0001,Asha,Neema,Mwakyusa,F,03/05/2011,Form 2A,Mary Mwakyusa,mother,0712345678,mary@example.com,yes,\
John Mwakyusa,father,0687123456,,no",
        "KHSS/2026/0002,Baraka,,Kimaro,M,,Form 1A,Grace Kimaro,,0687-123-457,,,,,,,",
    ]);
    let original = check(FileKind::Csv, &bytes);
    assert_eq!(original.errors, vec![]);
    assert_eq!(original.rows[0], asha());

    let xlsx = write_xlsx(&original.rows).unwrap();
    assert_eq!(detect("students.xlsx", &xlsx), Some(FileKind::Xlsx));
    let again = check(FileKind::Xlsx, &xlsx);
    assert_eq!(again, original);

    // The date of birth is a real date cell, the phone a string.
    use calamine::{DataRef, Reader, Xlsx};
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(&xlsx[..])).unwrap();
    assert_eq!(workbook.sheet_names(), vec!["Students".to_owned()]);
    let mut cells = workbook.worksheet_cells_reader("Students").unwrap();
    let mut seen = 0;
    while let Some(cell) = cells.next_cell().unwrap() {
        match cell.get_position() {
            (1, 5) => {
                assert!(matches!(cell.get_value(), DataRef::DateTime(d) if d.is_datetime() && d.as_f64() == 40666.0));
                seen += 1;
            }
            (1, 9) => {
                assert!(matches!(cell.get_value(), DataRef::SharedString("+255712345678")));
                seen += 1;
            }
            _ => {}
        }
    }
    assert_eq!(seen, 2);
}

#[test]
fn xlsx_typed_by_hand() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let headers = [
        "Darasa",
        "Namba ya usajili",
        "First name",
        "Last name",
        "Sex",
        "Date of birth",
        "Guardian1 name",
        "Guardian1 phone",
        "Guardian1 SMS",
    ];
    sheet.write_string(0, 0, "Orodha ya wanafunzi").unwrap();
    for (c, h) in (0u16..).zip(headers) {
        sheet.write_string(2, c, h).unwrap();
    }
    let date_format = Format::new().set_num_format("dd/mm/yyyy");
    // Row 4: a date cell, the phone as a number, SMS as a boolean, admission as a number.
    sheet.write_string(3, 0, "form 2b").unwrap();
    sheet.write_number(3, 1, 1234).unwrap();
    sheet.write_string(3, 2, "Asha").unwrap();
    sheet.write_string(3, 3, "Mwakyusa").unwrap();
    sheet.write_string(3, 4, "f").unwrap();
    sheet.write_datetime_with_format(3, 5, ExcelDateTime::from_ymd(2011, 5, 3).unwrap(), &date_format).unwrap();
    sheet.write_string(3, 6, "Mary").unwrap();
    sheet.write_number(3, 7, 712345678).unwrap();
    sheet.write_boolean(3, 8, false).unwrap();
    // Row 6 (row 5 left empty): the date as a plain serial number.
    sheet.write_string(5, 0, "Form 1A").unwrap();
    sheet.write_string(5, 1, "KHSS-2").unwrap();
    sheet.write_string(5, 2, "Baraka").unwrap();
    sheet.write_string(5, 3, "Kimaro").unwrap();
    sheet.write_string(5, 4, "M").unwrap();
    sheet.write_number(5, 5, 40666).unwrap();
    sheet.write_string(5, 6, "Grace").unwrap();
    sheet.write_string(5, 7, "0687123456").unwrap();
    // Row 7: a year typed as a number is not a serial date.
    sheet.write_string(6, 0, "Form 1A").unwrap();
    sheet.write_string(6, 1, "KHSS-3").unwrap();
    sheet.write_string(6, 2, "Juma").unwrap();
    sheet.write_string(6, 3, "Said").unwrap();
    sheet.write_string(6, 4, "M").unwrap();
    sheet.write_number(6, 5, 2011).unwrap();
    sheet.write_string(6, 6, "Halima").unwrap();
    sheet.write_string(6, 7, "0687123458").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();

    let rows = read(FileKind::Xlsx, &bytes).unwrap();
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), vec![4, 6, 7]);
    assert_eq!(rows[0].get(Column::AdmissionNo), "1234");
    assert_eq!(rows[0].get(Column::Guardian1Phone), "712345678");
    assert_eq!(rows[0].get(Column::Guardian1Sms), "false");
    assert_eq!(rows[0].get(Column::DateOfBirth), "2011-05-03");
    assert_eq!(rows[1].get(Column::DateOfBirth), "2011-05-03");
    let preview = validate(rows, &classes(), &HashSet::new(), today());
    assert_eq!(
        preview.errors,
        vec![RowError { line: 7, field: "date_of_birth".into(), message: "error-date-invalid".into(), value: "2011".into() }]
    );
    let asha = &preview.rows[0];
    assert_eq!((asha.admission_no.as_str(), asha.class_name.as_str()), ("1234", "Form 2B"));
    assert_eq!(asha.date_of_birth, Some(date(2011, 5, 3)));
    assert_eq!(asha.guardians[0].phone.as_str(), "+255712345678");
    assert!(!asha.guardians[0].receives_sms);
    assert_eq!(preview.rows[1].date_of_birth, Some(date(2011, 5, 3)));
}

#[test]
fn two_thousand_rows_through_xlsx() {
    let rows = sample_rows(2_000);
    let xlsx = write_xlsx(&rows).unwrap();
    let raw = read(FileKind::Xlsx, &xlsx).unwrap();
    assert_eq!(raw.len(), 2_000);
    assert_eq!(raw[1999].line, 2001);
    let mut existing = HashSet::new();
    existing.insert("KHSS/2025/0001".to_owned());
    let preview = validate(raw, &classes(), &existing, today());
    assert_eq!(preview.errors, vec![]);
    assert_eq!(preview.rows, rows);
}

/// xorshift64*: a dependency-free, repeatable byte source.
struct Noise(u64);
impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn random_and_mangled_bytes_never_panic() {
    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let xlsx = write_xlsx(&sample_rows(20)).unwrap();
    let csv_bytes = write_csv(&sample_rows(20));
    for round in 0..300 {
        let len = (noise.next() % 2048) as usize;
        let mut random = noise.bytes(len);
        if round % 2 == 0 {
            random.splice(0..0, b"PK\x03\x04".iter().copied());
        }
        let _ = read(FileKind::Csv, &random);
        let _ = read(FileKind::Xlsx, &random);

        for original in [&xlsx, &csv_bytes] {
            let mut mangled = original.clone();
            for _ in 0..(1 + noise.next() % 8) {
                let at = (noise.next() as usize) % mangled.len();
                mangled[at] = noise.next() as u8;
            }
            if round % 3 == 0 {
                mangled.truncate((noise.next() as usize) % mangled.len());
            }
            for kind in [FileKind::Csv, FileKind::Xlsx] {
                if let Ok(rows) = read(kind, &mangled) {
                    let _ = validate(rows, &classes(), &HashSet::new(), today());
                }
            }
        }
    }
}
