"""The appliance's domain: settings, storage, accounts, sessions, clients. No HTTP here."""

__version__ = "0.1.0"
