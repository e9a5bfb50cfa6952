"""Code lists of the SSDA903 and CIN census, one table per collection year.

A collection year is named by the 31 March it ends on, as DfE does: 2025 is the year
1 April 2024 to 31 March 2025 ("2024-25"). Each year's lists come from DfE's guide to the
SSDA903 collection for that year ("Children looked after by local authorities in England:
guide to the SSDA903 collection", Annex A code sets) and the CIN census guide and technical
specification ("Children in need census: guide" and "technical specification", DfE). Only the
fields the aggregation reads are checked: a code outside its year's list is a validation
error with the file, row and field (`pipelines.load.returns.validate`).

Changes between years that matter here:
- SEX is 1 (male) / 2 (female) up to 2023-24 and M / F / U from 2024-25 (DfE's 2024-25
  SSDA903 guide, "Summary of main changes"); both forms are read, each only in its years.
- REC E4A/E4B (return home, part of / not part of a care plan) replaced E4 from 2015-16;
  E41, E43/E44 (child arrangements and special guardianship) and E45–E48 (age-related
  leaving) are in every year read here.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The first and last collection years whose code lists are held (years ending 31 March).
FIRST_YEAR, LAST_YEAR = 2014, 2027

#: Reason for new episode (RNE). S starts a new period of care; the rest continue one.
RNE_CODES = {
    "S": "Started to be looked after",
    "L": "Change of legal status only",
    "P": "Change of placement and carer(s) only",
    "T": "Change of placement (but same carer(s)) only",
    "B": "Change of legal status and placement and carer(s) at the same time",
    "U": "Change of legal status and change of placement (but same carer(s)) at the same time",
}
#: RNE codes that begin a new placement with a new carer (S, P, B), as DfE counts placements
#: for the placement stability measures; L, T and U keep the child with the same carer(s).
NEW_PLACEMENT_RNE = frozenset({"S", "P", "B"})

#: Legal status (LS).
LS_CODES = {
    "C1": "Interim care order",
    "C2": "Full care order",
    "D1": "Freeing order granted",
    "E1": "Placement order granted",
    "V2": "Single period of accommodation under section 20",
    "V3": "Accommodated under an agreed series of short-term breaks, single placements",
    "V4": "Accommodated under an agreed series of short-term breaks, multiple placements",
    "J1": "Remanded to local authority accommodation or youth detention accommodation",
    "J2": "Placed in local authority accommodation under PACE",
    "J3": "Sentenced to a youth rehabilitation order with residence or fostering requirement",
    "L1": "Under police protection and in local authority accommodation",
    "L2": "Emergency protection order",
    "L3": "Under child assessment order and in local authority accommodation",
}
#: Short breaks: DfE leaves children looked after only under V3/V4 out of its headline counts.
SHORT_BREAK_LS = frozenset({"V3", "V4"})

#: Reason episode ceased (REC). X1 ends an episode but not the period of care.
REC_CODES = {
    "E11": "Adopted: application unopposed",
    "E12": "Adopted: consent dispensed with by the court",
    "E13": "Left care to live with parent(s), relative or other person with no parental "
    "responsibility",
    "E14": "Accommodation on remand ended",
    "E15": "Age assessment determined child is aged 18 or over",
    "E16": "Child moved abroad",
    "E17": "Aged 18 (or over) and remained with current carers",
    "E2": "Died",
    "E3": "Care taken over by another local authority in the UK",
    "E41": "Residence order or child arrangement order granted",
    "E43": "Special guardianship made to former foster carers",
    "E44": "Special guardianship made to carers other than former foster carers",
    "E45": "Moved into independent living (supportive accommodation)",
    "E46": "Moved into independent living (no formalised support)",
    "E47": "Transferred to residential care funded by adult social care",
    "E48": "Sentenced to custody",
    "E4A": "Returned home to live with parents, part of the care planning process",
    "E4B": "Returned home to live with parents, not part of the care planning process",
    "E5": "Moved into independent living arrangement",
    "E6": "Transferred to residential care funded by adult social services",
    "E7": "Period of being looked after ended for any other reason",
    "E8": "Sentenced to custody",
    "E9": "Moved to adult social care",
    "X1": "Episode ceases, and new episode begins on the same day, for any reason",
}
#: The episode ends, the same period of care continues: not a child ceasing to be looked after.
CONTINUES_REC = "X1"

#: Placement type (PLACE). A3–A6 are placements for adoption.
PLACE_CODES = {
    "A3": "Placed for adoption with consent with current foster carer(s)",
    "A4": "Placed for adoption with consent not with current foster carer(s)",
    "A5": "Placed for adoption with placement order with current foster carer(s)",
    "A6": "Placed for adoption with placement order not with current foster carer(s)",
    "H5": "Semi-independent living accommodation not subject to children's homes regulations",
    "K1": "Secure children's home",
    "K2": "Children's home subject to children's homes regulations",
    "P1": "Placed with own parent(s) or other person(s) with parental responsibility",
    "P2": "Independent living, e.g. in a flat, lodgings, bedsit, B&B or with friends",
    "P3": "Residential employment",
    "R1": "Residential care home",
    "R2": "NHS or health trust or other establishment providing medical or nursing care",
    "R3": "Family centre or mother and baby unit",
    "R5": "Young offender institution or prison",
    "S1": "All residential schools, except where dual-registered as a school and children's home",
    "T0": "Temporary placement: all types",
    "T1": "Temporary periods in hospital",
    "T2": "Temporary absences of the child on holiday",
    "T3": "Temporary accommodation whilst normal foster carer(s) is/are on holiday",
    "T4": "Temporary accommodation of seven days or less",
    "U1": "Foster placement with relative or friend: long term fostering",
    "U2": "Foster placement with relative or friend who is also an approved adopter",
    "U3": "Foster placement with relative or friend: not long term or FFA/concurrent",
    "U4": "Foster placement with other foster carer: long term fostering",
    "U5": "Foster placement with other foster carer who is also an approved adopter",
    "U6": "Foster placement with other foster carer: not long term or FFA/concurrent",
    "Z1": "Other placements",
}
PLACED_FOR_ADOPTION = frozenset({"A3", "A4", "A5", "A6"})

#: Placement provider (PLACE_PROVIDER).
PLACE_PROVIDER_CODES = {
    "PR0": "Parent(s) or other person(s) with parental responsibility",
    "PR1": "Own provision by the local authority",
    "PR2": "Other local authority provision",
    "PR3": "Other public provision (e.g. by a PCT)",
    "PR4": "Private provision",
    "PR5": "Voluntary, third sector provision",
}

#: SEX: 1/2 until 2023-24, M/F/U from 2024-25 (DfE SSDA903 guide 2024-25).
SEX_NUMERIC = {"1": "Male", "2": "Female"}
SEX_LETTERS = {"M": "Male", "F": "Female", "U": "Not known"}
SEX_LETTERS_FROM = 2025

#: The optional 903 tables and whether a measure here reads them.
OPTIONAL_903_TABLES = {
    "reviews": "not needed by any measure here; ignored",
    "missing": "not needed by any measure here; ignored",
    "uasc": "not needed by any measure here; ignored",
    "oc2": "not needed by any measure here; ignored",
    "oc3": "not needed by any measure here; ignored",
    "ad1": "not needed by any measure here; ignored",
    "placed_for_adoption": "not needed: placement codes A3-A6 in the episodes say it",
    "previous_permanence": "not needed by any measure here; ignored",
}


@dataclass(frozen=True)
class YearCodes:
    """The code lists that apply to one collection year."""

    year: int
    rne: frozenset[str]
    ls: frozenset[str]
    rec: frozenset[str]
    place: frozenset[str]
    place_provider: frozenset[str]
    sex: frozenset[str]

    def allowed(self, field: str) -> frozenset[str]:
        return getattr(self, field.lower())


def _year_codes(year: int) -> YearCodes:
    rec = set(REC_CODES)
    sex = SEX_LETTERS if year >= SEX_LETTERS_FROM else SEX_NUMERIC
    return YearCodes(
        year,
        frozenset(RNE_CODES),
        frozenset(LS_CODES),
        frozenset(rec),
        frozenset(PLACE_CODES),
        frozenset(PLACE_PROVIDER_CODES),
        frozenset(sex),
    )


#: One table per collection year: `CODES_BY_YEAR[2025].sex` is {"M", "F", "U"}.
CODES_BY_YEAR: dict[int, YearCodes] = {
    year: _year_codes(year) for year in range(FIRST_YEAR, LAST_YEAR + 1)
}


def codes_for(year: int) -> YearCodes:
    """The code lists of a collection year; a plain-English `ValueError` outside those held."""
    try:
        return CODES_BY_YEAR[int(year)]
    except KeyError:
        raise ValueError(
            f"No SSDA903 code lists are held for the collection year ending March {year} "
            f"(held: {FIRST_YEAR} to {LAST_YEAR})."
        ) from None
