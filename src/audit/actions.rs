//! Every audit action name, in one place: `audit::append` takes an [`Action`], which only
//! these constants can make, so a new kind of entry is added here (and readers of the log
//! find the whole vocabulary in one file).

/// The name of an audited action (`student.added`). Made only by the constants below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Action(&'static str);

impl Action {
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

pub const ALLOCATION_REMOVED: Action = Action("allocation.removed");
pub const ALLOCATION_SET: Action = Action("allocation.set");
pub const CALENDAR_TERM_CHANGED: Action = Action("calendar.term.changed");
pub const CALENDAR_TERM_CURRENT: Action = Action("calendar.term.current");
pub const CALENDAR_YEAR_CREATED: Action = Action("calendar.year.created");
pub const CLASS_COMBINATION_ADDED: Action = Action("class.combination.added");
pub const CLASS_COMBINATION_REMOVED: Action = Action("class.combination.removed");
pub const CLASS_LEVEL_ADDED: Action = Action("class.level.added");
pub const CLASS_STREAM_ADDED: Action = Action("class.stream.added");
pub const CLASS_TEACHER_ASSIGNED: Action = Action("class.teacher.assigned");
pub const DEFAULTERS_EXPORTED: Action = Action("finance.defaulters.exported");
pub const FEE_DISCOUNT_GRANTED: Action = Action("fee.discount.granted");
pub const FEE_OPTIONS_SET: Action = Action("fee.options.set");
pub const FEE_STRUCTURE_SAVED: Action = Action("fee.structure.saved");
pub const FINANCE_SETTINGS_CHANGED: Action = Action("finance.settings.changed");
pub const CREDIT_NOTE_ISSUED: Action = Action("finance.credit_note.issued");
pub const FINE_WAIVED: Action = Action("finance.fine.waived");
pub const FINES_APPLIED: Action = Action("finance.fines.applied");
pub const INVOICES_ISSUED: Action = Action("finance.invoices.issued");
pub const INVOICES_REQUESTED: Action = Action("finance.invoices.requested");
pub const PAYMENT_RECORDED: Action = Action("finance.payment.recorded");
pub const PAYMENT_RECEIVED: Action = Action("finance.payment.received");
pub const PAYMENT_ASSIGNED: Action = Action("finance.payment.assigned");
pub const PAYMENT_LINKED: Action = Action("finance.payment.linked");
pub const PAYMENT_SPLIT: Action = Action("finance.payment.split");
pub const PAYMENT_SENT_BACK: Action = Action("finance.payment.sent_back");
pub const PAYMENT_REVERSED: Action = Action("finance.payment.reversed");
pub const GEPG_BILL_REQUESTED: Action = Action("finance.gepg_bill.requested");
pub const BANK_STATEMENT_IMPORTED: Action = Action("finance.bank_statement.imported");
pub const STATEMENT_LINE_TAKEN: Action = Action("finance.statement_line.taken");
pub const PAYMENT_CHANNEL_SET: Action = Action("finance.payment_channel.set");
pub const PAYMENT_PUSH_SENT: Action = Action("finance.payment_push.sent");
pub const REFUND_MADE: Action = Action("finance.refund.made");
pub const WRITE_OFF_MADE: Action = Action("finance.write_off.made");
pub const GRADING_SCHEME_COPIED: Action = Action("grading_scheme.copied");
pub const GRADING_SCHEME_SAVED: Action = Action("grading_scheme.saved");
pub const GUARDIAN_LINKED: Action = Action("guardian.linked");
pub const GUARDIAN_PORTAL_OPENED: Action = Action("guardian.portal.opened");
pub const GUARDIAN_PORTAL_PENDING: Action = Action("guardian.portal.pending");
pub const GUARDIAN_SMS_CHANGED: Action = Action("guardian.sms.changed");
pub const GUARDIAN_UNLINKED: Action = Action("guardian.unlinked");
pub const JOB_RETRIED: Action = Action("job.retried");
pub const LOGOUT: Action = Action("logout");
pub const LOGIN_FAILED: Action = Action("login.failed");
pub const LOGIN_SUCCEEDED: Action = Action("login.succeeded");
pub const LOGIN_THROTTLED: Action = Action("login.throttled");
/// The password was right; the sign-in waits for a code (two-factor).
pub const LOGIN_CODE_ASKED: Action = Action("login.code_asked");
pub const TWO_FACTOR_ENABLED: Action = Action("two_factor.enabled");
pub const TWO_FACTOR_DISABLED: Action = Action("two_factor.disabled");
pub const TWO_FACTOR_RECOVERY_CODES_REPLACED: Action = Action("two_factor.recovery_codes.replaced");
/// An admin removed a staff member's second factor (lost phone); they set it up again.
pub const TWO_FACTOR_RESET: Action = Action("two_factor.reset");
/// A wrong code before a change to the second factor (counted like a failed sign-in).
pub const TWO_FACTOR_CODE_FAILED: Action = Action("two_factor.code_failed");
pub const SCHOOL_TWO_FACTOR_FOR_TEACHERS_SET: Action = Action("school.two_factor_for_teachers.set");
pub const MARKS_APPROVED: Action = Action("marks.approved");
pub const MARKS_RETURNED: Action = Action("marks.returned");
pub const MARKS_SAVED: Action = Action("marks.saved");
pub const MARKS_SUBMITTED: Action = Action("marks.submitted");
pub const RESULT_FLAG_RESOLVED: Action = Action("results.flag.resolved");
pub const RESULTS_ASSESSMENTS_SET: Action = Action("results.assessments.set");
pub const RESULTS_EXPORTED: Action = Action("results.exported");
pub const RESULTS_PUBLISHED: Action = Action("results.published");
pub const RESULTS_SCHEME_CHOSEN: Action = Action("results.scheme.chosen");
pub const REPORT_CARD_REMARKS_SAVED: Action = Action("report_card.remarks.saved");
pub const REPORT_CARDS_REQUESTED: Action = Action("report_cards.requested");
pub const REPORT_CARDS_CANCELLED: Action = Action("report_cards.cancelled");
pub const REPORT_CARDS_DOWNLOADED: Action = Action("report_cards.downloaded");
pub const SCHOOL_CARD_LOGO_SET: Action = Action("school.card_logo.set");
pub const SCHOOL_CARD_HEADING_SET: Action = Action("school.card_heading.set");
pub const ROLE_GRANTED: Action = Action("role.granted");
pub const ROLE_REVOKED: Action = Action("role.revoked");
pub const SCHOOL_ADMISSION_FORMAT_CHANGED: Action = Action("school.admission_format.changed");
pub const SCHOOL_CREATED: Action = Action("school.created");
/// Platform staff: a school onboarded from the owner console (in the platform's chain).
pub const PLATFORM_SCHOOL_ONBOARDED: Action = Action("platform.school.onboarded");
pub const PLATFORM_SCHOOL_SUSPENDED: Action = Action("platform.school.suspended");
pub const PLATFORM_SCHOOL_RESUMED: Action = Action("platform.school.resumed");
pub const SCHOOL_DEFAULT_LANGUAGE_CHANGED: Action = Action("school.default_language.changed");
pub const SEED_DEMO: Action = Action("seed.demo");
pub const STUDENT_ADDED: Action = Action("student.added");
pub const STUDENT_ENROLLED: Action = Action("student.enrolled");
pub const STUDENT_PHOTO_CHANGED: Action = Action("student.photo.changed");
pub const STUDENT_STATUS_CHANGED: Action = Action("student.status.changed");
pub const STUDENT_UPDATED: Action = Action("student.updated");
pub const STUDENTS_EXPORTED: Action = Action("students.exported");
pub const STUDENTS_IMPORTED: Action = Action("students.imported");
pub const STUDENTS_PROMOTED: Action = Action("students.promoted");
pub const STUDENTS_PROMOTION_UNDONE: Action = Action("students.promotion.undone");
pub const SUBJECT_ADDED: Action = Action("subject.added");
pub const SUBJECT_LEVEL_SET: Action = Action("subject.level.set");
pub const USER_INVITATION_ACCEPTED: Action = Action("user.invitation.accepted");
pub const USER_DEACTIVATED: Action = Action("user.deactivated");
pub const USER_REACTIVATED: Action = Action("user.reactivated");
pub const USER_INVITED: Action = Action("user.invited");
/// Someone changed their own password (their other sessions end).
pub const USER_PASSWORD_CHANGED: Action = Action("user.password_changed");

#[cfg(test)]
mod tests {
    use super::*;

    /// Every action of this file (read from its source, so a new one cannot be left out).
    fn all() -> Vec<&'static str> {
        let src = include_str!("actions.rs");
        src.match_indices("Action(\"").filter_map(|(i, m)| src[i + m.len()..].split('"').next()).filter(|n| !n.is_empty()).collect()
    }

    #[test]
    fn names_are_distinct_and_dotted_lowercase() {
        let mut seen = std::collections::HashSet::new();
        let all = all();
        assert!(all.len() > 40 && all.contains(&REPORT_CARDS_REQUESTED.as_str()), "{all:?}");
        for a in all {
            assert!(seen.insert(a), "duplicate {a}");
            assert!((a.contains('.') || a == LOGOUT.as_str()) && a.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_'), "{a}");
        }
    }
}
