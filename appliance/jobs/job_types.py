"""Every job type the workers of `appliance serve` run, in the order they are tried.

Dictations come first: a clinician waits on the page for a draft. Then the stretches of
recordings still being spoken (heard early so that Stop leaves little to wait for, but nobody is
waiting on them yet), then exports, which are collected later.
"""

from __future__ import annotations

from appliance.jobs.dictation_stages import DICTATION_JOBS
from appliance.jobs.export_stages import EXPORT_JOBS
from appliance.jobs.queue import JobType
from appliance.jobs.stretch_stage import STRETCH_JOBS

JOB_TYPES: tuple[JobType, ...] = (DICTATION_JOBS, STRETCH_JOBS, EXPORT_JOBS)
