//! Results set-up pages (the admin console): a class's assessments and grading scheme for a
//! term, the school's grading schemes, and one scheme's edit form. Plain forms, rendered on
//! the server: nothing here needs an island.

use super::{admin::AdminTabs, layout::Shell, ErrorBox, FormErrors};
use crate::api::grading::{
    class_grading, grading_scheme, grading_schemes, ChooseClassScheme, CopyGradingScheme, SaveClassAssessments, SaveGradingScheme,
};
use crate::ctx::{request_ctx, RequestCtx};
use kilele::results::setup::{AssessmentRow, BandRow, DivisionRow};
use kilele::results::{Division, GradingScheme, OverallRule};
use kilele::Language;
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_params_map;

/// Spare blank rows under a table form, to add an assessment or a grade.
const SPARE_ROWS: usize = 2;

fn remark(t: &RequestCtx, en: &str, sw: &str) -> String {
    if t.lang == Language::Sw {
        sw.to_owned()
    } else {
        en.to_owned()
    }
}

/// A scheme's grades and its overall rule, read-only.
fn scheme_table(t: &RequestCtx, scheme: &GradingScheme) -> impl IntoView {
    let bands = scheme
        .bands()
        .iter()
        .map(|b| {
            view! {
                <tr>
                    <td>{b.grade.clone()}</td>
                    <td class="num">{format!("{}–{}", b.min, b.max)}</td>
                    <td class="num">{b.points.to_string()}</td>
                    <td>{remark(t, &b.remark_en, &b.remark_sw)}</td>
                </tr>
            }
        })
        .collect_view();
    let rule = match scheme.overall_rule() {
        OverallRule::Division { counted, divisions } => {
            let ranges = divisions
                .iter()
                .map(|d| format!("{} {}–{}", d.division.label(), d.min_points, d.max_points))
                .collect::<Vec<_>>()
                .join(" · ");
            let counted = match counted {
                kilele::results::CountedSubjects::Best { count } => {
                    crate::i18n::t_args(t.lang, "grading-rule-best", &[("n", count.to_string())])
                }
                kilele::results::CountedSubjects::Principal { count } => {
                    crate::i18n::t_args(t.lang, "grading-rule-principal", &[("n", count.to_string())])
                }
            };
            format!("{counted}: {ranges}")
        }
        OverallRule::AverageGrade { min_subjects } => {
            crate::i18n::t_args(t.lang, "grading-rule-average", &[("n", min_subjects.to_string())])
        }
    };
    view! {
        <table class="table" data-testid="scheme-bands">
            <thead><tr><th>{t.t("results-grade")}</th><th class="num">{t.t("grading-marks")}</th><th class="num">{t.t("results-points")}</th><th>{t.t("grading-remark")}</th></tr></thead>
            <tbody>{bands}</tbody>
        </table>
        <p data-testid="scheme-rule">{rule}</p>
        <p class="hint">{t.t("grading-source")}": "{scheme.source().to_owned()}</p>
    }
}

/// Admin: a class's assessments and grading scheme for a term.
#[component]
pub fn ClassGradingPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let (term, level) = use_params_map().with_untracked(|p| (p.get("term").unwrap_or_default(), p.get("level").unwrap_or_default()));
    view! {
        <Shell title=ctx.t("grading-title")>
            <AdminTabs/>
            <FormErrors/>
            <p><a href="/admin/results">{ctx.t("results-back-overview")}</a>" · "<a href="/admin/grading/schemes">{ctx.t("grading-schemes")}</a></p>
            <Await future=class_grading(term.clone(), level.clone()) let:setup>
                {match setup.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(v) => {
                        let (term, level) = (v.term_id.to_string(), v.level_id.to_string());
                        let mut rows = v.assessments.rows.clone();
                        rows.extend(std::iter::repeat_n(AssessmentRow::default(), if v.marks_exist { 0 } else { SPARE_ROWS }));
                        let row_views = rows.into_iter().enumerate().map(|(i, r)| {
                            let exam = r.kind == "exam";
                            view! {
                                <tr>
                                    <td><input name=format!("rows[{i}][name]") value=r.name aria-label=t.t("grading-assessment") maxlength="80"/></td>
                                    <td><input name=format!("rows[{i}][key]") value=r.key aria-label=t.t("grading-key") maxlength="40" class="short"/></td>
                                    <td><input name=format!("rows[{i}][max]") value=r.max aria-label=t.t("grading-max") inputmode="numeric" class="short"/></td>
                                    <td><input name=format!("rows[{i}][weight]") value=r.weight aria-label=t.t("grading-weight") inputmode="numeric" class="short"/></td>
                                    <td>
                                        <select name=format!("rows[{i}][kind]") aria-label=t.t("grading-kind")>
                                            <option value="continuous" selected=!exam>{t.t("grading-kind-ca")}</option>
                                            <option value="exam" selected=exam>{t.t("grading-kind-exam")}</option>
                                        </select>
                                    </td>
                                </tr>
                            }
                        }).collect_view();
                        let zero = v.assessments.ca_absence == "zero";
                        let locked = v.marks_exist || v.published;
                        let choices = v.choices.iter().map(|c| {
                            let label = if c.preset { format!("{} (v{}, {})", c.name, c.version, t.t("grading-preset")) } else { format!("{} (v{})", c.name, c.version) };
                            view! { <option value=c.value.clone() selected=c.value == v.chosen>{label}</option> }
                        }).collect_view();
                        view! {
                            <h2 data-testid="grading-title">{format!("{} · {}", v.class_name, v.term_label)}</h2>
                            <h3>{t.t("grading-assessments")}</h3>
                            {locked.then(|| view! { <p class="hint" data-testid="assessments-locked">{t.t("grading-assessments-locked")}</p> })}
                            <form method="post" action=SaveClassAssessments::url() data-testid="assessments-form">
                                <input type="hidden" name="term" value=term.clone()/>
                                <input type="hidden" name="level" value=level.clone()/>
                                <fieldset disabled=locked>
                                    <table class="table">
                                        <thead><tr><th>{t.t("grading-assessment")}</th><th>{t.t("grading-key")}</th><th>{t.t("grading-max")}</th><th>{t.t("grading-weight")}</th><th>{t.t("grading-kind")}</th></tr></thead>
                                        <tbody>{row_views}</tbody>
                                    </table>
                                    <label for="ca-absence">{t.t("grading-ca-absence")}</label>
                                    <select id="ca-absence" name="ca_absence">
                                        <option value="reweight" selected=!zero>{t.t("grading-ca-absence-reweight")}</option>
                                        <option value="zero" selected=zero>{t.t("grading-ca-absence-zero")}</option>
                                    </select>
                                    <p class="hint">{t.t("grading-assessments-hint")}</p>
                                    <button type="submit" class="btn">{t.t("grading-save-assessments")}</button>
                                </fieldset>
                            </form>
                            <h3>{t.t("grading-scheme")}</h3>
                            <p data-testid="scheme-in-use">{format!("{} (v{})", v.scheme.name(), v.scheme.version())}</p>
                            {v.published.then(|| view! { <p class="hint">{t.t("grading-scheme-locked")}</p> })}
                            <form method="post" action=ChooseClassScheme::url() class="inline" data-testid="choose-scheme">
                                <input type="hidden" name="term" value=term/>
                                <input type="hidden" name="level" value=level/>
                                <fieldset disabled=v.published>
                                    <label for="scheme">{t.t("grading-use-scheme")}</label>
                                    <select id="scheme" name="scheme">{choices}</select>
                                    <button type="submit" class="btn btn-chip">{t.t("grading-use")}</button>
                                </fieldset>
                            </form>
                            {scheme_table(&t, &v.scheme)}
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// Admin: the school's grading schemes, and copying a preset or a scheme.
#[component]
pub fn SchemesPage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    view! {
        <Shell title=ctx.t("grading-schemes")>
            <AdminTabs/>
            <FormErrors/>
            <p><a href="/admin/results">{ctx.t("results-back-overview")}</a></p>
            <Await future=grading_schemes() let:list>
                {match list.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(l) => {
                        let rows = l.schemes.iter().map(|s| view! {
                            <tr data-key=s.key.clone() data-version=s.version.to_string()>
                                <td><a href=format!("/admin/grading/schemes/{}", s.id) data-testid="scheme-link">{s.name.clone()}</a></td>
                                <td class="num">{format!("v{}", s.version)}</td>
                                <td>{s.frozen.then(|| view! { <span class="badge status-published">{t.t("grading-frozen")}</span> })}</td>
                                <td class="num">{s.in_use.to_string()}</td>
                            </tr>
                        }).collect_view();
                        let from = l.presets.iter().map(|(k, name)| view! { <option value=format!("preset:{k}")>{format!("{name} ({})", t.t("grading-preset"))}</option> }).collect_view();
                        let from_stored = l.schemes.iter().filter(|s| s.latest).map(|s| view! { <option value=s.id.to_string()>{format!("{} (v{})", s.name, s.version)}</option> }).collect_view();
                        view! {
                            {if l.schemes.is_empty() {
                                view! { <p class="empty-state" data-testid="no-schemes">{t.t("grading-no-schemes")}</p> }.into_any()
                            } else {
                                view! {
                                    <table class="table" data-testid="schemes">
                                        <thead><tr><th>{t.t("grading-scheme")}</th><th class="num">{t.t("grading-version")}</th><th></th><th class="num">{t.t("grading-in-use")}</th></tr></thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                }.into_any()
                            }}
                            <h3>{t.t("grading-copy")}</h3>
                            <p class="hint">{t.t("grading-copy-hint")}</p>
                            <form method="post" action=CopyGradingScheme::url() data-testid="copy-scheme">
                                <label for="copy-from">{t.t("grading-copy-from")}</label>
                                <select id="copy-from" name="from">{from}{from_stored}</select>
                                <label for="copy-name">{t.t("grading-copy-name")}</label>
                                <input id="copy-name" name="name" required maxlength="120"/>
                                <button type="submit" class="btn">{t.t("grading-copy")}</button>
                            </form>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}

/// Admin: one scheme's edit form. A frozen scheme is saved as its next version.
#[component]
pub fn SchemePage() -> impl IntoView {
    let ctx = request_ctx();
    let t = ctx.clone();
    let id = use_params_map().with_untracked(|p| p.get("id").unwrap_or_default());
    view! {
        <Shell title=ctx.t("grading-scheme")>
            <AdminTabs/>
            <FormErrors/>
            <p><a href="/admin/grading/schemes">{ctx.t("grading-back-schemes")}</a></p>
            <Await future=grading_scheme(id.clone()) let:scheme>
                {match scheme.clone() {
                    Err(e) => view! { <ErrorBox error=e/> }.into_any(),
                    Ok(v) => {
                        let f = v.form.clone();
                        let mut bands = f.bands.clone();
                        bands.extend(std::iter::repeat_n(BandRow::default(), SPARE_ROWS));
                        let band_rows = bands.into_iter().enumerate().map(|(i, b)| view! {
                            <tr>
                                <td><input name=format!("bands[{i}][grade]") value=b.grade aria-label=t.t("results-grade") maxlength="3" class="short"/></td>
                                <td><input name=format!("bands[{i}][min]") value=b.min aria-label=t.t("grading-min") inputmode="numeric" class="short"/></td>
                                <td><input name=format!("bands[{i}][max]") value=b.max aria-label=t.t("grading-max-marks") inputmode="numeric" class="short"/></td>
                                <td><input name=format!("bands[{i}][points]") value=b.points aria-label=t.t("results-points") inputmode="numeric" class="short"/></td>
                                <td><input name=format!("bands[{i}][remark_en]") value=b.remark_en aria-label=t.t("grading-remark-en") maxlength="60"/></td>
                                <td><input name=format!("bands[{i}][remark_sw]") value=b.remark_sw aria-label=t.t("grading-remark-sw") maxlength="60"/></td>
                            </tr>
                        }).collect_view();
                        let division = matches!(v.scheme.overall_rule(), OverallRule::Division { .. });
                        let overall = if division {
                            let rows = Division::ALL.iter().enumerate().map(|(i, d)| {
                                let r = f.divisions.get(i).cloned().unwrap_or(DivisionRow::default());
                                view! {
                                    <tr>
                                        <td>{d.label()}</td>
                                        <td><input name=format!("divisions[{i}][min]") value=r.min aria-label=t.t("grading-min-points") inputmode="numeric" class="short"/></td>
                                        <td><input name=format!("divisions[{i}][max]") value=r.max aria-label=t.t("grading-max-points") inputmode="numeric" class="short"/></td>
                                    </tr>
                                }
                            }).collect_view();
                            let principal = f.counted == "principal";
                            view! {
                                <label for="counted">{t.t("grading-counted")}</label>
                                <select id="counted" name="counted">
                                    <option value="best" selected=!principal>{t.t("grading-counted-best")}</option>
                                    <option value="principal" selected=principal>{t.t("grading-counted-principal")}</option>
                                </select>
                                <label for="count">{t.t("grading-count")}</label>
                                <input id="count" name="count" value=f.count.clone() inputmode="numeric" class="short"/>
                                <table class="table">
                                    <thead><tr><th>{t.t("results-division")}</th><th>{t.t("grading-min-points")}</th><th>{t.t("grading-max-points")}</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }.into_any()
                        } else {
                            view! {
                                <input type="hidden" name="counted" value=""/>
                                <label for="count">{t.t("grading-min-subjects")}</label>
                                <input id="count" name="count" value=f.count.clone() inputmode="numeric" class="short"/>
                            }.into_any()
                        };
                        let save = if v.summary.frozen {
                            crate::i18n::t_args(t.lang, "grading-save-new-version", &[("n", (v.summary.version + 1).to_string())])
                        } else {
                            t.t("grading-save")
                        };
                        view! {
                            <h2 data-testid="scheme-title">{format!("{} (v{})", v.summary.name, v.summary.version)}</h2>
                            {v.newest.map(|n| view! { <p class="hint" data-testid="newer-version"><a href=format!("/admin/grading/schemes/{n}")>{t.t("grading-newer-version")}</a></p> })}
                            {v.summary.frozen.then(|| view! { <p class="hint" data-testid="scheme-frozen">{t.t("grading-frozen-hint")}</p> })}
                            <form method="post" action=SaveGradingScheme::url() data-testid="scheme-form">
                                <input type="hidden" name="id" value=v.summary.id.to_string()/>
                                <label for="scheme-name">{t.t("grading-name")}</label>
                                <input id="scheme-name" name="name" value=f.name.clone() required maxlength="120"/>
                                <label for="scheme-source">{t.t("grading-source")}</label>
                                <textarea id="scheme-source" name="source" rows="3" maxlength="2000">{f.source.clone()}</textarea>
                                <label for="years-from">{t.t("grading-years-from")}</label>
                                <input id="years-from" name="years_from" value=f.years_from.clone() inputmode="numeric" class="short"/>
                                <label for="years-to">{t.t("grading-years-to")}</label>
                                <input id="years-to" name="years_to" value=f.years_to.clone() inputmode="numeric" class="short"/>
                                <h3>{t.t("grading-grades")}</h3>
                                <table class="table">
                                    <thead><tr><th>{t.t("results-grade")}</th><th>{t.t("grading-min")}</th><th>{t.t("grading-max-marks")}</th><th>{t.t("results-points")}</th><th>{t.t("grading-remark-en")}</th><th>{t.t("grading-remark-sw")}</th></tr></thead>
                                    <tbody>{band_rows}</tbody>
                                </table>
                                <h3>{t.t("grading-overall")}</h3>
                                {overall}
                                <button type="submit" class="btn" data-testid="save-scheme">{save}</button>
                            </form>
                        }.into_any()
                    }
                }}
            </Await>
        </Shell>
    }
}
