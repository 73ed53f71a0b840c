"""The keyless public web site: certificate pages, verify page, share pages, the Datasette
register, status lists, DID document and contexts, served from register.db and a published
bundle only (see :mod:`register.web.app`). Never imports ``certreg.issuer``."""
