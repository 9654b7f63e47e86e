"""A session's note: review and edit, signature, addenda, co-signature, and its copies."""
