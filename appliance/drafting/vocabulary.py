"""The words Whisper should expect in a dictation, chosen by its therapy modality.

Sent with each transcription request (the speech service's `vocabulary` field). One list per
modality rather than one for all: on the evaluation set (make eval) the modality's own terms
kept more facts than the server's all-modality list (0.782 against 0.728 of 202 facts reaching
the transcript) and stopped Whisper from writing terms of other modalities that were never said
("DBT" and "SUD" in an IFS dictation). Commonly prescribed psychiatric medications follow:
with Whisper base they raised the facts heard from 0.822 to 0.837 with no term leaked
(tiny.en, which cannot spell them, lost more than it gained: 0.782 -> 0.743). The list is
ordered so that, should it ever outgrow Whisper's hint window (about 220 tokens;
faster-whisper cuts the end), the medications are cut first.
"""

from __future__ import annotations

# Scales every progress note may contain. Risk words are deliberately not hinted: with
# "suicidal ideation" in the list, Whisper wrote "the client rated an ideation 5 out of 10" for
# "rated anxiety" (make eval, cbt-02), and it hears the risk words well enough unaided.
COMMON = ("PHQ-9", "GAD-7")

BY_MODALITY: dict[str, tuple[str, ...]] = {
    "cbt": (
        "CBT",
        "cognitive distortion",
        "all-or-nothing thinking",
        "catastrophizing",
        "thought record",
        "Socratic questioning",
        "exposure hierarchy",
        "psychoeducation",
        "homework",
    ),
    "dbt": (
        "DBT",
        "diary card",
        "chain analysis",
        "distress tolerance",
        "interpersonal effectiveness",
        "TIPP",
        "DEAR MAN",
        "opposite action",
        "radical acceptance",
        "wise mind",
    ),
    "act": (
        "ACT",
        "cognitive defusion",
        "acceptance",
        "present moment",
        "self-as-context",
        "values",
        "committed action",
        "willingness",
        "hexaflex",
    ),
    "emdr": (
        "EMDR",
        "SUD",
        "VOC",
        "desensitization",
        "installation",
        "body scan",
        "bilateral stimulation",
        "negative cognition",
        "positive cognition",
        "container",
    ),
    "ifs": (
        "IFS",
        "parts",
        "protector",
        "manager",
        "firefighter",
        "exile",
        "Self-energy",
        "unblending",
        "unburdening",
        "witnessing",
    ),
    "psychodynamic": (
        "psychodynamic",
        "transference",
        "countertransference",
        "defense",
        "projection",
        "intellectualization",
        "resistance",
        "free association",
    ),
    "integrative": (
        "motivational interviewing",
        "behavioral activation",
        "psychoeducation",
        "mindfulness",
    ),
}


# About thirty of the most commonly prescribed psychiatric medications, alphabetical. Not
# taken from the evaluation set (which names ten medications, nine of them here).
MEDICATIONS = (
    "alprazolam",
    "amitriptyline",
    "aripiprazole",
    "bupropion",
    "buspirone",
    "citalopram",
    "clonazepam",
    "desvenlafaxine",
    "duloxetine",
    "escitalopram",
    "fluoxetine",
    "gabapentin",
    "hydroxyzine",
    "lamotrigine",
    "lithium",
    "lorazepam",
    "lurasidone",
    "methylphenidate",
    "mirtazapine",
    "olanzapine",
    "paroxetine",
    "prazosin",
    "quetiapine",
    "risperidone",
    "sertraline",
    "topiramate",
    "trazodone",
    "venlafaxine",
    "vortioxetine",
    "zolpidem",
)


def speech_vocabulary(modality: str) -> str:
    """The comma-separated hint for a dictation in `modality` (unknown: the common terms)."""
    return ", ".join(BY_MODALITY.get(modality, ()) + COMMON + MEDICATIONS)
