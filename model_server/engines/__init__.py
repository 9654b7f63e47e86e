"""Speech-to-text engines behind one small interface (`SpeechEngine`)."""
