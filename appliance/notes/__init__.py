"""Progress notes: formats, modalities, and drafting a note from a transcript with provenance."""
