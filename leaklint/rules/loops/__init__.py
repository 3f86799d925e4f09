"""Rules about loops that cannot stop (LL3xx)."""
