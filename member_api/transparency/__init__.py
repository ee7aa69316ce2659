"""/api/v1/log: signed checkpoints, entries with inclusion proofs, consistency proofs."""
