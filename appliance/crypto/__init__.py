"""Keys and ciphertext: the one AEAD primitive, key files, KEK ring and rotation, per-record
envelope, credential sealing, blind index.
"""
