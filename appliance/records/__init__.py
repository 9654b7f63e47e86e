"""PHI at rest: clients, dictations, their sealed audio, retention."""
