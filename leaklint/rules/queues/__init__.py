"""Rules about queues (LL4xx)."""
