-- Kilele foundation, part 1: the application role and the global (non-tenant) catalogs.
--
-- Migrations run as the schema owner. The running server and worker connect as `kilele_app`:
-- a login role that owns nothing, is not superuser and cannot bypass row-level security.
-- Its password (production) is set by operations, never in a migration.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'kilele_app') THEN
    CREATE ROLE kilele_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- another database on this cluster created it at the same moment
END
$$;

DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO kilele_app', current_database());
END
$$;
GRANT USAGE ON SCHEMA public TO kilele_app;

CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Subscription plans. `features` switches modules on per tenant (finance, sms, analytics…).
CREATE TABLE plans (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    name        text NOT NULL,
    features    text[] NOT NULL DEFAULT '{}',
    max_students integer CHECK (max_students IS NULL OR max_students > 0)
);

INSERT INTO plans (code, name, features, max_students) VALUES
    ('basic',    'Basic',    '{}',                        500),
    ('standard', 'Standard', '{finance,sms}',             2000),
    ('premium',  'Premium',  '{finance,sms,analytics}',   NULL);

-- The permission catalog. Roles map to these per tenant; code checks them by code.
CREATE TABLE permissions (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z_]+(\.[a-z_]+)+$'),
    scope       text NOT NULL CHECK (scope IN ('platform', 'school')),
    description text NOT NULL
);

INSERT INTO permissions (code, scope, description) VALUES
    ('platform.tenants.read',   'platform', 'See the list of schools and their counts'),
    ('platform.tenants.manage', 'platform', 'Create, suspend and re-plan schools'),
    ('school.overview.read',    'school',   'See the school overview (students, staff, classes)'),
    ('school.users.manage',     'school',   'Invite, deactivate and change roles of school users'),
    ('school.settings.manage',  'school',   'Change school settings such as the default language'),
    ('school.audit.read',       'school',   'Read the school audit log'),
    ('teaching.classes.read',   'school',   'See the classes and subjects allocated to me'),
    ('finance.overview.read',   'school',   'See the finance overview'),
    ('portal.children.read',    'school',   'See my children (guardian)'),
    ('portal.self.read',        'school',   'See my own record (student)');

-- Master subject list: Tanzanian primary (PSLE), O-level (CSEE) and A-level (ACSEE) subjects.
-- Schools pick from these and may add their own (issue: academic structure).
CREATE TABLE master_subjects (
    code       text PRIMARY KEY CHECK (code ~ '^[A-Z0-9_-]+$'),
    name_en    text NOT NULL,
    name_sw    text NOT NULL,
    band       text NOT NULL CHECK (band IN ('primary', 'o_level', 'a_level')),
    necta_code text
);

INSERT INTO master_subjects (code, name_en, name_sw, band, necta_code) VALUES
    ('P-KISW', 'Kiswahili',                    'Kiswahili',                 'primary', NULL),
    ('P-ENGL', 'English',                      'Kiingereza',                'primary', NULL),
    ('P-MATH', 'Mathematics',                  'Hisabati',                  'primary', NULL),
    ('P-SCI',  'Science and Technology',       'Sayansi na Teknolojia',     'primary', NULL),
    ('P-SST',  'Social Studies',               'Maarifa ya Jamii',          'primary', NULL),
    ('P-CME',  'Civic and Moral Education',    'Uraia na Maadili',          'primary', NULL),
    ('P-VOC',  'Vocational Skills',            'Stadi za Kazi',             'primary', NULL),
    ('P-ARTS', 'Arts and Sports',              'Sanaa na Michezo',          'primary', NULL),
    ('P-FRE',  'French',                       'Kifaransa',                 'primary', NULL),
    ('P-REL',  'Religion',                     'Dini',                      'primary', NULL),
    ('CIV',    'Civics',                       'Uraia',                     'o_level', '011'),
    ('HIST',   'History',                      'Historia',                  'o_level', '012'),
    ('GEO',    'Geography',                    'Jiografia',                 'o_level', '013'),
    ('BK',     'Bible Knowledge',              'Maarifa ya Biblia',         'o_level', '014'),
    ('EDK',    'Islamic Knowledge',            'Elimu ya Dini ya Kiislamu', 'o_level', '015'),
    ('FA',     'Fine Art',                     'Sanaa za Maonyesho',        'o_level', '016'),
    ('KISW',   'Kiswahili',                    'Kiswahili',                 'o_level', '021'),
    ('ENGL',   'English Language',             'Lugha ya Kiingereza',       'o_level', '022'),
    ('LIT',    'Literature in English',        'Fasihi ya Kiingereza',      'o_level', '023'),
    ('FRE',    'French Language',              'Lugha ya Kifaransa',        'o_level', '024'),
    ('ARAB',   'Arabic Language',              'Lugha ya Kiarabu',          'o_level', '025'),
    ('PHY',    'Physics',                      'Fizikia',                   'o_level', '031'),
    ('CHEM',   'Chemistry',                    'Kemia',                     'o_level', '032'),
    ('BIO',    'Biology',                      'Biolojia',                  'o_level', '033'),
    ('AGR',    'Agriculture',                  'Kilimo',                    'o_level', '034'),
    ('ICS',    'Information and Computer Studies', 'Kompyuta',              'o_level', '036'),
    ('BMATH',  'Basic Mathematics',            'Hisabati',                  'o_level', '041'),
    ('AMATH',  'Additional Mathematics',       'Hisabati ya Ziada',         'o_level', '042'),
    ('COMM',   'Commerce',                     'Biashara',                  'o_level', '062'),
    ('BKEEP',  'Book-keeping',                 'Uhasibu',                   'o_level', '063'),
    ('GS',     'General Studies',              'Maarifa ya Jumla',          'a_level', '111'),
    ('A-HIST', 'History',                      'Historia',                  'a_level', '112'),
    ('A-GEO',  'Geography',                    'Jiografia',                 'a_level', '113'),
    ('A-KISW', 'Kiswahili',                    'Kiswahili',                 'a_level', '121'),
    ('A-ENGL', 'English Language',             'Lugha ya Kiingereza',       'a_level', '122'),
    ('A-PHY',  'Physics',                      'Fizikia',                   'a_level', '131'),
    ('A-CHEM', 'Chemistry',                    'Kemia',                     'a_level', '132'),
    ('A-BIO',  'Biology',                      'Biolojia',                  'a_level', '133'),
    ('A-AGR',  'Agriculture',                  'Kilimo',                    'a_level', '134'),
    ('A-CS',   'Computer Science',             'Sayansi ya Kompyuta',       'a_level', '136'),
    ('BAM',    'Basic Applied Mathematics',    'Hisabati ya Msingi',        'a_level', '141'),
    ('A-MATH', 'Advanced Mathematics',         'Hisabati ya Juu',           'a_level', '142'),
    ('ECON',   'Economics',                    'Uchumi',                    'a_level', '151'),
    ('A-COMM', 'Commerce',                     'Biashara',                  'a_level', '152'),
    ('ACCT',   'Accountancy',                  'Uhasibu',                   'a_level', '153');

-- Tenants (schools). The registry of tenants is itself global: it is how a request finds
-- its tenant. Everything a school owns lives in tenant-owned tables (next migration).
CREATE TABLE tenants (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    slug             text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$'),
    name             text NOT NULL CHECK (length(name) BETWEEN 2 AND 200),
    status           text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    plan_code        text NOT NULL REFERENCES plans (code),
    default_language text NOT NULL DEFAULT 'sw' CHECK (default_language IN ('en', 'sw')),
    created_at       timestamptz NOT NULL DEFAULT now()
);

-- Platform staff (SaaS owner and support) are not school users.
CREATE TABLE platform_users (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text NOT NULL UNIQUE CHECK (email = lower(email)),
    display_name  text NOT NULL,
    password_hash text,
    platform_role text NOT NULL CHECK (platform_role IN ('owner', 'support')),
    language      text CHECK (language IN ('en', 'sw')),
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Failed-login backoff for platform sign-ins, keyed by the typed email whether or not
-- such an account exists (so the lock itself reveals nothing).
CREATE TABLE platform_login_throttle (
    email           text PRIMARY KEY,
    failures        integer NOT NULL DEFAULT 0,
    last_failure_at timestamptz,
    locked_until    timestamptz
);

GRANT SELECT ON plans, permissions, master_subjects TO kilele_app;
GRANT SELECT, INSERT, UPDATE ON tenants TO kilele_app;
GRANT SELECT, INSERT, UPDATE ON platform_users TO kilele_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON platform_login_throttle TO kilele_app;
