"""Offline verification: the certificate's own QR payload (CR1, :mod:`.payload`), checked
against keys and status lists synced beforehand."""
