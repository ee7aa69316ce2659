"""The shared cross-vendor blacklist: rulebooks, cases, committee votes, listings,
appeals and credit repair, governed by the associations' published rules."""
