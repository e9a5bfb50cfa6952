"""Constants and simulation parameters of the synthetic sample (documented in its README).

Public names (``SEED``, ``WAVES``, ``PLANTED_EFFECTS`` ...) describe the fictional partnership;
private ones (``_CLA_START_RATE`` ...) are the data process's parameters, shared by the file
generator (:mod:`pipelines.sample.write`), the in-memory simulator
(:mod:`pipelines.sample.simulate`) and the national-scale benchmark generator.
"""

from __future__ import annotations

from datetime import date

import numpy as np

# ---------------------------------------------------------------------------------------------
# Public constants
# ---------------------------------------------------------------------------------------------

SEED = 20191001
SAMPLE_START = date(2015, 4, 1)
#: Last day covered: the latest full quarter when the sample was written. A constant, so the
#: sample never depends on the day it is generated.
SAMPLE_END = date(2026, 9, 30)

PARTNERSHIP_NAME = "Northmoor Safeguarding Children Partnership"
AREA_CODE = "E06999901"
AREA_NAME = "Northmoor"
OLD_LA_CODE = 991
REGION_CODE = "E12999901"
REGION_NAME = "North Fictional"
COUNTRY_CODE = "E92000001"
COUNTRY_NAME = "England"
PROGRAMME = "Restorative Practice"

LOCALITIES = ("Ashby", "Brookfield", "Castleton", "Dunmore", "Elmwood", "Fairhaven")
#: wave -> (start date, units). complete_date = start + 12 months.
WAVES = {
    1: (date(2019, 10, 1), ("Ashby", "Brookfield")),
    2: (date(2021, 4, 1), ("Castleton", "Dunmore")),
    3: (date(2023, 4, 1), ("Elmwood", "Fairhaven")),
}
AGE_BANDS = ("Under 1", "1-4", "5-9", "10-15", "16-17")
#: Proportional change in the expected monthly count at full effect.
PLANTED_EFFECTS = {"cla_starts": -0.15, "cpp_starts": -0.20}
#: Months over which the planted effect ramps in linearly (full effect from month 12 on).
RAMP_MONTHS = 12

#: Ten fictional comparator councils (area_code -> (name, old_la_code)).
COMPARATORS = {
    "E06999902": ("Southvale", 981),
    "E06999903": ("Eastbridge", 982),
    "E06999904": ("Westford", 983),
    "E06999905": ("Kingsholme", 984),
    "E06999906": ("Oakley Vale", 985),
    "E06999907": ("Redmarsh", 986),
    "E06999908": ("Stonebury", 987),
    "E06999909": ("Thornwick", 988),
    "E06999910": ("Greyhaven", 989),
    "E06999911": ("Millbrook", 990),
}
COMPARATOR_CODES = tuple(COMPARATORS)

AGENCIES = (
    "Children's social care",
    "Early help",
    "Police",
    "Health",
    "Education",
    "Voluntary sector",
)
COURSES = ("Awareness", "Practitioner", "Leadership")

POPULATION_YEARS = tuple(range(2014, 2026))  # mid-year estimates
DFE_YEARS = tuple(range(2016, 2027))  # reporting years ending 31 March
TRAINING_START = date(2019, 6, 30)  # first training extract (quarter end)

OUTCOME_COLUMNS = (
    "period_end",
    "area_code",
    "unit",
    "age_band",
    "cla_at_period_end",
    "cla_starts",
    "cla_ceased",
    "cpp_at_period_end",
    "cpp_starts",
    "cpp_ends",
    "cpp_repeat_starts",
    "cin_at_period_end",
    "referrals",
    "rereferrals",
    "fgc_held",
)
OUTCOME_MEASURES = OUTCOME_COLUMNS[4:]
TRAINING_COLUMNS = (
    "period_end",
    "area_code",
    "unit",
    "agency",
    "course",
    "staff_in_scope",
    "staff_trained",
)

# ---------------------------------------------------------------------------------------------
# Simulation parameters (documented in the generated README)
# ---------------------------------------------------------------------------------------------

# Children aged 0-17 per locality at mid-2014, and a need factor applied to every measure.
_LOCALITY_POP_2014 = (21000, 15500, 22500, 14000, 19000, 14500)
_LOCALITY_NEED = (1.12, 0.92, 1.04, 1.18, 0.86, 0.95)
_LOCALITY_COVERAGE = (0.86, 0.68, 0.78, 0.62, 0.88, 0.72)  # final training coverage
_POP_GROWTH = 0.005

_POP_SHARES = np.array([0.05, 0.21, 0.28, 0.33, 0.13])
_CLA_SHARES = np.array([0.06, 0.14, 0.18, 0.38, 0.24])
_CPP_SHARES = np.array([0.11, 0.26, 0.28, 0.29, 0.06])
_REF_SHARES = np.array([0.09, 0.20, 0.26, 0.33, 0.12])
_CIN_SHARES = np.array([0.05, 0.17, 0.26, 0.36, 0.16])

_REFERRAL_RATE = 450.0  # per 10,000 children per year
_REREFERRAL_P = 0.22
_CLA_START_RATE = 27.0  # per 10,000 per year
_CLA_TREND = 0.02  # per year
_CLA_CEASE_P = 1 / 30
_CPP_START_RATE = 50.0
_CPP_TREND = 0.01
_CPP_END_P = 1 / 9
_CPP_REPEAT_P = 0.23
_CIN_RATE = 330.0  # per 10,000, a stock
_REFERRAL_TREND = 0.005
_FGC_BEFORE = 0.3  # per locality per month
_FGC_AFTER = 2.0

# Month-of-year factors (Jan..Dec), each normalised to mean 1.
_REFERRAL_SEASON = np.array(
    [1.03, 1.05, 1.06, 0.98, 1.04, 1.05, 1.02, 0.80, 1.02, 1.08, 1.04, 0.84]
)
_CARE_SEASON = np.array([1.02, 1.03, 1.05, 1.00, 1.00, 1.02, 1.00, 0.95, 0.98, 1.02, 1.00, 0.93])
_REFERRAL_SEASON = _REFERRAL_SEASON / _REFERRAL_SEASON.mean()
_CARE_SEASON = _CARE_SEASON / _CARE_SEASON.mean()
#: COVID-19 multiplier on referrals (about -25% April-June 2020, recovering by October 2020).
COVID_REFERRAL_FACTORS = {
    (2020, 4): 0.75,
    (2020, 5): 0.74,
    (2020, 6): 0.76,
    (2020, 7): 0.85,
    (2020, 8): 0.92,
    (2020, 9): 0.97,
}

# Staff in scope ranges per agency and course (Awareness, Practitioner, Leadership).
_SCOPE_RANGES = {
    "Children's social care": ((80, 120), (45, 60), (7, 10)),
    "Early help": ((50, 80), (30, 50), (4, 8)),
    "Police": ((60, 110), (10, 25), (3, 6)),
    "Health": ((50, 100), (10, 25), (2, 5)),
    "Education": ((80, 120), (15, 35), (4, 10)),
    "Voluntary sector": ((20, 50), (10, 20), (2, 4)),
}
_AGENCY_COVERAGE = {
    "Children's social care": 1.08,
    "Early help": 1.05,
    "Police": 0.90,
    "Health": 0.88,
    "Education": 0.95,
    "Voluntary sector": 0.92,
}
_COURSE_COVERAGE = {"Awareness": 1.0, "Practitioner": 0.95, "Leadership": 1.05}
_COURSE_MIDPOINT = {"Awareness": 3.0, "Practitioner": 4.0, "Leadership": 2.0}  # quarters

DFE_CLA_TYPES = (
    "Children ceasing to be looked after each year",
    "Children looked after on 31 March each year",
    "Children starting to be looked after each year",
)
_D5_BANDS = (
    "3_months_or_less",
    "more_than_3_months_6_months",
    "more_than_6_months_less_than_1_year",
    "1_year_less_than_2_years",
    "2_years_or_more",
)
_D5_SHARES = np.array([0.32, 0.25, 0.26, 0.14, 0.03])

_GEO_COLS_COMMON = (  # the leading geography columns every DfE-format file shares
    "time_period",
    "time_identifier",
    "geographic_level",
    "country_code",
    "country_name",
    "region_code",
    "region_name",
    "old_la_code",
)
_GEO_COLS_A = (*_GEO_COLS_COMMON, "la_name", "new_la_code")  # cla file: la_name first
_GEO_COLS_B = (*_GEO_COLS_COMMON, "new_la_code", "la_name")  # d3, d5, ONS: new_la_code first

#: Cells deliberately suppressed in the DfE-format files, to exercise the importer:
#: (file stem, reporting year, area_code, what) - described in the README.
_NOT_AVAILABLE = ("E06999907", 2016)  # Redmarsh 2016: CLA and CPP returns not available ("x")
_SUPPRESS_CLA_C = ("E06999909", 2019)  # Thornwick 2019 ceasing: "c"
_SUPPRESS_D3_C = ("E06999910", 2018)  # Greyhaven 2018 subsequent plans: "c"
