"""Rules about threads, processes and executors (LL2xx)."""
