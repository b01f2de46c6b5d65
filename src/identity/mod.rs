//! Identity: who is signing in (school users and platform staff), what they may do (roles
//! and permissions), and how sign-in is protected (password hashing, backoff).

use crate::tenancy::{Feature, TenantId};
use crate::ValidationError;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod backoff;
mod contact;
pub use contact::{Email, Phone};

#[cfg(feature = "ssr")]
pub mod cache;
#[cfg(feature = "ssr")]
pub mod invitations;
#[cfg(feature = "ssr")]
pub mod password;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod two_factor;

/// The two languages of the UI. Kiswahili is the default for schools: most parents read it
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Language {
    En,
    #[default]
    Sw,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::En, Language::Sw];

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Sw => "sw",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" | "en-us" | "en-gb" | "english" => Some(Self::En),
            "sw" | "sw-tz" | "sw-ke" | "kiswahili" | "swahili" => Some(Self::Sw),
            _ => None,
        }
    }

    /// The autonym, shown in the language switch whatever the current language.
    pub fn autonym(self) -> &'static str {
        match self {
            Self::En => "English",
            Self::Sw => "Kiswahili",
        }
    }
}

/// Roles people hold. Platform roles live outside any school.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    PlatformOwner,
    PlatformSupport,
    SchoolAdmin,
    Teacher,
    Accountant,
    Parent,
    Student,
}

impl Role {
    pub const SCHOOL: [Role; 5] = [Role::SchoolAdmin, Role::Teacher, Role::Accountant, Role::Parent, Role::Student];

    pub fn code(self) -> &'static str {
        match self {
            Self::PlatformOwner => "owner",
            Self::PlatformSupport => "support",
            Self::SchoolAdmin => "school_admin",
            Self::Teacher => "teacher",
            Self::Accountant => "accountant",
            Self::Parent => "parent",
            Self::Student => "student",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        [Role::PlatformOwner, Role::PlatformSupport, Role::SchoolAdmin, Role::Teacher, Role::Accountant, Role::Parent, Role::Student]
            .into_iter()
            .find(|r| r.code() == code)
    }

    /// i18n key of the role's name.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::PlatformOwner => "role-owner",
            Self::PlatformSupport => "role-support",
            Self::SchoolAdmin => "role-school-admin",
            Self::Teacher => "role-teacher",
            Self::Accountant => "role-accountant",
            Self::Parent => "role-parent",
            Self::Student => "role-student",
        }
    }

    /// What a role grants when a school is created. Schools may change their own mapping
    /// later (the mapping is stored per tenant); the catalog of permissions is global.
    pub fn default_permissions(self) -> &'static [Permission] {
        use Permission::*;
        match self {
            Self::PlatformOwner => &[PlatformTenantsRead, PlatformTenantsManage],
            Self::PlatformSupport => &[PlatformTenantsRead],
            Self::SchoolAdmin => &[
                SchoolOverviewRead,
                SchoolUsersManage,
                SchoolSettingsManage,
                SchoolAuditRead,
                SchoolAcademicsManage,
                StudentsRead,
                StudentsManage,
                StudentsPiiRead,
                ResultsApprove,
                ResultsPublish,
                ResultsAmend,
                ResultsFlags,
                ResultsSetup,
                ReportCardsManage,
            ],
            Self::Teacher => &[TeachingClassesRead, ResultsEnter],
            Self::Accountant => &[FinanceOverviewRead, FinanceFeesManage, FinancePaymentsRecord, FinanceAdjust, FinanceChannelsManage],
            Self::Parent => &[PortalChildrenRead, PortalFeesPay],
            Self::Student => &[PortalSelfRead],
        }
    }
}

/// Mirrors the global `permissions` catalog (a test keeps the two equal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Permission {
    PlatformTenantsRead,
    PlatformTenantsManage,
    SchoolOverviewRead,
    SchoolUsersManage,
    SchoolSettingsManage,
    SchoolAuditRead,
    SchoolAcademicsManage,
    StudentsRead,
    StudentsManage,
    StudentsPiiRead,
    TeachingClassesRead,
    FinanceOverviewRead,
    PortalChildrenRead,
    PortalSelfRead,
    ResultsEnter,
    ResultsApprove,
    ResultsPublish,
    ResultsAmend,
    ResultsFlags,
    ResultsSetup,
    ReportCardsManage,
    FinanceFeesManage,
    FinancePaymentsRecord,
    FinanceAdjust,
    /// Open or close the school's payment channels and set the addresses providers call from.
    FinanceChannelsManage,
    PortalFeesPay,
}

impl Permission {
    pub const ALL: [Permission; 26] = [
        Permission::PlatformTenantsRead,
        Permission::PlatformTenantsManage,
        Permission::SchoolOverviewRead,
        Permission::SchoolUsersManage,
        Permission::SchoolSettingsManage,
        Permission::SchoolAuditRead,
        Permission::SchoolAcademicsManage,
        Permission::StudentsRead,
        Permission::StudentsManage,
        Permission::StudentsPiiRead,
        Permission::TeachingClassesRead,
        Permission::FinanceOverviewRead,
        Permission::PortalChildrenRead,
        Permission::PortalSelfRead,
        Permission::ResultsEnter,
        Permission::ResultsApprove,
        Permission::ResultsPublish,
        Permission::ResultsAmend,
        Permission::ResultsFlags,
        Permission::ResultsSetup,
        Permission::ReportCardsManage,
        Permission::FinanceFeesManage,
        Permission::FinancePaymentsRecord,
        Permission::FinanceAdjust,
        Permission::FinanceChannelsManage,
        Permission::PortalFeesPay,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::PlatformTenantsRead => "platform.tenants.read",
            Self::PlatformTenantsManage => "platform.tenants.manage",
            Self::SchoolOverviewRead => "school.overview.read",
            Self::SchoolUsersManage => "school.users.manage",
            Self::SchoolSettingsManage => "school.settings.manage",
            Self::SchoolAuditRead => "school.audit.read",
            Self::SchoolAcademicsManage => "school.academics.manage",
            Self::StudentsRead => "students.read",
            Self::StudentsManage => "students.manage",
            Self::StudentsPiiRead => "students.pii.read",
            Self::TeachingClassesRead => "teaching.classes.read",
            Self::FinanceOverviewRead => "finance.overview.read",
            Self::PortalChildrenRead => "portal.children.read",
            Self::PortalSelfRead => "portal.self.read",
            Self::ResultsEnter => "results.enter",
            Self::ResultsApprove => "results.approve",
            Self::ResultsPublish => "results.publish",
            Self::ResultsAmend => "results.amend",
            Self::ResultsFlags => "results.flags",
            Self::ResultsSetup => "results.setup",
            Self::ReportCardsManage => "report_cards.manage",
            Self::FinanceFeesManage => "finance.fees.manage",
            Self::FinancePaymentsRecord => "finance.payments.record",
            Self::FinanceAdjust => "finance.adjust",
            Self::FinanceChannelsManage => "finance.channels.manage",
            Self::PortalFeesPay => "portal.fees.pay",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// The five portals. A user sees those their permissions (and the school's plan) open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Portal {
    Owner,
    Admin,
    Accountant,
    Teacher,
    Family,
}

impl Portal {
    /// In landing order: a user with several roles lands on the first one they may use.
    pub const ALL: [Portal; 5] = [Portal::Owner, Portal::Admin, Portal::Accountant, Portal::Teacher, Portal::Family];

    pub fn path(self) -> &'static str {
        match self {
            Self::Owner => "/owner",
            Self::Admin => "/admin",
            Self::Accountant => "/accountant",
            Self::Teacher => "/teacher",
            Self::Family => "/portal",
        }
    }

    pub fn label_key(self) -> &'static str {
        match self {
            Self::Owner => "portal-owner",
            Self::Admin => "portal-admin",
            Self::Accountant => "portal-accountant",
            Self::Teacher => "portal-teacher",
            Self::Family => "portal-family",
        }
    }

    /// Any one of these permissions opens the portal.
    pub fn opened_by(self) -> &'static [Permission] {
        match self {
            Self::Owner => &[Permission::PlatformTenantsRead],
            Self::Admin => &[Permission::SchoolOverviewRead],
            Self::Accountant => &[Permission::FinanceOverviewRead],
            Self::Teacher => &[Permission::TeachingClassesRead],
            Self::Family => &[Permission::PortalChildrenRead, Permission::PortalSelfRead],
        }
    }

    /// The plan feature the portal needs, if any.
    pub fn needs_feature(self) -> Option<Feature> {
        match self {
            Self::Accountant => Some(Feature::Finance),
            _ => None,
        }
    }

    pub fn for_path(path: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| path == p.path() || path.strip_prefix(p.path()).is_some_and(|rest| rest.starts_with('/')))
    }
}

/// Whose request this is: resolved on every request from the session, and from the database
/// or the process's cache of it ([`cache`], dropped when the rows change: a role taken away
/// takes effect milliseconds after its commit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: Uuid,
    /// `None` for platform staff.
    pub tenant_id: Option<TenantId>,
    pub email: String,
    pub display_name: String,
    pub roles: Vec<Role>,
    pub permissions: Vec<Permission>,
    pub language: Option<Language>,
    /// Whether they have a second factor and whether they must.
    #[serde(default)]
    pub second_factor: SecondFactor,
    /// Sessions signed in before this are over (a password changed, a second factor reset).
    #[serde(default)]
    pub sessions_valid_from: Option<chrono::DateTime<chrono::Utc>>,
}

/// How long a new account that needs a second factor may work without one (a banner asks
/// them to set it up); after that it can open nothing but the set-up page. A school admin
/// on their first day is not stopped before they have found their phone.
pub const TWO_FACTOR_GRACE: chrono::TimeDelta = chrono::TimeDelta::days(14);

/// A person's second factor (TOTP) as every request sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SecondFactor {
    /// They have confirmed an authenticator: sign-in asks for a code.
    pub enrolled: bool,
    /// Their roles (and their school's choice for teachers) require one.
    pub required: bool,
    /// The end of the account's grace period ([`TWO_FACTOR_GRACE`] after it was made).
    pub grace_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl SecondFactor {
    /// The state of someone holding `roles` whose grace period starts at `since` (their
    /// account's `two_factor_since`), in a school that asks its teachers for a second factor
    /// since `teachers_since` (`None`: it does not). A teacher's grace period starts when the
    /// school began to ask.
    pub fn of(
        roles: &[Role],
        enrolled: bool,
        teachers_since: Option<chrono::DateTime<chrono::Utc>>,
        since: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Self {
        let always = two_factor_required(roles, false);
        let required = always || two_factor_required(roles, teachers_since.is_some());
        let from = if always { since } else { since.max(teachers_since) };
        Self { enrolled, required, grace_until: from.map(|at| at + TWO_FACTOR_GRACE) }
    }

    /// Required, not set up, and the grace period over: they may only open the set-up page.
    pub fn missing(self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.required && !self.enrolled && self.grace_until.is_none_or(|until| now >= until)
    }

    /// Required and not set up, but still in the grace period: until when (for the banner).
    pub fn due(self, now: chrono::DateTime<chrono::Utc>) -> Option<chrono::DateTime<chrono::Utc>> {
        self.grace_until.filter(|until| self.required && !self.enrolled && now < *until)
    }
}

/// Accounts that move money, marks or schools must not fall to one leaked password: platform
/// staff, school admins and accountants always need a second factor; teachers when their
/// school asks for it; families never (many share one basic phone).
pub fn two_factor_required(roles: &[Role], teachers_too: bool) -> bool {
    roles.iter().any(|r| match r {
        Role::PlatformOwner | Role::PlatformSupport | Role::SchoolAdmin | Role::Accountant => true,
        Role::Teacher => teachers_too,
        Role::Parent | Role::Student => false,
    })
}

impl Principal {
    pub fn can(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    pub fn is_platform(&self) -> bool {
        self.tenant_id.is_none()
    }

    pub fn may_open(&self, portal: Portal, tenant_features: &[Feature]) -> bool {
        let allowed = portal.opened_by().iter().any(|p| self.can(*p));
        let feature_ok = portal.needs_feature().is_none_or(|f| tenant_features.contains(&f));
        allowed && feature_ok && (portal == Portal::Owner) == self.is_platform()
    }

    /// The portals this user may open, in landing order.
    pub fn portals(&self, tenant_features: &[Feature]) -> Vec<Portal> {
        Portal::ALL.into_iter().filter(|p| self.may_open(*p, tenant_features)).collect()
    }

    pub fn landing(&self, tenant_features: &[Feature]) -> Option<Portal> {
        self.portals(tenant_features).first().copied()
    }
}

/// A staff member as the staff list shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub roles: Vec<Role>,
    pub active: bool,
    /// Invited and has not chosen a password yet.
    pub pending: bool,
    /// Signs in with a second factor (an admin may reset it).
    pub two_factor: bool,
}

/// Minimum rules for a password people choose (demo and invited accounts).
pub fn check_new_password(password: &str) -> Result<(), ValidationError> {
    if password.chars().count() < 10 {
        return Err(ValidationError::new("password", "error-password-too-short"));
    }
    if password.len() > 1024 {
        return Err(ValidationError::new("password", "error-password-too-long"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(roles: &[Role], tenant: bool) -> Principal {
        let mut permissions: Vec<Permission> = roles.iter().flat_map(|r| r.default_permissions().iter().copied()).collect();
        permissions.dedup();
        Principal {
            user_id: Uuid::nil(),
            tenant_id: tenant.then_some(TenantId(Uuid::nil())),
            email: "x@y.test".into(),
            display_name: "X".into(),
            roles: roles.to_vec(),
            permissions,
            language: None,
            second_factor: SecondFactor::default(),
            sessions_valid_from: None,
        }
    }

    #[test]
    fn who_needs_a_second_factor() {
        assert!(two_factor_required(&[Role::PlatformOwner], false));
        assert!(two_factor_required(&[Role::PlatformSupport], false));
        assert!(two_factor_required(&[Role::SchoolAdmin], false));
        assert!(two_factor_required(&[Role::Accountant], false));
        assert!(!two_factor_required(&[Role::Teacher], false));
        assert!(two_factor_required(&[Role::Teacher], true));
        assert!(two_factor_required(&[Role::Teacher, Role::Parent], true));
        assert!(!two_factor_required(&[Role::Parent, Role::Student], true));
        assert!(two_factor_required(&[Role::Parent, Role::Accountant], false));
        let made = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let later = made + TWO_FACTOR_GRACE;
        let admin = SecondFactor::of(&[Role::SchoolAdmin], false, None, Some(made));
        assert!(!admin.missing(made) && admin.due(made) == Some(later));
        assert!(admin.missing(later) && admin.due(later).is_none());
        assert!(SecondFactor::of(&[Role::SchoolAdmin], false, None, None).missing(made));
        let enrolled = SecondFactor::of(&[Role::SchoolAdmin], true, None, Some(made));
        assert!(!enrolled.missing(later) && enrolled.due(made).is_none());
        let teacher = SecondFactor::of(&[Role::Teacher], false, None, Some(made));
        assert!(!teacher.missing(later) && teacher.due(made).is_none());
        // The school asks teachers a year after the account was made: their grace starts then.
        let asked = made + chrono::TimeDelta::days(365);
        let teacher = SecondFactor::of(&[Role::Teacher], false, Some(asked), Some(made));
        assert!(teacher.required && !teacher.missing(asked) && teacher.due(asked) == Some(asked + TWO_FACTOR_GRACE));
        assert!(teacher.missing(asked + TWO_FACTOR_GRACE));
        // An admin's grace does not move with the teachers' date.
        let both = SecondFactor::of(&[Role::SchoolAdmin, Role::Teacher], false, Some(asked), Some(made));
        assert!(both.missing(asked));
    }

    #[test]
    fn each_role_lands_on_its_portal() {
        let all = [Feature::Finance];
        assert_eq!(principal(&[Role::PlatformOwner], false).landing(&all), Some(Portal::Owner));
        assert_eq!(principal(&[Role::SchoolAdmin], true).landing(&all), Some(Portal::Admin));
        assert_eq!(principal(&[Role::Teacher], true).landing(&all), Some(Portal::Teacher));
        assert_eq!(principal(&[Role::Accountant], true).landing(&all), Some(Portal::Accountant));
        assert_eq!(principal(&[Role::Parent], true).landing(&all), Some(Portal::Family));
        assert_eq!(principal(&[Role::Student], true).landing(&all), Some(Portal::Family));
    }

    #[test]
    fn several_roles_can_switch_and_plan_gates_finance() {
        let p = principal(&[Role::Teacher, Role::SchoolAdmin], true);
        assert_eq!(p.portals(&[]), vec![Portal::Admin, Portal::Teacher]);
        let bursar = principal(&[Role::Accountant], true);
        assert!(bursar.may_open(Portal::Accountant, &[Feature::Finance]));
        assert!(!bursar.may_open(Portal::Accountant, &[]));
        // a school user can never open the owner console, whatever permissions leak in
        let mut odd = principal(&[Role::SchoolAdmin], true);
        odd.permissions.push(Permission::PlatformTenantsRead);
        assert!(!odd.may_open(Portal::Owner, &[]));
    }

    #[test]
    fn portal_paths() {
        assert_eq!(Portal::for_path("/admin"), Some(Portal::Admin));
        assert_eq!(Portal::for_path("/admin/settings"), Some(Portal::Admin));
        assert_eq!(Portal::for_path("/administrator"), None);
        assert_eq!(Portal::for_path("/portal"), Some(Portal::Family));
        assert_eq!(Portal::for_path("/login"), None);
    }

    #[test]
    fn permission_codes_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.code()), Some(p));
        }
    }

    #[test]
    fn languages() {
        assert_eq!(Language::parse("SW"), Some(Language::Sw));
        assert_eq!(Language::parse("en-GB"), Some(Language::En));
        assert_eq!(Language::parse("fr"), None);
        assert_eq!(Language::default(), Language::Sw);
    }
}
