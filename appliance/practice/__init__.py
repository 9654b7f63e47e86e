"""What the practice's admin decides: preferences, service codes, note templates. No PHI."""
