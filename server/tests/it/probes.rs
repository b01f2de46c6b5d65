//! Isolation and permission probes, driven by one table of every endpoint the server
//! registers (pages, server functions, plain routes). For each row:
//! (a) same host: signed in to school A as a role that holds the row's permission, the
//!     request addresses school B's ids → refused (or, for rows that take no ids, answered
//!     with A's data only); none of B's identifying strings in the body; none of B's rows
//!     changed (digest of B's rows read as the owner, before and after);
//! (b) every account that lacks the permission (each school role, the platform staff and
//!     an anonymous visitor) → refused; for writes nothing changed anywhere;
//! (c) the other-host check: A's session cookie carried to B's host → refused.
//! The table is compared with what the app registers, both ways: an endpoint without a
//! row fails the test, and so does a row for an endpoint that no longer exists.

use crate::harness::*;
use kilele::clock::Clock as _;
use kilele::identity::{Permission, Role};
use reqwest::header::ORIGIN;
use reqwest::redirect::Policy;
use sqlx::Row as _;
use std::collections::BTreeSet;
use uuid::Uuid;

// ---- The table ------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A Leptos page (GET, HTML).
    Page,
    /// A server function (`POST /api/...`), called as the browser's fetch does.
    ServerFn,
    /// A route of server/src/web.rs.
    Plain,
}

#[derive(Clone, Copy)]
enum Access {
    /// Open to anyone: why that is safe.
    Public(&'static str),
    /// Any signed-in account: why that is safe.
    SignedIn(&'static str),
    /// Needs every one of these permissions (and the school's plan feature, where the
    /// endpoint says so).
    All(&'static [Permission]),
    /// Needs at least one of these.
    Any(&'static [Permission]),
}

impl Access {
    fn allows(self, perms: &[Permission]) -> bool {
        match self {
            Access::Public(_) => true,
            Access::SignedIn(_) => true,
            Access::All(need) => need.iter().all(|p| perms.contains(p)),
            Access::Any(need) => need.iter().any(|p| perms.contains(p)),
        }
    }
}

#[derive(Clone, Debug)]
enum Body {
    None,
    Form(Vec<(&'static str, String)>),
    /// A JSON body (server functions with JSON input, as the marks grid sends).
    Json(serde_json::Value),
    /// Multipart with one file field.
    File {
        field: &'static str,
        name: &'static str,
        bytes: Vec<u8>,
    },
}

#[derive(Clone, Debug)]
struct Req {
    /// The concrete path (ids filled in, query included).
    path: String,
    body: Body,
}

fn form(path: &str, fields: &[(&'static str, String)]) -> Req {
    Req { path: path.to_owned(), body: Body::Form(fields.to_vec()) }
}

fn get(path: impl Into<String>) -> Req {
    Req { path: path.into(), body: Body::None }
}

/// Builds the requests of a row: `own` is the caller's school, `at` the school whose ids
/// are addressed. The first request uses only `at`'s ids; later ones mix both schools' ids
/// (A's class with B's teacher …). For (b) `own` and `at` are the same school.
type Build = fn(own: &Ids, at: &Ids) -> Vec<Req>;

struct Row {
    kind: Kind,
    method: &'static str,
    /// As registered (`/admin/students/{id}`, `/api/admin/students/detail`).
    path: &'static str,
    access: Access,
    write: bool,
    /// Whether the request carries ids of the addressed school; if so (a) must be refused.
    takes_ids: bool,
    build: Build,
}

const fn page(path: &'static str, access: Access, takes_ids: bool, build: Build) -> Row {
    Row { kind: Kind::Page, method: "GET", path, access, write: false, takes_ids, build }
}

const fn sfn(path: &'static str, access: Access, write: bool, takes_ids: bool, build: Build) -> Row {
    Row { kind: Kind::ServerFn, method: "POST", path, access, write, takes_ids, build }
}

const fn plain(method: &'static str, path: &'static str, access: Access, write: bool, takes_ids: bool, build: Build) -> Row {
    Row { kind: Kind::Plain, method, path, access, write, takes_ids, build }
}

use Permission as P;
const ACADEMICS: Access = Access::All(&[P::SchoolAcademicsManage]);
const STUDENTS_READ: Access = Access::All(&[P::StudentsRead]);
const STUDENTS_MANAGE: Access = Access::All(&[P::StudentsManage]);
const FAMILY: Access = Access::Any(&[P::PortalChildrenRead, P::PortalSelfRead]);
const RESULTS_ENTER: Access = Access::All(&[P::ResultsEnter]);
const RESULTS_APPROVE: Access = Access::All(&[P::ResultsApprove]);
const RESULTS_FLAGS: Access = Access::All(&[P::ResultsFlags]);
const RESULTS_SETUP: Access = Access::All(&[P::ResultsSetup]);
const CARDS: Access = Access::All(&[P::ReportCardsManage]);
const JOBS: Access = Access::All(&[P::SchoolSettingsManage]);
/// The accountant's workspace (and the plan's finance feature).
const FIN_READ: Access = Access::All(&[P::FinanceOverviewRead]);
const FEES: Access = Access::All(&[P::FinanceFeesManage]);
const PAYMENTS: Access = Access::All(&[P::FinancePaymentsRecord]);
const ADJUST: Access = Access::All(&[P::FinanceAdjust]);
const CHANNELS: Access = Access::All(&[P::FinanceChannelsManage]);
/// A parent's "pay now" (and the plan's finance feature).
const PAY: Access = Access::All(&[P::PortalFeesPay]);
/// Report-card remarks: those who print cards, and teachers (the domain then lets a teacher
/// write only the streams they are class teacher of).
const REMARKS: Access = Access::Any(&[P::ReportCardsManage, P::ResultsEnter]);
/// Who may write marks (`results/save`): the teacher of the sheet, or an amender.
const MARKS_WRITE: Access = Access::Any(&[P::ResultsEnter, P::ResultsAmend]);
/// The approver's pages of the marks upload: the same check as [`MARKS_WRITE`] behind the admin
/// portal, so the account probed with the other school's ids is the admin, not the teacher
/// (whom the portal alone would refuse).
const RESULTS_AMEND: Access = Access::All(&[P::ResultsAmend]);

/// The sheet of (term, stream, subject) as a path, and as mixes of both schools' ids.
fn sheet_paths(base: &str, own: &Ids, at: &Ids) -> Vec<Req> {
    vec![
        get(format!("{base}/{}/{}/{}", at.term, at.stream, at.subject)),
        get(format!("{base}/{}/{}/{}", own.term, at.stream, own.subject)),
        get(format!("{base}/{}/{}/{}", own.term, own.stream, at.subject)),
    ]
}

fn sheet_forms(path: &str, own: &Ids, at: &Ids, extra: &[(&'static str, String)]) -> Vec<Req> {
    [(at, at, at), (own, at, own), (own, own, at)]
        .iter()
        .map(|(t, s, j)| {
            let mut fields = vec![("term", t.term.to_string()), ("stream", s.stream.to_string()), ("subject", j.subject.to_string())];
            fields.extend_from_slice(extra);
            form(path, &fields)
        })
        .collect()
}

/// A sheet's sub-path (`/template.csv`) with the addressed school's sheet, and mixes.
fn sheet_paths_to(base: &str, suffix: &str, own: &Ids, at: &Ids) -> Vec<Req> {
    sheet_paths(base, own, at).into_iter().map(|r| get(format!("{}{suffix}", r.path))).collect()
}

/// A marks upload's preview page: the addressed school's sheet and upload, and mixes of both
/// schools' sheets and uploads. `other_user`: also the caller's own school's upload, which
/// its admin made (a teacher may not open it).
fn upload_pages(base: &str, own: &Ids, at: &Ids, other_user: bool) -> Vec<Req> {
    let sheet = |i: &Ids| format!("{base}/{}/{}/{}", i.term, i.stream, i.subject);
    let mut out = vec![
        get(format!("{}/upload/{}", sheet(at), at.mark_upload)),
        get(format!("{}/upload/{}", sheet(own), at.mark_upload)),
        get(format!("{}/upload/{}", sheet(at), own.mark_upload)),
    ];
    if other_user {
        out.push(get(format!("{}/upload/{}", sheet(own), own.mark_upload)));
    }
    out
}

/// The preview's server function, with the same ids as [`upload_pages`].
fn upload_forms(own: &Ids, at: &Ids) -> Vec<Req> {
    let f = |s: &Ids, u: &Ids| {
        form(
            "/api/results/upload",
            &[
                ("term", s.term.to_string()),
                ("stream", s.stream.to_string()),
                ("subject", s.subject.to_string()),
                ("upload", u.mark_upload.to_string()),
            ],
        )
    };
    vec![f(at, at), f(own, at), f(at, own), f(own, own)]
}

/// A marks file for a sheet (its admission number carries the caller's prefix), posted to the
/// addressed school's sheet and to mixes of both schools' ids.
fn marks_uploads(base: &str, own: &Ids, at: &Ids) -> Vec<Req> {
    [(at, at, at), (own, at, own), (own, own, at)]
        .iter()
        .map(|(t, s, j)| Req {
            path: format!("{base}/{}/{}/{}/upload", t.term, s.stream, j.subject),
            body: Body::File {
                field: "file",
                name: "marks.csv",
                bytes: format!("admission_no,exam\n{},60\n", own.admission_no).into_bytes(),
            },
        })
        .collect()
}

/// A marks save as the grid sends it (JSON): the addressed school's sheet, and A's sheet
/// with B's student.
fn save_marks(own: &Ids, at: &Ids) -> Vec<Req> {
    let body = |t: &Ids, s: &Ids, j: &Ids, student: &Ids| {
        serde_json::json!({
            "term": t.term, "stream": s.stream, "subject": j.subject, "reason": null,
            "cells": [{ "student": student.student, "assessment": "exam", "value": "50", "base_revision": 0 }],
        })
    };
    [body(at, at, at, at), body(own, own, own, at), body(own, at, own, own)]
        .into_iter()
        .map(|v| Req { path: "/api/results/save".into(), body: Body::Json(v) })
        .collect()
}

fn none(_: &Ids, _: &Ids) -> Vec<Req> {
    vec![]
}

/// A tiny PNG-looking file (recognised by its signature) that carries the school's
/// admission prefix, so that serving it to another school shows as a leak.
fn png(prefix: &str) -> Vec<u8> {
    let mark = format!("{prefix}/photo");
    [&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A][..], mark.as_bytes(), &[7u8; 600][..]].concat()
}

/// A one-row import file whose admission number carries the school's prefix.
fn import_file(ids: &Ids) -> Vec<u8> {
    use kilele::academic::import::{self, GuardianRow, Relationship, Sex, StudentRow};
    let row = StudentRow {
        line: 2,
        admission_no: kilele::academic::AdmissionNo::parse(&format!("{}/2026/9901", ids.prefix)).unwrap(),
        first_name: "Probe".into(),
        middle_name: None,
        last_name: format!("Upload{}", ids.prefix),
        sex: Sex::F,
        date_of_birth: None,
        class_name: ids.stream_name.clone(),
        guardians: vec![GuardianRow {
            name: format!("Mama Upload{}", ids.prefix),
            relationship: Relationship::Mother,
            phone: kilele::identity::Phone::parse("0689123456").unwrap(),
            email: None,
            receives_sms: true,
        }],
    };
    import::write_csv(&[row])
}

fn rows() -> Vec<Row> {
    vec![
        // ---- Pages ----
        page("/login", Access::Public("the sign-in form"), false, none),
        page("/invite", Access::Public("the invitation form; the token in the link is the guard"), false, none),
        page("/no-portal", Access::SignedIn("says no portal is open to the account; shows no school data"), false, none),
        page("/login/code", Access::Public("the code form of a sign-in that waits for its code; shows no school data"), false, none),
        page("/account/two-factor", Access::SignedIn("the caller's own two-factor sign-in; nothing of anyone else"), false, none),
        page("/owner", Access::All(&[P::PlatformTenantsRead]), false, |_, _| vec![get("/owner")]),
        page("/admin", Access::All(&[P::SchoolOverviewRead]), false, |_, _| vec![get("/admin")]),
        page("/admin/calendar", ACADEMICS, false, |_, _| vec![get("/admin/calendar")]),
        page("/admin/students", STUDENTS_READ, false, |_, at| {
            vec![get("/admin/students"), get(format!("/admin/students?q={}", at.admission_no))]
        }),
        page("/admin/students/{id}", STUDENTS_READ, true, |_, at| vec![get(format!("/admin/students/{}", at.student))]),
        page("/admin/classes", ACADEMICS, false, |_, _| vec![get("/admin/classes")]),
        page("/admin/subjects", ACADEMICS, false, |_, _| vec![get("/admin/subjects")]),
        page("/admin/import", STUDENTS_MANAGE, true, |_, at| vec![get(format!("/admin/import?upload={}", at.upload))]),
        page("/admin/promotion", STUDENTS_MANAGE, true, |_, at| vec![get(format!("/admin/promotion?level={}", at.level))]),
        page("/admin/staff", Access::All(&[P::SchoolUsersManage]), false, |_, _| vec![get("/admin/staff")]),
        page("/teacher", Access::All(&[P::TeachingClassesRead]), false, |_, _| vec![get("/teacher")]),
        page("/accountant", FIN_READ, false, |_, _| vec![get("/accountant")]),
        page("/accountant/fees", FEES, false, |_, _| vec![get("/accountant/fees")]),
        page("/accountant/accounts", FIN_READ, false, |_, at| {
            vec![get("/accountant/accounts"), get(format!("/accountant/accounts?q={}", at.admission_no))]
        }),
        page("/accountant/accounts/{id}", FIN_READ, true, |_, at| vec![get(format!("/accountant/accounts/{}", at.student))]),
        page("/accountant/defaulters", FIN_READ, false, |_, _| vec![get("/accountant/defaulters")]),
        page("/accountant/suspense", FIN_READ, false, |_, _| vec![get("/accountant/suspense")]),
        page("/accountant/channels", FIN_READ, false, |_, _| vec![get("/accountant/channels")]),
        page("/accountant/reconciliation", FIN_READ, true, |_, at| vec![get(format!("/accountant/reconciliation?statement={}", at.statement))]),
        page("/accountant/payments", FIN_READ, false, |_, _| {
            vec![get("/accountant/payments"), get("/accountant/payments?from=2020-01-01&to=2030-12-31&channel=cash")]
        }),
        page("/accountant/inbox", FIN_READ, false, |_, _| vec![get("/accountant/inbox"), get("/accountant/inbox?outcome=suspense")]),
        page("/portal/fees/{student}", FAMILY, true, |_, at| vec![get(format!("/portal/fees/{}", at.student))]),
        page("/portal/fees/{student}/pay/{push}", PAY, true, |own, at| {
            vec![get(format!("/portal/fees/{}/pay/{}", at.student, at.push)), get(format!("/portal/fees/{}/pay/{}", own.student, at.push))]
        }),
        page("/portal", FAMILY, false, |_, _| vec![get("/portal")]),
        page("/teacher/marks", RESULTS_ENTER, false, |_, _| vec![get("/teacher/marks")]),
        page("/teacher/marks/{term}/{stream}/{subject}", RESULTS_ENTER, true, |own, at| sheet_paths("/teacher/marks", own, at)),
        page("/admin/results", RESULTS_APPROVE, false, |_, _| vec![get("/admin/results")]),
        page("/admin/results/flags", RESULTS_FLAGS, false, |_, _| vec![get("/admin/results/flags")]),
        page("/admin/results/sheet/{term}/{stream}/{subject}", RESULTS_APPROVE, true, |own, at| {
            sheet_paths("/admin/results/sheet", own, at)
        }),
        page("/admin/results/{term}/{level}", RESULTS_APPROVE, true, |own, at| {
            vec![get(format!("/admin/results/{}/{}", at.term, at.level)), get(format!("/admin/results/{}/{}", own.term, at.level))]
        }),
        page("/admin/grading/class/{term}/{level}", RESULTS_SETUP, true, |own, at| {
            vec![
                get(format!("/admin/grading/class/{}/{}", at.term, at.level)),
                get(format!("/admin/grading/class/{}/{}", own.term, at.level)),
            ]
        }),
        page("/admin/grading/schemes", RESULTS_SETUP, false, |_, _| vec![get("/admin/grading/schemes")]),
        page("/admin/cards", CARDS, false, |_, _| vec![get("/admin/cards")]),
        page("/admin/jobs", JOBS, false, |_, _| vec![get("/admin/jobs")]),
        page("/admin/cards/remarks/{term}/{stream}", REMARKS, true, |own, at| {
            vec![
                get(format!("/admin/cards/remarks/{}/{}", at.term, at.stream)),
                get(format!("/admin/cards/remarks/{}/{}", own.term, at.stream)),
            ]
        }),
        page("/teacher/remarks/{term}/{stream}", REMARKS, true, |own, at| {
            vec![get(format!("/teacher/remarks/{}/{}", at.term, at.stream)), get(format!("/teacher/remarks/{}/{}", own.term, at.stream))]
        }),
        page("/verify/{code}", Access::Public("a printed card's code; on a school's host only its own cards (cards.rs)"), false, none),
        page("/admin/grading/schemes/{id}", RESULTS_SETUP, true, |_, at| vec![get(format!("/admin/grading/schemes/{}", at.scheme))]),
        page("/portal/results/{student}", FAMILY, true, |_, at| vec![get(format!("/portal/results/{}", at.student))]),
        page("/teacher/marks/{term}/{stream}/{subject}/upload/{upload}", MARKS_WRITE, true, |own, at| {
            upload_pages("/teacher/marks", own, at, true)
        }),
        page("/admin/results/sheet/{term}/{stream}/{subject}/upload/{upload}", RESULTS_AMEND, true, |own, at| {
            upload_pages("/admin/results/sheet", own, at, false)
        }),
        // ---- Server functions ----
        sfn("/api/owner/schools", Access::All(&[P::PlatformTenantsRead]), false, false, |_, _| vec![form("/api/owner/schools", &[])]),
        sfn("/api/owner/plans", Access::All(&[P::PlatformTenantsManage]), false, false, |_, _| vec![form("/api/owner/plans", &[])]),
        sfn("/api/owner/schools/create", Access::All(&[P::PlatformTenantsManage]), true, false, |own, _| {
            vec![form(
                "/api/owner/schools/create",
                &[
                    ("name", "Probe School".into()),
                    ("code", format!("probe-{}", own.slug)),
                    ("plan", "standard".into()),
                    ("language", "sw".into()),
                    ("admission_prefix", "PRB".into()),
                    ("admin_name", "Probe Admin".into()),
                    ("admin_email", format!("probe-admin@{}.test", own.slug)),
                ],
            )]
        }),
        sfn("/api/owner/schools/status", Access::All(&[P::PlatformTenantsManage]), true, false, |_, at| {
            vec![form("/api/owner/schools/status", &[("code", at.slug.into()), ("status", "suspended".into())])]
        }),
        sfn("/api/admin/overview", Access::All(&[P::SchoolOverviewRead]), false, false, |_, _| vec![form("/api/admin/overview", &[])]),
        sfn("/api/teacher/classes", Access::All(&[P::TeachingClassesRead]), false, false, |_, _| vec![form("/api/teacher/classes", &[])]),
        sfn("/api/portal/family", FAMILY, false, false, |_, _| vec![form("/api/portal/family", &[])]),
        sfn("/api/teacher/marks", RESULTS_ENTER, false, false, |_, _| vec![form("/api/teacher/marks", &[])]),
        sfn("/api/admin/results", RESULTS_APPROVE, false, false, |_, _| vec![form("/api/admin/results", &[])]),
        sfn("/api/results/sheet", Access::Any(&[P::ResultsEnter, P::ResultsApprove]), false, true, |own, at| {
            sheet_forms("/api/results/sheet", own, at, &[])
        }),
        sfn("/api/results/save", Access::Any(&[P::ResultsEnter, P::ResultsAmend]), true, true, save_marks),
        // The caller is the teacher (the fewest permissions): the school's own upload is the admin's.
        sfn("/api/results/upload", MARKS_WRITE, false, true, upload_forms),
        sfn("/api/results/upload/commit", MARKS_WRITE, true, true, |own, at| {
            let p = "/api/results/upload/commit";
            vec![form(p, &[("upload", at.mark_upload.to_string())]), form(p, &[("upload", own.mark_upload.to_string())])]
        }),
        sfn("/api/results/step", RESULTS_ENTER, true, true, |own, at| {
            sheet_forms("/api/results/step", own, at, &[("step", "submit".into())])
        }),
        sfn("/api/admin/results/publish", Access::All(&[P::ResultsPublish]), true, true, |own, at| {
            let p = "/api/admin/results/publish";
            vec![
                form(p, &[("term", at.term.to_string()), ("level", at.level.to_string())]),
                form(p, &[("term", own.term.to_string()), ("level", at.level.to_string())]),
            ]
        }),
        sfn("/api/admin/results/broadsheet", RESULTS_APPROVE, false, true, |own, at| {
            let p = "/api/admin/results/broadsheet";
            vec![
                form(p, &[("term", at.term.to_string()), ("level", at.level.to_string())]),
                form(p, &[("term", own.term.to_string()), ("level", at.level.to_string())]),
            ]
        }),
        sfn("/api/admin/results/flags", RESULTS_FLAGS, false, false, |_, _| vec![form("/api/admin/results/flags", &[])]),
        sfn("/api/admin/results/flags/resolve", RESULTS_FLAGS, true, true, |_, at| {
            vec![form("/api/admin/results/flags/resolve", &[("flag", at.flag.to_string()), ("comment", "probe".into())])]
        }),
        sfn("/api/admin/grading/class", RESULTS_SETUP, false, true, |own, at| {
            let p = "/api/admin/grading/class";
            vec![
                form(p, &[("term", at.term.to_string()), ("level", at.level.to_string())]),
                form(p, &[("term", own.term.to_string()), ("level", at.level.to_string())]),
            ]
        }),
        sfn("/api/admin/grading/assessments", RESULTS_SETUP, true, true, |own, at| {
            let p = "/api/admin/grading/assessments";
            // A valid set (one exam of 100 %), so only the guard can refuse it.
            let rows = |term: Uuid, level: Uuid| {
                vec![
                    ("term", term.to_string()),
                    ("level", level.to_string()),
                    ("rows[0][name]", "Exam".to_owned()),
                    ("rows[0][max]", "100".to_owned()),
                    ("rows[0][weight]", "100".to_owned()),
                    ("rows[0][kind]", "exam".to_owned()),
                ]
            };
            vec![form(p, &rows(at.term, at.level)), form(p, &rows(own.term, at.level)), form(p, &rows(at.term, own.level))]
        }),
        sfn("/api/admin/grading/choose", RESULTS_SETUP, true, true, |own, at| {
            let p = "/api/admin/grading/choose";
            vec![
                form(p, &[("term", at.term.to_string()), ("level", at.level.to_string()), ("scheme", "preset:necta-csee-2016".into())]),
                form(p, &[("term", own.term.to_string()), ("level", own.level.to_string()), ("scheme", at.scheme.to_string())]),
            ]
        }),
        sfn("/api/admin/grading/schemes", RESULTS_SETUP, false, false, |_, _| vec![form("/api/admin/grading/schemes", &[])]),
        sfn("/api/admin/cards", CARDS, false, false, |_, _| vec![form("/api/admin/cards", &[])]),
        sfn("/api/admin/cards/batch", CARDS, false, true, |_, at| {
            vec![form("/api/admin/cards/batch", &[("batch", at.card_batch.to_string())])]
        }),
        sfn("/api/admin/cards/request", CARDS, true, true, |own, at| {
            let p = "/api/admin/cards/request";
            vec![
                form(p, &[("term", at.term.to_string()), ("level", at.level.to_string())]),
                form(p, &[("term", own.term.to_string()), ("level", at.level.to_string())]),
                form(p, &[("term", own.term.to_string()), ("level", own.level.to_string()), ("stream", at.stream.to_string())]),
            ]
        }),
        sfn("/api/admin/cards/heading", CARDS, true, false, |own, _| {
            vec![form("/api/admin/cards/heading", &[("motto", format!("{}/motto", own.prefix)), ("address", String::new())])]
        }),
        sfn("/api/admin/cards/cancel", CARDS, true, true, |_, at| {
            vec![form("/api/admin/cards/cancel", &[("batch", at.card_batch.to_string())])]
        }),
        sfn("/api/remarks/streams", REMARKS, false, false, |_, _| vec![form("/api/remarks/streams", &[])]),
        sfn("/api/remarks/sheet", REMARKS, false, true, |own, at| {
            let p = "/api/remarks/sheet";
            vec![
                form(p, &[("term", at.term.to_string()), ("stream", at.stream.to_string())]),
                form(p, &[("term", own.term.to_string()), ("stream", at.stream.to_string())]),
                form(p, &[("term", at.term.to_string()), ("stream", own.stream.to_string())]),
            ]
        }),
        sfn("/api/remarks/save", REMARKS, true, true, |own, at| {
            let p = "/api/remarks/save";
            let row = |term: Uuid, stream: Uuid, student: Uuid| {
                vec![
                    ("term", term.to_string()),
                    ("stream", stream.to_string()),
                    ("days_open", "60".to_string()),
                    ("rows[0][student]", student.to_string()),
                    ("rows[0][days_present]", "50".to_string()),
                    ("rows[0][class_comment]", "Probe".to_string()),
                ]
            };
            vec![
                form(p, &row(at.term, at.stream, at.student)),
                form(p, &row(own.term, at.stream, at.student)),
                form(p, &row(own.term, own.stream, at.student)),
            ]
        }),
        sfn("/api/admin/jobs", JOBS, false, false, |_, _| vec![form("/api/admin/jobs", &[])]),
        sfn("/api/admin/jobs/retry", JOBS, true, true, |_, at| vec![form("/api/admin/jobs/retry", &[("job", at.failed_job.to_string())])]),
        sfn("/api/portal/cards", FAMILY, false, true, |_, at| vec![form("/api/portal/cards", &[("student", at.student.to_string())])]),
        sfn(
            "/api/verify/card",
            Access::Public("a printed card's code; on a school's host only its own cards (cards.rs)"),
            false,
            false,
            none,
        ),
        sfn(
            "/api/verify/receipt",
            Access::Public("a printed receipt's code; on a school's host only its own receipts (finance.rs)"),
            false,
            false,
            none,
        ),
        sfn("/api/admin/grading/scheme", RESULTS_SETUP, false, true, |_, at| {
            vec![form("/api/admin/grading/scheme", &[("id", at.scheme.to_string())])]
        }),
        sfn("/api/admin/grading/copy", RESULTS_SETUP, true, true, |_, at| {
            vec![form("/api/admin/grading/copy", &[("from", at.scheme.to_string()), ("name", "Probe copy".into())])]
        }),
        sfn("/api/admin/grading/save", RESULTS_SETUP, true, true, |_, at| {
            vec![form("/api/admin/grading/save", &[("id", at.scheme.to_string()), ("name", "Probe".into()), ("count", "7".into())])]
        }),
        sfn("/api/portal/results", FAMILY, false, true, |_, at| vec![form("/api/portal/results", &[("student", at.student.to_string())])]),
        sfn("/api/accountant/dashboard", FIN_READ, false, false, |_, _| vec![form("/api/accountant/dashboard", &[])]),
        sfn("/api/accountant/fees", FEES, false, false, |_, _| vec![form("/api/accountant/fees", &[])]),
        sfn("/api/accountant/fees/structure", FEES, true, true, |own, at| {
            let f = |t: &Ids, l: &Ids| {
                form(
                    "/api/accountant/fees/structure",
                    &[
                        ("term", t.term.to_string()),
                        ("level", l.level.to_string()),
                        ("items[0][name]", "Probe fee".into()),
                        ("items[0][amount]", "1000".into()),
                        ("items[0][compulsory]", "true".into()),
                        ("instalments[0][percent]", "100".into()),
                        ("instalments[0][due_on]", "2026-12-31".into()),
                    ],
                )
            };
            vec![f(at, at), f(own, at), f(at, own)]
        }),
        sfn("/api/accountant/fees/settings", FEES, true, false, |_, _| {
            vec![form("/api/accountant/fees/settings", &[("allocation", "oldest_first".into()), ("sibling_second", "5".into())])]
        }),
        sfn("/api/accountant/invoices/request", FEES, true, true, |_, at| {
            vec![form("/api/accountant/invoices/request", &[("level", at.level.to_string())])]
        }),
        sfn("/api/accountant/invoices/cancel", FEES, true, true, |_, at| {
            vec![form("/api/accountant/invoices/cancel", &[("run", at.invoice_run.to_string())])]
        }),
        sfn("/api/accountant/invoices/run", FEES, false, true, |_, at| {
            vec![form("/api/accountant/invoices/run", &[("run", at.invoice_run.to_string())])]
        }),
        sfn("/api/accountant/accounts", FIN_READ, false, false, |_, at| {
            vec![form("/api/accountant/accounts", &[("q", at.admission_no.clone())])]
        }),
        sfn("/api/accountant/account", FIN_READ, false, true, |_, at| {
            vec![form("/api/accountant/account", &[("student", at.student.to_string())])]
        }),
        sfn("/api/accountant/payments/record", PAYMENTS, true, true, |_, at| {
            vec![form(
                "/api/accountant/payments/record",
                &[
                    ("student", at.student.to_string()),
                    ("amount", "1000".into()),
                    ("channel", "cash".into()),
                    ("paid_on", "2026-12-01".into()),
                    ("once", once()),
                ],
            )]
        }),
        sfn("/api/accountant/credit-note", ADJUST, true, true, |own, at| {
            let f = |s: &Ids, i: &Ids| {
                form(
                    "/api/accountant/credit-note",
                    &[("student", s.student.to_string()), ("invoice", i.invoice.to_string()), ("reason", "Probe".into()), ("once", once())],
                )
            };
            vec![f(at, at), f(own, at), f(at, own)]
        }),
        sfn("/api/accountant/discount", FEES, true, true, |own, at| {
            let f = |s: &Ids, i: &Ids| {
                form(
                    "/api/accountant/discount",
                    &[
                        ("student", s.student.to_string()),
                        ("kind", "bursary".into()),
                        ("item", i.fee_item.to_string()),
                        ("percent", "true".into()),
                        ("value", "10".into()),
                        ("reason", "Probe".into()),
                        ("once", once()),
                    ],
                )
            };
            vec![f(at, at), f(own, at)]
        }),
        sfn("/api/accountant/options", FEES, true, true, |own, at| {
            vec![
                form("/api/accountant/options", &[("student", at.student.to_string()), ("items[0]", at.fee_item.to_string())]),
                form("/api/accountant/options", &[("student", own.student.to_string()), ("items[0]", at.fee_item.to_string())]),
            ]
        }),
        sfn("/api/accountant/fine/waive", ADJUST, true, true, |_, at| {
            vec![form("/api/accountant/fine/waive", &[("fine", at.fine.to_string()), ("reason", "Probe".into())])]
        }),
        sfn("/api/accountant/refund", ADJUST, true, true, |_, at| {
            vec![form(
                "/api/accountant/refund",
                &[
                    ("student", at.student.to_string()),
                    ("amount", "100".into()),
                    ("channel", "cash".into()),
                    ("reason", "Probe".into()),
                    ("once", once()),
                ],
            )]
        }),
        sfn("/api/accountant/write-off", ADJUST, true, true, |_, at| {
            vec![form(
                "/api/accountant/write-off",
                &[("student", at.student.to_string()), ("amount", "100".into()), ("reason", "Probe".into()), ("once", once())],
            )]
        }),
        sfn("/api/accountant/defaulters", FIN_READ, false, false, |_, _| vec![form("/api/accountant/defaulters", &[])]),
        sfn("/api/accountant/suspense", FIN_READ, false, false, |_, _| vec![form("/api/accountant/suspense", &[])]),
        sfn("/api/accountant/statements", FIN_READ, false, false, |_, _| vec![form("/api/accountant/statements", &[])]),
        sfn("/api/accountant/channels", FIN_READ, false, false, |_, _| vec![form("/api/accountant/channels", &[])]),
        sfn("/api/accountant/channels/open", CHANNELS, true, false, |_, _| vec![form("/api/accountant/channels/open", &[("provider", "nmb".into())])]),
        sfn("/api/accountant/channels/close", CHANNELS, true, false, |_, _| {
            vec![form("/api/accountant/channels/close", &[("provider", "nmb".into())])]
        }),
        sfn("/api/accountant/channels/addresses", CHANNELS, true, false, |_, _| {
            vec![form("/api/accountant/channels/addresses", &[("provider", "nmb".into()), ("addresses", "203.0.113.9".into())])]
        }),
        sfn("/api/accountant/reconciliation", FIN_READ, false, true, |_, at| {
            vec![form("/api/accountant/reconciliation", &[("statement", at.statement.to_string())])]
        }),
        sfn("/api/accountant/reconciliation/take", PAYMENTS, true, true, |_, at| {
            // The other school's statement line (never notified): taken, it would post there.
            vec![form(
                "/api/accountant/reconciliation/take",
                &[("statement", at.statement.to_string()), ("line", at.statement_line.clone()), ("once", once())],
            )]
        }),
        sfn("/api/accountant/payments", FIN_READ, false, false, |_, _| {
            vec![form("/api/accountant/payments", &[("from", "2020-01-01".into()), ("to", "2030-12-31".into())])]
        }),
        sfn("/api/accountant/inbox", FIN_READ, false, false, |_, _| vec![form("/api/accountant/inbox", &[])]),
        sfn("/api/accountant/suspense/assign", PAYMENTS, true, true, |own, at| {
            let f = |item: &Ids, student: &Ids| {
                form(
                    "/api/accountant/suspense/assign",
                    &[("item", item.suspense.to_string()), ("student", student.admission_no.clone()), ("once", once())],
                )
            };
            vec![f(at, own), f(own, at)]
        }),
        sfn("/api/accountant/suspense/split", PAYMENTS, true, true, |own, at| {
            // Half of the item (TZS 1,000) to a child of `students`' school, half to one of the
            // item's own: with the other school's child found, this would post.
            let f = |item: &Ids, students: &Ids| {
                form(
                    "/api/accountant/suspense/split",
                    &[
                        ("item", item.suspense.to_string()),
                        ("parts[0][student]", students.admission_no.clone()),
                        ("parts[0][amount]", "500".into()),
                        ("parts[1][student]", item.admission_no.clone()),
                        ("parts[1][amount]", "500".into()),
                        ("once", once()),
                    ],
                )
            };
            vec![f(at, own), f(own, at)]
        }),
        sfn("/api/accountant/gepg/bills", FIN_READ, false, true, |_, at| {
            vec![form("/api/accountant/gepg/bills", &[("student", at.student.to_string())])]
        }),
        sfn("/api/accountant/gepg/bill", PAYMENTS, true, true, |_, at| {
            vec![form("/api/accountant/gepg/bill", &[("student", at.student.to_string()), ("once", once())])]
        }),
        sfn("/api/accountant/suspense/link", PAYMENTS, true, true, |_, at| {
            vec![form("/api/accountant/suspense/link", &[("item", at.suspense.to_string()), ("once", once())])]
        }),
        sfn("/api/accountant/suspense/refund", ADJUST, true, true, |_, at| {
            vec![form(
                "/api/accountant/suspense/refund",
                &[("item", at.suspense.to_string()), ("reference", "RF-1".into()), ("reason", "paid twice".into()), ("once", once())],
            )]
        }),
        sfn("/api/portal/fees", FAMILY, false, true, |_, at| vec![form("/api/portal/fees", &[("student", at.student.to_string())])]),
        sfn("/api/portal/fees/gepg", FAMILY, false, true, |_, at| vec![form("/api/portal/fees/gepg", &[("student", at.student.to_string())])]),
        sfn("/api/portal/fees/wallets", PAY, false, true, |_, at| vec![form("/api/portal/fees/wallets", &[("student", at.student.to_string())])]),
        sfn("/api/portal/fees/pay", PAY, true, true, |_, at| {
            vec![form(
                "/api/portal/fees/pay",
                &[
                    ("student", at.student.to_string()),
                    ("provider", "mpesa".into()),
                    ("phone", "0712345678".into()),
                    ("amount", "1000".into()),
                    ("once", once()),
                ],
            )]
        }),
        sfn("/api/portal/fees/push", PAY, true, true, |_, at| vec![form("/api/portal/fees/push", &[("push", at.push.to_string())])]),
        sfn("/api/admin/default-language", Access::All(&[P::SchoolSettingsManage]), true, false, |_, _| {
            vec![form("/api/admin/default-language", &[("lang", "en".into())])]
        }),
        sfn("/api/admin/calendar", ACADEMICS, false, false, |_, _| vec![form("/api/admin/calendar", &[])]),
        sfn("/api/admin/calendar/create-year", ACADEMICS, true, false, |_, _| {
            vec![form("/api/admin/calendar/create-year", &[("year", "2031".into()), ("terms_per_year", "2".into())])]
        }),
        sfn("/api/admin/calendar/update-term", ACADEMICS, true, true, |_, at| {
            vec![form(
                "/api/admin/calendar/update-term",
                &[("term_id", at.term.to_string()), ("starts_on", at.term_starts.clone()), ("ends_on", at.term_ends.clone())],
            )]
        }),
        sfn("/api/admin/calendar/current-term", ACADEMICS, true, true, |_, at| {
            vec![form("/api/admin/calendar/current-term", &[("term_id", at.other_term.to_string())])]
        }),
        sfn("/api/admin/classes", ACADEMICS, false, false, |_, _| vec![form("/api/admin/classes", &[])]),
        sfn("/api/admin/classes/add-level", ACADEMICS, true, false, |_, _| {
            vec![form("/api/admin/classes/add-level", &[("band", "a_level".into()), ("ordinal", "6".into())])]
        }),
        sfn("/api/admin/classes/add-stream", ACADEMICS, true, true, |_, at| {
            vec![form("/api/admin/classes/add-stream", &[("level_id", at.level.to_string()), ("name", "Z".into())])]
        }),
        sfn("/api/admin/classes/class-teacher", ACADEMICS, true, true, |own, at| {
            let p = "/api/admin/classes/class-teacher";
            vec![
                form(p, &[("stream_id", at.stream.to_string()), ("teacher_id", at.teacher.to_string())]),
                form(p, &[("stream_id", own.stream.to_string()), ("teacher_id", at.teacher.to_string())]),
                form(p, &[("stream_id", at.stream.to_string()), ("teacher_id", String::new())]),
            ]
        }),
        sfn("/api/admin/classes/add-combination", ACADEMICS, true, false, |_, _| {
            vec![form("/api/admin/classes/add-combination", &[("code", "HGL".into())])]
        }),
        sfn("/api/admin/classes/remove-combination", ACADEMICS, true, true, |_, at| {
            vec![form("/api/admin/classes/remove-combination", &[("combination_id", at.combination.to_string())])]
        }),
        sfn("/api/admin/subjects", ACADEMICS, false, false, |_, _| vec![form("/api/admin/subjects", &[])]),
        sfn("/api/admin/subjects/add-master", ACADEMICS, true, false, |own, _| {
            vec![form("/api/admin/subjects/add-master", &[("code", own.free_master_code.clone())])]
        }),
        sfn("/api/admin/subjects/add-custom", ACADEMICS, true, false, |_, _| {
            vec![form(
                "/api/admin/subjects/add-custom",
                &[("code", "PRB".into()), ("name_en", "Probing".into()), ("name_sw", "Uchunguzi".into())],
            )]
        }),
        sfn("/api/admin/subjects/level", ACADEMICS, true, true, |own, at| {
            let p = "/api/admin/subjects/level";
            vec![
                form(p, &[("level_id", at.level.to_string()), ("subject_id", at.subject.to_string()), ("mode", "optional".into())]),
                form(p, &[("level_id", own.level.to_string()), ("subject_id", at.subject.to_string()), ("mode", "optional".into())]),
            ]
        }),
        sfn("/api/admin/subjects/allocate", ACADEMICS, true, true, |own, at| {
            let p = "/api/admin/subjects/allocate";
            vec![
                form(
                    p,
                    &[("stream_id", at.stream.to_string()), ("subject_id", at.subject.to_string()), ("teacher_id", at.teacher.to_string())],
                ),
                form(
                    p,
                    &[
                        ("stream_id", own.stream.to_string()),
                        ("subject_id", own.subject.to_string()),
                        ("teacher_id", at.teacher.to_string()),
                    ],
                ),
                form(
                    p,
                    &[
                        ("stream_id", at.stream.to_string()),
                        ("subject_id", at.subject.to_string()),
                        ("teacher_id", own.teacher.to_string()),
                    ],
                ),
            ]
        }),
        sfn("/api/admin/subjects/unallocate", ACADEMICS, true, true, |_, at| {
            vec![form("/api/admin/subjects/unallocate", &[("stream_id", at.stream.to_string()), ("subject_id", at.subject.to_string())])]
        }),
        sfn("/api/admin/import/preview", STUDENTS_MANAGE, false, true, |_, at| {
            vec![form("/api/admin/import/preview", &[("upload_id", at.upload.to_string())])]
        }),
        sfn("/api/admin/import/commit", STUDENTS_MANAGE, true, true, |_, at| {
            vec![form("/api/admin/import/commit", &[("upload_id", at.upload.to_string())])]
        }),
        sfn("/api/admin/promotion", STUDENTS_MANAGE, false, false, |_, _| vec![form("/api/admin/promotion", &[])]),
        sfn("/api/admin/promotion/preview", STUDENTS_MANAGE, false, true, |_, at| {
            vec![form("/api/admin/promotion/preview", &[("level_id", at.level.to_string())])]
        }),
        sfn("/api/admin/promotion/promote", STUDENTS_MANAGE, true, true, |_, at| {
            vec![form("/api/admin/promotion/promote", &[("level_id", at.level.to_string())])]
        }),
        sfn("/api/admin/promotion/undo", STUDENTS_MANAGE, true, true, |_, at| {
            vec![form("/api/admin/promotion/undo", &[("batch_id", at.batch.to_string())])]
        }),
        sfn("/api/admin/staff", Access::All(&[P::SchoolUsersManage]), false, false, |_, _| vec![form("/api/admin/staff", &[])]),
        sfn("/api/admin/staff/invite", Access::All(&[P::SchoolUsersManage]), true, false, |own, _| {
            vec![form(
                "/api/admin/staff/invite",
                &[("name", "Probe Teacher".into()), ("email", format!("probe@{}.test", own.slug)), ("role", "teacher".into())],
            )]
        }),
        sfn("/api/admin/staff/active", Access::All(&[P::SchoolUsersManage]), true, true, |_, at| {
            vec![form("/api/admin/staff/active", &[("user_id", at.teacher.to_string()), ("active", "false".into())])]
        }),
        sfn("/api/invite/accept", Access::Public("chooses a password with an invitation token; the token is the guard"), true, false, none),
        sfn("/api/account/two-factor", Access::SignedIn("the caller's own two-factor state"), false, false, |_, _| {
            vec![form("/api/account/two-factor", &[])]
        }),
        sfn("/api/account/two-factor/start", Access::SignedIn("starts setting up the caller's own second factor"), true, false, |_, _| {
            vec![form("/api/account/two-factor/start", &[])]
        }),
        sfn("/api/account/two-factor/confirm", Access::SignedIn("the caller's own set-up; needs their password"), true, false, |_, _| {
            vec![form("/api/account/two-factor/confirm", &[("password", "not-the-password".into()), ("code", "123456".into())])]
        }),
        sfn("/api/account/two-factor/recovery", Access::SignedIn("the caller's own codes; needs their password and a code"), true, false, |_, _| {
            vec![form("/api/account/two-factor/recovery", &[("password", "not-the-password".into()), ("code", "123456".into())])]
        }),
        sfn("/api/account/two-factor/off", Access::SignedIn("the caller's own second factor; needs their password and a code"), true, false, |_, _| {
            vec![form("/api/account/two-factor/off", &[("password", "not-the-password".into()), ("code", "123456".into())])]
        }),
        sfn("/api/admin/staff/two-factor-reset", Access::All(&[P::SchoolUsersManage]), true, true, |_, at| {
            vec![form(
                "/api/admin/staff/two-factor-reset",
                &[("user_id", at.teacher.to_string()), ("password", "not-the-password".into()), ("code", "123456".into())],
            )]
        }),
        sfn("/api/admin/staff/two-factor-policy", Access::All(&[P::SchoolUsersManage]), false, false, |_, _| {
            vec![form("/api/admin/staff/two-factor-policy", &[])]
        }),
        sfn("/api/admin/staff/two-factor-teachers", Access::All(&[P::SchoolSettingsManage]), true, false, |_, _| {
            vec![form("/api/admin/staff/two-factor-teachers", &[("on", "false".into())])]
        }),
        sfn("/api/admin/students/invite-guardian", STUDENTS_MANAGE, true, true, |own, at| {
            let p = "/api/admin/students/invite-guardian";
            vec![
                form(p, &[("student", at.student.to_string()), ("guardian", at.guardian.to_string())]),
                form(p, &[("student", own.student.to_string()), ("guardian", at.guardian.to_string())]),
            ]
        }),
        sfn("/api/admin/students", STUDENTS_READ, false, false, |_, at| {
            vec![form("/api/admin/students", &[("q", at.admission_no.clone()), ("page", "1".into())])]
        }),
        sfn("/api/admin/students/options", STUDENTS_READ, false, false, |_, _| vec![form("/api/admin/students/options", &[])]),
        sfn("/api/admin/students/detail", STUDENTS_READ, false, true, |_, at| {
            vec![form("/api/admin/students/detail", &[("id", at.student.to_string())])]
        }),
        sfn("/api/admin/students/add", STUDENTS_MANAGE, true, true, |own, at| {
            vec![form(
                "/api/admin/students/add",
                &[
                    ("admission_no", format!("{}/2026/9902", own.prefix)),
                    ("first_name", "Probe".into()),
                    ("last_name", "Added".into()),
                    ("sex", "F".into()),
                    ("stream", at.stream.to_string()),
                    ("guardian_name", "Mama Added".into()),
                    ("guardian_phone", "0689765432".into()),
                ],
            )]
        }),
        sfn("/api/admin/students/status", STUDENTS_MANAGE, true, true, |_, at| {
            vec![form(
                "/api/admin/students/status",
                &[("student", at.student.to_string()), ("status", "left".into()), ("reason", "probe".into())],
            )]
        }),
        sfn("/api/admin/students/enrol", STUDENTS_MANAGE, true, true, |own, at| {
            let p = "/api/admin/students/enrol";
            vec![
                form(p, &[("student", at.student.to_string()), ("year", at.next_year.to_string()), ("stream", at.stream.to_string())]),
                form(p, &[("student", own.student.to_string()), ("year", own.next_year.to_string()), ("stream", at.stream.to_string())]),
                form(p, &[("student", own.student.to_string()), ("year", at.next_year.to_string()), ("stream", own.stream.to_string())]),
            ]
        }),
        sfn("/api/admin/students/guardians/link", STUDENTS_MANAGE, true, true, |_, at| {
            vec![form(
                "/api/admin/students/guardians/link",
                &[
                    ("student", at.student.to_string()),
                    ("guardian_name", "Baba Linked".into()),
                    ("guardian_relationship", "father".into()),
                    ("guardian_phone", "0689111222".into()),
                ],
            )]
        }),
        sfn("/api/admin/students/guardians/unlink", STUDENTS_MANAGE, true, true, |own, at| {
            let p = "/api/admin/students/guardians/unlink";
            vec![
                form(p, &[("student", at.student.to_string()), ("guardian", at.guardian.to_string())]),
                form(p, &[("student", own.student.to_string()), ("guardian", at.guardian.to_string())]),
            ]
        }),
        sfn("/api/admin/students/guardians/sms", STUDENTS_MANAGE, true, true, |_, at| {
            vec![form(
                "/api/admin/students/guardians/sms",
                &[("student", at.student.to_string()), ("guardian", at.guardian.to_string()), ("receives_sms", "false".into())],
            )]
        }),
        sfn("/api/admin/students/admission-format", Access::All(&[P::SchoolSettingsManage]), true, false, |own, _| {
            vec![form(
                "/api/admin/students/admission-format",
                &[("admission_prefix", own.prefix.clone()), ("admission_format", "{PREFIX}-{YYYY}-{NNNN}".into())],
            )]
        }),
        sfn("/api/admin/students/update", STUDENTS_MANAGE, true, true, |_, at| {
            vec![form(
                "/api/admin/students/update",
                &[
                    ("student", at.student.to_string()),
                    ("admission_no", at.admission_no.clone()),
                    ("first_name", "Changed".into()),
                    ("last_name", "ByProbe".into()),
                    ("sex", "M".into()),
                ],
            )]
        }),
        // ---- Plain routes (server/src/web.rs) ----
        plain("GET", "/", Access::Public("sends the visitor to their portal or to sign in"), false, false, none),
        plain("POST", "/login", Access::Public("signing in"), true, false, none),
        plain("POST", "/login/code", Access::Public("the second step of signing in; the session's awaited sign-in is the guard"), true, false, none),
        plain("POST", "/account/password", Access::SignedIn("the caller's own password; needs the current one"), true, false, |_, _| {
            vec![form(
                "/account/password",
                &[
                    ("current_password", "not-the-password".into()),
                    ("new_password", "Probe-New-Password-1".into()),
                    ("new_password_again", "Probe-New-Password-1".into()),
                ],
            )]
        }),
        plain("POST", "/logout", Access::Public("ends the caller's own session"), true, false, none),
        plain("POST", "/language", Access::Public("sets the caller's own language"), true, false, none),
        plain("POST", "/admin/import/upload", STUDENTS_MANAGE, true, false, |own, _| {
            vec![Req {
                path: "/admin/import/upload".into(),
                body: Body::File { field: "file", name: "students.csv", bytes: import_file(own) },
            }]
        }),
        plain("GET", "/admin/import/template.csv", STUDENTS_MANAGE, false, false, |_, _| vec![get("/admin/import/template.csv")]),
        plain("GET", "/admin/students/{id}/photo", STUDENTS_READ, false, true, |_, at| {
            vec![get(format!("/admin/students/{}/photo", at.student))]
        }),
        plain("POST", "/admin/students/{id}/photo", STUDENTS_MANAGE, true, true, |own, at| {
            vec![Req {
                path: format!("/admin/students/{}/photo", at.student),
                body: Body::File { field: "photo", name: "photo.png", bytes: png(&own.prefix) },
            }]
        }),
        plain("GET", "/admin/students/export.csv", Access::All(&[P::StudentsRead, P::StudentsPiiRead]), true, false, |_, _| {
            vec![get("/admin/students/export.csv")]
        }),
        plain("GET", "/admin/students/export.xlsx", Access::All(&[P::StudentsRead, P::StudentsPiiRead]), true, false, |_, _| {
            vec![get("/admin/students/export.xlsx")]
        }),
        plain("GET", "/admin/results/{term}/{level}/broadsheet.xlsx", RESULTS_APPROVE, false, true, |own, at| {
            vec![
                get(format!("/admin/results/{}/{}/broadsheet.xlsx", at.term, at.level)),
                get(format!("/admin/results/{}/{}/broadsheet.xlsx", own.term, at.level)),
            ]
        }),
        plain("POST", "/teacher/marks/{term}/{stream}/{subject}/upload", MARKS_WRITE, true, true, |own, at| {
            marks_uploads("/teacher/marks", own, at)
        }),
        plain("POST", "/admin/results/sheet/{term}/{stream}/{subject}/upload", RESULTS_AMEND, true, true, |own, at| {
            marks_uploads("/admin/results/sheet", own, at)
        }),
        plain("GET", "/teacher/marks/{term}/{stream}/{subject}/template.csv", RESULTS_ENTER, false, true, |own, at| {
            sheet_paths_to("/teacher/marks", "/template.csv", own, at)
        }),
        plain("GET", "/admin/results/sheet/{term}/{stream}/{subject}/template.csv", RESULTS_APPROVE, false, true, |own, at| {
            sheet_paths_to("/admin/results/sheet", "/template.csv", own, at)
        }),
        plain("GET", "/admin/cards/logo", CARDS, false, false, |_, _| vec![get("/admin/cards/logo")]),
        plain("POST", "/admin/cards/logo", CARDS, true, false, |_, _| {
            vec![Req {
                path: "/admin/cards/logo".into(),
                body: Body::File {
                    field: "logo",
                    name: "logo.png",
                    bytes: include_bytes!("../../../documents/src/testdata/logo.png").to_vec(),
                },
            }]
        }),
        plain("GET", "/admin/cards/{card}/card.pdf", CARDS, false, true, |_, at| vec![get(format!("/admin/cards/{}/card.pdf", at.card))]),
        plain("GET", "/portal/cards/{card}/card.pdf", FAMILY, false, true, |_, at| {
            vec![get(format!("/portal/cards/{}/card.pdf", at.card))]
        }),
        plain("GET", "/admin/cards/batches/{batch}/cards.zip", CARDS, true, true, |_, at| {
            vec![get(format!("/admin/cards/batches/{}/cards.zip", at.card_batch))]
        }),
        plain("GET", "/admin/cards/batches/{batch}/events", CARDS, false, true, |_, at| {
            vec![get(format!("/admin/cards/batches/{}/events", at.card_batch))]
        }),
        plain("GET", "/accountant/receipts/{payment}/receipt.pdf", FIN_READ, true, true, |_, at| {
            vec![get(format!("/accountant/receipts/{}/receipt.pdf", at.payment))]
        }),
        plain("GET", "/portal/receipts/{payment}/receipt.pdf", FAMILY, true, true, |_, at| {
            vec![get(format!("/portal/receipts/{}/receipt.pdf", at.payment))]
        }),
        plain("GET", "/accountant/accounts/{id}/statement.pdf", FIN_READ, true, true, |_, at| {
            vec![get(format!("/accountant/accounts/{}/statement.pdf", at.student))]
        }),
        plain("GET", "/portal/fees/{student}/statement.pdf", FAMILY, true, true, |_, at| {
            vec![get(format!("/portal/fees/{}/statement.pdf", at.student))]
        }),
        plain("GET", "/accountant/invoices/runs/{run}/events", FEES, false, true, |_, at| {
            vec![get(format!("/accountant/invoices/runs/{}/events", at.invoice_run))]
        }),
        plain("GET", "/portal/pushes/{push}/events", PAY, true, true, |_, at| vec![get(format!("/portal/pushes/{}/events", at.push))]),
        plain("GET", "/accountant/defaulters.csv", FIN_READ, true, false, |_, _| vec![get("/accountant/defaulters.csv")]),
        plain("GET", "/accountant/reconciliation/{statement}/report.csv", FIN_READ, false, true, |_, at| {
            vec![get(format!("/accountant/reconciliation/{}/report.csv", at.statement))]
        }),
        plain("POST", "/accountant/reconciliation/upload", PAYMENTS, true, false, |_, _| {
            vec![form("/accountant/reconciliation/upload", &[("provider", "nmb".into())])]
        }),
        plain("GET", "/accountant/defaulters.xlsx", FIN_READ, true, false, |_, _| vec![get("/accountant/defaulters.xlsx")]),
        plain(
            "POST",
            "/api/v1/webhooks/{provider}/{school}",
            Access::Public("a provider's payment notification: no session; the school's channel secret signs it, the school is in the path (payments.rs)"),
            true,
            false,
            none,
        ),
        plain(
            "POST",
            "/api/v1/webhooks/{provider}/{school}/validate",
            Access::Public("a bank's control-number lookup: signed like a notification; only this school's numbers are known (payments.rs)"),
            true,
            false,
            none,
        ),
        plain(
            "POST",
            "/api/v1/webhooks/{provider}/{school}/reversal",
            Access::Public("a bank takes back a payment: signed like a notification; only this school's payments are found (payments.rs)"),
            true,
            false,
            none,
        ),
        plain(
            "POST",
            "/api/v1/webhooks/{provider}/{school}/billpay",
            Access::Public("Tigo's USSD bill-pay: no session; only from the addresses the school's Tigo channel lists, for its business number, only this school's control numbers (payments.rs)"),
            true,
            false,
            none,
        ),
        plain("GET", "/healthz", Access::Public("liveness: says ok"), false, false, none),
        plain("GET", "/readyz", Access::Public("readiness: database and Redis up or not"), false, false, none),
        plain("GET", "/metrics", Access::Public("no session: a bearer token (METRICS_TOKEN), tested in ops.rs"), false, false, none),
    ]
}

// ---- What the app registers -------------------------------------------------------------

/// Every (method, path) the server answers: pages, server functions and plain routes.
fn registered() -> BTreeSet<(Kind, String, String)> {
    let mut out = BTreeSet::new();
    for route in leptos_axum::generate_route_list(app::App) {
        for m in route.methods() {
            let method = format!("{m:?}").to_uppercase();
            out.insert((Kind::Page, method, route.path().to_owned()));
        }
    }
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        out.insert((Kind::ServerFn, method.as_str().to_owned(), path.to_owned()));
    }
    for r in server::web::plain_routes() {
        out.insert((Kind::Plain, r.method.as_str().to_owned(), r.path.to_owned()));
    }
    out
}

#[tokio::test]
async fn the_probe_table_covers_every_registered_endpoint() {
    let registered = registered();
    let table: BTreeSet<(Kind, String, String)> = rows().iter().map(|r| (r.kind, r.method.to_owned(), r.path.to_owned())).collect();
    assert_eq!(table.len(), rows().len(), "the probe table has duplicate rows");
    let missing: Vec<_> = registered.difference(&table).collect();
    let stale: Vec<_> = table.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "endpoints without a row in the probe table (server/tests/it/probes.rs: add one, with its permission): {missing:#?}"
    );
    assert!(stale.is_empty(), "rows in the probe table for endpoints the app does not register: {stale:#?}");
    let pages = registered.iter().filter(|r| r.0 == Kind::Page).count();
    let fns = registered.iter().filter(|r| r.0 == Kind::ServerFn).count();
    let plain = registered.iter().filter(|r| r.0 == Kind::Plain).count();
    for r in rows() {
        if let Access::Public(why) | Access::SignedIn(why) = r.access {
            println!("  not probed for permissions: {} {} — {why}", r.method, r.path);
        }
    }
    println!("probe table: {} rows = {pages} pages + {fns} server functions + {plain} plain routes", table.len());
}

// ---- The schools' ids -------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Ids {
    slug: &'static str,
    tenant: Uuid,
    school_name: String,
    prefix: String,
    student: Uuid,
    admission_no: String,
    /// First and last name, chosen so that the other school has no student of that name.
    student_name: String,
    guardian: Uuid,
    guardian_name: String,
    next_year: Uuid,
    level: Uuid,
    stream: Uuid,
    /// As the import file spells the class (`Form 1A`).
    stream_name: String,
    subject: Uuid,
    term: Uuid,
    term_starts: String,
    term_ends: String,
    other_term: Uuid,
    teacher: Uuid,
    combination: Uuid,
    upload: Uuid,
    /// A marks file kept for the sheet (term, stream, subject) by the school's admin.
    mark_upload: Uuid,
    batch: Uuid,
    free_master_code: String,
    /// An open tamper flag whose evidence carries the school's prefix.
    flag: Uuid,
    /// A grading scheme of the school's own, named with the school's prefix.
    scheme: Uuid,
    /// A finished report-card batch of the level and term, whose ZIP carries the prefix.
    card_batch: Uuid,
    /// A report card of the student in it, whose file carries the prefix.
    card: Uuid,
    /// A job that failed for good, whose last error carries the prefix.
    failed_job: Uuid,
    /// Fees: an item of the first class's structure, the student's invoice, the run that made
    /// it, a payment of the student's (its receipt), a late fine.
    fee_item: Uuid,
    invoice: Uuid,
    invoice_run: Uuid,
    payment: Uuid,
    fine: Uuid,
    /// A bank's payment that matched nobody, waiting for the bursar.
    suspense: Uuid,
    /// A "pay now" push of the school's parent.
    push: Uuid,
    statement: Uuid,
    /// The reference of the statement's one line.
    statement_line: String,
}

impl Ids {
    /// What must never appear in another school's answers.
    fn markers(&self) -> Vec<String> {
        vec![
            self.school_name.clone(),
            format!("{}/", self.prefix),
            self.tenant.to_string(),
            self.student_name.clone(),
            self.guardian_name.clone(),
            format!("Upload{}", self.prefix),
            format!("Statement{}", self.prefix),
        ]
    }
}

async fn uuid_of(app: &TestApp, sql: &str, tenant: Uuid) -> Uuid {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Prepares the school (as its own admin: a next year, a promotion batch, an A-level
/// combination, an import upload, a photo) and reads its ids.
async fn prepare(app: &TestApp, slug: &'static str, other: &'static str) -> Ids {
    let db = &app.owner_pool;
    let admin = app.login_as(Some(slug), "admin").await;
    let ok = |r: &reqwest::Response, what: &str| assert!(r.status().is_success() || r.status().is_redirection(), "{what}: {}", r.status());
    let r = admin.server_fn("admin/calendar/create-year", &[("year", "2027"), ("terms_per_year", "2")]).await;
    ok(&r, "create 2027");
    let r = admin.server_fn("admin/classes/add-level", &[("band", "a_level"), ("ordinal", "5")]).await;
    ok(&r, "add Form 5");
    let r = admin.server_fn("admin/classes/add-combination", &[("code", "PCM")]).await;
    ok(&r, "add PCM");
    let r = sqlx::query("SELECT id, name FROM tenants WHERE slug = $1").bind(slug).fetch_one(db).await.unwrap();
    let tenant: Uuid = r.get("id");
    let school_name: String = r.get("name");
    let prefix: String =
        sqlx::query_scalar("SELECT admission_prefix FROM school_settings WHERE tenant_id = $1").bind(tenant).fetch_one(db).await.unwrap();
    // A first-year student with a guardian, whose names appear nowhere in the other school.
    let s = sqlx::query(
        "SELECT s.id, s.admission_no, s.first_name || ' ' || s.last_name AS name, g.id AS guardian, g.full_name
           FROM students s
           JOIN streams st ON st.tenant_id = s.tenant_id AND st.id = s.stream_id
           JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = st.level_id AND l.ordinal = 1
           JOIN student_guardians sg ON sg.tenant_id = s.tenant_id AND sg.student_id = s.id
           JOIN guardians g ON g.tenant_id = s.tenant_id AND g.id = sg.guardian_id
           JOIN tenants o ON o.slug = $2
          WHERE s.tenant_id = $1 AND s.status = 'active'
            AND NOT EXISTS (SELECT 1 FROM students x WHERE x.tenant_id = o.id
                             AND (x.first_name || ' ' || x.last_name) LIKE '%' || s.first_name || ' ' || s.last_name || '%')
            AND NOT EXISTS (SELECT 1 FROM guardians y WHERE y.tenant_id = o.id AND y.full_name LIKE '%' || g.full_name || '%')
            AND NOT EXISTS (SELECT 1 FROM users u WHERE u.tenant_id = o.id
                             AND (u.display_name LIKE '%' || g.full_name || '%'
                                  OR u.display_name LIKE '%' || s.first_name || ' ' || s.last_name || '%'))
          ORDER BY s.admission_no LIMIT 1",
    )
    .bind(tenant)
    .bind(other)
    .fetch_one(db)
    .await
    .unwrap();
    let student: Uuid = s.get("id");
    // A photo, so that a leak of it would show.
    let part = reqwest::multipart::Part::bytes(png(&prefix)).file_name("photo.png");
    let r = admin
        .client
        .post(format!("{}/admin/students/{student}/photo", admin.base))
        .header(ORIGIN, &admin.origin)
        .multipart(reqwest::multipart::Form::new().part("photo", part))
        .send()
        .await
        .unwrap();
    ok(&r, "photo");
    let level = uuid_of(app, "SELECT id FROM levels WHERE tenant_id = $1 AND ordinal = 1", tenant).await;
    let st = sqlx::query("SELECT s.id, l.name || s.name AS name FROM streams s JOIN levels l ON l.tenant_id = s.tenant_id AND l.id = s.level_id WHERE s.tenant_id = $1 AND l.ordinal = 1 ORDER BY s.name LIMIT 1")
        .bind(tenant)
        .fetch_one(db)
        .await
        .unwrap();
    let term = sqlx::query(
        "SELECT t.id, t.starts_on::text AS s, t.ends_on::text AS e FROM terms t JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
          WHERE t.tenant_id = $1 AND y.year = 2026 AND t.number = 1",
    )
    .bind(tenant)
    .fetch_one(db)
    .await
    .unwrap();
    let mut ids = Ids {
        slug,
        tenant,
        school_name,
        prefix,
        student,
        admission_no: s.get("admission_no"),
        student_name: s.get("name"),
        guardian: s.get("guardian"),
        guardian_name: s.get("full_name"),
        next_year: uuid_of(app, "SELECT id FROM academic_years WHERE tenant_id = $1 AND year = 2027", tenant).await,
        level,
        stream: st.get("id"),
        stream_name: st.get("name"),
        subject: uuid_of(app, "SELECT id FROM school_subjects WHERE tenant_id = $1 ORDER BY code LIMIT 1", tenant).await,
        term: term.get("id"),
        term_starts: term.get("s"),
        term_ends: term.get("e"),
        other_term: uuid_of(
            app,
            "SELECT t.id FROM terms t JOIN academic_years y ON y.tenant_id = t.tenant_id AND y.id = t.academic_year_id
              WHERE t.tenant_id = $1 AND y.year = 2027 AND t.number = 1",
            tenant,
        )
        .await,
        teacher: uuid_of(app, "SELECT id FROM users WHERE tenant_id = $1 AND email LIKE 'teacher@%'", tenant).await,
        combination: uuid_of(app, "SELECT id FROM subject_combinations WHERE tenant_id = $1 AND code = 'PCM'", tenant).await,
        upload: Uuid::nil(),
        mark_upload: Uuid::nil(),
        batch: Uuid::nil(),
        flag: Uuid::nil(),
        scheme: Uuid::nil(),
        card_batch: Uuid::nil(),
        card: Uuid::nil(),
        failed_job: Uuid::nil(),
        fee_item: Uuid::nil(),
        invoice: Uuid::nil(),
        invoice_run: Uuid::nil(),
        payment: Uuid::nil(),
        fine: Uuid::nil(),
        suspense: Uuid::nil(),
        push: Uuid::nil(),
        statement: Uuid::nil(),
        statement_line: String::new(),
        free_master_code: sqlx::query_scalar(
            "SELECT m.code FROM master_subjects m WHERE NOT EXISTS (SELECT 1 FROM school_subjects s WHERE s.tenant_id = $1 AND s.master_code = m.code) ORDER BY m.code LIMIT 1",
        )
        .bind(tenant)
        .fetch_one(db)
        .await
        .unwrap(),
    };
    // An import upload and a promotion batch (of the top level: its students graduate).
    let part = reqwest::multipart::Part::bytes(import_file(&ids)).file_name("students.csv");
    let r = admin
        .client
        .post(format!("{}/admin/import/upload", admin.base))
        .header(ORIGIN, &admin.origin)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let to = redirect_target(&r).unwrap_or_default();
    assert!(to.starts_with("/admin/import?upload="), "upload for {slug}: {to}");
    ids.upload = to.trim_start_matches("/admin/import?upload=").parse().unwrap();
    let top = uuid_of(app, "SELECT id FROM levels WHERE tenant_id = $1 AND band <> 'a_level' ORDER BY ordinal DESC LIMIT 1", tenant).await;
    let r = admin.server_fn("admin/promotion/promote", &[("level_id", &top.to_string())]).await;
    ok(&r, "promote");
    ids.batch = uuid_of(app, "SELECT id FROM promotion_batches WHERE tenant_id = $1", tenant).await;
    // Marks and a tamper flag, so that a leak of either would show.
    let marked: Uuid = sqlx::query_scalar("SELECT id FROM students WHERE tenant_id = $1 AND stream_id = $2 AND status = 'active' LIMIT 1")
        .bind(tenant)
        .bind(ids.stream)
        .fetch_one(db)
        .await
        .unwrap();
    let r = admin
        .client
        .post(format!("{}/api/results/save", admin.base))
        .header(ORIGIN, &admin.origin)
        .header("accept", "application/json")
        .json(&serde_json::json!({
            "term": ids.term, "stream": ids.stream, "subject": ids.subject, "reason": null,
            "cells": [{ "student": marked, "assessment": "exam", "value": "50", "base_revision": 0 }],
        }))
        .send()
        .await
        .unwrap();
    ok(&r, "marks");
    // A marks file for that sheet, kept for its preview (the admission number carries the prefix).
    let marked_no: String = sqlx::query_scalar("SELECT admission_no FROM students WHERE id = $1").bind(marked).fetch_one(db).await.unwrap();
    let sheet = format!("/admin/results/sheet/{}/{}/{}", ids.term, ids.stream, ids.subject);
    let part = reqwest::multipart::Part::bytes(format!("admission_no,exam\n{marked_no},60\n").into_bytes()).file_name("marks.csv");
    let r = admin
        .client
        .post(format!("{}{sheet}/upload", admin.base))
        .header(ORIGIN, &admin.origin)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap();
    let to = redirect_target(&r).unwrap_or_default();
    assert!(to.starts_with(&format!("{sheet}/upload/")), "marks upload for {slug}: {} {to}", r.status());
    ids.mark_upload = to.rsplit('/').next().unwrap().parse().unwrap();
    ids.flag = sqlx::query_scalar(
        "INSERT INTO result_flags (tenant_id, term_id, kind, fingerprint, evidence, raised_at)
         VALUES ($1, $2, 'burst', 'probe', jsonb_build_object('note', $3::text), now()) RETURNING id",
    )
    .bind(tenant)
    .bind(ids.term)
    .bind(format!("{}/flag", ids.prefix))
    .fetch_one(db)
    .await
    .unwrap();
    let scheme = kilele::results::presets::necta_csee_2016().unwrap();
    ids.scheme = sqlx::query_scalar(
        "INSERT INTO grading_schemes (tenant_id, key, version, name, definition) VALUES ($1, 'probe-scheme', 1, $2, $3) RETURNING id",
    )
    .bind(tenant)
    .bind(format!("{}/scheme", ids.prefix))
    .bind(serde_json::to_value(&scheme).unwrap())
    .fetch_one(db)
    .await
    .unwrap();
    // A printed batch and card, stored with the prefix inside, so that serving them to the
    // other school shows as a leak.
    let admin_id = uuid_of(app, "SELECT id FROM users WHERE tenant_id = $1 AND email LIKE 'admin@%'", tenant).await;
    let store = kilele::storage::Storage::local(app.storage_dir());
    let card_key = kilele::storage::Storage::new_key(kilele::tenancy::TenantId(tenant), "report-cards", "pdf");
    store.put(&card_key, format!("%PDF-1.7 {}/card", ids.prefix).as_bytes()).await.unwrap();
    let zip_key = kilele::storage::Storage::new_key(kilele::tenancy::TenantId(tenant), "report-cards", "zip");
    store.put(&zip_key, format!("PK {}/cards", ids.prefix).as_bytes()).await.unwrap();
    ids.card_batch = sqlx::query_scalar(
        "INSERT INTO report_card_batches (tenant_id, term_id, level_id, requested_by, requested_at, status, total, done, bundle_key, finished_at)
         VALUES ($1, $2, $3, $4, now(), 'done', 1, 1, $5, now()) RETURNING id",
    )
    .bind(tenant)
    .bind(ids.term)
    .bind(ids.level)
    .bind(admin_id)
    .bind(&zip_key)
    .fetch_one(db)
    .await
    .unwrap();
    let code = kilele::reporting::VerifyCode::from_random(*Uuid::new_v4().as_bytes().first_chunk::<7>().unwrap());
    ids.card = sqlx::query_scalar(
        "INSERT INTO report_cards (tenant_id, batch_id, term_id, student_id, storage_key, pdf_sha256, pdf_bytes, verify_code,
                                   class_name, term_label, generated_at)
         VALUES ($1, $2, $3, $4, $5, sha256('x'), 20, $6, $7, '2026 T1', now()) RETURNING id",
    )
    .bind(tenant)
    .bind(ids.card_batch)
    .bind(ids.term)
    .bind(ids.student)
    .bind(&card_key)
    .bind(code.as_str())
    .bind(format!("{}/class", ids.prefix))
    .fetch_one(db)
    .await
    .unwrap();
    // A card logo whose file carries the prefix: serving it to the other school shows as a leak.
    let logo_key = kilele::storage::Storage::new_key(kilele::tenancy::TenantId(tenant), "school", "png");
    store.put(&logo_key, format!("PNG {}/logo", ids.prefix).as_bytes()).await.unwrap();
    sqlx::query("UPDATE school_settings SET logo_key = $2 WHERE tenant_id = $1").bind(tenant).bind(&logo_key).execute(db).await.unwrap();
    ids.failed_job = sqlx::query_scalar(
        "INSERT INTO jobs (tenant_id, kind, status, attempts, max_attempts, last_error, finished_at)
         VALUES ($1, 'mail.invitation', 'failed', 5, 5, $2, now()) RETURNING id",
    )
    .bind(tenant)
    .bind(format!("{}/smtp refused the message", ids.prefix))
    .fetch_one(db)
    .await
    .unwrap();
    prepare_fees(app, &mut ids).await;
    ids
}

/// Fees of the school's first class: a structure whose item carries the prefix, its students
/// invoiced (through the worker's code), a payment of the student's, a late fine.
async fn prepare_fees(app: &TestApp, ids: &mut Ids) {
    use kilele::finance::billing::{InstalmentForm, ItemForm};
    use kilele::finance::db::payments;
    let school = kilele::tenancy::TenantId(ids.tenant);
    let bursar = uuid_of(app, "SELECT id FROM users WHERE tenant_id = $1 AND email LIKE 'bursar@%'", ids.tenant).await;
    let actor = kilele::audit::Actor::user(bursar, "bursar");
    let now = chrono::Utc::now();
    let by = kilele::identity::store::ChangedBy { actor: &actor, at: now };
    let fees = server::seed::TermFees {
        items: vec![ItemForm { name: format!("{}/tuition", ids.prefix), amount: "300,000".into(), compulsory: true }],
        instalments: vec![
            InstalmentForm { percent: "50".into(), due_on: "2026-08-01".into() },
            InstalmentForm { percent: "50".into(), due_on: "2026-10-01".into() },
        ],
        rules: server::seed::TermFees::rules("0", "0", "2,000", "0"),
        level: Some(ids.level),
    };
    let pii = kilele::audit::pii::KeyRing::development();
    (_, ids.invoice_run) = server::seed::bill_term(&app.pool, &app.worker().pool, &pii, school, by, &fees).await.unwrap();
    let mut tx = kilele::db::tenant_tx(&app.pool, school).await.unwrap();
    let payment = payments::NewPayment {
        amount_minor: 5_000_000,
        channel: kilele::finance::ledger::Channel::Cash,
        reference: None,
        paid_on: now.date_naive(),
    };
    ids.payment = payments::record_payment(&mut tx, ids.student, &payment, by).await.unwrap().payment;
    tx.commit().await.unwrap();
    // Fines are the worker's (only its role may write them).
    let mut tx = kilele::db::tenant_tx(&app.worker().pool, school).await.unwrap();
    // Months after billing (an instalment is never due before its invoice's date).
    let later = now + chrono::Duration::days(120);
    assert!(payments::apply_late_fines(&mut tx, later.date_naive(), later).await.unwrap() > 0);
    tx.commit().await.unwrap();
    // A bank's payment quoting a number nobody holds: kept for the bursar.
    let prefix: String = sqlx::query_scalar("SELECT control_prefix FROM finance_settings WHERE tenant_id = $1")
        .bind(ids.tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let unissued = kilele::finance::control::ControlNumber::issue(&prefix, 999_999).unwrap();
    let at = app.clock.now();
    let mut tx = kilele::db::tenant_tx(&app.pool, school).await.unwrap();
    let delivery = kilele::payments::db::Delivery {
        provider: kilele::payments::Provider::Nmb,
        kind: "notification",
        received_at: at,
        source_ip: None,
        headers: serde_json::json!({}),
        body: b"{}",
    };
    let inbox = kilele::payments::db::receive(&mut tx, &pii, &delivery, 2, ("received", None), None).await.unwrap();
    let event = kilele::payments::PaymentEvent {
        provider: kilele::payments::Provider::Nmb,
        transaction_id: format!("PROBE-{prefix}"),
        reference: unissued.as_str().to_owned(),
        payer_name: Some(format!("{} payer", ids.prefix)),
        payer_phone: None,
        amount_minor: 100_000,
        currency: "TZS".into(),
        paid_at: at,
    };
    let taken = kilele::payments::db::intake(&mut tx, &pii, &event, inbox, at).await.unwrap();
    assert!(matches!(taken, kilele::payments::db::Intake::Suspense { .. }), "{taken:?}");
    tx.commit().await.unwrap();
    ids.suspense = uuid_of(app, "SELECT id FROM provider_payments WHERE tenant_id = $1 AND status = 'suspense'", ids.tenant).await;
    ids.push = push_for(app, ids.tenant, ids.student).await;
    // A bank statement, its file named so that it shows if it leaks.
    let importer: (Uuid, String) = sqlx::query_as("SELECT id, email FROM users WHERE tenant_id = $1 ORDER BY email LIMIT 1")
        .bind(ids.tenant)
        .fetch_one(&app.owner_pool)
        .await
        .unwrap();
    let actor = kilele::audit::Actor::user(importer.0, &importer.1);
    let line = kilele::payments::statements::StatementLine {
        line: 2,
        transaction_id: format!("PROBE-{prefix}"),
        amount_minor: 100_000,
        value_date: kilele::clock::school_date(at),
        narration: String::new(),
    };
    let mut tx = kilele::db::tenant_tx(&app.pool, school).await.unwrap();
    let by = kilele::identity::store::ChangedBy { actor: &actor, at };
    let file = format!("Statement{}.csv", ids.prefix);
    ids.statement_line = line.transaction_id.clone();
    ids.statement = kilele::payments::reconcile::save(&mut tx, kilele::payments::Provider::Nmb, &file, &[line], by).await.unwrap();
    tx.commit().await.unwrap();
    ids.fee_item = uuid_of(app, "SELECT id FROM fee_items WHERE tenant_id = $1", ids.tenant).await;
    ids.invoice =
        sqlx::query_scalar("SELECT id FROM invoices WHERE student_id = $1").bind(ids.student).fetch_one(&app.owner_pool).await.unwrap();
    ids.fine = uuid_of(app, "SELECT id FROM late_fines WHERE tenant_id = $1 ORDER BY applied_on LIMIT 1", ids.tenant).await;
    // The server's today moves on too, so the instalments are overdue (the defaulters' list
    // and its export then carry the school's students). Sessions start after this.
    app.clock.advance(chrono::Duration::days(120));
}

// ---- Digests ----------------------------------------------------------------------------

/// Per table, a hash of the given schools' rows (read as the owner, so RLS hides nothing):
/// every table with a `tenant_id`, the schools' `tenants` rows, and `platform_users`.
async fn digest(app: &TestApp, tenants: &[Uuid]) -> Vec<(String, String)> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
          WHERE c.relkind IN ('r', 'p') ORDER BY 1",
    )
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    let mut parts: Vec<String> = tables
        .iter()
        .map(|t| {
            format!(
                "SELECT '{t}' AS t, md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) AS h FROM {t} x WHERE tenant_id = ANY($1)"
            )
        })
        .collect();
    parts.push("SELECT 'tenants', md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM tenants x WHERE id = ANY($1)".into());
    parts.push("SELECT 'platform_users', md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) FROM platform_users x".into());
    let sql = parts.join(" UNION ALL ");
    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenants).fetch_all(&app.owner_pool).await.unwrap()
}

fn changed(before: &[(String, String)], after: &[(String, String)]) -> Vec<String> {
    before.iter().zip(after).filter(|(b, a)| b != a).map(|(b, _)| b.0.clone()).collect()
}

// ---- Accounts ---------------------------------------------------------------------------

/// A signed-in account (or an anonymous visitor) and its permissions.
struct Account {
    name: String,
    perms: Vec<Permission>,
    browser: Browser,
    /// `None`: the platform host (no school).
    school: Option<&'static str>,
}

/// The school's demo accounts (the part of the email before the @).
const SCHOOL_ACCOUNTS: [&str; 5] = ["admin", "teacher", "bursar", "parent", "student"];

/// The account's permissions as the database grants them now (read as the owner).
async fn school_perms(app: &TestApp, email: &str) -> Vec<Permission> {
    let codes: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT rp.permission_code FROM users u
           JOIN user_roles ur ON ur.tenant_id = u.tenant_id AND ur.user_id = u.id
           JOIN role_permissions rp ON rp.tenant_id = ur.tenant_id AND rp.role_id = ur.role_id
          WHERE u.email = $1",
    )
    .bind(email)
    .fetch_all(&app.owner_pool)
    .await
    .unwrap();
    codes.iter().map(|c| Permission::parse(c).unwrap_or_else(|| panic!("unknown permission {c}"))).collect()
}

async fn accounts(app: &TestApp) -> Vec<Account> {
    let mut out = Vec::new();
    for slug in [KHSS, MLPS] {
        for role in SCHOOL_ACCOUNTS {
            out.push(Account {
                name: format!("{role}@{slug}"),
                perms: school_perms(app, &format!("{role}@{slug}.test")).await,
                browser: app.login_as(Some(slug), role).await,
                school: Some(slug),
            });
        }
        out.push(Account {
            name: format!("anonymous@{slug}"),
            perms: vec![],
            browser: app.browser_for_host(Some(slug)),
            school: Some(slug),
        });
    }
    // Platform staff hold their role's permissions (as `load_platform_principal` gives them).
    out.push(Account {
        name: "owner".into(),
        perms: Role::PlatformOwner.default_permissions().to_vec(),
        browser: app.login_as(None, "owner").await,
        school: None,
    });
    out.push(Account {
        name: "support".into(),
        perms: Role::PlatformSupport.default_permissions().to_vec(),
        browser: support_account(app).await,
        school: None,
    });
    out.push(Account { name: "anonymous".into(), perms: vec![], browser: app.browser(), school: None });
    out
}

/// A platform support account (the seed has none), signed in.
async fn support_account(app: &TestApp) -> Browser {
    sqlx::query(
        "INSERT INTO platform_users (email, display_name, password_hash, platform_role, two_factor_since)
         SELECT 'support@kilele.test', 'Probe Support', password_hash, 'support', $1 FROM platform_users WHERE email = 'owner@kilele.test'",
    )
    // Made now in the app's time: still in its two-factor grace period.
    .bind(app.clock.now())
    .execute(&app.owner_pool)
    .await
    .unwrap();
    let b = app.browser();
    let r = b.login("", "support@kilele.test", PASSWORD).await;
    assert_eq!(redirect_target(&r).as_deref(), Some("/owner"), "support signs in");
    b
}

// ---- Sending ----------------------------------------------------------------------------

struct Answer {
    status: u16,
    location: String,
    body: String,
}

impl Answer {
    fn refused(&self) -> bool {
        matches!(self.status, 401 | 403 | 404) || (self.status / 100 == 3 && self.location.starts_with("/login"))
    }
}

async fn send(client: &reqwest::Client, base: &str, origin: &str, cookie: Option<&str>, kind: Kind, method: &str, req: &Req) -> Answer {
    let url = format!("{base}{}", req.path);
    let mut rb = match method {
        "GET" => client.get(url),
        _ => client.post(url),
    };
    rb = rb.header(ORIGIN, origin);
    if kind == Kind::ServerFn {
        rb = rb.header("accept", "application/json");
    }
    if let Some(c) = cookie {
        rb = rb.header("cookie", c);
    }
    rb = match &req.body {
        Body::None => rb,
        Body::Form(f) => rb.form(f),
        Body::Json(v) => rb.json(v),
        Body::File { field, name, bytes } => {
            let part = reqwest::multipart::Part::bytes(bytes.clone()).file_name(*name);
            rb.multipart(reqwest::multipart::Form::new().part(*field, part))
        }
    };
    let resp = rb.send().await.unwrap();
    let status = resp.status().as_u16();
    let location = redirect_target(&resp).unwrap_or_default();
    let bytes = resp.bytes().await.unwrap();
    // A spreadsheet is a ZIP archive: read its cells, so a leak in it shows too.
    let body = match kilele::spreadsheet::detect("answer", &bytes) {
        Some(kind @ kilele::spreadsheet::FileKind::Xlsx) => {
            format!("{:?}", kilele::spreadsheet::read_rows(kind, &bytes, 100_000, 200).expect("an XLSX answer that reads"))
        }
        _ => String::from_utf8_lossy(&bytes).into_owned(),
    };
    Answer { status, location, body }
}

async fn send_as(b: &Browser, kind: Kind, method: &str, req: &Req) -> Answer {
    send(&b.client, &b.base, &b.origin, None, kind, method, req).await
}

/// The account of school `slug` with the fewest permissions that still holds what the row
/// needs (the teacher, not the admin who also teaches).
fn holder<'a>(accounts: &'a [Account], slug: &str, access: Access) -> Option<&'a Account> {
    accounts.iter().filter(|c| c.school == Some(slug) && !c.perms.is_empty() && access.allows(&c.perms)).min_by_key(|c| c.perms.len())
}

#[derive(Default)]
struct Tally {
    same_host: usize,
    /// How the same-host probes of rows taking ids were answered: status → count.
    refusals: std::collections::BTreeMap<u16, usize>,
    lacking: usize,
    other_host: usize,
    failures: Vec<String>,
}

#[tokio::test]
async fn every_endpoint_refuses_other_schools_ids_and_roles_without_permission() {
    let started = std::time::Instant::now();
    let app = spawn_app_with(Options { base_domain: Some(BASE_DOMAIN.into()), ..Default::default() }).await;
    let khss = prepare(&app, KHSS, MLPS).await;
    let mlps = prepare(&app, MLPS, KHSS).await;
    let ids_of = |slug: &str| if slug == KHSS { &khss } else { &mlps };
    let accounts = accounts(&app).await;
    let mut t = Tally::default();
    let table = rows();

    // (a) Same host, signed in to A with the permission, addressing B's ids.
    for (a, b) in [(&khss, &mlps), (&mlps, &khss)] {
        for row in table.iter().filter(|r| matches!(r.access, Access::All(_) | Access::Any(_))) {
            let Some(caller) = holder(&accounts, a.slug, row.access) else {
                // Only platform staff hold the platform permissions; every other row is probed.
                if !matches!(row.access, Access::All([P::PlatformTenantsRead]) | Access::All([P::PlatformTenantsManage])) {
                    t.failures.push(format!("(a) {} {}: no account of {} holds what it needs", row.method, row.path, a.slug));
                }
                continue;
            };
            for req in (row.build)(a, b) {
                let before = if row.write { Some(digest(&app, &[b.tenant]).await) } else { None };
                let ans = send_as(&caller.browser, row.kind, row.method, &req).await;
                t.same_host += 1;
                if row.takes_ids {
                    *t.refusals.entry(ans.status).or_default() += 1;
                }
                let what = format!("(a) {} {} as {} addressing {}", row.method, req.path, caller.name, b.slug);
                if row.takes_ids && !(ans.refused() || ans.status == 422) {
                    t.failures.push(format!("{what}: expected a refusal (401/403/404/422), got {} {}", ans.status, ans.location));
                }
                if req.path.ends_with(".xlsx") && ans.status == 200 && !ans.body.contains(&format!("{}/", a.prefix)) {
                    t.failures.push(format!("{what}: the spreadsheet was not read (no {} admission numbers in it)", a.slug));
                }
                // What the request itself carries may be echoed back (a search box): not a leak.
                let sent = format!("{req:?}");
                let shown = |m: &String| !sent.contains(m.as_str()) && (ans.body.contains(m.as_str()) || ans.location.contains(m.as_str()));
                if let Some(m) = b.markers().into_iter().find(shown) {
                    t.failures.push(format!("{what}: the answer shows {:?} of {}", m, b.slug));
                }
                if let Some(before) = before {
                    let diff = changed(&before, &digest(&app, &[b.tenant]).await);
                    if !diff.is_empty() {
                        t.failures.push(format!("{what}: changed {}'s rows in {diff:?}", b.slug));
                    }
                }
            }
        }
    }

    // (b) Every account lacking the permission, on its own host, with its own school's ids.
    for row in &table {
        if matches!(row.access, Access::Public(_)) {
            continue;
        }
        for acc in accounts.iter().filter(|c| !row.access.allows(&c.perms) || matches!(row.access, Access::SignedIn(_))) {
            if matches!(row.access, Access::SignedIn(_)) && !acc.name.starts_with("anonymous") {
                continue;
            }
            // Platform accounts address each school's ids in turn.
            let schools: Vec<&Ids> = match acc.school {
                Some(s) => vec![ids_of(s)],
                None => vec![&khss, &mlps],
            };
            for ids in schools {
                let reqs = match (row.access, row.kind) {
                    (Access::SignedIn(_), Kind::Page) => vec![get(row.path)],
                    _ => (row.build)(ids, ids).into_iter().take(1).collect(),
                };
                for req in reqs {
                    let before = if row.write { Some(digest(&app, &[khss.tenant, mlps.tenant]).await) } else { None };
                    let ans = send_as(&acc.browser, row.kind, row.method, &req).await;
                    t.lacking += 1;
                    let what = format!("(b) {} {} as {} (lacks the permission)", row.method, req.path, acc.name);
                    if !ans.refused() {
                        t.failures
                            .push(format!("{what}: expected a refusal (401/403/404 or to /login), got {} {}", ans.status, ans.location));
                    }
                    if let Some(before) = before {
                        let diff = changed(&before, &digest(&app, &[khss.tenant, mlps.tenant]).await);
                        if !diff.is_empty() {
                            t.failures.push(format!("{what}: changed rows in {diff:?}"));
                        }
                    }
                }
            }
        }
    }

    // (c) The other-host check: A's session cookie carried to B's host.
    for (a, b) in [(&khss, &mlps), (&mlps, &khss)] {
        let b_host = format!("{}.{BASE_DOMAIN}", b.slug);
        let client = http_client().redirect(Policy::none()).resolve(&b_host, app.addr).build().unwrap();
        let base = format!("http://{b_host}:{}", app.addr.port());
        for row in table.iter().filter(|r| !matches!(r.access, Access::Public(_))) {
            let admin = format!("admin@{}", a.slug);
            let caller = holder(&accounts, a.slug, row.access).or_else(|| accounts.iter().find(|c| c.name == admin)).unwrap();
            let cookie = caller.browser.cookie_header();
            let reqs = match (row.access, row.kind) {
                (Access::SignedIn(_), Kind::Page) => vec![get(row.path)],
                _ => (row.build)(b, b).into_iter().take(1).collect(),
            };
            for req in reqs {
                let before = if row.write { Some(digest(&app, &[b.tenant]).await) } else { None };
                let ans = send(&client, &base, &base, Some(&cookie), row.kind, row.method, &req).await;
                t.other_host += 1;
                let what = format!("(c) {} {} with {}'s cookie on {}'s host", row.method, req.path, caller.name, b.slug);
                if !matches!(ans.status, 401 | 403 | 404) {
                    t.failures.push(format!("{what}: expected a refusal, got {} {}", ans.status, ans.location));
                }
                if let Some(before) = before {
                    let diff = changed(&before, &digest(&app, &[b.tenant]).await);
                    if !diff.is_empty() {
                        t.failures.push(format!("{what}: changed {}'s rows in {diff:?}", b.slug));
                    }
                }
            }
        }
    }

    let public = table.iter().filter(|r| matches!(r.access, Access::Public(_))).count();
    println!(
        "isolation probes: {} endpoints ({public} public), {} same-host other-school probes, {} lacking-permission probes, {} other-host probes = {} in {:.1} s",
        table.len(),
        t.same_host,
        t.lacking,
        t.other_host,
        t.same_host + t.lacking + t.other_host,
        started.elapsed().as_secs_f64()
    );
    println!("same-host probes with the other school's ids were answered: {:?} (status: count)", t.refusals);
    assert!(t.same_host > 0 && t.lacking > 0 && t.other_host > 0, "no probes ran");
    assert!(t.failures.is_empty(), "{} probe(s) failed:\n{}", t.failures.len(), t.failures.join("\n"));
}
