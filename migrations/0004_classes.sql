-- Classes and subjects (school admin console): the default A-level subject combinations a
-- school can add from. A global catalog like master_subjects (no tenant_id): each school
-- keeps its own copy of the combinations it offers in subject_combinations.

CREATE TABLE master_combinations (
    code    text PRIMARY KEY CHECK (code ~ '^[A-Z]{2,6}$'),
    name_en text NOT NULL,
    name_sw text NOT NULL
);

CREATE TABLE master_combination_subjects (
    combination_code text NOT NULL REFERENCES master_combinations (code),
    subject_code     text NOT NULL REFERENCES master_subjects (code),
    PRIMARY KEY (combination_code, subject_code)
);

INSERT INTO master_combinations (code, name_en, name_sw) VALUES
    ('PCM', 'Physics, Chemistry, Advanced Mathematics',  'Fizikia, Kemia, Hisabati ya Juu'),
    ('PCB', 'Physics, Chemistry, Biology',               'Fizikia, Kemia, Biolojia'),
    ('PGM', 'Physics, Geography, Advanced Mathematics',  'Fizikia, Jiografia, Hisabati ya Juu'),
    ('CBG', 'Chemistry, Biology, Geography',             'Kemia, Biolojia, Jiografia'),
    ('CBA', 'Chemistry, Biology, Agriculture',           'Kemia, Biolojia, Kilimo'),
    ('EGM', 'Economics, Geography, Advanced Mathematics','Uchumi, Jiografia, Hisabati ya Juu'),
    ('HGE', 'History, Geography, Economics',             'Historia, Jiografia, Uchumi'),
    ('HGK', 'History, Geography, Kiswahili',             'Historia, Jiografia, Kiswahili'),
    ('HGL', 'History, Geography, English Language',      'Historia, Jiografia, Lugha ya Kiingereza'),
    ('HKL', 'History, Kiswahili, English Language',      'Historia, Kiswahili, Lugha ya Kiingereza'),
    ('ECA', 'Economics, Commerce, Accountancy',          'Uchumi, Biashara, Uhasibu');

INSERT INTO master_combination_subjects (combination_code, subject_code) VALUES
    ('PCM', 'A-PHY'), ('PCM', 'A-CHEM'), ('PCM', 'A-MATH'),
    ('PCB', 'A-PHY'), ('PCB', 'A-CHEM'), ('PCB', 'A-BIO'),
    ('PGM', 'A-PHY'), ('PGM', 'A-GEO'), ('PGM', 'A-MATH'),
    ('CBG', 'A-CHEM'), ('CBG', 'A-BIO'), ('CBG', 'A-GEO'),
    ('CBA', 'A-CHEM'), ('CBA', 'A-BIO'), ('CBA', 'A-AGR'),
    ('EGM', 'ECON'), ('EGM', 'A-GEO'), ('EGM', 'A-MATH'),
    ('HGE', 'A-HIST'), ('HGE', 'A-GEO'), ('HGE', 'ECON'),
    ('HGK', 'A-HIST'), ('HGK', 'A-GEO'), ('HGK', 'A-KISW'),
    ('HGL', 'A-HIST'), ('HGL', 'A-GEO'), ('HGL', 'A-ENGL'),
    ('HKL', 'A-HIST'), ('HKL', 'A-KISW'), ('HKL', 'A-ENGL'),
    ('ECA', 'ECON'), ('ECA', 'A-COMM'), ('ECA', 'ACCT');

-- Catalogs are read-only for the application role (the default privileges of 0002 would
-- otherwise grant it DML).
REVOKE ALL ON master_combinations, master_combination_subjects FROM kilele_app;
GRANT SELECT ON master_combinations, master_combination_subjects TO kilele_app;
