"""What the federal Performance Measurement Tool (PMT) counts for VOCA victim assistance: pure data.

The service items are the PMT's (OVC, VOCA Victim Assistance performance measures, revised for
FY 2021 and after): five categories, A to E, each item with its code. ``COMP`` is the PMT's separate
question on help with a victim compensation application. The answers a person may give about
themselves (victimization types, special classifications, demographics) each include
``not_reported`` (the person chose not to say) and ``not_tracked`` (nobody asked or recorded it):
both are real answers, counted apart from each other and from zero.
"""

from __future__ import annotations

from typing import Mapping

CATEGORIES: Mapping[str, str] = {
    "A": "Information and referral",
    "B": "Personal advocacy/accompaniment",
    "C": "Emotional support or safety services",
    "D": "Shelter/housing services",
    "E": "Criminal/civil justice system assistance",
}

ITEMS: Mapping[str, str] = {
    "A1": "Information about the criminal justice process",
    "A2": "Information about victim rights, how to obtain notifications, etc.",
    "A3": "Referral to other victim service programs",
    "A4": "Referral to other services, supports, and resources",
    "B1": "Victim advocacy/accompaniment to emergency medical care",
    "B2": "Victim advocacy/accompaniment to medical forensic exam",
    "B3": "Law enforcement interview advocacy/accompaniment",
    "B4": "Individual advocacy (e.g., public benefits, return of personal property)",
    "B5": "Performance of medical or nonmedical forensic exam or interview",
    "B6": "Immigration assistance (e.g., T-visa or U-visa application)",
    "B7": "Intervention with an employer, creditor, landlord, or academic institution",
    "B8": "Child or dependent care assistance",
    "B9": "Transportation assistance",
    "B10": "Interpreter services",
    "C1": "Crisis intervention (in-person, includes safety planning)",
    "C2": "Hotline/crisis line counseling",
    "C3": "On-scene crisis response",
    "C4": "Individual counseling",
    "C5": "Support groups (facilitated or peer)",
    "C6": "Other therapy (traditional, cultural, or alternative healing; art, writing, or play therapy)",
    "C7": "Emergency financial assistance",
    "D1": "Emergency shelter or safe house",
    "D2": "Transitional housing",
    "D3": "Relocation assistance (includes assistance with obtaining housing)",
    "E1": "Notification of criminal justice events",
    "E2": "Victim impact statement assistance",
    "E3": "Assistance with restitution",
    "E4": "Civil legal assistance in obtaining a protection or restraining order",
    "E5": "Civil legal assistance with family law issues",
    "E6": "Other emergency justice-related assistance",
    "E7": "Immigration assistance",
    "E8": "Prosecution interview advocacy/accompaniment",
    "E9": "Law enforcement interview advocacy/accompaniment",
    "E10": "Criminal advocacy/accompaniment",
    "E11": "Other legal advice and/or counsel",
    "COMP": "Assistance filing a victim compensation application",
}


def category_of(item: str) -> str:
    """``A`` for ``A3``; ``COMP`` stands apart from the five categories."""
    return "COMP" if item == "COMP" else item[0]


NOT_REPORTED, NOT_TRACKED = "not_reported", "not_tracked"
UNKNOWN = (NOT_REPORTED, NOT_TRACKED)

VICTIMIZATION_TYPES: tuple[str, ...] = (
    "adult_physical_assault", "adult_sexual_assault", "adults_sexually_abused_as_children", "arson", "bullying",
    "burglary", "child_physical_abuse_or_neglect", "child_pornography", "child_sexual_abuse", "domestic_family_violence",
    "dui_dwi_incidents", "elder_abuse_or_neglect", "hate_crime", "human_trafficking_labor", "human_trafficking_sex",
    "identity_theft_fraud_financial", "kidnapping_noncustodial", "kidnapping_custodial", "mass_violence",
    "other_vehicular_victimization", "robbery", "stalking_harassment", "survivors_of_homicide_victims",
    "teen_dating_victimization", "terrorism", "other",
)
SPECIAL_CLASSIFICATIONS: tuple[str, ...] = (
    "deaf_hard_of_hearing", "homeless", "immigrants_refugees_asylum_seekers", "lgbtq", "veterans",
    "disabilities_cognitive_physical_mental", "limited_english_proficiency", "other",
)
RACE_ETHNICITY: tuple[str, ...] = (
    "american_indian_alaska_native", "asian", "black_african_american", "hispanic_latino",
    "native_hawaiian_pacific_islander", "white_non_latino", "some_other_race",
)
GENDER: tuple[str, ...] = ("male", "female", "other")
AGE_BANDS: tuple[str, ...] = ("0-12", "13-17", "18-24", "25-59", "60+")

# The questions of a person's profile: (key, allowed answers, how many may be given).
QUESTIONS: Mapping[str, tuple[tuple[str, ...], bool]] = {
    "victimization": (VICTIMIZATION_TYPES, True),
    "classification": (SPECIAL_CLASSIFICATIONS, True),
    "race": (RACE_ETHNICITY, True),
    "gender": (GENDER, False),
    "age": (AGE_BANDS, False),
}
# ``classification`` has "none" as well: a person with no special classification is not "not tracked".
NONE = "none"
MULTIPLE_RACES = "multiple_races"
