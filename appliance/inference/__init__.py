"""Clients of the model servers (speech and LLM), over their OpenAI-compatible HTTP APIs: the
appliance's only outbound calls.
"""
