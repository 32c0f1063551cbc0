"""The local stack: a real PostgreSQL server and an AWS emulator (SPEC §6)."""
