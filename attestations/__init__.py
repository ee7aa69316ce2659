"""Pure signing and verification library of the Trust Registry.

No database, no web framework: canonical JSON, Ed25519 keys, DSSE envelopes, in-toto
statements, RFC 6962 Merkle math, C2SP checkpoints and offline verification. A vendor
can use it on its own as a signing tool.
"""
