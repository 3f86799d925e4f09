"""Rules about asyncio tasks (LL1xx)."""
