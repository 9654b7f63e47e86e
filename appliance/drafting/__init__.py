"""Dictation to draft note: segmenting, routing, fields, risk, grounding, rewriting, and the one
pipeline that runs them.
"""
