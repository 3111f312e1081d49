"""The customer vocabulary in force: re-projecting tickets under a mapping, unmapped values, discovery."""
