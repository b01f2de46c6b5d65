//! Results pages: the teacher's sheets and the marks grid, the approver's overview, sheet
//! decisions, broadsheets and publishing, tamper flags, and the portal's published results
//! with the trend chart.

use super::{admin::AdminTabs, layout::Shell, ErrorBox, FormErrors};
use crate::api::results::{
    broadsheet, child_results, mark_sheet, mark_upload, my_mark_sheets, result_flags, results_overview, CommitMarkUpload, PublishResults,
    ResolveResultFlag, StepMarkSheet, TermSheets,
};
use crate::ctx::{request_ctx, RequestCtx};
use crate::marks_grid::{GridLabels, MarksGrid, GRID_MESSAGE_KEYS};
use kilele::identity::Permission;
use kilele::results::entry::{SheetStatus, SheetView};
use kilele::results::upload::{UploadOutcome, UploadView};
use kilele::results::views::SheetSummary;
use kilele::results::Position;
use kilele::Language;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_params_map;

fn status_badge(t: &RequestCtx, status: Option<SheetStatus>) -> impl IntoView {
    let (code, text) = match status {
        Some(s) => (s.code(), t.t(s.label_key())),
        None => ("none", t.t("results-status-not-started")),
    };
    view! { <span class=format!("badge status-{code}") data-status=code>{text}</span> }
}

fn subject_name(t: &RequestCtx, en: &str, sw: &str) -> String {
    if t.lang == Language::Sw {
        sw.to_owned()
    } else {
        en.to_owned()
    }
}

fn sheet_href(base: &str, s: &SheetSummary) -> String {
    format!("{base}/{}/{}/{}", s.term_id, s.stream_id, s.subject_id)
}

fn position(p: Option<Position>) -> String {
    p.map_or_else(|| "—".to_owned(), |p| format!("{} / {}", p.place, p.out_of))
}

/// Teacher workspace: my mark sheets of the current term.
#[component]
pub fn TeacherMarksPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("results-my-sheets")>
            <p><a href="/teacher">{ctx.t("results-back-teacher")}</a></p>
            // A class teacher's streams: their cards' remarks are results work too (here, not on
            // the home page, which stays one query).
            <super::remarks::RemarkLinks base="/teacher/remarks"/>
            <Await future=my_mark_sheets() let:sheets>
                {match sheets.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(TermSheets { term_id: None, .. }) => view! { <p class="empty-state">{t.t("results-no-current-term")}</p> }.into_any(),
                    Ok(ts) if ts.sheets.is_empty() => view! { <p class="empty-state" data-testid="no-sheets">{t.t("teacher-no-classes")}</p> }.into_any(),
                    Ok(ts) => {
                        let rows = ts.sheets.iter().map(|s| view! {
                            <tr>
                                <td data-label=t.t("class")>{s.class_name.clone()}</td>
                                <td data-label=t.t("subject")><a href=sheet_href("/teacher/marks", s) data-testid="sheet-link">{subject_name(&t, &s.subject_en, &s.subject_sw)}</a></td>
                                <td data-label=t.t("results-entries") class="num">{format!("{}", s.entries)}</td>
                                <td data-label=t.t("results-status")>{status_badge(&t, s.status)}
                                    {s.return_comment.clone().filter(|_| s.status == Some(SheetStatus::Returned)).map(|c| view! { <br/><small class="return-comment">{c}</small> })}
                                </td>
                            </tr>
                        }).collect_view();
                        view! {
                            <h2>{ts.term_label.clone()}</h2>
                            <table class="table" data-testid="my-sheets">
                                <thead><tr><th>{t.t("class")}</th><th>{t.t("subject")}</th><th class="num">{t.t("results-entries")}</th><th>{t.t("results-status")}</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

fn grid_labels(t: &RequestCtx) -> GridLabels {
    GridLabels {
        student: t.t("results-student"),
        score: t.t("results-term-score"),
        grade: t.t("results-grade"),
        saved: t.t("results-saved"),
        saving: t.t("results-saving"),
        waiting: crate::i18n::t_args(t.lang, "results-waiting", &[("n", "{n}".into())]),
        refused: crate::i18n::t_args(t.lang, "results-refused", &[("n", "{n}".into())]),
        reason: t.t("results-amend-reason"),
        reason_needed: t.t("results-error-reason-required"),
        conflict: crate::i18n::t_args(t.lang, "results-conflict", &[("by", "{by}".into()), ("value", "{value}".into())]),
        keep_mine: t.t("results-keep-mine"),
        messages: GRID_MESSAGE_KEYS.iter().map(|k| ((*k).to_owned(), t.t(k))).collect(),
    }
}

fn step_form(t: &RequestCtx, v: &SheetView, step: &'static str, label: &str, comment: bool) -> impl IntoView {
    view! {
        <form method="post" action=StepMarkSheet::url() class="inline" data-testid=format!("sheet-{step}")>
            <input type="hidden" name="term" value=v.term_id.to_string()/>
            <input type="hidden" name="stream" value=v.stream_id.to_string()/>
            <input type="hidden" name="subject" value=v.subject_id.to_string()/>
            <input type="hidden" name="step" value=step/>
            {comment.then(|| view! {
                <label for="return-comment">{t.t("results-return-comment")}</label>
                <input id="return-comment" name="comment" maxlength="1000" required/>
            })}
            <button type="submit" class="btn btn-chip">{label.to_owned()}</button>
        </form>
    }
}

/// One sheet: the grid (its teacher; an approver with the amend permission on approved
/// marks), and the workflow buttons.
#[component]
pub fn SheetPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let (term, stream, subject) = use_params_map()
        .with_untracked(|p| (p.get("term").unwrap_or_default(), p.get("stream").unwrap_or_default(), p.get("subject").unwrap_or_default()));
    let admin = request_ctx().path.starts_with("/admin");
    let back = if admin { ("/admin/results", "results-back-overview") } else { ("/teacher/marks", "results-back-sheets") };
    // Uploading follows the rules of a save: the grid's writer, or an approver on an open sheet.
    let writer = ctx.can(Permission::ResultsEnter) || ctx.can(Permission::ResultsAmend);
    let approver = ctx.can(Permission::ResultsApprove);
    view! {
        <Shell title=ctx.t("results-sheet")>
            {admin.then(|| view! { <AdminTabs/> })}
            <p><a href=back.0>{ctx.t(back.1)}</a></p>
            <FormErrors/>
            <Await future=mark_sheet(term, stream, subject) let:sheet>
                {match sheet.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(v) => {
                        let (done, total) = v.progress();
                        let title = format!("{} · {} · {}", v.class_name, subject_name(&t, &v.subject_en, &v.subject_sw), v.term_label);
                        let returned = v.return_comment.clone().filter(|_| v.status == SheetStatus::Returned);
                        view! {
                            <h2 data-testid="sheet-title">{title}</h2>
                            <p>{t.t("results-status")}": " {status_badge(&t, Some(v.status))}
                               " · " {t.t("results-entries")}": " <span data-testid="sheet-progress">{format!("{done} / {total}")}</span>
                               " · " {t.t("results-scheme")}": " {v.scheme.name().to_owned()}</p>
                            {returned.map(|c| view! { <p class="alert" data-testid="returned-comment">{t.t("results-returned-with")}" " <q>{c}</q></p> })}
                            {(!v.can_edit).then(|| view! { <p class="hint">{t.t("results-read-only")}</p> })}
                            <MarksGrid sheet=v.clone() labels=grid_labels(&t)/>
                            <div class="actions">
                                {v.can_submit.then(|| step_form(&t, &v, "submit", &t.t("results-submit"), false))}
                                {v.can_decide.then(|| step_form(&t, &v, "approve", &t.t("results-approve"), false))}
                                {v.can_decide.then(|| step_form(&t, &v, "return", &t.t("results-return"), true))}
                            </div>
                            {(writer && (v.can_edit || (approver && v.status.open_for_entry()))).then(|| upload_form(&t, &sheet_page(admin, &v)))}
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// A sheet's page under the portal it was opened in.
fn sheet_page(admin: bool, v: &SheetView) -> String {
    let base = if admin { "/admin/results/sheet" } else { "/teacher/marks" };
    format!("{base}/{}/{}/{}", v.term_id, v.stream_id, v.subject_id)
}

/// Uploading a marks file for the sheet (a plain multipart form: works without JavaScript).
fn upload_form(t: &RequestCtx, sheet: &str) -> impl IntoView {
    view! {
        <section class="card" data-testid="upload-marks">
            <h3>{t.t("results-upload-title")}</h3>
            <p class="hint">{t.t("results-upload-help")}</p>
            <form method="post" action=format!("{sheet}/upload") enctype="multipart/form-data" class="stack">
                <div class="field">
                    <label for="marks-file">{t.t("results-upload-file")}</label>
                    <input id="marks-file" name="file" type="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required/>
                </div>
                <button type="submit" class="btn">{t.t("results-upload-check")}</button>
            </form>
            <p class="links"><a href=format!("{sheet}/template.csv") download data-testid="upload-template">{t.t("results-upload-template")}</a></p>
        </section>
    }
}

/// A marks file's preview: every error with its line and column, or what will change (old →
/// new per student and assessment) with one confirmation; then what saving did.
#[component]
pub fn UploadPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let (term, stream, subject, upload) = use_params_map().with_untracked(|p| {
        (
            p.get("term").unwrap_or_default(),
            p.get("stream").unwrap_or_default(),
            p.get("subject").unwrap_or_default(),
            p.get("upload").unwrap_or_default(),
        )
    });
    let admin = ctx.path.starts_with("/admin");
    let base = if admin { "/admin/results/sheet" } else { "/teacher/marks" };
    let sheet = format!("{base}/{term}/{stream}/{subject}");
    view! {
        <Shell title=ctx.t("results-upload-preview")>
            {admin.then(|| view! { <AdminTabs/> })}
            <p><a href=sheet.clone()>{ctx.t("results-upload-back-sheet")}</a></p>
            <FormErrors/>
            <Await future=mark_upload(term, stream, subject, upload) let:loaded>
                {match loaded.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(v) => upload_preview(&t, v, &sheet),
                }}
            </Await>
        </Shell>
    }
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "—".to_owned()
    } else {
        text.to_owned()
    }
}

fn upload_preview(t: &RequestCtx, v: UploadView, sheet: &str) -> AnyView {
    use crate::i18n::t_args;
    let title = format!("{} · {} · {}", v.class_name, subject_name(t, &v.subject_en, &v.subject_sw), v.term_label);
    let head = view! { <h2 data-testid="upload-title">{title}</h2><p><code>{v.file_name.clone()}</code></p> };
    let back = view! { <p><a href=sheet.to_owned()>{t.t("results-upload-back-sheet")}</a></p> };
    match &v.outcome {
        Some(UploadOutcome::Saved { changed }) => {
            return view! {
                {head}
                <section class="card success" data-testid="upload-saved">
                    <h3>{t_args(t.lang, "results-upload-saved", &[("n", changed.to_string())])}</h3>
                    {back}
                </section>
            }
            .into_any();
        }
        Some(UploadOutcome::Conflicts { cells }) => {
            let names: std::collections::HashMap<&str, &str> = v.assessments.iter().map(|(k, n)| (k.as_str(), n.as_str())).collect();
            let rows = cells
                .iter()
                .map(|c| {
                    view! {
                        <tr>
                            <td data-label=t.t("results-student")>{c.admission_no.clone()}" "<small>{c.name.clone()}</small></td>
                            <td data-label=t.t("results-upload-assessment")>{names.get(c.assessment.as_str()).map_or(c.assessment.clone(), |n| (*n).to_owned())}</td>
                            <td data-label=t.t("results-upload-previewed") class="num">{or_dash(&c.previewed)}</td>
                            <td data-label=t.t("results-upload-in-file") class="num">{c.new.clone()}</td>
                            <td data-label=t.t("results-upload-now") class="num">{or_dash(&c.current)}</td>
                            <td data-label=t.t("results-upload-changed-by")>{c.by.clone()}</td>
                        </tr>
                    }
                })
                .collect_view();
            return view! {
                {head}
                <section class="card" data-testid="upload-conflicts">
                    <p class="alert" role="alert">{t.t("results-upload-conflicts")}</p>
                    <table class="table">
                        <thead><tr><th>{t.t("results-student")}</th><th>{t.t("results-upload-assessment")}</th><th class="num">{t.t("results-upload-previewed")}</th>
                            <th class="num">{t.t("results-upload-in-file")}</th><th class="num">{t.t("results-upload-now")}</th><th>{t.t("results-upload-changed-by")}</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                    {back}
                </section>
            }
            .into_any();
        }
        None => {}
    }
    if !v.checked.is_clean() {
        let rows = v
            .checked
            .errors
            .iter()
            .map(|e| {
                let column = if e.header.is_empty() { e.column.clone() } else { format!("{} · {}", e.column, e.header) };
                view! {
                    <tr data-line=e.line.to_string() data-column=e.column.clone()>
                        <td data-label=t.t("import-line") class="num">{e.line}</td>
                        <td data-label=t.t("import-column")><code>{column}</code></td>
                        <td data-label=t.t("import-value")>{e.value.clone()}</td>
                        <td data-label=t.t("import-problem")>{t.t(&e.message)}</td>
                    </tr>
                }
            })
            .collect_view();
        return view! {
            {head}
            <section class="card" data-testid="upload-errors">
                <p class="alert">{t.t("results-upload-nothing-saved")}</p>
                <table class="table">
                    <thead><tr><th class="num">{t.t("import-line")}</th><th>{t.t("import-column")}</th><th>{t.t("import-value")}</th><th>{t.t("import-problem")}</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </section>
        }
        .into_any();
    }
    let changes = v.checked.changes();
    let changed_rows: Vec<_> = v.checked.rows.iter().filter(|r| r.changes() > 0).collect();
    let summary = t_args(
        t.lang,
        "results-upload-summary",
        &[
            ("changes", changes.to_string()),
            ("students", changed_rows.len().to_string()),
            ("unchanged", v.checked.unchanged_rows().to_string()),
        ],
    );
    let head_cells = v.assessments.iter().map(|(_, name)| view! { <th class="num">{name.clone()}</th> }).collect_view();
    let rows = changed_rows
        .iter()
        .map(|r| {
            let cells = v
                .assessments
                .iter()
                .map(|(key, name)| {
                    let text = r.cells.iter().find(|c| &c.assessment == key).map(|c| {
                        if c.changes() {
                            format!("{} → {}", or_dash(&c.old), c.new)
                        } else {
                            c.new.clone()
                        }
                    });
                    let changed = r.cells.iter().any(|c| &c.assessment == key && c.changes());
                    view! { <td data-label=name.clone() class="num" data-changed=changed.to_string()>{text.unwrap_or_default()}</td> }
                })
                .collect_view();
            view! {
                <tr data-admission=r.admission_no.clone()>
                    <td data-label=t.t("results-student")>{r.admission_no.clone()}" "<small>{r.name.clone()}</small></td>
                    {cells}
                    <td data-label=t.t("results-upload-changes") class="num">{r.changes().to_string()}</td>
                </tr>
            }
        })
        .collect_view();
    let confirm = v.can_commit().then(|| {
        view! {
            <form method="post" action=CommitMarkUpload::url() class="stack" data-testid="upload-confirm">
                <input type="hidden" name="upload" value=v.id.to_string()/>
                {v.needs_reason.then(|| view! {
                    <div class="field">
                        <label for="upload-reason">{t.t("results-amend-reason")}</label>
                        <input id="upload-reason" name="reason" minlength="5" maxlength="500" required/>
                    </div>
                })}
                <button type="submit" class="btn btn-primary">{t_args(t.lang, "results-upload-confirm", &[("n", changes.to_string())])}</button>
            </form>
        }
    });
    view! {
        {head}
        <section class="card" data-testid="upload-ready">
            <p data-testid="upload-summary">{summary}</p>
            {(v.students_not_in_file > 0).then(|| view! { <p class="hint">{t_args(t.lang, "results-upload-not-in-file", &[("n", v.students_not_in_file.to_string())])}</p> })}
            {(changes == 0).then(|| view! { <p class="hint" data-testid="upload-no-change">{t.t("results-upload-no-change")}</p> })}
            <div class="table-scroll">
                <table class="table" data-testid="upload-preview">
                    <thead><tr><th>{t.t("results-student")}</th>{head_cells}<th class="num">{t.t("results-upload-changes")}</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {confirm}
        </section>
    }
    .into_any()
}

/// Approver: the current term's sheets, who has not submitted, and publishing per class.
#[component]
pub fn ResultsAdminPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let can_publish = ctx.can(Permission::ResultsPublish);
    let can_setup = ctx.can(Permission::ResultsSetup);
    view! {
        <Shell title=ctx.t("results-title")>
            <AdminTabs/>
            <FormErrors/>
            <p>
                <a href="/admin/results/flags" data-testid="flags-link">{ctx.t("results-flags")}</a>
                {can_setup.then(|| view! { " · "<a href="/admin/grading/schemes" data-testid="schemes-link">{ctx.t("grading-schemes")}</a> })}
            </p>
            <Await future=results_overview() let:sheets>
                {match sheets.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(TermSheets { term_id: None, .. }) => view! { <p class="empty-state">{t.t("results-no-current-term")}</p> }.into_any(),
                    Ok(ts) => {
                        // Classes (levels) in order, with whether all their sheets are approved.
                        let mut levels: Vec<(uuid::Uuid, String, bool, bool)> = Vec::new();
                        for s in &ts.sheets {
                            let approved = matches!(s.status, Some(SheetStatus::Approved | SheetStatus::Published));
                            match levels.iter_mut().find(|l| l.0 == s.level_id) {
                                Some(l) => l.2 &= approved,
                                None => levels.push((s.level_id, s.level_name.clone(), approved, s.published)),
                            }
                        }
                        let term = ts.term_id.map(|t| t.to_string()).unwrap_or_default();
                        let classes = levels.into_iter().map(|(level, name, ready, published)| {
                            let href = format!("/admin/results/{term}/{level}");
                            let action = if published {
                                view! { <span class="badge status-published">{t.t("results-status-published")}</span> }.into_any()
                            } else if ready && can_publish {
                                view! {
                                    <form method="post" action=PublishResults::url() class="inline" data-testid="publish-form">
                                        <input type="hidden" name="term" value=term.clone()/>
                                        <input type="hidden" name="level" value=level.to_string()/>
                                        <button type="submit" class="btn btn-chip">{t.t("results-publish")}</button>
                                    </form>
                                }.into_any()
                            } else {
                                view! { <span class="hint">{t.t("results-not-ready")}</span> }.into_any()
                            };
                            let setup = can_setup.then(|| view! {
                                " · "<a href=format!("/admin/grading/class/{term}/{level}") data-testid="grading-link">{t.t("grading-title")}</a>
                            });
                            view! { <li data-level=level.to_string()><a href=href data-testid="broadsheet-link">{name}</a>" " {action}{setup}</li> }
                        }).collect_view();
                        let rows = ts.sheets.iter().map(|s| view! {
                            <tr data-status=s.status.map_or("none", |x| x.code())>
                                <td data-label=t.t("class")>{s.class_name.clone()}</td>
                                <td data-label=t.t("subject")><a href=sheet_href("/admin/results/sheet", s)>{subject_name(&t, &s.subject_en, &s.subject_sw)}</a></td>
                                <td data-label=t.t("results-teacher")>{s.teacher.clone()}</td>
                                <td data-label=t.t("results-entries") class="num">{format!("{} / {}", s.entries, s.students)}</td>
                                <td data-label=t.t("results-status")>{status_badge(&t, s.status)}</td>
                            </tr>
                        }).collect_view();
                        let waiting = ts.sheets.iter().filter(|s| matches!(s.status, None | Some(SheetStatus::Draft | SheetStatus::Returned))).count();
                        view! {
                            <h2>{ts.term_label.clone()}</h2>
                            <p data-testid="not-submitted">{t.t("results-not-submitted")}": " {waiting.to_string()}</p>
                            <h3>{t.t("classes")}</h3>
                            <ul class="plain" data-testid="result-classes">{classes}</ul>
                            <table class="table" data-testid="results-overview">
                                <thead><tr><th>{t.t("class")}</th><th>{t.t("subject")}</th><th>{t.t("results-teacher")}</th><th class="num">{t.t("results-entries")}</th><th>{t.t("results-status")}</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// Approver: a class's broadsheet, subject analysis and division summary, with the XLSX.
#[component]
pub fn BroadsheetPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let (term, level) = use_params_map().with_untracked(|p| (p.get("term").unwrap_or_default(), p.get("level").unwrap_or_default()));
    let xlsx = format!("/admin/results/{term}/{level}/broadsheet.xlsx");
    view! {
        <Shell title=ctx.t("results-broadsheet")>
            <AdminTabs/>
            <p><a href="/admin/results">{ctx.t("results-back-overview")}</a></p>
            <Await future=broadsheet(term.clone(), level.clone()) let:sheet>
                {match sheet.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(b) => {
                        let r = &b.results;
                        let subjects: Vec<String> = b.subject_names.iter().map(|(en, sw)| subject_name(&t, en, sw)).collect();
                        let head = subjects.iter().map(|s| view! { <th class="num">{s.clone()}</th> }).collect_view();
                        let rows = r.merit_order().into_iter().filter_map(|i| r.students.get(i)).map(|s| {
                            let cells = (0..r.subjects.len()).map(|subject| {
                                let text = s.subjects.iter().find(|x| x.subject == subject).map(|x| match x.outcome {
                                    kilele::results::TermOutcome::Score(v) => format!("{v} {}", x.band.map(|b| r.grade(b).to_owned()).unwrap_or_default()),
                                    kilele::results::TermOutcome::Absent => "ABS".into(),
                                    kilele::results::TermOutcome::Exempt => "EX".into(),
                                    kilele::results::TermOutcome::Incomplete => "…".into(),
                                }).unwrap_or_default();
                                view! { <td class="num">{text}</td> }
                            }).collect_view();
                            let overall = match s.overall {
                                kilele::results::Overall::Division { division, .. } => division.label().to_owned(),
                                kilele::results::Overall::Grade { band } => r.grade(band).to_owned(),
                                kilele::results::Overall::None { .. } => "—".to_owned(),
                            };
                            view! {
                                <tr>
                                    <td>{position(s.class_position)}</td>
                                    <td>{s.name.clone()}<br/><small>{s.admission_no.clone()}" · "{s.stream.clone()}</small></td>
                                    {cells}
                                    <td class="num">{s.total.to_string()}</td>
                                    <td class="num">{s.average.map(|a| a.to_string()).unwrap_or_default()}</td>
                                    <td class="num">{s.points.map(|p| p.to_string()).unwrap_or_default()}</td>
                                    <td class="num" data-testid="division">{overall}</td>
                                    <td class="num">{position(s.stream_position)}</td>
                                </tr>
                            }
                        }).collect_view();
                        let stats = r.subject_stats.iter().map(|st| {
                            let name = subjects.get(st.subject).cloned().unwrap_or_default();
                            let grades = st.grades.iter().enumerate().map(|(i, n)| format!("{} {n}", r.bands.get(i).map(|b| b.grade.as_str()).unwrap_or(""))).collect::<Vec<_>>().join(" · ");
                            view! {
                                <tr>
                                    <td>{name}</td>
                                    <td class="num">{st.sat.to_string()}</td>
                                    <td class="num">{st.mean.map(|m| m.to_string()).unwrap_or_default()}</td>
                                    <td>{grades}</td>
                                    <td class="num">{st.highest.map(|v| v.to_string()).unwrap_or_default()}</td>
                                    <td class="num">{st.lowest.map(|v| v.to_string()).unwrap_or_default()}</td>
                                </tr>
                            }
                        }).collect_view();
                        let d = r.class.divisions;
                        view! {
                            <h2 data-testid="broadsheet-title">{format!("{} · {}", b.class_name, b.term_label)}</h2>
                            {(!b.all_approved).then(|| view! { <p class="hint" data-testid="provisional">{t.t("results-provisional")}</p> })}
                            <p><a href=xlsx.clone() data-testid="broadsheet-xlsx">{t.t("results-download-xlsx")}</a></p>
                            <div class="table-scroll">
                                <table class="table" data-testid="broadsheet">
                                    <thead><tr><th>{t.t("results-position")}</th><th>{t.t("results-student")}</th>{head}
                                        <th class="num">{t.t("results-total")}</th><th class="num">{t.t("results-average")}</th>
                                        <th class="num">{t.t("results-points")}</th><th class="num">{t.t("results-division")}</th>
                                        <th class="num">{t.t("results-stream-position")}</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            </div>
                            <h3>{t.t("results-subject-analysis")}</h3>
                            <table class="table" data-testid="subject-analysis">
                                <thead><tr><th>{t.t("subject")}</th><th class="num">{t.t("results-sat")}</th><th class="num">{t.t("results-mean")}</th><th>{t.t("results-grades")}</th><th class="num">{t.t("results-highest")}</th><th class="num">{t.t("results-lowest")}</th></tr></thead>
                                <tbody>{stats}</tbody>
                            </table>
                            <h3>{t.t("results-division-summary")}</h3>
                            <table class="table" data-testid="division-summary">
                                <thead><tr><th>"I"</th><th>"II"</th><th>"III"</th><th>"IV"</th><th>"0"</th><th>{t.t("results-no-division")}</th></tr></thead>
                                <tbody><tr>{d.iter().map(|n| view! { <td class="num">{n.to_string()}</td> }).collect_view()}<td class="num">{r.class.no_overall.to_string()}</td></tr></tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// The head teacher's tamper flags, with their evidence; resolved with a comment.
#[component]
pub fn FlagsPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("results-flags")>
            <AdminTabs/>
            <FormErrors/>
            <p><a href="/admin/results">{ctx.t("results-back-overview")}</a></p>
            <Await future=result_flags() let:flags>
                {match flags.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty-state" data-testid="no-flags">{t.t("results-no-flags")}</p> }.into_any(),
                    Ok(list) => {
                        let rows = list.into_iter().map(|f| {
                            let open = f.resolved_at.is_none();
                            let resolve = open.then(|| view! {
                                <form method="post" action=ResolveResultFlag::url() class="inline">
                                    <input type="hidden" name="flag" value=f.id.to_string()/>
                                    <label for=format!("flag-{}", f.id)>{t.t("results-resolution")}</label>
                                    <input id=format!("flag-{}", f.id) name="comment" maxlength="1000" required/>
                                    <button type="submit" class="btn btn-chip">{t.t("results-resolve")}</button>
                                </form>
                            });
                            let done = f.resolution.clone().map(|r| view! { <p><small>{format!("{} — {}", f.resolved_by.clone().unwrap_or_default(), r)}</small></p> });
                            view! {
                                <tr data-kind=f.kind.clone() data-open=open.to_string()>
                                    <td>{kilele::results::FlagKind::parse(&f.kind).map(|k| t.t(k.label_key())).unwrap_or_else(|| f.kind.clone())}</td>
                                    <td>{kilele::clock::school_time(f.raised_at)}</td>
                                    <td>{f.class_name.clone().unwrap_or_default()}" "{f.subject.clone().unwrap_or_default()}</td>
                                    <td>{f.student.clone().unwrap_or_default()}</td>
                                    <td>{f.writer.clone().unwrap_or_default()}</td>
                                    <td><dl class="evidence">{f.evidence.iter().map(|fact| {
                                        let label = if fact.label.starts_with("results-") { t.t(&fact.label) } else { fact.label.clone() };
                                        let value = if fact.value_is_key { t.t(&fact.value) } else { fact.value.clone() };
                                        view! { <dt>{label}</dt><dd>{value}</dd> }
                                    }).collect_view()}</dl></td>
                                    <td>{resolve}{done}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table class="table" data-testid="flags">
                                <thead><tr><th>{t.t("results-flag")}</th><th>{t.t("results-raised")}</th><th>{t.t("subject")}</th><th>{t.t("results-student")}</th><th>{t.t("results-writer")}</th><th>{t.t("results-evidence")}</th><th></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// Parent / student portal: a child's published results per term and the subject trend.
#[component]
pub fn ChildResultsPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let tc = ctx.clone();
    let student = use_params_map().with_untracked(|p| p.get("student").unwrap_or_default());
    view! {
        <Shell title=ctx.t("results-title")>
            <p><a href="/portal">{ctx.t("results-back-portal")}</a></p>
            <Await future=crate::api::cards::child_cards(student.clone()) let:cards>
                {cards.clone().ok().filter(|c| !c.is_empty()).map(|cards| {
                    let links = cards.into_iter().map(|c| view! {
                        <li><a href=format!("/portal/cards/{}/card.pdf", c.card_id) data-testid="card-download" download>
                            {format!("{} — {} (PDF)", tc.t("cards-report-card"), c.term_label)}
                        </a></li>
                    }).collect_view();
                    view! { <section class="card" data-testid="report-cards"><h2>{tc.t("cards-title")}</h2><ul>{links}</ul></section> }
                })}
            </Await>
            <Await future=child_results(student.clone()) let:terms>
                {match terms.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(list) if list.is_empty() => view! { <p class="empty-state" data-testid="no-results">{t.t("results-none-published")}</p> }.into_any(),
                    Ok(list) => {
                        let chart = trend_chart(&t, &list);
                        let terms = list.iter().rev().map(|p| published_term(&t, &p.result)).collect_view();
                        view! {
                            <section class="card">
                                <h2>{t.t("results-trend")}</h2>
                                <div class="chart" data-testid="trend-chart" inner_html=chart></div>
                            </section>
                            {terms}
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

fn trend_chart(t: &RequestCtx, list: &[kilele::results::views::PublishedTerm]) -> String {
    use kilele::results::chart::{trend_svg, TrendChart, TrendSeries};
    let mut series: Vec<TrendSeries> = Vec::new();
    for (i, p) in list.iter().enumerate() {
        for s in &p.result.subjects {
            let name = subject_name(t, &s.name_en, &s.name_sw);
            let idx = match series.iter().position(|x| x.subject == name) {
                Some(idx) => idx,
                None => {
                    series.push(TrendSeries { subject: name, points: vec![None; list.len()] });
                    series.len() - 1
                }
            };
            if let Some(slot) = series.get_mut(idx).and_then(|x| x.points.get_mut(i)) {
                *slot = s.score;
            }
        }
    }
    trend_svg(&TrendChart {
        title: t.t("results-trend"),
        terms: list.iter().map(|p| p.result.term_label.clone()).collect(),
        series,
        y_label: t.t("results-term-score"),
        empty_text: t.t("results-none-published"),
    })
}

fn published_term(t: &RequestCtx, r: &kilele::results::published::PublishedResult) -> impl IntoView {
    let sw = t.lang == Language::Sw;
    let head = r.assessments.iter().map(|a| view! { <th class="num">{a.clone()}</th> }).collect_view();
    let rows = r
        .subjects
        .iter()
        .map(|s| {
            let marks = s.marks.iter().map(|m| view! { <td class="num">{m.clone()}</td> }).collect_view();
            view! {
                <tr>
                    <td>{if sw { s.name_sw.clone() } else { s.name_en.clone() }}</td>
                    {marks}
                    <td class="num">{s.outcome.clone()}</td>
                    <td class="num">{s.grade.clone()}</td>
                    <td>{if sw { s.remark_sw.clone() } else { s.remark_en.clone() }}</td>
                    <td class="num">{position(s.class_position)}</td>
                </tr>
            }
        })
        .collect_view();
    let overall =
        if r.overall.is_empty() { r.no_overall_key.as_deref().map(|k| t.t(k)).unwrap_or_else(|| "—".into()) } else { r.overall.clone() };
    view! {
        <section class="card" data-testid="published-term">
            <h2>{format!("{} · {}", r.term_label, r.class_name)}</h2>
            <dl class="facts">
                <dt>{t.t("results-division")}</dt><dd data-testid="result-division">{overall}</dd>
                <dt>{t.t("results-points")}</dt><dd>{r.points.map(|p| p.to_string()).unwrap_or_else(|| "—".into())}</dd>
                <dt>{t.t("results-average")}</dt><dd>{r.average.clone()}</dd>
                <dt>{t.t("results-stream-position")}</dt><dd data-testid="result-stream-position">{position(r.stream_position)}</dd>
                <dt>{t.t("results-class-position")}</dt><dd>{position(r.class_position)}</dd>
            </dl>
            <div class="table-scroll">
                <table class="table" data-testid="published-subjects">
                    <thead><tr><th>{t.t("subject")}</th>{head}<th class="num">{t.t("results-term-score")}</th><th class="num">{t.t("results-grade")}</th><th>{t.t("results-remark")}</th><th class="num">{t.t("results-position")}</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}
