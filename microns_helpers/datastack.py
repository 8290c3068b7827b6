"""The public datastack the book reads, and its materialization versions.

The long-term versions "will not expire" (the MICrONs tutorial's page on materialization
versions; the book's claims ledger, chapters/claims.yml, entry ``versions``), and every
example of the documentation holds at 1300, the default.
"""

DEFAULT_DATASTACK = "minnie65_public"
DEFAULT_VERSION = 1300
LONG_TERM_VERSIONS = (117, 943, 1300)
