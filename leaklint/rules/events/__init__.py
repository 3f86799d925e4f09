"""Rules about events and conditions (LL5xx)."""
