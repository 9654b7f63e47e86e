"""Durable background work: the generic job queue, the dictation stages, job metrics, periodic
tasks.
"""
