"""Store → JSM: the outbox of customer actions, pushing them once, and what customers read when one fails."""
