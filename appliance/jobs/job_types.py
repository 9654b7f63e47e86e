"""Every job type the workers of `appliance serve` run, in the order they are tried.

Dictations come first: a clinician waits on the page for a draft, while an export is
collected later.
"""

from __future__ import annotations

from appliance.jobs.dictation_stages import DICTATION_JOBS
from appliance.jobs.export_stages import EXPORT_JOBS
from appliance.jobs.queue import JobType

JOB_TYPES: tuple[JobType, ...] = (DICTATION_JOBS, EXPORT_JOBS)
