"""What the appliance and the model server both need about speech, with no PHI and no knowledge of
either: in-memory uploads, audio sniffing and decoding, text normalisation, the speech API's
error codes.
"""
