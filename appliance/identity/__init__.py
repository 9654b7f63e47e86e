"""People and how they prove who they are: accounts, passwords, sign-in, sessions, two-factor,
setup links, emergency access.
"""
