"""The kernel: what every aggregate shares and none owns.

Who is calling (`caller`), time (`clock`), the shapes of slugs and domains
(`patterns`), the predicate type URIs of signed statements (`predicates`) and the one
"is a member" rule with the vendor identity every aggregate refers to (`members`). The
kernel imports nothing from the aggregates (`tests/unit/test_architecture.py`).
"""
