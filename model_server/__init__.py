"""Local model serving (speech-to-text and LLM) behind OpenAI-compatible HTTP APIs.

Knows nothing of accounts, clients or notes, and keeps no content. Built in issue #4.
"""
