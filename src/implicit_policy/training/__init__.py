"""The trainer (batches of observation windows, negatives, losses, validation, checkpoints, resume) and the
run-folder lock."""
