"""The blacklist pages: the list, a listing's record, a notice."""
