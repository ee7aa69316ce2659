"""The append-only Merkle transparency log of every signed record and decision."""
