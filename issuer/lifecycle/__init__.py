"""The certification lifecycle of ISO/IEC 17024 clause 9, one module a responsibility.

- ``rules``: every rule a decision must pass, as pure functions (facts in, a Refusal or None
  out; no database). Single decisions and bulk issuance both call them.
- ``errors`` and ``records``: the errors (with their HTTP status) and the plain data types.
- ``base``: the body's state (db, clock, signer, status lists) and the facts rules need.
- ``reference``: schemes, persons, staff, assessments, trainings.
- ``grants``: plan, reserve, sign, write a grant; ``write_grants`` is the one grant writer
  (one or many; ``issuer.bulk`` batches through it) and ``audit.append_many`` the one append.
- ``decisions``: suspend ... correct, expiry. ``credentials``: revisions and status bits.
- ``queries``: reading the record. ``table``: the decisions declared once for CLI and HTTP.
``issuer.service.CertificationBody`` assembles them and keeps the public names.
"""
