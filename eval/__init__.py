"""Quality evaluation of dictation -> transcript -> draft note (issue #5): `python -m eval.run`."""
